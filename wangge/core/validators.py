"""Validators for Chinese identifiers shared by every app (DOMAIN.md §5)."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def validate_mobile(value: str) -> None:
    if "*" in (value or ""):
        # A masked number copied from a page or the masked ledger export.
        raise ValidationError(
            _(
                "这是脱敏的手机号，不能保存：请填写完整号码（修改已登记的居民时，留空则保留原号码）。"
                " (A masked number: type the full number; for a registered resident, leaving it"
                " empty keeps the stored one.)"
            ),
            code="masked_mobile",
        )
    if not MOBILE_RE.match(value or ""):
        raise ValidationError(
            _("请输入 11 位中国大陆手机号，以 13–19 开头，例如 13812345678。"),
            code="invalid_mobile",
        )


# A number the public may call: a mobile, a landline with its area code (010-65123456, an
# extension after a dash) or a 400/800 service line.
PUBLIC_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|[48]00-?\d{3}-?\d{4})$")


def validate_public_phone(value: str) -> None:
    if not PUBLIC_PHONE_RE.match(value or ""):
        raise ValidationError(
            _(
                "请输入手机号或带区号的固定电话，例如 13812345678、010-65123456 或 "
                "010-65123456-801。"
            ),
            code="invalid_phone",
        )


_PHONE_NOISE = re.compile(r"[\s()（）]")


def plain_phone(raw: str) -> str:
    """A phone number as people type or systems export it, without spaces, brackets (also
    full-width) and the +86 country code: "+86 (138) 1234 5678" → "13812345678". Checking
    what is left is the caller's: each channel has its own rules."""
    phone = _PHONE_NOISE.sub("", raw)
    return phone[3:] if phone.startswith("+86") else phone


def mask_mobile(value: str | None) -> str:
    """138****5678; anything that is not a full mobile number is masked entirely."""
    if not value:
        return ""
    if len(value) == 11 and value.isdigit():
        return f"{value[:3]}****{value[-4:]}"
    return "*" * len(value)


# --- GB 11643 citizen ID numbers (公民身份号码) ------------------------------------------------

ID_NUMBER_RE = re.compile(r"^\d{17}[\dX]$")
# ISO 7064 MOD 11-2: weight of position i (1-based from the left) is 2^(18-i) mod 11.
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK_CHARS = "10X98765432"


def id_number_check_char(first17: str) -> str:
    """The check character of the 17 leading digits of a citizen ID number."""
    total = sum(int(ch) * w for ch, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_number_birth_date(value: str) -> date | None:
    """The birth date encoded in characters 7–14, or None if it is not a real date."""
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def id_number_sex(value: str) -> str:
    """'male' if character 17 is odd, else 'female' (GB 11643 §4.3)."""
    return "male" if int(value[16]) % 2 else "female"


def normalize_id_number(value: str | None) -> str:
    return (value or "").strip().upper().replace(" ", "")


def validate_id_number(value: str) -> None:
    """Shape, birth date and check character of an 18-character ID number."""
    value = normalize_id_number(value)
    if "*" in value:
        raise ValidationError(
            _(
                "这是脱敏的身份证号，不能用来登记：请填写完整号码（“导出完整号码”的文件带有完整号码）。"
                " (A masked ID number: type the full number, or use the full-number export.)"
            ),
            code="masked_id_number",
        )
    if not ID_NUMBER_RE.match(value):
        raise ValidationError(
            _(
                "身份证号应为 18 位：17 位数字加 1 位校验码（数字或 X）。"
                " (An ID number has 17 digits and a check character 0–9 or X.)"
            ),
            code="id_number_format",
        )
    birth = id_number_birth_date(value)
    if birth is None or birth.year < 1880 or birth > timezone.localdate():
        raise ValidationError(
            _(
                "身份证号第 7–14 位不是有效的出生日期。"
                " (Characters 7–14 of the ID number are not a valid birth date.)"
            ),
            code="id_number_birth_date",
        )
    if id_number_check_char(value[:17]) != value[17]:
        raise ValidationError(
            _(
                "身份证号校验码不正确，请核对每一位。"
                " (The ID number's check character is wrong: check every digit.)"
            ),
            code="id_number_check",
        )


def id_number_conflicts(
    value: str, *, birth_date: date | None, sex: str | None
) -> list[tuple[str, ValidationError]]:
    """Disagreements between a valid ID number and the birth date and sex given beside it,
    as (field, error) pairs."""
    value = normalize_id_number(value)
    problems: list[tuple[str, ValidationError]] = []
    if birth_date is not None and id_number_birth_date(value) != birth_date:
        problems.append(
            (
                "birth_date",
                ValidationError(
                    _(
                        "出生日期与身份证号第 7–14 位不一致。"
                        " (The birth date does not match characters 7–14 of the ID number.)"
                    ),
                    code="id_number_birth_mismatch",
                ),
            )
        )
    if sex and id_number_sex(value) != sex:
        problems.append(
            (
                "sex",
                ValidationError(
                    _(
                        "性别与身份证号第 17 位不一致（奇数为男，偶数为女）。"
                        " (Sex does not match character 17 of the ID number: odd is male.)"
                    ),
                    code="id_number_sex_mismatch",
                ),
            )
        )
    return problems


def mask_id_number(value: str | None) -> str:
    """110105********002X: the region and the last four characters stay visible."""
    if not value:
        return ""
    if len(value) == 18:
        return f"{value[:6]}{'*' * 8}{value[-4:]}"
    return "*" * len(value)


# --- GB 32100 unified social credit codes (统一社会信用代码) ----------------------------------

CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_VALUES = {ch: i for i, ch in enumerate(CREDIT_CODE_CHARS)}
CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
CREDIT_CODE_RE = re.compile(rf"^[{CREDIT_CODE_CHARS}]{{18}}$")


def credit_code_check_char(first17: str) -> str:
    total = sum(
        CREDIT_CODE_VALUES[ch] * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def normalize_credit_code(value: str | None) -> str:
    return (value or "").strip().upper().replace(" ", "")


def validate_credit_code(value: str) -> None:
    value = normalize_credit_code(value)
    if not CREDIT_CODE_RE.match(value):
        raise ValidationError(
            _(
                "统一社会信用代码应为 18 位，只含数字和大写字母（不含 I、O、Z、S、V）。"
                " (A credit code has 18 characters from 0-9 and A-Y without I, O, Z, S, V.)"
            ),
            code="credit_code_format",
        )
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValidationError(
            _(
                "统一社会信用代码校验码不正确，请核对每一位。"
                " (The credit code's check character is wrong: check every character.)"
            ),
            code="credit_code_check",
        )
