"""Build territory through the real actions: boxes that tile a district exactly."""

from typing import Any

from wangge.territory import actions
from wangge.territory.models import Level, OrgUnit


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [
            [[west, south], [east, south], [east, north], [west, north], [west, south]]
        ],
    }


def make_tree(
    *,
    district_code: str = "110101",
    bounds: tuple[float, float, float, float] = (116.0, 39.8, 116.4, 40.0),
    streets: int = 2,
    communities: int = 2,
    grids: int = 2,
) -> dict[str, OrgUnit]:
    """A district split into `streets` vertical strips, each into `communities` horizontal strips
    (north first), each into `grids` vertical strips (west first). Returns units by code."""
    west, south, east, north = bounds
    units: dict[str, OrgUnit] = {}
    district = actions.create_unit(
        code=district_code, name="测试区", level=Level.DISTRICT, boundary=box(*bounds)
    )
    units[district.code] = district
    sw = (east - west) / streets
    for s in range(streets):
        s_west, s_east = west + s * sw, west + (s + 1) * sw
        street = actions.create_unit(
            code=f"{district_code}{s + 1:03d}",
            name=f"第{s + 1}街道",
            level=Level.STREET,
            parent=district,
            boundary=box(s_west, south, s_east, north),
        )
        units[street.code] = street
        ch = (north - south) / communities
        for c in range(communities):
            c_north, c_south = north - c * ch, north - (c + 1) * ch
            community = actions.create_unit(
                code=f"{street.code}{c + 1:03d}",
                name=f"{street.name}第{c + 1}社区",
                level=Level.COMMUNITY,
                parent=street,
                boundary=box(s_west, c_south, s_east, c_north),
            )
            units[community.code] = community
            gw = (s_east - s_west) / grids
            for g in range(grids):
                grid = actions.create_unit(
                    code=f"{community.code}{g + 1:03d}",
                    name=f"{community.name}第{g + 1}网格",
                    level=Level.GRID,
                    parent=community,
                    boundary=box(s_west + g * gw, c_south, s_west + (g + 1) * gw, c_north),
                )
                units[grid.code] = grid
    return units


def center_of(unit: OrgUnit) -> tuple[float, float]:
    west, south, east, north = unit.bbox
    return (west + east) / 2, (south + north) / 2
