"""Deployment checks: rate limits need a cache every process shares."""

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    backend = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
    if backend.endswith("LocMemCache"):
        return [
            checks.Warning(
                "CACHE_URL is not set: every process keeps its own rate-limit counters, so each "
                "limit is multiplied by the number of processes.",
                hint="Set CACHE_URL=redis://host:6379/0.",
                id="core.W001",
            )
        ]
    return []
