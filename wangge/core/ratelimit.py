"""Fixed-window rate limits kept in Django's cache, and the client address they are keyed on.

`hit()` counts one request for a (bucket, key) pair and raises `RateLimited` once the pair is over
its limit in the current window; `RequestGuardMiddleware` (and, for bearer-token API calls, the
staff API's exception handler) turns that into a 429 with Retry-After.
With CACHE_URL=redis://… the counters are shared by every process (INCR + SET NX, atomic); with
the local-memory default each process counts on its own, so the real limit is limit × processes.
"""

import hashlib
import ipaddress
import logging
import math
import re
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# Keys a person can read in `redis-cli keys '*:rl:*'`; anything else (tokens, odd characters,
# very long strings) is hashed so a client can never shape the cache key.
_PLAIN_KEY = re.compile(r"[\w.:\-\[\]]{1,80}")


class RateLimited(Exception):
    """Too many requests for one (bucket, key) in the current window."""

    def __init__(self, *, bucket: str, retry_after: int) -> None:
        super().__init__(f"rate limit {bucket!r} exceeded; retry after {retry_after}s")
        self.bucket = bucket
        self.retry_after = retry_after


def _now() -> float:
    return time.time()


def _window(window_seconds: int) -> tuple[float, int]:
    """Now, and the index of the fixed window it falls in."""
    now = _now()
    return now, int(now // window_seconds)


def _limited(bucket: str, now: float, window: int, window_seconds: int) -> RateLimited:
    """The refusal, retrying when the next window starts."""
    retry_after = max(1, math.ceil((window + 1) * window_seconds - now))
    return RateLimited(bucket=bucket, retry_after=retry_after)


def _cache_key(bucket: str, key: str, window: int) -> str:
    if not _PLAIN_KEY.fullmatch(key):
        key = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"rl:{bucket}:{key}:{window}"


def _count(cache: BaseCache, cache_key: str, *, timeout: int) -> int:
    """The counter after adding one: INCR when it exists (the usual case, two round trips on
    Redis), else SET NX; whoever loses the SET NX race increments instead."""
    # The window index is part of the key, so a counter is only touched inside its own window;
    # living one window plus a second means it does not expire between the calls.
    for _attempt in range(2):
        try:
            return int(cache.incr(cache_key))
        except ValueError:
            if cache.add(cache_key, 1, timeout=timeout):
                return 1
    # Evicted twice over in between: count this one and move on.
    return 1


def hit(*, bucket: str, key: str, limit: int, window_seconds: int) -> None:
    """Count one request for (bucket, key); raise RateLimited when it is over `limit` per window."""
    now, window = _window(window_seconds)
    cache_key = _cache_key(bucket, key, window)
    try:
        count = _count(caches["default"], cache_key, timeout=window_seconds + 1)
    except Exception:
        # A cache outage must not take the site down with it: no limits until it is back.
        logger.exception("rate limit %s not counted: the cache is not answering", bucket)
        return
    if count > limit:
        raise _limited(bucket, now, window, window_seconds)


def check(*, bucket: str, key: str, limit: int, window_seconds: int) -> None:
    """Raise RateLimited if (bucket, key) has already used `limit` in this window, without
    counting this request (for limits that count only failures: call `hit` on a failure)."""
    now, window = _window(window_seconds)
    try:
        count = int(caches["default"].get(_cache_key(bucket, key, window)) or 0)
    except Exception:
        logger.exception("rate limit %s not checked: the cache is not answering", bucket)
        return
    if count >= limit:
        raise _limited(bucket, now, window, window_seconds)


@lru_cache(maxsize=8)
def _networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_trusted(address: str, entries: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(entries))


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For when the peer is a trusted proxy.

    WANGGE_TRUSTED_PROXIES lists proxy addresses or networks (e.g. 127.0.0.1, 10.0.0.0/8). The
    forwarded chain is read from the right, skipping trusted proxies, so a client cannot choose
    its own address by sending a forged X-Forwarded-For.
    """
    peer = request.META.get("REMOTE_ADDR") or ""
    trusted = tuple(getattr(settings, "WANGGE_TRUSTED_PROXIES", ()) or ())
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    chain = [part.strip() for part in forwarded.split(",") if part.strip()]
    for address in reversed(chain):
        if not _is_trusted(address, trusted):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                # Garbage from the far side of the proxy: the proxy is the best we know.
                return peer
    # Every hop is one of ours (an internal client): the far end of the chain is the client.
    return chain[0] if chain else peer
