"""Resident search: what a query finds, and that it costs a fixed number of queries whatever the
registry's size (the 1M-resident timings are in bench/registry_search.py)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wangge.registry import selectors
from wangge.registry.tests.factories import RegistryWorld, add_household, add_resident


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
