"""Messages written "中文 (English)": the Chinese catalogue keeps the Chinese part only.

Error messages in the code are written once in both languages, the English in parentheses at
the end ("请填写标题 (title is required)"): the English catalogue translates them whole, and the
Chinese catalogue (`scripts/zh_catalogue.py`) maps each to its Chinese part, so that a Chinese
page or API answer carries no English and an English one no Chinese.
"""

import re

from django.utils.translation import get_language

_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_PLACEHOLDER = r"%\(\w+\)[sd]"
# The last parenthesised part, after text with Chinese in it; what follows it may only be Chinese
# punctuation ("… (please correct the following)：").
_BILINGUAL = re.compile(
    rf"^(?P<zh>.*[{_CJK}].*?)\s*\((?P<en>(?:{_PLACEHOLDER}|[A-Za-z0-9])(?:{_PLACEHOLDER}|[^()])*)\)"
    rf"(?P<tail>[\u3000-\u303f\uff00-\uffef]*)$",
    re.DOTALL,
)
# An English part has a word of three letters or more outside the placeholders: "(m²)",
# "(km²)", "(WGS84)" and "(.xlsx)" are units and formats, part of the Chinese text.
_WORD = re.compile(r"[a-z]{3,}")


def _parts(message: str) -> tuple[str, str] | None:
    """(Chinese part, English part) of a bilingual message, or None if it is not one."""
    match = _BILINGUAL.match(message)
    if match is None or not _WORD.search(re.sub(_PLACEHOLDER, "", match["en"])):
        return None
    return match["zh"] + match["tail"], match["en"].strip()


def chinese_part(message: str) -> str | None:
    """The Chinese part of a bilingual message, or None if the message is not one."""
    parts = _parts(message)
    return parts[0] if parts else None


def in_language(text: str, language: str | None = None) -> str:
    """Stored text written in both languages ("中文 (English)", several joined by "；") in one:
    its Chinese part for a Chinese reader, its English part for anyone else. Other text as it
    is."""
    chinese = (language or get_language() or "zh-hans").startswith("zh")
    shown = []
    for piece in text.split("；"):
        parts = _parts(piece)
        if parts is None:
            shown.append(piece)
        elif chinese:
            shown.append(parts[0])
        else:
            shown.append(parts[1][:1].upper() + parts[1][1:] + ".")
    return ("；" if chinese else " ").join(shown)
