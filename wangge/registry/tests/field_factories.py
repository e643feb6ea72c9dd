"""Test data for the registry's field work (联户, visits, edits and moves), made through the real
actions on top of the registry world."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from wangge.registry import actions
from wangge.registry.models import Household, PoliticalStatus, Relation, Resident
from wangge.registry.tests.factories import RegistryWorld, add_household, make_id_number
from wangge.territory import actions as territory_actions
from wangge.territory.models import Building
from wangge.territory.tests.factories import center_of


def add_building(world: Any, grid_code: str, name: str) -> Building:
    grid = world.units[grid_code]
    lon, lat = center_of(grid)
    return territory_actions.create_building(
        name=name, address=f"{grid.name}{name}", lon=lon, lat=lat, floors=6, household_count=24
    )


def add_party_member(actor: Any, household: Household, *, name: str = "赵红") -> Resident:
    return actions.register_resident(
        actor=actor,
        household=household,
        data=actions.ResidentInput(
            name=name,
            sex="female",
            birth_date=date(1975, 7, 1),
            id_number=make_id_number(birth=date(1975, 7, 1), sex="female"),
            political_status=PoliticalStatus.PARTY_MEMBER,
            relation_to_head=(
                Relation.OTHER
                if household.residents.filter(relation_to_head=Relation.HEAD).exists()
                else Relation.HEAD
            ),
        ),
    )


@dataclass
class FieldWorld:
    """On top of the registry world: a party member in household 101 (grid 110101001001001);
    a building in the same community's other grid (110101001001002) with 20 households; one
    household in another community of the same street (110101001002001)."""

    member: Resident
    neighbour: Building
    neighbour_households: list[Household]
    elsewhere: Household


def make_field(world: Any, registry: RegistryWorld) -> FieldWorld:
    root = world.users["superuser"]
    member = add_party_member(root, registry.households["101"])
    neighbour = add_building(world, "110101001001002", "5号楼")
    households = [add_household(root, neighbour, f"{100 + i}") for i in range(1, 21)]
    other = add_building(world, "110101001002001", "8号楼")
    elsewhere = add_household(root, other, "801")
    return FieldWorld(
        member=member, neighbour=neighbour, neighbour_households=households, elsewhere=elsewhere
    )
