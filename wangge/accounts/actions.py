"""Writes for people: API tokens (memberships are configured in the admin)."""

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from wangge.accounts.models import ApiToken


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; the raw key is returned once and only its hash is stored."""
    raw = "wg_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:8])
    return token, raw


def revoke_token(*, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
