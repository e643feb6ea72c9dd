"""What of a case's free text may be shown to the public: phone, ID and other long numbers are
hidden, and the names of the people involved (staff, other residents) are replaced."""

import re
from collections.abc import Iterable, Mapping

MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# Landlines, extensions and any other long number (room numbers and years stay).
LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[\s-]?\d){6,}(?!\d)")
HIDDEN = "****"


def scrub(text: str, *, names: Mapping[str, str] | Iterable[str] = ()) -> str:
    """`text` with numbers hidden and each name replaced (by its mapped label, or **)."""
    if not text:
        return ""
    # Not even a masked form: the last digits of a number are what lookups ask for.
    for pattern in (ID_NUMBER, MOBILE, LONG_NUMBER):
        text = pattern.sub(HIDDEN, text)
    labels = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names, "**")
    # Longest first, so that 张三丰 is not left as **丰 by 张三.
    for name in sorted((n for n in labels if len(n.strip()) >= 2), key=len, reverse=True):
        text = text.replace(name, labels[name])
    return text
