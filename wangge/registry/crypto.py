"""Encryption at rest and keyed hashes for personal identifiers (PIPL).

ID and mobile numbers are stored as AES-256-GCM ciphertexts (authenticated: a changed byte fails
to decrypt) plus HMAC-SHA256 digests for exact lookup. Keys come from WANGGE_FIELD_KEYS:
comma-separated URL-safe base64 32-byte keys, the first one current; older keys stay listed until
`manage.py rotate_field_keys` has re-encrypted every row. Without the variable a key is derived
from SECRET_KEY for development, and a system check warns when DEBUG is off; with it, that
development key is still tried last when reading, so rotation can move old rows off it.
"""

import base64
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENV_NAME = "WANGGE_FIELD_KEYS"
VERSION = "v1"
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A ciphertext was altered, or was sealed with a key that is no longer configured."""


def _derive(material: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


def _decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"{ENV_NAME} must list URL-safe base64 keys of 32 bytes; generate one with "
            "`python -c 'import secrets,base64;print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'`"
        )
    return key


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys (current first) and their derived hash keys, each with a short id."""

    keys: tuple[bytes, ...]
    is_default: bool

    @cached_property
    def ids(self) -> tuple[str, ...]:
        return tuple(hashlib.sha256(b"wangge-key-id" + k).hexdigest()[:8] for k in self.keys)

    @cached_property
    def ciphers(self) -> dict[str, AESGCM]:
        return {
            key_id: AESGCM(_derive(key, b"wangge-field-encryption"))
            for key_id, key in zip(self.ids, self.keys, strict=True)
        }

    @cached_property
    def hash_keys(self) -> tuple[bytes, ...]:
        # A separate key: knowing a digest never helps with the ciphertexts, and vice versa.
        return tuple(_derive(key, b"wangge-field-lookup-hash") for key in self.keys)

    @property
    def current_id(self) -> str:
        return self.ids[0]


_lock = threading.Lock()
_ring: KeyRing | None = None


def keyring() -> KeyRing:
    """The key ring, read from the environment on first use (not at import time)."""
    global _ring
    ring = _ring
    if ring is not None:  # read without the lock: digests ask for it several times a row
        return ring
    with _lock:
        if _ring is None:
            raw = [item.strip() for item in os.environ.get(ENV_NAME, "").split(",") if item.strip()]
            development = _derive(settings.SECRET_KEY.encode(), b"wangge-dev-field-key")
            if raw:
                # The development key stays last, for reading only, so that rows sealed before
                # real keys were configured can be rotated onto them.
                keys = tuple(_decode_key(k) for k in raw)
                _ring = KeyRing(keys=(*keys, development), is_default=False)
            else:
                _ring = KeyRing(keys=(development,), is_default=True)
        return _ring


def reset_keyring() -> None:
    """Forget the cached keys (tests, and after the environment changed)."""
    global _ring
    with _lock:
        _ring = None


def encrypt(value: str, *, purpose: str) -> str:
    """`v1:<key id>:<base64(nonce + ciphertext)>`; `purpose` (e.g. "resident.id_number") is bound
    as associated data, so a ciphertext copied into another column does not decrypt."""
    ring = keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = ring.ciphers[ring.current_id].encrypt(nonce, value.encode(), purpose.encode())
    return f"{VERSION}:{ring.current_id}:{base64.b64encode(nonce + sealed).decode()}"


def key_id_of(token: str) -> str:
    parts = token.split(":")
    return parts[1] if len(parts) == 3 else ""


def decrypt(token: str, *, purpose: str) -> str:
    if not token:
        return ""
    try:
        version, key_id, body = token.split(":")
        raw = base64.b64decode(body)
    except ValueError:
        raise DecryptionFailed("malformed ciphertext") from None
    cipher = keyring().ciphers.get(key_id)
    if version != VERSION or cipher is None:
        raise DecryptionFailed(f"no configured key {key_id!r}")
    try:
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode()).decode()
    except InvalidTag:
        raise DecryptionFailed("ciphertext failed authentication") from None


# A digest is the first 16 bytes of the HMAC in URL-safe base64 without padding: 22 characters.
# 128 bits are plenty for equality under a secret key, and the indexes over these columns take
# a million random inserts at an import (docs/decisions/0005).
DIGEST_BYTES = 16
DIGEST_LENGTH = 22


def digest(value: str, *, purpose: str, key_index: int = 0) -> str:
    """Keyed digest (HMAC-SHA256, truncated; see DIGEST_BYTES) of `value` for exact lookup;
    without the key a digest cannot be brute-forced from the small space of ID or phone
    numbers."""
    key = keyring().hash_keys[key_index]
    mac = hmac.digest(key, f"{purpose}\x00{value}".encode(), "sha256")[:DIGEST_BYTES]
    return base64.urlsafe_b64encode(mac)[:DIGEST_LENGTH].decode()


def digest_candidates(value: str, *, purpose: str) -> list[str]:
    """The digest under every configured key: rows not yet rotated still match a lookup."""
    return [digest(value, purpose=purpose, key_index=i) for i in range(len(keyring().hash_keys))]
