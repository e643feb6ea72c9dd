"""The scope matrix extended to visits and 联户: each role sees exactly the visits and party
members of its subtree, records visits where it may write, and pairs households only as
community staff or above; the coverage report counts what the database holds."""

from datetime import date, datetime, timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from wangge.core.errors import PermissionDenied
from wangge.registry import actions, selectors
from wangge.registry.models import Household, ResidentTag, Visit
from wangge.registry.tests.factories import RegistryWorld, add_household, add_resident
from wangge.registry.tests.field_factories import FieldWorld, add_party_member

# Which visits each user sees ("mine": household 101 in grid 110101001001001, "other": household
# 201 in 110101002002002), whether they may record one at 101, and whether they pair households
# for the party member of 101.
MATRIX = {
    "grid_worker": ({"mine"}, True, False),
    "building_head": ({"mine"}, True, False),
    "community_staff": ({"mine"}, True, True),
    "street_staff": ({"mine"}, True, True),
    "leader": ({"mine"}, False, False),
    "admin": ({"mine", "other"}, True, True),
    "superuser": ({"mine", "other"}, True, True),
    "dispatcher": (set(), False, False),
    "department_handler": (set(), False, False),
    "resident": (set(), False, False),
    "volunteer": (set(), False, False),
    "nobody": (set(), False, False),
}


@pytest.fixture
def visits(registry: RegistryWorld, world) -> dict[str, Visit]:
    root = world.users["superuser"]
    return {
        "mine": actions.record_visit(
            actor=root, household_id=registry.households["101"].pk, purpose="care", findings="好"
        ),
        "other": actions.record_visit(
            actor=root, household_id=registry.households["201"].pk, purpose="care", findings="好"
        ),
    }


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_sees_exactly_its_visits_and_party_members(
    name: str, visits: dict[str, Visit], field: FieldWorld, registry: RegistryWorld, world
) -> None:
    user = world.users[name]
    expected, may_record, may_pair = MATRIX[name]
    other_member = add_party_member(
        world.users["superuser"], registry.households["201"], name="钱军"
    )

    seen = {key for key, v in visits.items() if selectors.visit_list(user=user).filter(pk=v.pk)}
    assert seen == expected
    for key, visit in visits.items():
        if key in expected:
            assert selectors.visit_get(user=user, pk=visit.pk) == visit
        else:
            with pytest.raises(Http404):
                selectors.visit_get(user=user, pk=visit.pk)
    members = set(selectors.party_member_list(user=user))
    assert members == (
        {field.member, other_member}
        if "other" in expected
        else {field.member}
        if expected
        else set()
    )
    # Only those who may write record a visit; only community staff and above pair households.
    if may_record:
        actions.record_visit(
            actor=user, household_id=registry.households["101"].pk, purpose="knock", findings="好"
        )
    else:
        with pytest.raises(PermissionDenied):
            actions.record_visit(
                actor=user,
                household_id=registry.households["101"].pk,
                purpose="knock",
                findings="好",
            )
    assert selectors.can_manage_links(user, registry.mine) is may_pair
    if may_pair:
        actions.link_household(
            actor=user, member_id=field.member.pk, household_id=registry.households["102"].pk
        )
    else:
        with pytest.raises(PermissionDenied):
            actions.link_household(
                actor=user, member_id=field.member.pk, household_id=registry.households["102"].pk
            )


def test_a_building_head_sees_no_visit_outside_the_buildings_they_head(
    registry: RegistryWorld, field: FieldWorld, world
) -> None:
    # 5号楼 is in another grid of the community; the community staff sees its visit.
    visit = actions.record_visit(
        actor=world.users["community_staff"],
        household_id=field.neighbour_households[0].pk,
        purpose="routine",
        findings="正常",
    )
    with pytest.raises(Http404):
        selectors.visit_get(user=world.users["building_head"], pk=visit.pk)
    with pytest.raises(Http404):
        selectors.visit_get(user=world.users["grid_worker"], pk=visit.pk)
    assert selectors.visit_get(user=world.users["community_staff"], pk=visit.pk) == visit


# --- coverage ----------------------------------------------------------------------------------


def _tag(world, resident, group: str) -> None:
    actions.tag_resident(
        actor=world.users["superuser"],
        resident=resident,
        group=group,
        disability_level="2" if group == "disability" else "",
    )


def _visit(world, household: Household, at: datetime) -> None:
    actions.record_visit(
        actor=world.users["superuser"],
        household_id=household.pk,
        purpose="care",
        findings="一切正常",
        visited_at=at,
    )


def expected_coverage(user, month_start: datetime, month_end: datetime, length: int, group=""):
    """The same numbers, counted the slow way from the rows."""
    counts: dict[str, list[int]] = {}
    for household in selectors.household_list(user=user):
        tags = ResidentTag.objects.filter(resident__household=household)
        if group:
            tags = tags.filter(group=group)
        if not tags.exists():
            continue
        code = household.building.grid.code[:length]
        visited = Visit.objects.filter(
            household=household, visited_at__gte=month_start, visited_at__lt=month_end
        ).exists()
        row = counts.setdefault(code, [0, 0])
        row[0] += 1
        row[1] += int(visited)
    return {code: tuple(v) for code, v in counts.items()}


def test_coverage_counts_special_households_visited_in_the_month(
    registry: RegistryWorld, field: FieldWorld, world
) -> None:
    root = world.users["superuser"]
    # The month counted is last month, at this time of day: every visit below is then in the
    # past, whatever the day (on the 1st, "this month's second day" would be in the future).
    now = timezone.localtime().replace(day=1) - timedelta(days=1)
    start, end = selectors.month_bounds(now.date())
    last_month = start - timedelta(days=3)
    # 101 (王秀英, 独居老人): visited this month, twice.  102: a disabled resident, visited only
    # last month.  201 (other community): a veteran, visited this month.  A neighbour household
    # with a pregnant woman, never visited; one without any tag, visited (not counted).
    _visit(world, registry.households["101"], start)  # the month's first instant counts
    _visit(world, registry.households["101"], min(now, end - timedelta(minutes=1)))
    disabled = add_resident(root, registry.households["102"], name="孙刚")
    _tag(world, disabled, "disability")
    _visit(world, registry.households["102"], last_month)
    _tag(world, registry.residents["c"], "veteran")
    _visit(world, registry.households["201"], start + timedelta(days=1))
    pregnant = add_resident(
        root,
        field.neighbour_households[0],
        name="周敏",
        sex="female",
        birth=date(1995, 6, 1),
    )
    _tag(world, pregnant, "pregnant")
    _visit(world, field.neighbour_households[1], start + timedelta(hours=2))
    # A visit just before the month's first instant belongs to the month before.
    untouched = add_household(root, field.neighbour, "777")
    _tag(world, add_resident(root, untouched, name="吴老"), "empty_nest")
    _visit(world, untouched, start - timedelta(microseconds=1))

    for name in ("admin", "community_staff", "grid_worker", "street_staff", "leader"):
        user = world.users[name]
        for level, length in (("grid", 15), ("community", 12)):
            rows = selectors.coverage_report(user=user, month=now.date(), level=level)
            got = {r.unit.code: (r.households, r.visited) for r in rows}
            assert got == expected_coverage(user, start, end, length), (name, level)

    admin_rows = {
        r.unit.code: (r.households, r.visited, r.unvisited)
        for r in selectors.coverage_report(user=world.users["admin"], month=now.date())
    }
    assert admin_rows == {
        "110101001001001": (2, 1, 1),
        "110101001001002": (2, 0, 2),
        "110101002002002": (1, 1, 0),
    }
    # One group only.
    rows = selectors.coverage_report(
        user=world.users["admin"], month=now.date(), group="disability"
    )
    assert [(r.unit.code, r.households, r.visited) for r in rows] == [("110101001001001", 1, 0)]
    # Last month: 102, and 777 a moment before this month began.
    rows = selectors.coverage_report(user=world.users["admin"], month=last_month.date())
    assert {r.unit.code: r.visited for r in rows} == {
        "110101001001001": 1,
        "110101001001002": 1,
        "110101002002002": 0,
    }
    # The grid worker sees only the grid, and the drill-down lists unvisited households first.
    worker = world.users["grid_worker"]
    rows = selectors.coverage_report(user=worker, month=now.date())
    assert [r.unit.code for r in rows] == ["110101001001001"]
    listed = selectors.coverage_households(user=worker, month=now.date(), code="110101001001001")
    assert [h.room for h in listed] == ["102", "101"]
    assert listed[0].last_visit is None and listed[1].last_visit is not None
    assert [r.name for r in listed[1].tagged] == ["王秀英"]
    assert (
        selectors.coverage_households(user=worker, month=now.date(), code="110101002002002") == []
    )
