"""The scope matrix extended to the registry: role × subtree, building heads only in their own
buildings, and 404 for a resident outside every subtree."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from wangge.registry import actions, selectors
from wangge.registry.tests.factories import RegistryWorld

# Which of residents a (building head's building, grid 110101001001001) and c (grid
# 110101002002002) each user sees, and whether they may reveal a's full numbers.
MATRIX = {
    "grid_worker": ({"a", "b"}, False),
    "building_head": ({"a", "b"}, False),
    "community_staff": ({"a", "b"}, True),
    "street_staff": ({"a", "b"}, True),
    "leader": ({"a", "b"}, False),
    "admin": ({"a", "b", "c"}, True),
    "superuser": ({"a", "b", "c"}, True),
    "dispatcher": (set(), False),
    "department_handler": (set(), False),
    "resident": (set(), False),
    "volunteer": (set(), False),
    "nobody": (set(), False),
}


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_sees_exactly_its_residents(name: str, registry: RegistryWorld, world) -> None:
    user = world.users[name]
    expected, reveal = MATRIX[name]
    seen = {
        key
        for key, r in registry.residents.items()
        if selectors.resident_list(user=user).filter(pk=r.pk).exists()
    }
    assert seen == expected
    for key, resident in registry.residents.items():
        if key in expected:
            assert selectors.resident_get(user=user, pk=resident.pk) == resident
        else:
            with pytest.raises(Http404):
                selectors.resident_get(user=user, pk=resident.pk)
    if "a" in expected:
        assert selectors.can_reveal(user, registry.mine) is reveal


def test_a_building_head_sees_only_the_buildings_they_head(registry: RegistryWorld, world) -> None:
    from wangge.territory import actions as territory_actions
    from wangge.territory.tests.factories import center_of

    grid = world.units["110101001001001"]
    lon, lat = center_of(grid)
    neighbour = territory_actions.create_building(
        name="2号楼", address="同网格2号楼", lon=lon + 0.0001, lat=lat, floors=6, household_count=12
    )
    head = world.users["building_head"]
    assert list(selectors.building_list(user=head)) == [registry.mine]
    with pytest.raises(Http404):
        selectors.building_get(user=head, pk=neighbour.pk)
    # The grid worker of the same grid sees both.
    assert set(selectors.building_list(user=world.users["grid_worker"])) == {
        registry.mine,
        neighbour,
    }


def test_the_weekly_check_lists_stale_households_of_the_heads_buildings(
    registry: RegistryWorld, world
) -> None:
    head = world.users["building_head"]
    now = timezone.now()
    assert [h.room for h in selectors.due_households(user=head)] == ["101", "102"]
    actions.confirm_unchanged(
        actor=head, household_id=registry.households["101"].pk, at=now - timedelta(days=8)
    )
    actions.confirm_unchanged(
        actor=head, household_id=registry.households["102"].pk, at=now - timedelta(days=2)
    )
    assert [h.room for h in selectors.due_households(user=head)] == ["101"]


def test_freshness_counts_stale_households_per_grid_and_community(
    registry: RegistryWorld, world
) -> None:
    actions.confirm_unchanged(
        actor=world.users["superuser"], household_id=registry.households["102"].pk
    )
    rows = selectors.freshness_report(user=world.users["admin"])
    assert [(r.unit.code, r.households, r.stale, r.never) for r in rows] == [
        ("110101001001001", 2, 1, 1),
        ("110101002002002", 1, 1, 1),
    ]
    rows = selectors.freshness_report(user=world.users["community_staff"], level="community")
    assert [(r.unit.code, r.households, r.fresh_percent) for r in rows] == [("110101001001", 2, 50)]


def test_audits_are_listed_for_admins_of_the_subtree_only(registry: RegistryWorld, world) -> None:
    actions.reveal_resident(
        actor=world.users["admin"], resident=registry.residents["c"], reason="核对户籍信息"
    )
    assert selectors.audit_list(user=world.users["admin"]).count() == 1
    assert selectors.audit_list(user=world.users["superuser"]).count() == 1
    for name in ("community_staff", "street_staff", "leader", "grid_worker"):
        assert not selectors.can_list_audits(world.users[name])
        assert selectors.audit_list(user=world.users[name]).count() == 0


@pytest.mark.parametrize(
    ("query", "group", "expected"),
    [
        ("王", "", {"a", "b"}),
        ("002X", "", {"a"}),
        ("002x", "", {"a"}),
        ("5678", "", {"a"}),  # the mobile's last four
        ("11010519491231002X", "", {"a"}),
        ("13812345678", "", {"a"}),
        ("13812345670", "", set()),
        ("1号楼", "", {"a", "b"}),
        ("", "living_alone", {"a"}),
        ("李强", "", set()),  # outside the grid worker's grid
    ],
)
def test_search_finds_residents_in_scope(
    query, group, expected, registry: RegistryWorld, world
) -> None:
    found = selectors.resident_search(user=world.users["grid_worker"], query=query, group=group)
    by_pk = {r.pk: key for key, r in registry.residents.items()}
    assert {by_pk[r.pk] for r in found} == expected


def test_an_admin_finds_the_other_grid_by_mobile_tail(registry: RegistryWorld, world) -> None:
    found = selectors.resident_search(
        user=world.users["admin"], query=registry.plain["mobile_c"][-4:]
    )
    assert found == [registry.residents["c"]]
