"""Registry writes: validation of every field at once, tags, enterprises, the audited reveal and
the weekly check."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from wangge.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from wangge.registry import actions
from wangge.registry.models import (
    AccessAudit,
    CheckOutcome,
    EnterpriseNeed,
    Household,
    NeedStatus,
    Resident,
    Tenure,
)
from wangge.registry.tests.factories import (
    RegistryWorld,
    add_household,
    make_credit_code,
    make_id_number,
)


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str | None]:
    return [e.field for e in exc.value.errors]


def test_every_bad_field_is_reported_at_once_and_nothing_is_stored(world) -> None:
    household = add_household(world.users["superuser"], world.buildings["110101001001001"], "301")
    with pytest.raises(ValidationFailed) as exc:
        actions.register_resident(
            actor=world.users["grid_worker"],
            household=household,
            data=actions.ResidentInput(
                name="",
                sex="male",
                birth_date=date(1950, 1, 1),
                id_number="11010519491231002X",  # a woman born 1949-12-31
                mobile="12345",
                residence_type="tourist",
            ),
        )
    assert fields_of(exc) == ["name", "residence_type", "mobile", "birth_date", "sex"]
    messages = [e.message for e in exc.value.errors]
    assert "请填写姓名" in messages[0]
    assert "出生日期与身份证号" in messages[3]
    assert not Resident.objects.exists()


def test_a_bad_check_character_names_the_id_field(world) -> None:
    household = add_household(world.users["superuser"], world.buildings["110101001001001"], "301")
    with pytest.raises(ValidationFailed) as exc:
        actions.register_resident(
            actor=world.users["grid_worker"],
            household=household,
            data=actions.ResidentInput(
                name="王秀英", sex="female", birth_date=None, id_number="110105194912310021"
            ),
        )
    assert fields_of(exc) == ["id_number", "birth_date"]
    assert "校验码" in exc.value.errors[0].message


def test_the_birth_date_can_come_from_the_id_number(world) -> None:
    household = add_household(world.users["superuser"], world.buildings["110101001001001"], "301")
    resident = actions.register_resident(
        actor=world.users["grid_worker"],
        household=household,
        data=actions.ResidentInput(
            name="王秀英", sex="female", birth_date=None, id_number="11010519491231002x"
        ),
    )
    assert resident.birth_date == date(1949, 12, 31)
    assert resident.id_number_masked == "110105********002X"
    assert resident.mobile_masked == ""


def test_an_id_number_is_registered_once(registry: RegistryWorld, world) -> None:
    with pytest.raises(Conflict) as exc:
        actions.register_resident(
            actor=world.users["superuser"],
            household=registry.households["102"],
            data=actions.ResidentInput(
                name="重复", sex="female", birth_date=None, id_number=registry.plain["id_a"]
            ),
        )
    assert exc.value.field == "id_number"


def test_a_leader_or_another_grids_worker_cannot_register(registry: RegistryWorld, world) -> None:
    data = actions.ResidentInput(
        name="赵六", sex="male", birth_date=None, id_number=make_id_number(sex="male")
    )
    for name in ("leader", "dispatcher", "department_handler"):
        with pytest.raises(PermissionDenied):
            actions.register_resident(
                actor=world.users[name], household=registry.households["101"], data=data
            )
    with pytest.raises(
        PermissionDenied
    ):  # grid worker of grid 001 001 001, building in 002 002 002
        actions.register_resident(
            actor=world.users["grid_worker"], household=registry.households["201"], data=data
        )
    # The building head registers in their own building.
    actions.register_resident(
        actor=world.users["building_head"], household=registry.households["102"], data=data
    )


def test_a_household_room_is_unique_in_its_unit_and_area_is_checked(world) -> None:
    root = world.users["superuser"]
    building = world.buildings["110101001001001"]
    add_household(root, building, "101")
    unit = building.units.get(number=1)
    with pytest.raises(Conflict):
        actions.create_household(actor=root, unit=unit, room="101", tenure=Tenure.OWNER)
    with pytest.raises(DomainError) as exc:
        actions.create_household(
            actor=root, unit=unit, room="102", tenure=Tenure.OWNER, floor_area_m2="-3"
        )
    assert exc.value.field == "floor_area_m2"


def test_special_group_tags_keep_their_details(registry: RegistryWorld, world) -> None:
    root = world.users["superuser"]
    resident = registry.residents["c"]
    tag = actions.tag_resident(
        actor=root,
        resident=resident,
        group="disability",
        disability_level="2",
        subsidy_type="两项补贴",
    )
    assert tag.get_disability_level_display() == "二级"
    # Tagging again updates the details instead of adding a second tag.
    actions.tag_resident(actor=root, resident=resident, group="disability", disability_level="1")
    assert list(resident.tags.values_list("group", "disability_level")) == [("disability", "1")]
    with pytest.raises(DomainError) as exc:
        actions.tag_resident(actor=root, resident=resident, group="disability")
    assert exc.value.field == "disability_level"
    with pytest.raises(DomainError):
        actions.tag_resident(actor=root, resident=resident, group="veteran", disability_level="1")
    actions.untag_resident(actor=root, resident=resident, group="disability")
    assert not resident.tags.exists()


def test_enterprises_need_a_valid_credit_code_and_keep_a_needs_list(world) -> None:
    root = world.users["superuser"]
    building = world.buildings["110101001001001"]
    with pytest.raises(ValidationFailed) as exc:
        actions.register_enterprise(
            actor=root,
            building=building,
            name="",
            credit_code="91350100M000100Y44",
            contact_mobile="1",
        )
    assert fields_of(exc) == ["name", "credit_code", "contact_mobile"]
    company = actions.register_enterprise(
        actor=root,
        building=building,
        name="北京某科技有限公司",
        credit_code=make_credit_code().lower(),
        contact_name="刘经理",
        contact_mobile="13611112222",
        employee_count=35,
        has_party_organization=True,
    )
    assert company.contact_mobile_masked == "136****2222"
    assert "13611112222" not in company.contact_mobile_encrypted
    with pytest.raises(Conflict):
        actions.register_enterprise(
            actor=root, building=building, name="重复", credit_code=company.credit_code
        )
    need = actions.add_enterprise_need(actor=root, enterprise=company, title="办公区停车位紧张")
    assert need.status == NeedStatus.OPEN
    actions.set_need_status(actor=root, need_id=need.pk, status=NeedStatus.RESOLVED)
    assert EnterpriseNeed.objects.get(pk=need.pk).status == NeedStatus.RESOLVED


def test_revealing_needs_the_role_and_a_reason_and_is_audited(
    registry: RegistryWorld, world
) -> None:
    resident = registry.residents["a"]
    for name in ("grid_worker", "building_head", "leader"):
        with pytest.raises(PermissionDenied):
            actions.reveal_resident(actor=world.users[name], resident=resident, reason="核对信息")
    staff = world.users["community_staff"]
    with pytest.raises(DomainError) as exc:
        actions.reveal_resident(actor=staff, resident=resident, reason="  看看 ")
    assert exc.value.field == "reason"
    assert not AccessAudit.objects.exists()

    revealed = actions.reveal_resident(actor=staff, resident=resident, reason="办理高龄津贴核对")
    assert revealed.id_number == registry.plain["id_a"]
    assert revealed.mobile == registry.plain["mobile_a"]
    audit = AccessAudit.objects.get()
    assert (audit.user, audit.action, audit.object_id, audit.reason) == (
        staff,
        "reveal",
        resident.pk,
        "办理高龄津贴核对",
    )
    assert audit.grid_code == "110101001001001"
    assert registry.plain["id_a"] not in audit.object_label


def test_confirming_a_household_stamps_it_and_keeps_the_history(
    registry: RegistryWorld, world
) -> None:
    head = world.users["building_head"]
    household = registry.households["101"]
    at = timezone.now() - timedelta(days=1)
    actions.confirm_unchanged(actor=head, household_id=household.pk, at=at)
    household.refresh_from_db()
    assert household.last_verified_at == at
    assert household.last_verified_by == head
    actions.record_change(
        actor=head,
        household_id=household.pk,
        note="租户已搬走",
        tenure=Tenure.OWNER,
        floor_area_m2="90",
    )
    household.refresh_from_db()
    assert household.floor_area_m2 == 90
    assert [c.outcome for c in household.checks.all()] == [
        CheckOutcome.CHANGED,
        CheckOutcome.UNCHANGED,
    ]
    with pytest.raises(DomainError) as exc:
        actions.record_change(actor=head, household_id=household.pk, note=" ")
    assert exc.value.field == "note"
    # Not the building head of the other building.
    with pytest.raises(PermissionDenied):
        actions.confirm_unchanged(actor=head, household_id=registry.households["201"].pk)
    assert Household.objects.get(pk=registry.households["201"].pk).last_verified_at is None


@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "Infinity", "-inf", "1e400", "0", "-5"])
def test_a_floor_area_that_is_no_area_is_refused_by_its_field(value: str) -> None:
    """Decimal reads NaN and infinities; NaN refuses to be compared (it was a 500 on the
    household form and failed a whole ledger check)."""
    from wangge.registry.actions import _area

    with pytest.raises(DomainError) as refused:
        _area(value)
    assert refused.value.field == "floor_area_m2"
