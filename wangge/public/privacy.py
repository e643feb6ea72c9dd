"""What of a case's free text may be shown to the public: phone, ID and other long numbers are
hidden, and the names of the people involved (staff, other residents) are replaced."""

import re
from collections.abc import Iterable, Mapping

# What people put between a number's digit groups: spaces, hyphens, dots (full-width too).
SEP = r"[\s\-.．·－]?"
MOBILE = re.compile(rf"(?<!\d)(?:\+?86{SEP})?(1[3-9]\d){SEP}(\d{{4}}){SEP}(\d{{4}})(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# Landlines, extensions and any other long number (room numbers and years stay).
LONG_NUMBER = re.compile(rf"(?<!\d)\d(?:{SEP}\d){{6,}}(?!\d)")
# A number spelled in Chinese numerals (一三八…, 幺 for 1): seven or more in a row are a number,
# not prose.
_NUMERALS = "〇零一二三四五六七八九幺两"
SPELLED_NUMBER = re.compile(
    rf"(?<![{_NUMERALS}])[{_NUMERALS}](?:{SEP}[{_NUMERALS}]){{6,}}(?![{_NUMERALS}])"
)
HIDDEN = "****"


def scrub(text: str, *, names: Mapping[str, str] | Iterable[str] = ()) -> str:
    """`text` with numbers hidden and each name replaced (by its mapped label, or **)."""
    if not text:
        return ""
    # Not even a masked form: the last digits of a number are what lookups ask for.
    for pattern in (ID_NUMBER, MOBILE, LONG_NUMBER, SPELLED_NUMBER):
        text = pattern.sub(HIDDEN, text)
    labels = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names, "**")
    # Longest first, so that 张三丰 is not left as **丰 by 张三.
    for name in sorted((n for n in labels if len(n.strip()) >= 2), key=len, reverse=True):
        text = text.replace(name, labels[name])
    return text
