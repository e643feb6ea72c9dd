# Wangge: `make demo` serves a demo district, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install assets locales messages migrate seed serve lint typecheck pytest clean system-deps

demo: install migrate seed serve

test: install system-deps lint typecheck pytest

install: $(VENV)/.installed assets locales

$(VENV)/.installed: requirements.lock
	@PYTHON=$${PYTHON:-$$(scripts/find_python.sh)} || exit 1; \
	  [ -x $(PY) ] || $$PYTHON -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip install --quiet --require-hashes --python $(PY) -r requirements.lock
	@touch $@

node_modules/.package-lock.json: package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the front-end assets: apt-get install npm (or install Node.js 20+)"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

assets: node_modules/.package-lock.json
	@$(PY) scripts/vendor_assets.py

locales: $(VENV)/.installed
	@command -v msgfmt >/dev/null || { echo "msgfmt is needed to compile translations: apt-get install gettext"; exit 1; }
	@$(PY) manage.py compilemessages --verbosity 0 --locale en --locale zh_Hans --ignore=.venv --ignore=node_modules --ignore=static_vendor --ignore=var

# After changing a translatable string: update both catalogues, give every bilingual message its
# Chinese part (scripts/zh_catalogue.py), then translate the new English entries by hand.
messages: $(VENV)/.installed
	cd wangge && ../$(PY) ../manage.py makemessages -l en -l zh_Hans --ignore "static/*" --ignore "tests/*" --no-obsolete
	$(PY) scripts/zh_catalogue.py
	@$(MAKE) --no-print-directory locales

system-deps:
	@scripts/system_deps.sh

migrate:
	$(PY) manage.py migrate --noinput

seed:
	$(PY) manage.py seed_demo

serve:
	@echo "Wangge is at http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy wangge

pytest:
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules static_vendor var
