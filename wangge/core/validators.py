"""Validators for Chinese identifiers shared by every app (DOMAIN.md §5)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def validate_mobile(value: str) -> None:
    if not MOBILE_RE.match(value or ""):
        raise ValidationError(
            _("请输入 11 位中国大陆手机号，以 13–19 开头，例如 13812345678。"),
            code="invalid_mobile",
        )


def mask_mobile(value: str | None) -> str:
    """138****5678; anything that is not a full mobile number is masked entirely."""
    if not value:
        return ""
    if len(value) == 11 and value.isdigit():
        return f"{value[:3]}****{value[-4:]}"
    return "*" * len(value)
