"""Who calls the staff API: bearer tokens (only their SHA-256 is stored), read with their user
in one plain statement, counted per token against WANGGE_API_RATE_PER_TOKEN."""

import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from wangge.accounts.actions import hash_token
from wangge.accounts.models import ApiToken, User
from wangge.core import ratelimit
from wangge.core.middleware import COUNTED
from wangge.core.sql import Columns, fresh_copy, prepared_cursor

# How often a token's last_used_at is refreshed: not a write on every request.
LAST_USED_RESOLUTION_SECONDS = 60


_TOKEN = Columns(ApiToken, "token", ("user", "last_used_at"))
_USER = Columns(User, "u")

# Tokens this process has read, by hash, for the operations whose own statement checks the
# token again (TokenAuth(checked_later=True), case intake): (read at, the row's values). A hit
# is never trusted on its own: the request is marked UNCHECKED, and no answer but a 401 leaves
# before the token is confirmed unrevoked and its user active in the database (in the
# operation's statement, or in _errors on the way out). Entries are dropped after
# TOKEN_CACHE_SECONDS, so a renamed user is seen within that time; each request gets its own
# copies (fresh_copy), never the kept instances nor another request's.
TOKEN_CACHE_SECONDS = 60
TOKEN_CACHE_SIZE = 1024
_token_cache: dict[str, tuple[float, ApiToken]] = {}

# On the request: (id, hash) of a token taken from the cache and not yet checked in this request.
UNCHECKED = "_wangge_token_unchecked"


def _token_row(key_hash: str) -> tuple[Any, ...] | None:
    """The unrevoked token with this hash and its user's columns, read on every API call: one
    plain statement (the ORM's query building cost more than the query)."""
    sql = _token_sql.get(connection.vendor)
    if sql is None:
        q = connection.ops.quote_name
        # Only quoted identifiers from _meta are interpolated; the hash is a parameter.
        sql = _token_sql[connection.vendor] = (
            f"SELECT {_TOKEN.sql()}, {_USER.sql()}"  # noqa: S608
            f" FROM {q(ApiToken._meta.db_table)} {q('token')}"
            f" JOIN {q(User._meta.db_table)} {q('u')}"
            f" ON {q('u')}.{q(str(User._meta.pk.column))} = {q('token')}.{q('user_id')}"
            f" WHERE {q('token')}.{q('key_hash')} = %s AND {q('token')}.{q('revoked_at')} IS NULL"
        )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [key_hash])
        values = cursor.fetchone()
    return tuple(values) if values is not None else None


def _load(values: tuple[Any, ...]) -> ApiToken:
    token: ApiToken = _TOKEN.load(values[: len(_TOKEN)])
    token.user = _USER.load(values[len(_TOKEN) :])
    return token


def _token_with_user(key_hash: str) -> ApiToken | None:
    values = _token_row(key_hash)
    return _load(values) if values is not None else None


_token_sql: dict[str, str] = {}


def _cached_token(key_hash: str) -> ApiToken | None:
    """A copy of the token (with its user) as read, from this process's cache (None: not
    there or too old)."""
    entry = _token_cache.get(key_hash)
    if entry is None or time.monotonic() - entry[0] > TOKEN_CACHE_SECONDS:
        return None
    kept = entry[1]
    token = fresh_copy(kept)
    token.user = fresh_copy(kept.user)
    return token


def _remember(key_hash: str, token: ApiToken) -> None:
    if len(_token_cache) >= TOKEN_CACHE_SIZE:
        _token_cache.clear()
    kept = fresh_copy(token)
    kept.user = fresh_copy(token.user)
    _token_cache[key_hash] = (time.monotonic(), kept)


def forget_token(key_hash: str) -> None:
    _token_cache.pop(key_hash, None)


def check_token(request: HttpRequest) -> bool:
    """Whether the request's token is still valid, asking the database if it came from the cache
    and nothing has checked it yet in this request (True for any other request)."""
    unchecked = getattr(request, UNCHECKED, None)
    if unchecked is None:
        return True
    delattr(request, UNCHECKED)
    token_id, key_hash = unchecked
    token = _token_with_user(key_hash)
    if token is None or token.pk != token_id or not token.user.is_active:
        forget_token(key_hash)
        return False
    return True


def _last_use_due(token: ApiToken) -> bool:
    last = token.last_used_at
    return last is None or (timezone.now() - last).total_seconds() > LAST_USED_RESOLUTION_SECONDS


class TokenAuth(HttpBearer):
    """Bearer tokens, each limited to WANGGE_API_RATE_PER_TOKEN calls a minute; a call with a
    token that is not valid counts against its address (WANGGE_API_RATE_PER_IP), as calls
    without one do in RequestGuardMiddleware.

    `checked_later`: the operation's own statement checks the token (case intake reads it with
    everything else it checks): a token this process has seen is taken from the cache and the
    request marked UNCHECKED, saving a round trip on the hot path.
    """

    def __init__(self, *, checked_later: bool = False) -> None:
        super().__init__()
        self.checked_later = checked_later

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        key_hash = hash_token(token)
        row = _cached_token(key_hash) if self.checked_later else None
        if row is not None and _last_use_due(row):
            # Written only after a fresh read says the token is valid: a miss.
            row = None
        if row is not None:
            setattr(request, UNCHECKED, (row.pk, key_hash))
        else:
            row = _token_with_user(key_hash)
        setattr(request, COUNTED, True)
        if row is None or not row.user.is_active:
            ratelimit.hit(
                bucket="api-ip",
                key=ratelimit.client_ip(request),
                limit=settings.WANGGE_API_RATE_PER_IP,
                window_seconds=60,
            )
            return None
        ratelimit.hit(
            bucket="api-token",
            key=str(row.pk),
            limit=settings.WANGGE_API_RATE_PER_TOKEN,
            window_seconds=60,
        )
        if _last_use_due(row):
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
            # Read again next time, with the new time.
            forget_token(key_hash)
        elif self.checked_later and not hasattr(request, UNCHECKED):
            # Read just now: kept for the next calls.
            _remember(key_hash, row)
        request.user = row.user
        return row.user
