"""The English catalogue: complete, compiled, and what an English-speaking user actually sees."""

import ast
import contextlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from wangge.accounts.models import Role
from wangge.cases.models import Status
from wangge.core.tests.fixtures import World, login_as

APP_DIR = Path(settings.BASE_DIR) / "wangge"
LOCALE_DIR = APP_DIR / "locale"
EN_PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@dataclass
class Message:
    msgid: str
    plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def read_po(path: Path) -> list[Message]:
    """Just enough of the PO format for makemessages' output (no msgctxt, no obsolete entries)."""
    messages: list[Message] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        fields: dict[str, str] = {}
        flags: set[str] = set()
        key = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[key] += ast.literal_eval(line)
            else:
                key, _, value = line.partition(" ")
                fields[key] = ast.literal_eval(value)
        messages.append(
            Message(
                msgid=fields["msgid"],
                plural=fields.get("msgid_plural"),
                msgstrs=[v for k, v in fields.items() if k.startswith("msgstr")],
                flags=flags,
            )
        )
    return messages


def header(messages: list[Message]) -> dict[str, str]:
    assert messages[0].msgid == ""
    lines = messages[0].msgstrs[0].splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


@pytest.fixture(scope="module")
def english() -> Iterator[None]:
    """Compile the catalogues if `make locales` has not, and load them afresh."""
    stale = [
        po
        for po in (EN_PO, ZH_PO)
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        # compilemessages walks the current directory: keep it to the app, not the venv.
        with contextlib.chdir(APP_DIR):
            call_command("compilemessages", verbosity=0)
    # Changing LOCALE_PATHS drops Django's cached catalogues, on the way in and out.
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


# --- what an English-speaking user sees -----------------------------------------------------


def test_role_and_status_labels_come_out_in_english(english: None) -> None:
    with translation.override("en"):
        assert str(Role.GRID_WORKER.label) == "Grid worker"
        assert str(Role.DISPATCHER.label) == "Dispatcher"
        assert str(Status.HANDLED.label) == "To verify"
        assert str(Status.CLOSED.label) == "Closed"
    with translation.override("zh-hans"):
        assert str(Role.GRID_WORKER.label) == "网格员"


def test_plural_forms_follow_english_grammar(english: None) -> None:
    template = Template(
        "{% load i18n %}{% blocktranslate count n=n %}{{ n }} 栋楼{% plural %}{{ n }} 栋楼"
        "{% endblocktranslate %}"
    )
    with translation.override("en"):
        assert template.render(Context({"n": 1})) == "1 building"
        assert template.render(Context({"n": 3})) == "3 buildings"
    with translation.override("zh-hans"):
        assert template.render(Context({"n": 3})) == "3 栋楼"


@pytest.mark.django_db
def test_the_login_page_is_english_for_the_language_cookie(english: None, client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="en">' in html
    assert "<title>Sign in ·" in html
    assert "Staff sign-in" in html
    assert "Mobile number or username" in html
    assert "工作人员登录" not in html


@pytest.mark.django_db
def test_the_login_page_follows_accept_language(english: None, client) -> None:
    html = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Staff sign-in" in html
    html = client.get(reverse("accounts:login")).content.decode()
    assert "工作人员登录" in html


def test_a_bilingual_error_shows_only_its_english_part(english: None) -> None:
    with translation.override("en"):
        message = translation.gettext("请填写%(label)s (%(field)s is required)") % {
            "label": translation.gettext("标题"),
            "field": "title",
        }
    assert message == "Title (title) is required."


def test_a_signed_in_grid_worker_sees_the_home_page_in_english(
    english: None, world: World, client
) -> None:
    login_as(client, world.users["grid_worker"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("core:home")).content.decode()
    assert "My roles and areas" in html
    assert "Grid worker" in html
    assert "网格员" not in html


# --- the catalogues themselves --------------------------------------------------------------


def test_every_english_message_is_translated_and_none_is_fuzzy() -> None:
    messages = read_po(EN_PO)
    assert header(messages)["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    assert "fuzzy" not in messages[0].flags
    untranslated = [m.msgid for m in messages[1:] if not all(m.msgstrs)]
    fuzzy = [m.msgid for m in messages[1:] if "fuzzy" in m.flags]
    assert untranslated == []
    assert fuzzy == []
    plurals = [m for m in messages if m.plural is not None]
    assert plurals and all(len(m.msgstrs) == 2 for m in plurals)


def test_english_messages_keep_every_placeholder() -> None:
    for m in read_po(EN_PO)[1:]:
        expected = set(PLACEHOLDER.findall(m.msgid))
        for msgstr in m.msgstrs:
            assert set(PLACEHOLDER.findall(msgstr)) == expected, m.msgid


def test_the_chinese_catalogue_has_a_valid_header_and_the_same_messages() -> None:
    zh = read_po(ZH_PO)
    assert header(zh)["Plural-Forms"] == "nplurals=1; plural=0;"
    assert header(zh)["Content-Type"] == "text/plain; charset=UTF-8"
    assert {m.msgid for m in zh} == {m.msgid for m in read_po(EN_PO)}


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_the_catalogue_holds_every_string_in_the_code(tmp_path: Path) -> None:
    """A string added to code or a template without re-running makemessages fails here."""
    source = tmp_path / "src"
    shutil.copytree(
        APP_DIR,
        source,
        ignore=shutil.ignore_patterns("locale", "static", "tests", "__pycache__"),
    )
    (source / "locale").mkdir()
    with contextlib.chdir(source), override_settings(LOCALE_PATHS=[source / "locale"]):
        call_command("makemessages", locale=["en"], verbosity=0)
    in_code = {m.msgid for m in read_po(source / "locale" / "en" / "LC_MESSAGES" / "django.po")}
    in_catalogue = {m.msgid for m in read_po(EN_PO)}
    missing = sorted(in_code - in_catalogue)
    assert missing == [], (
        "run `cd wangge && ../.venv/bin/python ../manage.py makemessages -l en -l zh_Hans "
        '--ignore "static/*" --ignore "tests/*" --no-obsolete` and translate these'
    )
