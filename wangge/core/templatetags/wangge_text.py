"""Template filters for stored text."""

from django import template

from wangge.core.bilingual import in_language

register = template.Library()


@register.filter
def one_language(text: str) -> str:
    """Stored "中文 (English)" text in the reader's language (`core.bilingual.in_language`)."""
    return in_language(str(text or ""))
