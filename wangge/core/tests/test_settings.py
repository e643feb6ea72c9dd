"""Settings come from the environment and fail loudly; production settings pass check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from wangge.env import env_bool, env_int, env_list, tile_origin

ROOT = Path(__file__).resolve().parents[3]


def test_env_bool_refuses_a_value_it_cannot_read(monkeypatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)


def test_env_int_refuses_non_numbers_and_small_values(monkeypatch) -> None:
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("X_NUM", 1, minimum=1)


def test_env_list_splits_on_commas(monkeypatch) -> None:
    monkeypatch.setenv("X_LIST", "a.example, b.example,,")
    assert env_list("X_LIST", []) == ["a.example", "b.example"]


def test_tile_origin_turns_a_template_into_a_csp_source() -> None:
    assert (
        tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    )
    with pytest.raises(ImproperlyConfigured):
        tile_origin("tiles/{z}/{x}/{y}.png")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DJANGO_"))}
    clean.pop("DEBUG", None)
    clean.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=ROOT,
        timeout=120,
    )


def test_production_settings_pass_check_deploy(tmp_path) -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="a-long-random-production-secret-" + "x7Gq2" * 10,
        ALLOWED_HOSTS="wangge.example.gov.cn",
        WANGGE_VAR_DIR=str(tmp_path),
        # Without real field-encryption keys the registry's check warns (registry.W001).
        WANGGE_FIELD_KEYS="q2Vj0t7cM3yQ1pX6bN8rL4wZ9sA5dF0gH2jK7mP3tE8=",
        # Without a shared cache every process counts rate limits apart (core.W001).
        CACHE_URL="redis://cache.internal:6379/0",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_warns_when_rate_limits_count_per_process(tmp_path) -> None:
    result = _manage(
        "check",
        "--deploy",
        SECRET_KEY="a-long-random-production-secret-" + "x7Gq2" * 10,
        ALLOWED_HOSTS="wangge.example.gov.cn",
        WANGGE_VAR_DIR=str(tmp_path),
        WANGGE_FIELD_KEYS="q2Vj0t7cM3yQ1pX6bN8rL4wZ9sA5dF0gH2jK7mP3tE8=",
        CACHE_URL="",
    )
    assert "core.W001" in result.stdout + result.stderr


def test_a_bad_cache_url_fails_loudly(tmp_path) -> None:
    result = _manage("check", CACHE_URL="memcached://x:11211", WANGGE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "CACHE_URL" in result.stderr


def test_a_bad_database_url_fails_loudly(tmp_path) -> None:
    result = _manage("check", DATABASE_URL="nonsense://", WANGGE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
