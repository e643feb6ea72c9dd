"""Registry test data, made through the real actions."""

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import F

from wangge.core.validators import credit_code_check_char, id_number_check_char
from wangge.registry import actions
from wangge.registry.models import (
    Household,
    Relation,
    ResidenceType,
    Resident,
    ResidentTag,
    Tenure,
)
from wangge.territory.models import Building

_sequence = itertools.count(1)
_mobiles = itertools.count(13900000001)


def make_id_number(
    *,
    region: str = "110105",
    birth: date = date(1985, 6, 15),
    sex: str = "male",
    seq: int | None = None,
) -> str:
    """A valid GB 11643 number; the sequence's last digit is odd for men, even for women."""
    seq = next(_sequence) % 500 if seq is None else seq
    order = seq * 2 + (1 if sex == "male" else 0)
    first17 = f"{region}{birth:%Y%m%d}{order % 1000:03d}"
    return first17 + id_number_check_char(first17)


def make_credit_code(body: str = "91110105MA01") -> str:
    first17 = (body + f"{next(_sequence):05d}")[:17].replace("I", "1").replace("O", "0")
    return first17 + credit_code_check_char(first17)


def tag_drift() -> list[tuple[int, int, int]]:
    """Tags whose building is not their resident's household's building, as (tag, the tag's
    building, the resident's building): a write that creates a tag or moves a resident and
    forgets the tag's copy of the building shows here (the tag search would miss or leak it)."""
    return list(
        ResidentTag.objects.exclude(building_id=F("resident__household__building_id"))
        .order_by("pk")
        .values_list("pk", "building_id", "resident__household__building_id")
    )


def next_mobile() -> str:
    return str(next(_mobiles))


def add_household(actor: Any, building: Building, room: str, *, unit_number: int = 1) -> Household:
    unit = actions.create_building_unit(actor=actor, building=building, number=unit_number)
    return actions.create_household(
        actor=actor, unit=unit, room=room, tenure=Tenure.OWNER, floor_area_m2="86.5"
    )


def add_resident(
    actor: Any,
    household: Household,
    *,
    name: str = "张伟",
    sex: str = "male",
    birth: date = date(1985, 6, 15),
    id_number: str | None = None,
    mobile: str | None = None,
    relation: str | None = None,
) -> Resident:
    """A resident registered through the page's action; by default the household's 户主 if it
    has none yet, else 其他 (a household keeps one head)."""
    if relation is None:
        has_head = household.residents.filter(relation_to_head=Relation.HEAD).exists()
        relation = Relation.OTHER if has_head else Relation.HEAD
    return actions.register_resident(
        actor=actor,
        household=household,
        data=actions.ResidentInput(
            name=name,
            sex=sex,
            birth_date=birth,
            id_number=id_number if id_number is not None else make_id_number(birth=birth, sex=sex),
            mobile=mobile if mobile is not None else next_mobile(),
            residence_type=ResidenceType.REGISTERED,
            relation_to_head=relation,
        ),
    )


@dataclass
class RegistryWorld:
    """Two households in the building head's building (grid 110101001001001) and one in the other
    world building (grid 110101002002002), with known identifiers."""

    mine: Building
    other: Building
    households: dict[str, Household]
    residents: dict[str, Resident]
    plain: dict[str, str]


def make_registry(world: Any) -> RegistryWorld:
    root = world.users["superuser"]
    mine = world.buildings["110101001001001"]
    other = world.buildings["110101002002002"]
    households = {
        "101": add_household(root, mine, "101"),
        "102": add_household(root, mine, "102"),
        "201": add_household(root, other, "201"),
    }
    plain = {
        "id_a": "11010519491231002X",
        "mobile_a": "13812345678",
        "id_b": make_id_number(birth=date(2015, 3, 1), sex="female"),
        "mobile_b": "15987654321",
        "id_c": make_id_number(region="110101", birth=date(1960, 1, 2), sex="male"),
        "mobile_c": "17700001111",
    }
    residents = {
        "a": add_resident(
            root,
            households["101"],
            name="王秀英",
            sex="female",
            birth=date(1949, 12, 31),
            id_number=plain["id_a"],
            mobile=plain["mobile_a"],
        ),
        "b": add_resident(
            root,
            households["101"],
            name="王小花",
            sex="female",
            birth=date(2015, 3, 1),
            id_number=plain["id_b"],
            mobile=plain["mobile_b"],
            relation=Relation.GRANDCHILD,
        ),
        "c": add_resident(
            root,
            households["201"],
            name="李强",
            sex="male",
            birth=date(1960, 1, 2),
            id_number=plain["id_c"],
            mobile=plain["mobile_c"],
        ),
    }
    actions.tag_resident(
        actor=root, resident=residents["a"], group="living_alone", subsidy_type="高龄津贴"
    )
    return RegistryWorld(
        mine=mine, other=other, households=households, residents=residents, plain=plain
    )
