"""Every write to the registry. Each action checks the actor's registry role over the building,
validates every field first (no record is stored half-valid) and runs in one transaction."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.models import Role
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
    ChangeKind,
    CheckOutcome,
    DisabilityLevel,
    Enterprise,
    EnterpriseNeed,
    Household,
    HouseholdCheck,
    NeedStatus,
    PartyMemberLink,
    PoliticalStatus,
    Relation,
    ResidenceType,
    Resident,
    ResidentChange,
    ResidentTag,
    Sex,
    SpecialGroup,
    Tenure,
    Visit,
    VisitPurpose,
)
from wangge.registry.selectors import (
    PARTY_STATUSES,
    can_manage_links,
    can_reveal,
    can_write,
    community_code,
    last_move_in,
    registry_roles,
)
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
            _("请填写%(label)s (%(label)s is required)") % {"label": label},
            field=field,
        )
    if len(value) > max_length:
        raise DomainError(
            _("%(label)s最多 %(n)d 个字 (%(label)s: at most %(n)d characters)")
            % {"label": label, "n": max_length},
            field=field,
        )
    return value


def _choice(value: str, choices: Any, *, field: str, label: str) -> str:
    if value not in choices.values:
        raise DomainError(
            _("%(label)s无效，请从列表中选择 (%(label)s: choose one of the listed values)")
            % {"label": label},
            field=field,
        )
    return value


def _area(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        area = Decimal(str(value).strip())
        # NaN and infinities are Decimals too, and NaN refuses to be compared.
        area = area.quantize(Decimal("0.01")) if area.is_finite() else Decimal(-1)
    except InvalidOperation:
        area = Decimal(-1)
    if not Decimal(0) < area < Decimal(100000):
        raise DomainError(
            _(
                "建筑面积应大于 0、小于 100000 平方米 "
                "(floor_area_m2: more than 0 and less than 100000 m²)"
            ),
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


def _room(room: str) -> str:
    """A room number as typed, checked; "301室" is room 301: pages add 室 themselves, and the
    two must not be two flats."""
    room = _text(room, field="room", label=_("房号"), max_length=20, required=True)
    return room.removesuffix("室").strip() or room


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
    room = _room(room)
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


@transaction.atomic
def add_household(
    *,
    actor: Any,
    building: Building,
    unit_number: int,
    room: str,
    tenure: str,
    floor_area_m2: Any = None,
    move_in_date: date | None = None,
) -> Household:
    """A new household (a flat newly occupied, or one never registered) in unit `unit_number`
    of `building`, which must be one of the building's units."""
    _require_write(actor, building)
    if not 1 <= unit_number <= max(building.unit_count, 1):
        raise DomainError(
            _("单元号须在 1 到 %(n)d 之间 (unit: the building has %(n)d units)")
            % {"n": max(building.unit_count, 1)},
            field="unit",
        )
    unit = create_building_unit(actor=actor, building=building, number=unit_number)
    try:
        with transaction.atomic():
            return create_household(
                actor=actor,
                unit=unit,
                room=room,
                tenure=tenure,
                floor_area_m2=floor_area_m2,
                move_in_date=move_in_date,
            )
    except IntegrityError:
        # Another user registered the same room a moment ago.
        raise Conflict(
            _("%(unit)s已有 %(room)s 室 (room: already registered in this unit)")
            % {"unit": unit, "room": _room(room)},
            field="room",
        ) from None


# --- residents ------------------------------------------------------------------------------


EARLIEST_BIRTH = date(1880, 1, 1)


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
    elif birth_date < EARLIEST_BIRTH:
        # As an ID number's own check: nobody alive was born earlier.
        errors.append(
            DomainError(
                _("出生日期不能早于 1880 年，请检查 (birth_date: not before 1880)"),
                field="birth_date",
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
@transaction.atomic
def register_resident(
    *, actor: Any, household: Household, data: ResidentInput, note: str = ""
) -> Resident:
    """Register a new resident in `household`, validated as every resident is; the household
    keeps one 户主 and an ID number is registered once. Written to the resident's history as
    新登记 (identifiers only masked)."""
    building = household.building
    _require_write(actor, building)
    cleaned = clean_resident(data)
    note = _text(note, field="note", label=_("说明"), max_length=500, required=False)
    resident = Resident(household=household)
    _check_one_head(household.pk, resident, cleaned["relation_to_head"])
    if cleaned["id_number"] and resident_by_id_number(cleaned["id_number"]) is not None:
        raise Conflict(
            _("该身份证号已登记，请在原记录上修改 (id_number: already registered)"),
            field="id_number",
        )
    for field in ("name", "sex", "birth_date", "ethnicity", "political_status"):
        setattr(resident, field, cleaned[field])
    resident.residence_type = cleaned["residence_type"]
    resident.relation_to_head = cleaned["relation_to_head"]
    for field, value in _sealed_fields(cleaned).items():
        setattr(resident, field, value)
    resident.save(force_insert=True)
    _log_change(
        actor=actor,
        resident=resident,
        kind=ChangeKind.NEW,
        grid_code=building.grid.code,
        changes={},
        note=note,
    )
    return resident


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
    # The building as stored now, read under the resident's row lock: a move committed since
    # `resident` was loaded must not leave the new tag on the old building.
    building_id = (
        Resident.objects.select_for_update(of=("self",))
        .filter(pk=resident.pk)
        .values_list("household__building_id", flat=True)
        .get()
    )
    if building_id != resident.household.building_id:
        # Moved meanwhile: the permission is the one over where the resident lives now.
        _require_write(actor, Building.objects.get(pk=building_id))
    tag, _created = ResidentTag.objects.update_or_create(
        resident=resident,
        group=group,
        defaults={
            "disability_level": disability_level,
            "subsidy_type": subsidy_type,
            "note": note,
            "building_id": building_id,
        },
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


# --- 联户: party members keep in touch with households ---------------------------------------


def _locked_resident(resident_id: int) -> Resident:
    resident = (
        Resident.objects.select_for_update()
        .select_related("household__building__grid", "household__unit")
        .filter(pk=resident_id)
        .first()
    )
    if resident is None:
        raise DomainError(_("居民不存在 (resident not found)"), field="resident", code="not_found")
    return resident


def _check_one_head(household_id: int, resident: Resident, relation: str) -> None:
    """A household has one 户主: making `resident` the head of one that has another is refused.
    The household row is locked first, so two people naming two heads at once cannot both pass."""
    if relation != Relation.HEAD:
        return
    Household.objects.select_for_update().filter(pk=household_id).first()
    other = (
        Resident.objects.filter(household_id=household_id, relation_to_head=Relation.HEAD)
        .exclude(pk=resident.pk)
        .only("name")
        .first()
    )
    if other is not None:
        raise ValidationFailed(
            [
                DomainError(
                    _(
                        "本户已有户主 %(name)s，请先修改其与户主关系 "
                        "(relation_to_head: the household already has a head)"
                    )
                    % {"name": other.name},
                    field="relation_to_head",
                )
            ]
        )


@transaction.atomic
def link_household(*, actor: Any, member_id: int, household_id: int) -> PartyMemberLink:
    """Pair a party member registered at the community with a household of that community; at
    most PartyMemberLink.MAX_PER_MEMBER households each. The member's row is locked so that two
    staff adding at once cannot pass the limit together."""
    member = _locked_resident(member_id)
    building = member.household.building
    if not can_manage_links(actor, building):
        raise PermissionDenied(
            _("安排党员联户需要社区工作者及以上权限 (pairing needs community staff or above)")
        )
    if not member.is_party_member:
        raise DomainError(
            _("只有中共党员（含预备党员）可以联户 (member: only party members keep in touch)"),
            field="member",
        )
    household = (
        Household.objects.select_related("building__grid", "unit").filter(pk=household_id).first()
    )
    if household is None or not can_write(actor, household.building):
        raise DomainError(_("请选择一户 (household: choose a household)"), field="household")
    if community_code(household.building) != community_code(building):
        raise DomainError(
            _(
                "联系户须在党员报到的社区内 "
                "(household: choose a household in the member's own community)"
            ),
            field="household",
        )
    if PartyMemberLink.objects.filter(member=member, household=household).exists():
        raise Conflict(
            _("%(member)s 已联系 %(household)s (household: already paired)")
            % {"member": member.name, "household": household},
            field="household",
        )
    count = PartyMemberLink.objects.filter(member=member).count()
    if count >= PartyMemberLink.MAX_PER_MEMBER:
        raise DomainError(
            _(
                "每名党员最多联系 %(n)d 户，%(member)s 已联系 %(count)d 户，请先解除一户 "
                "(household: a party member keeps in touch with at most %(n)d households; "
                "unpair one first)"
            )
            % {"n": PartyMemberLink.MAX_PER_MEMBER, "member": member.name, "count": count},
            field="household",
            code="link_limit",
        )
    return PartyMemberLink.objects.create(
        member=member, household=household, created_by=actor if getattr(actor, "pk", None) else None
    )


@transaction.atomic
def unlink_household(*, actor: Any, link_id: int) -> None:
    link = (
        PartyMemberLink.objects.select_for_update()
        .select_related("member__household__building__grid")
        .filter(pk=link_id)
        .first()
    )
    if link is None:
        return
    if not can_manage_links(actor, link.member.household.building):
        raise PermissionDenied(
            _("安排党员联户需要社区工作者及以上权限 (pairing needs community staff or above)")
        )
    link.delete()


# --- 民情走访: visits, and turning a finding into a case ---------------------------------------


@transaction.atomic
def record_visit(
    *,
    actor: Any,
    household_id: int,
    purpose: str,
    findings: str,
    needs: str = "",
    visited_at: datetime | None = None,
) -> Visit:
    """A visit to a household: why, what was found, what the household needs."""
    household = (
        Household.objects.select_related("building__grid", "unit").filter(pk=household_id).first()
    )
    if household is None:
        raise DomainError(_("请选择一户 (household: choose a household)"), field="household")
    _require_write(actor, household.building)
    errors: list[DomainError] = []
    cleaned: dict[str, Any] = {}
    for field, check in (
        ("purpose", lambda: _choice(purpose, VisitPurpose, field="purpose", label=_("走访事由"))),
        (
            "findings",
            lambda: _text(
                findings, field="findings", label=_("发现情况"), max_length=2000, required=True
            ),
        ),
        (
            "needs",
            lambda: _text(
                needs, field="needs", label=_("群众诉求"), max_length=2000, required=False
            ),
        ),
    ):
        try:
            cleaned[field] = check()
        except DomainError as exc:
            errors.append(exc)
    now = timezone.now()
    visited_at = visited_at or now
    if visited_at > now:
        errors.append(
            DomainError(
                _("走访时间不能晚于现在 (visited_at: not in the future)"), field="visited_at"
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return Visit.objects.create(
        household=household,
        visited_by=actor if getattr(actor, "pk", None) else None,
        visited_at=visited_at,
        purpose=cleaned["purpose"],
        findings=cleaned["findings"],
        needs=cleaned["needs"],
    )


def _visit_address(household: Household) -> str:
    return f"{household.building.address} {household.unit.number}单元{household.room}室"[:200]


@transaction.atomic
def visit_to_case(
    *,
    actor: Any,
    visit_id: int,
    category: Any,
    title: str,
    description: str = "",
    answers: dict[str, Any] | None = None,
) -> Any:
    """Turn what a visit found into a case at the household's building and grid, and link the
    two. Once per visit: a second try is a conflict, not a second case."""
    from wangge.cases.actions import create_case
    from wangge.cases.models import Source

    visit = (
        Visit.objects.select_for_update()
        .select_related("household__building__grid", "household__unit")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        raise DomainError(_("走访记录不存在 (visit not found)"), field="visit", code="not_found")
    building = visit.household.building
    _require_write(actor, building)
    if visit.case_id is not None:
        raise Conflict(_("该走访已转为事件 (visit: already turned into a case)"), field="visit")
    roles = registry_roles(actor, building)
    source = (
        Source.BUILDING_HEAD
        if Role.BUILDING_HEAD in roles and Role.GRID_WORKER not in roles
        else Source.GRID_PATROL
    )
    if not description.strip():
        parts = [visit.findings]
        if visit.needs:
            parts.append(_("群众诉求：%(needs)s") % {"needs": visit.needs})
        description = "\n".join(parts)
    case = create_case(
        actor=actor,
        category=category,
        title=title,
        description=description[:2000],
        lon=building.lon,
        lat=building.lat,
        grid=building.grid,
        address=_visit_address(visit.household),
        source=source,
        reporter_name=str(actor)[:50],
        reporter_phone=getattr(actor, "mobile", "") or "",
        answers=answers,
        idempotency_key=f"visit-{visit.pk}",
    )
    visit.case = case
    visit.save(update_fields=["case"])
    return case


# --- editing and moving residents -------------------------------------------------------------

# What an edit may change, in the order the change history shows it.
EDITABLE_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "id_number",
    "mobile",
    "ethnicity",
    "political_status",
    "residence_type",
    "relation_to_head",
)


def _log_change(
    *, actor: Any, resident: Resident, kind: str, grid_code: str, **fields: Any
) -> ResidentChange:
    return ResidentChange.objects.create(
        resident=resident,
        resident_label=f"{resident.name} ({resident.id_number_masked or resident.pk})"[:100],
        kind=kind,
        user=actor if getattr(actor, "pk", None) else None,
        user_label=str(actor)[:100],
        grid_code=grid_code,
        **fields,
    )


def _party_links_block(member: Resident, *, field: str) -> None:
    count = PartyMemberLink.objects.filter(member=member).count()
    if count:
        raise Conflict(
            _(
                "%(name)s 仍联系 %(n)d 户，请先在“党员联户”中解除 "
                "(the member still keeps in touch with %(n)d households; "
                "unpair them first)"
            )
            % {"name": member.name, "n": count},
            field=field,
        )


@transaction.atomic
def update_resident(
    *,
    actor: Any,
    resident_id: int,
    data: ResidentInput,
    clear_mobile: bool = False,
    note: str = "",
) -> ResidentChange | None:
    """Change a resident's fields, validated as at registration. An empty ID or mobile number in
    `data` keeps the stored one (pages never show it in full to be retyped); `clear_mobile`
    removes the mobile. Identifiers are re-encrypted under the current key. Every change is
    written to the resident's history, identifiers only masked. Returns None if nothing changed.
    """
    resident = _locked_resident(resident_id)
    building = resident.household.building
    _require_write(actor, building)
    # Opened here only to validate the other fields against them and to compare; never shown.
    old_id = protection.open_value(resident.id_number_encrypted, purpose=protection.ID_NUMBER)
    old_mobile = protection.open_value(resident.mobile_encrypted, purpose=protection.MOBILE)
    new_id = normalize_id_number(data.id_number) or old_id
    if clear_mobile and (data.mobile or "").strip():
        raise ValidationFailed(
            [
                DomainError(
                    _(
                        "填写了新手机号又勾选了删除手机号：请只选一项 "
                        "(mobile: either type a new number or remove it)"
                    ),
                    field="mobile",
                )
            ]
        )
    new_mobile = "" if clear_mobile else ((data.mobile or "").strip() or old_mobile)
    cleaned = clean_resident(
        ResidentInput(
            name=data.name,
            sex=data.sex,
            birth_date=data.birth_date,
            id_number=new_id,
            mobile=new_mobile,
            ethnicity=data.ethnicity,
            political_status=data.political_status,
            residence_type=data.residence_type,
            relation_to_head=data.relation_to_head,
        )
    )
    note = _text(note, field="note", label=_("说明"), max_length=500, required=False)
    if cleaned["relation_to_head"] != resident.relation_to_head:
        _check_one_head(resident.household_id, resident, cleaned["relation_to_head"])
    if cleaned["id_number"] and cleaned["id_number"] != old_id:
        other = resident_by_id_number(cleaned["id_number"])
        if other is not None and other.pk != resident.pk:
            raise Conflict(
                _("该身份证号已登记，请在原记录上修改 (id_number: already registered)"),
                field="id_number",
            )
    sealed = _sealed_fields(cleaned)
    changes: dict[str, list[str]] = {}
    for field in EDITABLE_FIELDS:
        if field == "id_number":
            if cleaned["id_number"] != old_id:
                changes[field] = [resident.id_number_masked, sealed["id_number_masked"]]
        elif field == "mobile":
            if cleaned["mobile"] != old_mobile:
                changes[field] = [resident.mobile_masked, sealed["mobile_masked"]]
        else:
            before, after = getattr(resident, field), cleaned[field]
            if before != after:
                changes[field] = [str(before), str(after)]
    if (
        "political_status" in changes
        and resident.is_party_member
        and cleaned["political_status"] not in PARTY_STATUSES
    ):
        _party_links_block(resident, field="political_status")
    for field in ("name", "sex", "birth_date", "ethnicity", "political_status"):
        setattr(resident, field, cleaned[field])
    resident.residence_type = cleaned["residence_type"]
    resident.relation_to_head = cleaned["relation_to_head"]
    for field, value in sealed.items():
        setattr(resident, field, value)
    resident.save(
        update_fields=[
            "name",
            "sex",
            "birth_date",
            "ethnicity",
            "political_status",
            "residence_type",
            "relation_to_head",
            *sealed,
            "updated_at",
        ]
    )
    if not changes:
        return None
    return _log_change(
        actor=actor,
        resident=resident,
        kind=ChangeKind.EDIT,
        grid_code=building.grid.code,
        changes=changes,
        note=note,
    )


@transaction.atomic
def move_resident(
    *,
    actor: Any,
    resident_id: int,
    to_household_id: int,
    moved_out_on: date | None,
    moved_in_on: date | None,
    relation_to_head: str,
    note: str = "",
) -> ResidentChange:
    """Move a resident to another household, keeping the move (out of where, into where, on
    which dates) in the history of the resident and of both households."""
    resident = _locked_resident(resident_id)
    source = resident.household
    _require_write(actor, source.building)
    target = (
        Household.objects.select_related("building__grid", "unit")
        .filter(pk=to_household_id)
        .first()
    )
    if target is None or not can_write(actor, target.building):
        raise DomainError(
            _("请选择要迁入的户 (to_household: choose the household to move into)"),
            field="to_household",
        )
    if target.pk == source.pk:
        raise DomainError(
            _("迁入户与现住户相同 (to_household: choose a different household)"),
            field="to_household",
        )
    errors: list[DomainError] = []
    today = timezone.localdate()
    if moved_out_on is None:
        errors.append(
            DomainError(_("请填写迁出日期 (moved_out_on is required)"), field="moved_out_on")
        )
    elif moved_out_on > today:
        errors.append(
            DomainError(
                _("迁出日期不能晚于今天 (moved_out_on: not in the future)"), field="moved_out_on"
            )
        )
    if moved_in_on is None:
        errors.append(
            DomainError(_("请填写迁入日期 (moved_in_on is required)"), field="moved_in_on")
        )
    elif moved_in_on > today:
        errors.append(
            DomainError(
                _("迁入日期不能晚于今天 (moved_in_on: not in the future)"), field="moved_in_on"
            )
        )
    if moved_out_on and moved_in_on and moved_in_on < moved_out_on:
        errors.append(
            DomainError(
                _("迁入日期不能早于迁出日期 (moved_in_on: on or after the move-out date)"),
                field="moved_in_on",
            )
        )
    previous = last_move_in(resident=resident)
    if previous and moved_out_on and moved_out_on < previous:
        errors.append(
            DomainError(
                _(
                    "迁出日期不能早于上次迁入日期 %(date)s "
                    "(moved_out_on: on or after the last move-in date)"
                )
                % {"date": previous.isoformat()},
                field="moved_out_on",
            )
        )
    try:
        relation_to_head = _choice(
            relation_to_head, Relation, field="relation_to_head", label=_("与户主关系")
        )
    except DomainError as exc:
        errors.append(exc)
    try:
        note = _text(note, field="note", label=_("说明"), max_length=500, required=False)
    except DomainError as exc:
        errors.append(exc)
    if errors:
        raise ValidationFailed(errors)
    _check_one_head(target.pk, resident, relation_to_head)
    if community_code(target.building) != community_code(source.building):
        # Pairs are kept within a community: moving away ends them, but only deliberately.
        _party_links_block(resident, field="to_household")
    changes: dict[str, list[str]] = {}
    if relation_to_head != resident.relation_to_head:
        changes["relation_to_head"] = [resident.relation_to_head, relation_to_head]
    resident.household = target
    resident.relation_to_head = relation_to_head
    resident.save(update_fields=["household", "relation_to_head", "updated_at"])
    if target.building_id != source.building_id:
        ResidentTag.objects.filter(resident=resident).update(building_id=target.building_id)
    return _log_change(
        actor=actor,
        resident=resident,
        kind=ChangeKind.MOVE,
        grid_code=target.building.grid.code,
        changes=changes,
        from_household=source,
        to_household=target,
        moved_out_on=moved_out_on,
        moved_in_on=moved_in_on,
        note=note,
    )
