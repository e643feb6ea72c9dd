"""Template filters for stored text and spans of time."""

import math
from datetime import timedelta

from django import template

from wangge.core.bilingual import in_language

register = template.Library()


@register.filter
def one_language(text: str) -> str:
    """Stored "中文 (English)" text in the reader's language (`core.bilingual.in_language`)."""
    return in_language(str(text or ""))


@register.filter
def whole_minutes(span: timedelta | None) -> int:
    """A time span in whole minutes, rounded up (a lock-out's 15 minutes), 0 for none."""
    if not isinstance(span, timedelta):
        return 0
    return max(0, math.ceil(span.total_seconds() / 60))
