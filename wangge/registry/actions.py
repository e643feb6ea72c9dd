"""Every write to the registry. Each action checks the actor's registry role over the building,
validates every field first (no record is stored half-valid) and runs in one transaction."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from wangge.core.validators import (
    id_number_birth_date,
    id_number_conflicts,
    normalize_credit_code,
    normalize_id_number,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)
from wangge.registry import crypto, protection
from wangge.registry.models import (
    AccessAction,
    AccessAudit,
    BuildingUnit,
    CheckOutcome,
    DisabilityLevel,
    Enterprise,
    EnterpriseNeed,
    Household,
    HouseholdCheck,
    NeedStatus,
    PoliticalStatus,
    Relation,
    ResidenceType,
    Resident,
    ResidentTag,
    Sex,
    SpecialGroup,
    Tenure,
)
from wangge.registry.selectors import can_reveal, can_write
from wangge.territory.models import Building

MIN_REASON_LENGTH = 4


def _require_write(actor: Any, building: Building) -> None:
    if not can_write(actor, building):
        raise PermissionDenied(
            _("无权修改该楼栋的人房数据 (no permission to change this building's registry)")
        )


def _error(exc: ValidationError, field: str) -> DomainError:
    return DomainError(str(exc.messages[0]), field=field, code=exc.code or "invalid")


def _text(value: str | None, *, field: str, label: str, max_length: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(
            _("请填写%(label)s (%(field)s is required)") % {"label": label, "field": field},
            field=field,
        )
    if len(value) > max_length:
        raise DomainError(
            _("%(label)s最多 %(n)d 个字 (%(field)s: at most %(n)d characters)")
            % {"label": label, "n": max_length, "field": field},
            field=field,
        )
    return value


def _choice(value: str, choices: Any, *, field: str, label: str) -> str:
    if value not in choices.values:
        raise DomainError(
            _("%(label)s无效，请从列表中选择 (%(field)s: choose one of the listed values)")
            % {"label": label, "field": field},
            field=field,
        )
    return value


def _area(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        area = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        area = Decimal(-1)
    if not Decimal(0) < area < Decimal(100000):
        raise DomainError(
            _("建筑面积应为 0 到 100000 之间的数字 (floor_area_m2: a number of m² above 0)"),
            field="floor_area_m2",
        )
    return area


# --- units and households -------------------------------------------------------------------


@transaction.atomic
def create_building_unit(*, actor: Any, building: Building, number: int) -> BuildingUnit:
    _require_write(actor, building)
    if number < 1:
        raise DomainError(_("单元号应从 1 开始 (number: start at 1)"), field="number")
    unit, _created = BuildingUnit.objects.get_or_create(building=building, number=number)
    return unit


@transaction.atomic
def create_household(
    *,
    actor: Any,
    unit: BuildingUnit,
    room: str,
    tenure: str,
    floor_area_m2: Any = None,
    move_in_date: date | None = None,
) -> Household:
    _require_write(actor, unit.building)
    room = _text(room, field="room", label=_("房号"), max_length=20, required=True)
    tenure = _choice(tenure, Tenure, field="tenure", label=_("产权"))
    area = _area(floor_area_m2)
    if move_in_date and move_in_date > timezone.localdate():
        raise DomainError(
            _("入住日期不能晚于今天 (move_in_date: not in the future)"), field="move_in_date"
        )
    if Household.objects.filter(unit=unit, room=room).exists():
        raise Conflict(
            _("%(unit)s已有 %(room)s 室 (room: already registered in this unit)")
            % {"unit": unit, "room": room},
            field="room",
        )
    return Household.objects.create(
        building=unit.building,
        unit=unit,
        room=room,
        tenure=tenure,
        floor_area_m2=area,
        move_in_date=move_in_date,
    )


# --- residents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResidentInput:
    """The fields of a resident as typed; `clean_resident` validates all of them at once."""

    name: str
    sex: str
    birth_date: date | None
    id_number: str = ""
    mobile: str = ""
    ethnicity: str = "汉族"
    political_status: str = PoliticalStatus.MASSES
    residence_type: str = ResidenceType.REGISTERED
    relation_to_head: str = Relation.HEAD


def _checked(validator: Callable[[str], None], value: str) -> str:
    validator(value)
    return value


def clean_resident(data: ResidentInput) -> dict[str, Any]:
    """Every problem of a resident's fields at once (ValidationFailed), or the cleaned values."""
    errors: list[DomainError] = []
    cleaned: dict[str, Any] = {}

    def attempt(field: str, check: Any) -> None:
        try:
            cleaned[field] = check()
        except DomainError as exc:
            errors.append(exc)
        except ValidationError as exc:
            errors.append(_error(exc, field))

    attempt(
        "name",
        lambda: _text(data.name, field="name", label=_("姓名"), max_length=50, required=True),
    )
    attempt("sex", lambda: _choice(data.sex, Sex, field="sex", label=_("性别")))
    attempt(
        "political_status",
        lambda: _choice(
            data.political_status, PoliticalStatus, field="political_status", label=_("政治面貌")
        ),
    )
    attempt(
        "residence_type",
        lambda: _choice(
            data.residence_type, ResidenceType, field="residence_type", label=_("人口类型")
        ),
    )
    attempt(
        "relation_to_head",
        lambda: _choice(
            data.relation_to_head, Relation, field="relation_to_head", label=_("与户主关系")
        ),
    )
    attempt(
        "ethnicity",
        lambda: _text(
            data.ethnicity or "汉族",
            field="ethnicity",
            label=_("民族"),
            max_length=20,
            required=True,
        ),
    )
    id_number = normalize_id_number(data.id_number)
    if id_number:
        attempt("id_number", lambda: _checked(validate_id_number, id_number))
    mobile = (data.mobile or "").strip()
    if mobile:
        attempt("mobile", lambda: _checked(validate_mobile, mobile))
    else:
        cleaned["mobile"] = ""
    birth_date = data.birth_date
    if birth_date is None:
        if "id_number" in cleaned and id_number:
            birth_date = id_number_birth_date(id_number)
        else:
            errors.append(
                DomainError(_("请填写出生日期 (birth_date is required)"), field="birth_date")
            )
    elif birth_date > timezone.localdate():
        errors.append(
            DomainError(
                _("出生日期不能晚于今天 (birth_date: not in the future)"), field="birth_date"
            )
        )
    cleaned["birth_date"] = birth_date
    if id_number and "id_number" in cleaned:
        for field, exc in id_number_conflicts(
            id_number, birth_date=birth_date, sex=cleaned.get("sex")
        ):
            errors.append(_error(exc, field))
    cleaned.setdefault("id_number", "")
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _sealed_fields(cleaned: dict[str, Any]) -> dict[str, Any]:
    id_sealed = protection.seal(cleaned["id_number"], purpose=protection.ID_NUMBER)
    mobile_sealed = protection.seal(cleaned["mobile"], purpose=protection.MOBILE)
    return {
        "id_number_encrypted": id_sealed.encrypted,
        "id_number_digest": id_sealed.digest,
        "id_number_last4_digest": id_sealed.last4_digest,
        "id_number_masked": id_sealed.masked,
        "mobile_encrypted": mobile_sealed.encrypted,
        "mobile_digest": mobile_sealed.digest,
        "mobile_last4_digest": mobile_sealed.last4_digest,
        "mobile_masked": mobile_sealed.masked,
    }


def resident_by_id_number(id_number: str) -> Resident | None:
    """Exact lookup through the keyed digest (under every configured key). Unscoped: callers
    are actions that then check the actor's role over the resident's building."""
    digests = protection.lookup_digests(
        normalize_id_number(id_number), purpose=protection.ID_NUMBER
    )
    return Resident.objects.filter(id_number_digest__in=digests).first()


@transaction.atomic
def register_resident(*, actor: Any, household: Household, data: ResidentInput) -> Resident:
    _require_write(actor, household.building)
    cleaned = clean_resident(data)
    if cleaned["id_number"] and resident_by_id_number(cleaned["id_number"]) is not None:
        raise Conflict(
            _("该身份证号已登记，请在原记录上修改 (id_number: already registered)"),
            field="id_number",
        )
    return Resident.objects.create(
        household=household,
        name=cleaned["name"],
        sex=cleaned["sex"],
        birth_date=cleaned["birth_date"],
        ethnicity=cleaned["ethnicity"],
        political_status=cleaned["political_status"],
        residence_type=cleaned["residence_type"],
        relation_to_head=cleaned["relation_to_head"],
        **_sealed_fields(cleaned),
    )


@transaction.atomic
def tag_resident(
    *,
    actor: Any,
    resident: Resident,
    group: str,
    disability_level: str = "",
    subsidy_type: str = "",
    note: str = "",
) -> ResidentTag:
    """Add a special-group tag, or update its details if the resident already has it."""
    _require_write(actor, resident.household.building)
    group = _choice(group, SpecialGroup, field="group", label=_("特殊人群"))
    if group == SpecialGroup.DISABILITY:
        disability_level = _choice(
            disability_level, DisabilityLevel, field="disability_level", label=_("残疾等级")
        )
    elif disability_level:
        raise DomainError(
            _("只有残疾人标签可填残疾等级 (disability_level: only for the disability tag)"),
            field="disability_level",
        )
    subsidy_type = _text(
        subsidy_type, field="subsidy_type", label=_("补贴类型"), max_length=50, required=False
    )
    note = _text(note, field="note", label=_("说明"), max_length=200, required=False)
    tag, _created = ResidentTag.objects.update_or_create(
        resident=resident,
        group=group,
        defaults={"disability_level": disability_level, "subsidy_type": subsidy_type, "note": note},
    )
    return tag


@transaction.atomic
def untag_resident(*, actor: Any, resident: Resident, group: str) -> None:
    _require_write(actor, resident.household.building)
    ResidentTag.objects.filter(resident=resident, group=group).delete()


# --- revealing a full value (PIPL) ----------------------------------------------------------


@dataclass(frozen=True)
class Revealed:
    id_number: str
    mobile: str


@transaction.atomic
def reveal_resident(*, actor: Any, resident: Resident, reason: str) -> Revealed:
    """The full ID and mobile numbers, for a permitted actor giving a reason; audited."""
    building = resident.household.building
    if not can_reveal(actor, building):
        raise PermissionDenied(
            _("查看完整信息需要社区工作者及以上权限 (revealing needs community staff or above)")
        )
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise DomainError(
            _("请说明查看事由，至少 %(n)d 个字 (reason: at least %(n)d characters)")
            % {"n": MIN_REASON_LENGTH},
            field="reason",
        )
    reason = _text(reason, field="reason", label=_("事由"), max_length=500, required=True)
    AccessAudit.objects.create(
        user=actor,
        user_label=str(actor)[:100],
        action=AccessAction.REVEAL,
        object_type="resident",
        object_id=resident.pk,
        object_label=f"{resident.name} ({resident.id_number_masked or resident.pk})"[:100],
        fields="id_number,mobile",
        grid_code=building.grid.code,
        reason=reason,
    )
    return Revealed(
        id_number=protection.open_value(resident.id_number_encrypted, purpose=protection.ID_NUMBER),
        mobile=protection.open_value(resident.mobile_encrypted, purpose=protection.MOBILE),
    )


# --- enterprises ----------------------------------------------------------------------------


@transaction.atomic
def register_enterprise(
    *,
    actor: Any,
    building: Building,
    name: str,
    credit_code: str,
    contact_name: str = "",
    contact_mobile: str = "",
    employee_count: int = 0,
    has_party_organization: bool = False,
    has_union: bool = False,
) -> Enterprise:
    _require_write(actor, building)
    errors: list[DomainError] = []
    try:
        name = _text(name, field="name", label=_("企业名称"), max_length=200, required=True)
    except DomainError as exc:
        errors.append(exc)
    code = normalize_credit_code(credit_code)
    try:
        validate_credit_code(code)
    except ValidationError as exc:
        errors.append(_error(exc, "credit_code"))
    contact_mobile = (contact_mobile or "").strip()
    if contact_mobile:
        try:
            validate_mobile(contact_mobile)
        except ValidationError as exc:
            errors.append(_error(exc, "contact_mobile"))
    if employee_count < 0:
        errors.append(
            DomainError(_("从业人数不能为负 (employee_count: 0 or more)"), field="employee_count")
        )
    if errors:
        raise ValidationFailed(errors)
    if Enterprise.objects.filter(credit_code=code).exists():
        raise Conflict(
            _("该统一社会信用代码已登记 (credit_code: already registered)"), field="credit_code"
        )
    sealed = protection.seal(contact_mobile, purpose=protection.ENTERPRISE_MOBILE)
    return Enterprise.objects.create(
        building=building,
        name=name,
        credit_code=code,
        contact_name=(contact_name or "").strip()[:50],
        contact_mobile_encrypted=sealed.encrypted,
        contact_mobile_digest=sealed.digest,
        contact_mobile_masked=sealed.masked,
        employee_count=employee_count,
        has_party_organization=has_party_organization,
        has_union=has_union,
    )


@transaction.atomic
def add_enterprise_need(
    *, actor: Any, enterprise: Enterprise, title: str, description: str = ""
) -> EnterpriseNeed:
    _require_write(actor, enterprise.building)
    return EnterpriseNeed.objects.create(
        enterprise=enterprise,
        title=_text(title, field="title", label=_("需求"), max_length=200, required=True),
        description=_text(
            description, field="description", label=_("说明"), max_length=2000, required=False
        ),
        created_by=actor if getattr(actor, "pk", None) else None,
    )


@transaction.atomic
def set_need_status(*, actor: Any, need_id: int, status: str) -> EnterpriseNeed:
    need = (
        EnterpriseNeed.objects.select_for_update()
        .select_related("enterprise__building__grid")
        .get(pk=need_id)
    )
    _require_write(actor, need.enterprise.building)
    need.status = _choice(status, NeedStatus, field="status", label=_("状态"))
    need.save(update_fields=["status", "updated_at"])
    return need


# --- the weekly check -----------------------------------------------------------------------


def _locked_household(household_id: int) -> Household:
    return (
        Household.objects.select_for_update().select_related("building__grid").get(pk=household_id)
    )


@transaction.atomic
def confirm_unchanged(*, actor: Any, household_id: int, at: datetime | None = None) -> Household:
    """The building head saw the household and nothing changed (one tap)."""
    household = _locked_household(household_id)
    _require_write(actor, household.building)
    at = at or timezone.now()
    HouseholdCheck.objects.create(
        household=household, outcome=CheckOutcome.UNCHANGED, checked_by=actor, checked_at=at
    )
    household.last_verified_at = at
    household.last_verified_by = actor
    household.save(update_fields=["last_verified_at", "last_verified_by", "updated_at"])
    return household


@transaction.atomic
def record_change(
    *,
    actor: Any,
    household_id: int,
    note: str,
    tenure: str | None = None,
    floor_area_m2: Any = None,
    at: datetime | None = None,
) -> Household:
    """Something changed (moved in or out, a new tenant…): note it, update what is given."""
    household = _locked_household(household_id)
    _require_write(actor, household.building)
    note = _text(note, field="note", label=_("变化说明"), max_length=500, required=True)
    fields = ["last_verified_at", "last_verified_by", "updated_at"]
    if tenure:
        household.tenure = _choice(tenure, Tenure, field="tenure", label=_("产权"))
        fields.append("tenure")
    if floor_area_m2 not in (None, ""):
        household.floor_area_m2 = _area(floor_area_m2)
        fields.append("floor_area_m2")
    at = at or timezone.now()
    HouseholdCheck.objects.create(
        household=household,
        outcome=CheckOutcome.CHANGED,
        note=note,
        checked_by=actor,
        checked_at=at,
    )
    household.last_verified_at = at
    household.last_verified_by = actor
    household.save(update_fields=fields)
    return household


# --- key rotation ---------------------------------------------------------------------------


def _needs_rotation(prefix: str, *columns: str) -> Q:
    q = Q()
    for column in columns:
        q |= ~Q(**{f"{column}__startswith": prefix}) & ~Q(**{column: ""})
    return q


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def rotate_field_keys(*, batch_size: int = 1000) -> dict[str, int]:
    """Re-encrypt (and re-digest) every value not sealed with the current key, in batches of
    one transaction each; safe to interrupt and run again."""
    prefix = f"{crypto.VERSION}:{crypto.keyring().current_id}:"
    counts = {"residents": 0, "enterprises": 0}
    resident_ids = list(
        Resident.objects.filter(
            _needs_rotation(prefix, "id_number_encrypted", "mobile_encrypted")
        ).values_list("pk", flat=True)
    )
    for ids in _chunks(resident_ids, batch_size):
        with transaction.atomic():
            rows = list(Resident.objects.select_for_update().filter(pk__in=ids))
            for r in rows:
                cleaned = {
                    "id_number": protection.open_value(
                        r.id_number_encrypted, purpose=protection.ID_NUMBER
                    ),
                    "mobile": protection.open_value(r.mobile_encrypted, purpose=protection.MOBILE),
                }
                for field, value in _sealed_fields(cleaned).items():
                    setattr(r, field, value)
            Resident.objects.bulk_update(
                rows, list(_sealed_fields({"id_number": "", "mobile": ""}))
            )
            counts["residents"] += len(rows)
    enterprise_ids = list(
        Enterprise.objects.filter(_needs_rotation(prefix, "contact_mobile_encrypted")).values_list(
            "pk", flat=True
        )
    )
    for ids in _chunks(enterprise_ids, batch_size):
        with transaction.atomic():
            companies = list(Enterprise.objects.select_for_update().filter(pk__in=ids))
            for e in companies:
                value = protection.open_value(
                    e.contact_mobile_encrypted, purpose=protection.ENTERPRISE_MOBILE
                )
                sealed = protection.seal(value, purpose=protection.ENTERPRISE_MOBILE)
                e.contact_mobile_encrypted = sealed.encrypted
                e.contact_mobile_digest = sealed.digest
            Enterprise.objects.bulk_update(
                companies, ["contact_mobile_encrypted", "contact_mobile_digest"]
            )
            counts["enterprises"] += len(companies)
    return counts
