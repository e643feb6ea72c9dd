"""System checks: the field-encryption keys must be real in production."""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from wangge.registry import crypto


@checks.register(checks.Tags.security)
def check_field_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        crypto.reset_keyring()
        ring = crypto.keyring()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="registry.E001")]
    if ring.is_default and not settings.DEBUG:
        return [
            checks.Warning(
                f"{crypto.ENV_NAME} is not set: ID and mobile numbers are encrypted with a key "
                "derived from SECRET_KEY.",
                hint=f"Set {crypto.ENV_NAME} to one or more base64 32-byte keys (current first), "
                "keep them apart from the database backups, then run rotate_field_keys.",
                id="registry.W001",
            )
        ]
    return []


IN_PROCESS_TASKS = frozenset(
    {
        "django.tasks.backends.immediate.ImmediateBackend",
        "django.tasks.backends.dummy.DummyBackend",
    }
)


@checks.register()
def check_ledger_jobs_cache(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Ledger imports keep their state in the cache; a worker in another process must share it."""
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    cache = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
    if backend not in IN_PROCESS_TASKS and cache.endswith("LocMemCache"):
        return [
            checks.Warning(
                "Tasks run in a worker process but the cache is local to each process: ledger "
                "imports would never show their progress or result.",
                hint="Set CACHE_URL to a Redis server shared by the web and worker processes.",
                id="registry.W002",
            )
        ]
    return []
