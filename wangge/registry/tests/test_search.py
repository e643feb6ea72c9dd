"""Resident search: what a query finds, and that it costs a fixed number of queries whatever the
registry's size (the 1M-resident timings are in bench/registry_search.py)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wangge.registry import actions, selectors
from wangge.registry.tests.factories import (
    RegistryWorld,
    add_household,
    add_resident,
    tag_drift,
)


def test_a_name_is_found_from_its_beginning_and_an_address_anywhere(
    registry: RegistryWorld, world
) -> None:
    staff = world.users["community_staff"]
    names = {r.name for r in selectors.resident_search(user=staff, query="王秀")}
    assert names == {"王秀英"}
    assert selectors.resident_search(user=staff, query="秀英") == []  # not the middle of a name
    by_address = selectors.resident_search(user=staff, query=registry.mine.address[-4:])
    assert {r.name for r in by_address} == {"王秀英", "王小花"}


def test_results_come_in_address_order_and_stop_at_the_limit(
    registry: RegistryWorld, world
) -> None:
    root = world.users["superuser"]
    household = add_household(root, registry.mine, "201", unit_number=2)
    for day in range(1, 6):
        add_resident(root, household, name=f"王{day}", birth=date(1990, 1, day))
    found = selectors.resident_search(user=world.users["community_staff"], query="王", limit=4)
    assert len(found) == 4
    keys = [(r.household.unit.number, r.household.room, r.pk) for r in found]
    assert keys == sorted(keys)


def test_a_search_costs_the_same_few_queries_for_any_number_of_matches(
    registry: RegistryWorld, world
) -> None:
    root = world.users["superuser"]
    staff = world.users["community_staff"]
    selectors.resident_search(user=staff, query="王")  # the scope is built once per user
    counts = []
    for extra in (0, 30):
        household = add_household(root, registry.mine, f"3{extra:02d}")
        for n in range(extra):
            add_resident(root, household, name=f"王{n}", birth=date(1980, 1, 1 + n % 28))
        with CaptureQueriesContext(connection) as name_query:
            selectors.resident_search(user=staff, query="王")
        with CaptureQueriesContext(connection) as tag_query:
            selectors.resident_search(user=staff, query="", group="living_alone")
        counts.append((len(name_query), len(tag_query)))
    # Text: the buildings in scope, ids by name, ids by address (fewer than 100 by name), the
    # rows, their tags. A tag: the buildings in scope, ids, rows, tags.
    assert counts == [(5, 4), (5, 4)]


@pytest.mark.parametrize("as_buildings", [0, 2000])
def test_large_and_small_scopes_find_the_same_residents(
    as_buildings, registry: RegistryWorld, world, monkeypatch
) -> None:
    monkeypatch.setattr(selectors, "SCOPE_AS_BUILDINGS", as_buildings)
    for user, expected in (
        ("grid_worker", {"王秀英", "王小花"}),
        ("building_head", {"王秀英", "王小花"}),
        ("admin", {"王秀英", "王小花"}),
        ("dispatcher", set()),
    ):
        found = selectors.resident_search(user=world.users[user], query="王")
        assert {r.name for r in found} == expected, user
    found = selectors.resident_search(user=world.users["admin"], query="李")
    assert [r.name for r in found] == ["李强"]
    assert selectors.resident_search(user=world.users["grid_worker"], query="李") == []


@pytest.mark.parametrize("as_buildings", [0, 2000])
def test_a_tag_search_finds_what_the_scope_and_the_tag_allow_after_moves(
    as_buildings, registry: RegistryWorld, world, monkeypatch
) -> None:
    """The tag search ranges over the tags' copy of the building (a scope named by its
    buildings) or not (SCOPE_AS_BUILDINGS = 0): either way it must find exactly the residents in
    scope carrying the tag, as reading each resident's household would."""
    monkeypatch.setattr(selectors, "SCOPE_AS_BUILDINGS", as_buildings)
    root = world.users["superuser"]
    far = add_household(root, registry.other, "202")
    for n, household in enumerate([registry.households["102"], far, registry.households["201"]]):
        tagged = add_resident(root, household, name=f"赵{n}", birth=date(1940, 1, 1 + n))
        actions.tag_resident(actor=root, resident=tagged, group="living_alone")
    today = timezone.localdate()
    # 王秀英 leaves the community with her tag; 李强 comes in and is tagged afterwards.
    for resident, target in (
        (registry.residents["a"], registry.households["201"]),
        (registry.residents["c"], registry.households["102"]),
    ):
        actions.move_resident(
            actor=root,
            resident_id=resident.pk,
            to_household_id=target.pk,
            moved_out_on=today,
            moved_in_on=today,
            relation_to_head="other",
        )
    actions.tag_resident(actor=root, resident=registry.residents["c"], group="living_alone")
    for user in ("grid_worker", "building_head", "community_staff", "admin", "dispatcher"):
        account = world.users[user]
        expected = set(
            selectors.resident_list(user=account)
            .filter(tags__group="living_alone")
            .values_list("name", flat=True)
        )
        found = {r.name for r in selectors.resident_search(user=account, group="living_alone")}
        assert found == expected, user
    staff = world.users["community_staff"]
    assert {r.name for r in selectors.resident_search(user=staff, group="living_alone")} == {
        "赵0",
        "李强",
    }
    with_surname = selectors.resident_search(user=staff, query="李", group="living_alone")
    assert [r.name for r in with_surname] == ["李强"]
    assert tag_drift() == []
