"""Buildings after new boundaries (网格调整): a building whose position the current boundaries put
in another grid is listed, and moved on request with everything read through its grid; one that
cannot move is listed with the reason and stays."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from wangge.core.tests.fixtures import World
from wangge.registry import actions as registry_actions
from wangge.registry import selectors as registry_selectors
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
    result = actions.move_buildings([move])
    assert result.moved == [building.pk] and result.skipped == []
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
    assert actions.move_buildings([move]).moved == []
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
    result = actions.move_buildings([move])
    assert result.moved == [] and result.skipped == [building.pk]
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
    # A pair whose two sides live in the moving building moves together: not counted.
    own = add_household(root, world.buildings[OLD], "502")
    registry_actions.link_household(actor=root, member_id=member.pk, household_id=own.pk)
    [move] = [m for m in actions.plan_building_moves() if m.building_id == world.buildings[OLD].pk]
    assert move.cross_community_links == 1
    out = StringIO()
    call_command("reassign_buildings", stdout=out)
    assert "1 party pairs would cross communities" in out.getvalue()


def test_two_buildings_of_one_address_swapping_grids_move_one_run_at_a_time(
    world: World,
) -> None:
    """A building does not move into a grid that holds its address now, even if that one is
    leaving: nothing is reported movable that the apply would refuse."""
    lon, lat = center_of(world.unit(NEW))
    a = world.buildings[OLD]
    b = actions.create_building(name="同址楼", address=a.address, lon=lon, lat=lat)
    _stand_in(a, world, NEW)
    _stand_in(b, world, OLD)
    moves = actions.plan_building_moves()
    assert [m.movable for m in moves] == [False, False]
    assert actions.move_buildings(moves).moved == []


def test_a_chain_waits_for_its_first_link(world: World) -> None:
    """B cannot leave (its new grid has its address); A, whose new grid is B's, waits for it."""
    lon, lat = center_of(world.unit(ELSEWHERE))
    a = world.buildings[OLD]
    b = actions.create_building(
        name="B",
        address=a.address,
        lon=center_of(world.unit(NEW))[0],
        lat=center_of(world.unit(NEW))[1],
    )
    actions.create_building(name="C", address=a.address, lon=lon, lat=lat)
    _stand_in(a, world, NEW)
    _stand_in(b, world, ELSEWHERE)
    by_id = {m.building_id: m for m in actions.plan_building_moves()}
    assert not by_id[a.pk].movable and not by_id[b.pk].movable


def test_a_building_head_keeps_their_building_in_its_new_grid(world: World) -> None:
    from wangge.accounts.models import Membership, Role

    head = world.users["building_head"]
    building = Building.objects.filter(building_head=head).first() or world.buildings[OLD]
    Building.objects.filter(pk=building.pk).update(building_head=head)
    old = building.grid.code
    new = NEW if old != NEW else OLD
    _stand_in(building, world, new)
    [move] = actions.plan_building_moves()
    result = actions.move_buildings([move])
    assert result.moved == [building.pk] and result.heads_added == [head.pk]
    assert Membership.objects.filter(user=head, role=Role.BUILDING_HEAD, unit__code=new).exists()
    moved = Building.objects.select_related("grid").get(pk=building.pk)
    assert registry_selectors.registry_roles(head, moved) == {Role.BUILDING_HEAD}
