"""Buildings after new boundaries (网格调整): a building whose position the current boundaries put
in another grid is listed, and moved on request with everything read through its grid; one that
cannot move is listed with the reason and stays."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from wangge.core.tests.fixtures import World
from wangge.registry import actions as registry_actions
from wangge.registry.models import Household, PoliticalStatus
from wangge.registry.tests.factories import add_household, add_resident
from wangge.territory import actions
from wangge.territory.models import Building, TerritoryState
from wangge.territory.tests.factories import center_of

OLD, NEW = "110101001001001", "110101001001002"  # neighbouring grids of one community
ELSEWHERE = "110101002002002"  # another street's grid


def _stand_in(building: Building, world: World, code: str) -> None:
    """As if the boundaries had been redrawn around the building: its position is now inside
    grid `code` (the position moved instead of the boundary; the index sees the same)."""
    lon, lat = center_of(world.unit(code))
    Building.objects.filter(pk=building.pk).update(lon=lon + 0.0001, lat=lat + 0.0001)


def test_nothing_to_move_when_every_building_is_in_its_grid(world: World) -> None:
    assert actions.plan_building_moves() == []
    out = StringIO()
    call_command("reassign_buildings", stdout=out)
    assert "every building is in its position's grid" in out.getvalue()


def test_a_building_in_another_grid_is_listed_then_moved_with_its_households(
    world: World,
) -> None:
    root = world.users["superuser"]
    building = world.buildings[OLD]
    household = add_household(root, building, "301")
    add_resident(root, household, name="刘芳")
    _stand_in(building, world, NEW)

    [move] = actions.plan_building_moves()
    assert (move.from_grid, move.to_grid, move.movable) == (OLD, NEW, True)
    assert Building.objects.get(pk=building.pk).grid.code == OLD  # a plan writes nothing

    before = TerritoryState.current_versions()
    assert actions.move_buildings([move]) == 1
    assert Building.objects.get(pk=building.pk).grid.code == NEW
    assert TerritoryState.current_versions() != before  # address finders rebuild
    assert actions.plan_building_moves() == []
    # The households follow: read through the building's new grid.
    moved = Household.objects.select_related("building__grid").get(pk=household.pk)
    assert moved.building.grid.code == NEW


def test_a_building_whose_new_grid_has_its_address_stays_and_is_named(world: World) -> None:
    building = world.buildings[OLD]
    lon, lat = center_of(world.unit(NEW))
    actions.create_building(name="同址楼", address=building.address, lon=lon, lat=lat)
    _stand_in(building, world, NEW)
    [move] = actions.plan_building_moves()
    assert not move.movable and "地址相同" in move.problem
    assert actions.move_buildings([move]) == 0
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("reassign_buildings", "--apply", stdout=out)
    assert failed.value.returncode == 1
    assert "✗" in out.getvalue() and Building.objects.get(pk=building.pk).grid.code == OLD


def test_a_building_outside_every_grid_is_named_and_stays(world: World) -> None:
    building = world.buildings[OLD]
    Building.objects.filter(pk=building.pk).update(lon=100.0, lat=30.0)
    [move] = actions.plan_building_moves()
    assert move.to_grid is None and not move.movable and "不在任何网格内" in move.problem


def test_a_building_changed_since_the_plan_is_left_where_it_is(world: World) -> None:
    building = world.buildings[OLD]
    _stand_in(building, world, NEW)
    [move] = actions.plan_building_moves()
    _stand_in(building, world, OLD)  # its position corrected meanwhile
    assert actions.move_buildings([move]) == 0
    assert Building.objects.get(pk=building.pk).grid.code == OLD


def test_the_command_lists_without_apply_and_moves_with_it(world: World) -> None:
    building = world.buildings[OLD]
    _stand_in(building, world, NEW)
    out = StringIO()
    call_command("reassign_buildings", stdout=out)
    assert f"{OLD} → {NEW}  {building.address}" in out.getvalue() and "dry run" in out.getvalue()
    assert Building.objects.get(pk=building.pk).grid.code == OLD
    call_command("reassign_buildings", "--apply", stdout=out)
    assert "moved 1" in out.getvalue()
    assert Building.objects.get(pk=building.pk).grid.code == NEW


def test_party_pairs_a_move_takes_across_communities_are_counted(world: World) -> None:
    """A member in one building paired with a household of the same community: when the
    building moves to another community, the pair is flagged for the community to redo."""
    root = world.users["superuser"]
    member_home = add_household(root, world.buildings[OLD], "501")
    member = add_resident(root, member_home, name="党员甲")
    type(member).objects.filter(pk=member.pk).update(political_status=PoliticalStatus.PARTY_MEMBER)
    lon, lat = center_of(world.unit(NEW))
    neighbour = actions.create_building(name="邻楼", address="邻楼地址", lon=lon, lat=lat)
    paired = add_household(root, neighbour, "101")
    registry_actions.link_household(actor=root, member_id=member.pk, household_id=paired.pk)
    _stand_in(world.buildings[OLD], world, ELSEWHERE)
    [move] = [m for m in actions.plan_building_moves() if m.building_id == world.buildings[OLD].pk]
    assert move.movable and move.cross_community_links == 1
    out = StringIO()
    call_command("reassign_buildings", stdout=out)
    assert "1 party pairs would cross communities" in out.getvalue()
