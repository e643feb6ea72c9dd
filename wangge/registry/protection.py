"""Turning a personal identifier into what is stored (ciphertext, digests, masked form), and back.

Only `actions.reveal_resident` and the key-rotation command call `open_value`; every page, list
and export shows the masked columns.
"""

from dataclasses import dataclass

from wangge.core.validators import mask_id_number, mask_mobile
from wangge.registry import crypto

ID_NUMBER = "resident.id_number"
MOBILE = "resident.mobile"
ENTERPRISE_MOBILE = "enterprise.contact_mobile"


@dataclass(frozen=True)
class Sealed:
    encrypted: str
    digest: str
    last4_digest: str
    masked: str


EMPTY = Sealed(encrypted="", digest="", last4_digest="", masked="")


def seal(value: str, *, purpose: str) -> Sealed:
    if not value:
        return EMPTY
    mask = mask_mobile if purpose != ID_NUMBER else mask_id_number
    return Sealed(
        encrypted=crypto.encrypt(value, purpose=purpose),
        digest=crypto.digest(value, purpose=purpose),
        last4_digest=last4_digest(value[-4:], purpose=purpose),
        masked=mask(value),
    )


def last4_digest(tail: str, *, purpose: str, key_index: int = 0) -> str:
    return crypto.digest(tail.upper(), purpose=f"{purpose}.last4", key_index=key_index)


def lookup_digests(value: str, *, purpose: str) -> list[str]:
    return crypto.digest_candidates(value, purpose=purpose)


def last4_lookup_digests(tail: str, *, purpose: str) -> list[str]:
    return [
        last4_digest(tail, purpose=purpose, key_index=i)
        for i in range(len(crypto.keyring().hash_keys))
    ]


def open_value(encrypted: str, *, purpose: str) -> str:
    return crypto.decrypt(encrypted, purpose=purpose)
