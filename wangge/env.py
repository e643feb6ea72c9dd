"""Typed readers for settings that come from the environment; a bad value fails loudly."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0/true/false/yes/no/on/off, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def tile_origin(url: str) -> str:
    """The CSP source for a Leaflet tile URL template such as https://{s}.tile.example/{z}/{x}/{y}.png."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "subdomain"))
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(
            f"WANGGE_MAP_TILE_URL must be an http(s) URL template, not {url!r}"
        )
    host = parts.netloc.replace("subdomain.", "*.")
    return f"{parts.scheme}://{host}"


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def env_networks(name: str, default: list[str]) -> list[str]:
    """A comma list of IP addresses or networks (10.0.0.0/8), each checked."""
    import ipaddress

    entries = env_list(name, default)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks such as 10.0.0.0/8, not {entry!r}"
            ) from None
    return entries


def cache_config(url: str) -> dict[str, object]:
    """Django's cache settings for CACHE_URL: redis://, rediss:// or unix://; empty: local memory."""
    from urllib.parse import urlsplit

    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": "wangge"}
    if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"CACHE_URL must be a redis://, rediss:// or unix:// URL (or empty), not {url!r}"
        )
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "wangge",
        # A cache outage must not hang every request.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }


def env_origins(name: str, default: list[str]) -> list[str]:
    """A comma list of web origins (scheme://host[:port], no path), or "*" for any origin."""
    from urllib.parse import urlsplit

    origins = [origin.rstrip("/") for origin in env_list(name, default)]
    for origin in origins:
        if origin == "*":
            continue
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path:
            raise ImproperlyConfigured(
                f"{name} must list origins such as https://app.example.org (no path), not {origin!r}"
            )
    return origins
