"""Signed links to a case's public page. A reporter's link (sent after reporting) may rate the
case; a follower's link (a resident who found the same problem already reported) only reads.

A link carries the case's id, never its tracking code: the code plus four digits of the phone
is the other way in, so it must not travel in links that strangers can obtain.
"""

from dataclasses import dataclass

from django.core import signing

REPORTER = "reporter"
FOLLOWER = "follower"
_SALTS = {
    REPORTER: "wangge.public.track.reporter",
    FOLLOWER: "wangge.public.track.follower",
}


@dataclass(frozen=True)
class Access:
    case_id: int
    role: str

    @property
    def is_reporter(self) -> bool:
        return self.role == REPORTER


def make_token(*, case_id: int, role: str) -> str:
    return signing.Signer(salt=_SALTS[role]).sign(str(case_id))


def read_token(token: str) -> Access | None:
    """Who the link is for, or None when it was not made by this site."""
    if len(token) > 100:
        return None
    for role, salt in _SALTS.items():
        try:
            value = signing.Signer(salt=salt).unsign(token)
        except signing.BadSignature:
            continue
        if value.isdigit():
            return Access(case_id=int(value), role=role)
    return None
