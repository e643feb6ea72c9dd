"""Field work writes: 联户 pairs (party members only, within their community, at most 15 each),
visits and turning one into a case, editing a resident (validated, re-encrypted, audited) and
moving a resident between households with the dates kept."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from wangge.cases.models import Case, Category, Source
from wangge.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from wangge.registry import actions, crypto, protection, selectors
from wangge.registry.models import (
    ChangeKind,
    PartyMemberLink,
    PoliticalStatus,
    Resident,
    ResidentChange,
    ResidentTag,
    Visit,
    VisitPurpose,
)
from wangge.registry.tests.factories import (
    RegistryWorld,
    add_household,
    add_resident,
    tag_drift,
)
from wangge.registry.tests.field_factories import FieldWorld


def sub_category(code: str = "") -> Category:
    qs = Category.objects.filter(is_active=True, parent__isnull=False).order_by(
        "sort_order", "code"
    )
    return qs.get(code=code) if code else qs.first()


# --- 联户 --------------------------------------------------------------------------------------


def test_community_staff_pair_a_party_member_with_households_of_the_community(
    field: FieldWorld, registry: RegistryWorld, world
) -> None:
    staff = world.users["community_staff"]
    link = actions.link_household(
        actor=staff, member_id=field.member.pk, household_id=registry.households["102"].pk
    )
    assert link.created_by == staff
    # Another grid of the same community is fine.
    actions.link_household(
        actor=staff, member_id=field.member.pk, household_id=field.neighbour_households[0].pk
    )
    assert PartyMemberLink.objects.filter(member=field.member).count() == 2


def test_a_party_member_keeps_in_touch_with_at_most_fifteen_households(
    field: FieldWorld, world
) -> None:
    staff = world.users["community_staff"]
    for household in field.neighbour_households[:15]:
        actions.link_household(actor=staff, member_id=field.member.pk, household_id=household.pk)

    with pytest.raises(DomainError) as exc:
        actions.link_household(
            actor=staff, member_id=field.member.pk, household_id=field.neighbour_households[15].pk
        )

    assert exc.value.code == "link_limit" and exc.value.field == "household"
    assert "最多联系 15 户" in exc.value.message
    assert PartyMemberLink.objects.filter(member=field.member).count() == 15
    # Unpairing one makes room again.
    actions.unlink_household(
        actor=staff, link_id=PartyMemberLink.objects.filter(member=field.member).first().pk
    )
    actions.link_household(
        actor=staff, member_id=field.member.pk, household_id=field.neighbour_households[15].pk
    )
    assert PartyMemberLink.objects.filter(member=field.member).count() == 15


def test_pairs_stay_within_the_members_community(field: FieldWorld, world) -> None:
    with pytest.raises(DomainError) as exc:
        actions.link_household(
            actor=world.users["street_staff"],
            member_id=field.member.pk,
            household_id=field.elsewhere.pk,
        )
    assert exc.value.field == "household" and "社区" in exc.value.message
    assert not PartyMemberLink.objects.exists()


def test_only_party_members_are_paired_and_only_once_per_household(
    field: FieldWorld, registry: RegistryWorld, world
) -> None:
    staff = world.users["community_staff"]
    with pytest.raises(DomainError) as exc:
        actions.link_household(
            actor=staff,
            member_id=registry.residents["a"].pk,
            household_id=registry.households["102"].pk,
        )
    assert exc.value.field == "member"
    actions.link_household(
        actor=staff, member_id=field.member.pk, household_id=registry.households["102"].pk
    )
    with pytest.raises(Conflict):
        actions.link_household(
            actor=staff, member_id=field.member.pk, household_id=registry.households["102"].pk
        )


@pytest.mark.parametrize(
    "name", ["grid_worker", "building_head", "leader", "dispatcher", "nobody", "resident"]
)
def test_pairing_needs_community_staff_or_above(
    name: str, field: FieldWorld, registry: RegistryWorld, world
) -> None:
    with pytest.raises(PermissionDenied):
        actions.link_household(
            actor=world.users[name],
            member_id=field.member.pk,
            household_id=registry.households["102"].pk,
        )
    assert not PartyMemberLink.objects.exists()


def test_community_staff_of_another_community_cannot_pair(
    field: FieldWorld, registry: RegistryWorld, world
) -> None:
    from wangge.accounts.models import Role
    from wangge.accounts.tests.factories import UserFactory, member

    other_staff = UserFactory(username="other_staff")
    member(other_staff, Role.COMMUNITY_STAFF, unit=world.units["110101001002"])
    with pytest.raises(PermissionDenied):
        actions.link_household(
            actor=other_staff,
            member_id=field.member.pk,
            household_id=registry.households["102"].pk,
        )


# --- visits ------------------------------------------------------------------------------------


def test_a_grid_worker_records_a_visit_and_turns_it_into_a_case(
    registry: RegistryWorld, world
) -> None:
    worker = world.users["grid_worker"]
    household = registry.households["101"]
    visit = actions.record_visit(
        actor=worker,
        household_id=household.pk,
        purpose=VisitPurpose.CARE,
        findings="楼道堆放杂物，影响老人通行",
        needs="希望清理楼道",
    )
    assert visit.visited_by == worker and visit.case is None
    category = sub_category()

    case = actions.visit_to_case(
        actor=worker, visit_id=visit.pk, category=category, title="楼道堆放杂物"
    )

    case = Case.objects.get(pk=case.pk)
    visit.refresh_from_db()
    assert visit.case_id == case.pk and case.visit == visit
    assert case.grid == registry.mine.grid and case.grid_code == "110101001001001"
    assert case.category == category
    assert case.source == Source.GRID_PATROL and case.reporter == worker
    assert (case.lon, case.lat) == (registry.mine.lon, registry.mine.lat)
    assert "1单元101室" in case.address
    assert "楼道堆放杂物" in case.description and "希望清理楼道" in case.description
    # Residents' identifiers never travel into the case.
    for value in registry.plain.values():
        assert value not in case.description and value not in case.address

    with pytest.raises(Conflict):
        actions.visit_to_case(actor=worker, visit_id=visit.pk, category=category, title="再转一次")
    assert Case.objects.count() == 1


def test_a_building_heads_visit_becomes_a_building_head_report(
    registry: RegistryWorld, world
) -> None:
    head = world.users["building_head"]
    visit = actions.record_visit(
        actor=head, household_id=registry.households["102"].pk, purpose="knock", findings="漏水"
    )
    case = actions.visit_to_case(
        actor=head, visit_id=visit.pk, category=sub_category(), title="漏水"
    )
    assert case.source == Source.BUILDING_HEAD


def test_a_bad_case_leaves_the_visit_unlinked_and_no_case(registry: RegistryWorld, world) -> None:
    worker = world.users["grid_worker"]
    visit = actions.record_visit(
        actor=worker, household_id=registry.households["101"].pk, purpose="routine", findings="x"
    )
    with pytest.raises(DomainError) as exc:
        actions.visit_to_case(actor=worker, visit_id=visit.pk, category=sub_category(), title="")
    assert exc.value.field == "title"
    parent = Category.objects.filter(parent__isnull=True).first()
    with pytest.raises(DomainError) as exc:
        actions.visit_to_case(actor=worker, visit_id=visit.pk, category=parent, title="标题")
    assert exc.value.field == "category"
    visit.refresh_from_db()
    assert visit.case_id is None and not Case.objects.exists()


def test_every_bad_visit_field_is_reported_and_nothing_stored(
    registry: RegistryWorld, world
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        actions.record_visit(
            actor=world.users["grid_worker"],
            household_id=registry.households["101"].pk,
            purpose="party",
            findings="  ",
            needs="要" * 2001,
            visited_at=timezone.now() + timedelta(hours=2),
        )
    assert [e.field for e in exc.value.errors] == ["purpose", "findings", "needs", "visited_at"]
    assert not Visit.objects.exists()


@pytest.mark.parametrize("name", ["leader", "dispatcher", "nobody"])
def test_readers_and_outsiders_record_no_visit(name: str, registry: RegistryWorld, world) -> None:
    with pytest.raises(PermissionDenied):
        actions.record_visit(
            actor=world.users[name],
            household_id=registry.households["101"].pk,
            purpose="routine",
            findings="正常",
        )


def test_a_grid_worker_records_no_visit_outside_the_grid(registry: RegistryWorld, world) -> None:
    with pytest.raises(PermissionDenied):
        actions.record_visit(
            actor=world.users["grid_worker"],
            household_id=registry.households["201"].pk,
            purpose="routine",
            findings="正常",
        )
    visit = actions.record_visit(
        actor=world.users["admin"],
        household_id=registry.households["201"].pk,
        purpose="routine",
        findings="正常",
    )
    with pytest.raises(PermissionDenied):
        actions.visit_to_case(
            actor=world.users["grid_worker"],
            visit_id=visit.pk,
            category=sub_category(),
            title="越权",
        )
    assert not Case.objects.exists()


# --- editing residents -------------------------------------------------------------------------


def edit_input(resident: Resident, **changes: object) -> actions.ResidentInput:
    values = {
        "name": resident.name,
        "sex": resident.sex,
        "birth_date": resident.birth_date,
        "id_number": "",
        "mobile": "",
        "ethnicity": resident.ethnicity,
        "political_status": resident.political_status,
        "residence_type": resident.residence_type,
        "relation_to_head": resident.relation_to_head,
    }
    values.update(changes)
    return actions.ResidentInput(**values)  # type: ignore[arg-type]


def test_an_edit_is_validated_like_a_registration_and_stores_nothing_when_bad(
    registry: RegistryWorld, world
) -> None:
    resident = registry.residents["a"]
    with pytest.raises(ValidationFailed) as exc:
        actions.update_resident(
            actor=world.users["grid_worker"],
            resident_id=resident.pk,
            data=edit_input(resident, name="", mobile="12345", sex="male"),
        )
    fields = [e.field for e in exc.value.errors]
    assert "name" in fields and "mobile" in fields
    # The kept ID number (a woman's, born 1949-12-31) still rules the sex.
    assert "sex" in fields
    stored = Resident.objects.get(pk=resident.pk)
    assert stored.name == "王秀英" and stored.mobile_masked == "138****5678"
    assert not ResidentChange.objects.exclude(kind="new").exists()


def test_an_edit_re_encrypts_and_is_audited_with_masked_values_only(
    registry: RegistryWorld, world, monkeypatch
) -> None:
    resident = registry.residents["a"]
    before = Resident.objects.get(pk=resident.pk)
    worker = world.users["grid_worker"]

    change = actions.update_resident(
        actor=worker,
        resident_id=resident.pk,
        data=edit_input(resident, name="王秀英", mobile="13912340000", ethnicity="回族"),
        note="本人来电更新手机号",
    )

    after = Resident.objects.get(pk=resident.pk)
    assert after.ethnicity == "回族"
    assert protection.open_value(after.mobile_encrypted, purpose=protection.MOBILE) == "13912340000"
    assert after.mobile_masked == "139****0000"
    # The kept ID number is sealed afresh (new nonce) and still opens to the same value.
    assert after.id_number_encrypted != before.id_number_encrypted
    assert (
        protection.open_value(after.id_number_encrypted, purpose=protection.ID_NUMBER)
        == registry.plain["id_a"]
    )
    assert change is not None and change.kind == ChangeKind.EDIT and change.user == worker
    assert change.changes == {
        "mobile": ["138****5678", "139****0000"],
        "ethnicity": ["汉族", "回族"],
    }
    assert change.grid_code == "110101001001001" and change.note == "本人来电更新手机号"
    stored = str(
        ResidentChange.objects.filter(kind="edit").values_list("changes", "resident_label").get()
    )
    for value in [*registry.plain.values(), "13912340000"]:
        assert value not in stored


def test_an_edit_moves_rows_onto_the_current_key(
    registry: RegistryWorld, world, monkeypatch
) -> None:
    old_key = crypto.keyring().current_id
    monkeypatch.setenv(crypto.ENV_NAME, crypto.generate_key())
    crypto.reset_keyring()
    resident = registry.residents["a"]
    actions.update_resident(
        actor=world.users["grid_worker"],
        resident_id=resident.pk,
        data=edit_input(resident, ethnicity="满族"),
    )
    after = Resident.objects.get(pk=resident.pk)
    assert crypto.key_id_of(after.id_number_encrypted) == crypto.keyring().current_id != old_key
    assert crypto.key_id_of(after.mobile_encrypted) == crypto.keyring().current_id


def test_an_edit_changes_the_id_number_and_refuses_someone_elses(
    registry: RegistryWorld, world
) -> None:
    resident = registry.residents["c"]
    admin = world.users["admin"]
    with pytest.raises(Conflict) as exc:
        actions.update_resident(
            actor=admin,
            resident_id=resident.pk,
            data=edit_input(
                resident, id_number=registry.plain["id_a"], sex="female", birth_date=None
            ),
        )
    assert exc.value.field == "id_number"
    new_id = "110101196001020057"
    from wangge.core.validators import id_number_check_char

    new_id = new_id[:17] + id_number_check_char(new_id[:17])
    change = actions.update_resident(
        actor=admin, resident_id=resident.pk, data=edit_input(resident, id_number=new_id)
    )
    assert change is not None and list(change.changes) == ["id_number"]
    assert actions.resident_by_id_number(new_id) == resident
    assert actions.resident_by_id_number(registry.plain["id_c"]) is None


def test_clearing_the_mobile_and_an_edit_without_changes(registry: RegistryWorld, world) -> None:
    resident = registry.residents["b"]
    worker = world.users["grid_worker"]
    assert (
        actions.update_resident(actor=worker, resident_id=resident.pk, data=edit_input(resident))
        is None
    )
    change = actions.update_resident(
        actor=worker, resident_id=resident.pk, data=edit_input(resident), clear_mobile=True
    )
    after = Resident.objects.get(pk=resident.pk)
    assert after.mobile_encrypted == after.mobile_masked == after.mobile_digest == ""
    assert change is not None and change.changes == {"mobile": ["159****4321", ""]}


@pytest.mark.parametrize("name", ["leader", "dispatcher", "nobody"])
def test_readers_and_outsiders_cannot_edit(name: str, registry: RegistryWorld, world) -> None:
    resident = registry.residents["a"]
    with pytest.raises(PermissionDenied):
        actions.update_resident(
            actor=world.users[name],
            resident_id=resident.pk,
            data=edit_input(resident, ethnicity="回族"),
        )


def test_a_paired_party_member_keeps_the_status_until_unpaired(
    field: FieldWorld, registry: RegistryWorld, world
) -> None:
    staff = world.users["community_staff"]
    actions.link_household(
        actor=staff, member_id=field.member.pk, household_id=registry.households["102"].pk
    )
    with pytest.raises(Conflict) as exc:
        actions.update_resident(
            actor=staff,
            resident_id=field.member.pk,
            data=edit_input(field.member, political_status=PoliticalStatus.MASSES),
        )
    assert exc.value.field == "political_status"
    # Probationary → full member keeps the pairs.
    actions.update_resident(
        actor=staff,
        resident_id=field.member.pk,
        data=edit_input(field.member, political_status=PoliticalStatus.PROBATIONARY_MEMBER),
    )
    assert PartyMemberLink.objects.filter(member=field.member).count() == 1


# --- moving residents --------------------------------------------------------------------------


def test_a_move_keeps_the_dates_in_the_history(registry: RegistryWorld, world) -> None:
    worker = world.users["grid_worker"]
    resident = registry.residents["b"]
    today = timezone.localdate()

    change = actions.move_resident(
        actor=worker,
        resident_id=resident.pk,
        to_household_id=registry.households["102"].pk,
        moved_out_on=today - timedelta(days=3),
        moved_in_on=today - timedelta(days=1),
        relation_to_head="head",
        note="独立成户",
    )

    moved = Resident.objects.get(pk=resident.pk)
    assert moved.household == registry.households["102"] and moved.relation_to_head == "head"
    assert change.kind == ChangeKind.MOVE
    assert (change.from_household, change.to_household) == (
        registry.households["101"],
        registry.households["102"],
    )
    assert (change.moved_out_on, change.moved_in_on) == (
        today - timedelta(days=3),
        today - timedelta(days=1),
    )
    assert change.changes == {"relation_to_head": ["grandchild", "head"]}
    # A later move may not start before the last move-in.
    with pytest.raises(ValidationFailed) as exc:
        actions.move_resident(
            actor=worker,
            resident_id=resident.pk,
            to_household_id=registry.households["101"].pk,
            moved_out_on=today - timedelta(days=2),
            moved_in_on=today,
            relation_to_head="grandchild",
        )
    assert [e.field for e in exc.value.errors] == ["moved_out_on"]


def test_bad_move_dates_are_all_reported(registry: RegistryWorld, world) -> None:
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as exc:
        actions.move_resident(
            actor=world.users["grid_worker"],
            resident_id=registry.residents["b"].pk,
            to_household_id=registry.households["102"].pk,
            moved_out_on=today + timedelta(days=1),
            moved_in_on=today - timedelta(days=5),
            relation_to_head="nobody",
        )
    assert [e.field for e in exc.value.errors] == [
        "moved_out_on",
        "moved_in_on",
        "relation_to_head",
    ]
    with pytest.raises(ValidationFailed) as exc:
        actions.move_resident(
            actor=world.users["grid_worker"],
            resident_id=registry.residents["b"].pk,
            to_household_id=registry.households["102"].pk,
            moved_out_on=None,
            moved_in_on=None,
            relation_to_head="child",
        )
    assert [e.field for e in exc.value.errors] == ["moved_out_on", "moved_in_on"]
    # Moving in tomorrow is refused on its own (not because it precedes the move-out).
    with pytest.raises(ValidationFailed) as exc:
        actions.move_resident(
            actor=world.users["grid_worker"],
            resident_id=registry.residents["b"].pk,
            to_household_id=registry.households["102"].pk,
            moved_out_on=today,
            moved_in_on=today + timedelta(days=1),
            relation_to_head="child",
        )
    assert [e.field for e in exc.value.errors] == ["moved_in_on"]
    assert (
        Resident.objects.get(pk=registry.residents["b"].pk).household == registry.households["101"]
    )


def test_a_move_stays_within_the_movers_scope(registry: RegistryWorld, world) -> None:
    today = timezone.localdate()
    kwargs = {"moved_out_on": today, "moved_in_on": today, "relation_to_head": "head"}
    with pytest.raises(DomainError) as exc:
        actions.move_resident(
            actor=world.users["grid_worker"],
            resident_id=registry.residents["b"].pk,
            to_household_id=registry.households["201"].pk,
            **kwargs,
        )
    assert exc.value.field == "to_household"
    with pytest.raises(DomainError) as exc:
        actions.move_resident(
            actor=world.users["grid_worker"],
            resident_id=registry.residents["b"].pk,
            to_household_id=registry.households["101"].pk,
            **kwargs,
        )
    assert exc.value.field == "to_household"
    with pytest.raises(PermissionDenied):
        actions.move_resident(
            actor=world.users["grid_worker"],
            resident_id=registry.residents["c"].pk,
            to_household_id=registry.households["101"].pk,
            **kwargs,
        )
    # An admin of the district moves across communities.
    actions.move_resident(
        actor=world.users["admin"],
        resident_id=registry.residents["c"].pk,
        to_household_id=registry.households["102"].pk,
        **kwargs,
    )
    assert (
        Resident.objects.get(pk=registry.residents["c"].pk).household == registry.households["102"]
    )


def test_a_paired_member_moving_to_another_community_must_be_unpaired_first(
    field: FieldWorld, registry: RegistryWorld, world
) -> None:
    staff = world.users["street_staff"]
    actions.link_household(
        actor=staff, member_id=field.member.pk, household_id=registry.households["102"].pk
    )
    today = timezone.localdate()
    with pytest.raises(Conflict) as exc:
        actions.move_resident(
            actor=staff,
            resident_id=field.member.pk,
            to_household_id=field.elsewhere.pk,
            moved_out_on=today,
            moved_in_on=today,
            relation_to_head="head",
        )
    assert exc.value.field == "to_household"
    # Within the community the pairs stay.
    new_home = add_household(world.users["superuser"], field.neighbour, "999")
    actions.move_resident(
        actor=staff,
        resident_id=field.member.pk,
        to_household_id=new_home.pk,
        moved_out_on=today,
        moved_in_on=today,
        relation_to_head="head",
    )
    assert PartyMemberLink.objects.filter(member=field.member).count() == 1


def test_registration_helpers_still_work_for_new_residents(registry: RegistryWorld, world) -> None:
    # A resident registered after a move-out reuses nothing of the mover.
    resident = add_resident(
        world.users["grid_worker"],
        registry.households["102"],
        name="新住户",
        birth=date(1990, 1, 1),
    )
    assert resident.household == registry.households["102"]


def test_a_resident_moving_to_another_building_takes_the_tags_along(
    registry: RegistryWorld, world
) -> None:
    root = world.users["superuser"]
    staff = world.users["community_staff"]
    wang = registry.residents["a"]  # tagged 独居老人 in the community's building
    stale = Resident.objects.get(pk=wang.pk)
    assert [r.name for r in selectors.resident_search(user=staff, group="living_alone")] == [
        "王秀英"
    ]
    today = timezone.localdate()

    actions.move_resident(
        actor=root,
        resident_id=wang.pk,
        to_household_id=registry.households["201"].pk,
        moved_out_on=today,
        moved_in_on=today,
        relation_to_head="parent",  # 201 has its head
    )
    # Tagged through a copy loaded before the move: the tag still lands on the new building.
    actions.tag_resident(actor=root, resident=stale, group="subsistence")

    assert set(ResidentTag.objects.filter(resident=wang).values_list("group", "building")) == {
        ("living_alone", registry.other.pk),
        ("subsistence", registry.other.pk),
    }
    assert tag_drift() == []
    assert selectors.resident_search(user=staff, group="living_alone") == []
    found = selectors.resident_search(user=world.users["superuser"], group="subsistence")
    assert [r.name for r in found] == ["王秀英"]


def test_a_stale_copy_gives_no_right_over_the_building_the_resident_moved_to(
    registry: RegistryWorld, world
) -> None:
    """Community staff hold a copy of a resident loaded before a move out of their community:
    tagging through it is refused, since the permission is over where the resident lives now."""
    staff = world.users["community_staff"]
    wang = registry.residents["a"]
    stale = Resident.objects.select_related("household__building").get(pk=wang.pk)
    today = timezone.localdate()
    actions.move_resident(
        actor=world.users["superuser"],
        resident_id=wang.pk,
        to_household_id=registry.households["201"].pk,
        moved_out_on=today,
        moved_in_on=today,
        relation_to_head="parent",  # 201 has its head
    )
    with pytest.raises(PermissionDenied):
        actions.tag_resident(actor=staff, resident=stale, group="subsistence")
    assert not ResidentTag.objects.filter(resident=wang, group="subsistence").exists()


# --- one 户主 per household --------------------------------------------------------------------


def _head_of(household: object) -> Resident | None:
    return Resident.objects.filter(household=household, relation_to_head="head").first()


def test_an_edit_cannot_give_a_household_a_second_head(registry: RegistryWorld, world) -> None:
    household = registry.residents["b"].household
    head = _head_of(household)
    assert head is not None and head.pk != registry.residents["b"].pk
    with pytest.raises(ValidationFailed) as exc:
        actions.update_resident(
            actor=world.users["grid_worker"],
            resident_id=registry.residents["b"].pk,
            data=edit_input(registry.residents["b"], relation_to_head="head"),
        )
    assert [e.field for e in exc.value.errors] == ["relation_to_head"]
    assert head.name in exc.value.errors[0].message
    assert Resident.objects.filter(household=household, relation_to_head="head").count() == 1


def test_a_move_cannot_give_a_household_a_second_head(registry: RegistryWorld, world) -> None:
    today = timezone.localdate()
    target = registry.households["201"]
    mover = registry.residents["b"]
    assert _head_of(target) is not None
    with pytest.raises(ValidationFailed) as exc:
        actions.move_resident(
            actor=world.users["superuser"],
            resident_id=mover.pk,
            to_household_id=target.pk,
            moved_out_on=today,
            moved_in_on=today,
            relation_to_head="head",
        )
    assert [e.field for e in exc.value.errors] == ["relation_to_head"]
    assert Resident.objects.get(pk=mover.pk).household_id == mover.household_id


def test_a_new_mobile_and_removing_the_mobile_at_once_is_refused(
    registry: RegistryWorld, world
) -> None:
    resident = registry.residents["b"]
    with pytest.raises(ValidationFailed) as exc:
        actions.update_resident(
            actor=world.users["grid_worker"],
            resident_id=resident.pk,
            data=edit_input(resident, mobile="13812345678"),
            clear_mobile=True,
        )
    assert [e.field for e in exc.value.errors] == ["mobile"]
    assert Resident.objects.get(pk=resident.pk).mobile_masked == "159****4321"
