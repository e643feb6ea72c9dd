"""Territory endpoints of the staff API."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from wangge.core.schemas import COMMON_ERRORS
from wangge.territory.geo import grid_locator
from wangge.territory.models import OrgUnit

router = Router(tags=["territory"])


class PointIn(Schema):
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude")
    lat: float = Field(ge=-90, le=90, description="WGS84 latitude")


class UnitOut(Schema):
    code: str
    name: str
    level: str


class LocateOut(Schema):
    inside: bool
    grid: UnitOut | None = None
    community: UnitOut | None = None
    street: UnitOut | None = None


UNIT_FIELDS = ("code", "name", "level", "parent")
STREET_FIELDS = ("parent__parent__code", "parent__parent__name", "parent__parent__level")


@router.get(
    "/locate",
    response={200: LocateOut, **COMMON_ERRORS},
    summary="Which grid contains this point",
)
def locate(request: HttpRequest, point: Query[PointIn]) -> Any:
    grid_id = grid_locator().locate(point.lon, point.lat)
    if grid_id is None:
        return {"inside": False}
    # Codes, names and levels only: boundaries can be large polygons.
    grid = (
        OrgUnit.objects.select_related("parent__parent")
        .only(*UNIT_FIELDS, *(f"parent__{f}" for f in UNIT_FIELDS), *STREET_FIELDS)
        .get(pk=grid_id)
    )
    community = grid.parent
    street = community.parent if community else None
    return {"inside": True, "grid": grid, "community": community, "street": street}
