"""GB 11643 ID numbers, GB 32100 credit codes and mobile numbers (wangge/core/validators.py)."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from wangge.core.validators import (
    CREDIT_CODE_CHARS,
    credit_code_check_char,
    id_number_birth_date,
    id_number_check_char,
    id_number_conflicts,
    id_number_sex,
    mask_id_number,
    mask_mobile,
    plain_phone,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)

STANDARD_EXAMPLE = "11010519491231002X"


def codes(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return exc.value.code or ""


def test_the_standards_example_is_valid_female_born_1949_12_31() -> None:
    validate_id_number(STANDARD_EXAMPLE)
    validate_id_number(STANDARD_EXAMPLE.lower())  # a lower-case x is accepted and normalised
    assert id_number_birth_date(STANDARD_EXAMPLE) == date(1949, 12, 31)
    assert id_number_sex(STANDARD_EXAMPLE) == "female"
    assert id_number_check_char(STANDARD_EXAMPLE[:17]) == "X"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "id_number_check"),
        ("11010519491231002", "id_number_format"),
        ("11010519491231002X1", "id_number_format"),
        ("11010519491231O02X", "id_number_format"),
        ("110105194902300023", "id_number_birth_date"),  # 30 February
        ("110105187001010013", "id_number_birth_date"),  # before 1880
        ("", "id_number_format"),
    ],
)
def test_it_rejects_bad_id_numbers_with_a_reason(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_id_number(value)
    assert codes(exc) == code
    assert "身份证号" in str(exc.value.messages[0])


def test_an_id_number_born_tomorrow_is_rejected() -> None:
    tomorrow = date.today() + timedelta(days=2)  # noqa: DTZ011
    first17 = f"110105{tomorrow:%Y%m%d}001"
    with pytest.raises(ValidationError) as exc:
        validate_id_number(first17 + id_number_check_char(first17))
    assert codes(exc) == "id_number_birth_date"


def test_birth_date_and_sex_must_agree_with_the_number() -> None:
    assert id_number_conflicts(STANDARD_EXAMPLE, birth_date=date(1949, 12, 31), sex="female") == []
    problems = id_number_conflicts(STANDARD_EXAMPLE, birth_date=date(1950, 1, 1), sex="male")
    assert [field for field, _ in problems] == ["birth_date", "sex"]
    assert "第 17 位" in str(problems[1][1].messages[0])


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31))
regions = st.from_regex(r"[1-6][0-9]{5}", fullmatch=True)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    first17 = f"{draw(regions)}{draw(birth_dates):%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + id_number_check_char(first17)


@given(id_numbers())
def test_every_generated_id_number_is_valid_and_round_trips(value: str) -> None:
    validate_id_number(value)
    birth = id_number_birth_date(value)
    assert birth is not None and f"{birth:%Y%m%d}" == value[6:14]
    assert id_number_conflicts(value, birth_date=birth, sex=id_number_sex(value)) == []


@given(id_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_changing_any_one_character_of_an_id_number_makes_it_invalid(
    value: str, position: int, replacement: str
) -> None:
    if value[position] == replacement or (replacement == "X" and position < 17):
        return
    changed = value[:position] + replacement + value[position + 1 :]
    with pytest.raises(ValidationError):
        validate_id_number(changed)


@given(id_numbers(), st.integers(0, 16))
def test_swapping_two_adjacent_different_digits_is_caught(value: str, position: int) -> None:
    a, b = value[position], value[position + 1]
    if a == b or b == "X":
        return
    swapped = value[:position] + b + a + value[position + 2 :]
    with pytest.raises(ValidationError):
        validate_id_number(swapped)


# --- credit codes ----------------------------------------------------------------------------


def test_a_published_credit_code_is_valid() -> None:
    validate_credit_code("91350100M000100Y43")
    validate_credit_code("91350100m000100y43")
    assert credit_code_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("91350100M000100Y44", "credit_code_check"),
        ("91350100M000100Y4", "credit_code_format"),
        ("91350100I000100Y43", "credit_code_format"),  # I is not in the character set
        ("91350100O000100Y43", "credit_code_format"),
        ("", "credit_code_format"),
    ],
)
def test_it_rejects_bad_credit_codes(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(value)
    assert codes(exc) == code
    assert "统一社会信用代码" in str(exc.value.messages[0])


credit_bodies = st.text(alphabet=CREDIT_CODE_CHARS, min_size=17, max_size=17)


@given(credit_bodies)
def test_every_generated_credit_code_is_valid(body: str) -> None:
    validate_credit_code(body + credit_code_check_char(body))


@given(credit_bodies, st.integers(0, 17), st.sampled_from(CREDIT_CODE_CHARS))
def test_changing_one_character_of_a_credit_code_makes_it_invalid(
    body: str, position: int, replacement: str
) -> None:
    value = body + credit_code_check_char(body)
    if value[position] == replacement:
        return
    with pytest.raises(ValidationError):
        validate_credit_code(value[:position] + replacement + value[position + 1 :])


# --- mobiles and masks ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["13812345678", "19912345678", "16612345678"])
def test_mainland_mobiles_are_accepted(value: str) -> None:
    validate_mobile(value)


@pytest.mark.parametrize(
    "value", ["12812345678", "1381234567", "138123456789", "+8613812345678", ""]
)
def test_other_numbers_are_not_mobiles(value: str) -> None:
    with pytest.raises(ValidationError, match="手机号"):
        validate_mobile(value)


def test_a_masked_number_is_named_as_masked_not_as_malformed() -> None:
    """Copied from a page or the masked ledger export: say what it is and what to do."""
    with pytest.raises(ValidationError) as exc:
        validate_mobile(mask_mobile("13812345678"))
    assert codes(exc) == "masked_mobile" and "脱敏" in str(exc.value.messages[0])
    with pytest.raises(ValidationError) as exc:
        validate_id_number(mask_id_number(STANDARD_EXAMPLE))
    assert codes(exc) == "masked_id_number" and "完整号码" in str(exc.value.messages[0])


def test_masks_keep_only_what_the_domain_guide_shows() -> None:
    assert mask_id_number(STANDARD_EXAMPLE) == "110105********002X"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_id_number("") == ""
    assert mask_id_number("123") == "***"


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("+86 (138) 1234 5678", "13812345678"),
        ("（010）8765-4321", "0108765-4321"),
        ("138****5678", "138****5678"),
        ("\t13912345678 ", "13912345678"),
        ("", ""),
    ],
)
def test_plain_phone_drops_spaces_brackets_and_the_country_code(raw: str, plain: str) -> None:
    assert plain_phone(raw) == plain
