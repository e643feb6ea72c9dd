"""The map of grids: colours and numbers from the database, population from the registry."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from wangge.cases.models import Case, Status
from wangge.cases.tests.helpers import case_in, report
from wangge.core.errors import DomainError
from wangge.core.tests.fixtures import World, login_as
from wangge.dashboard import selectors
from wangge.registry.tests.factories import add_household, add_resident

GRID = "110101001001001"
OTHER = "110101002002002"


def _feature(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f for f in data["features"] if f["properties"]["code"] == code)


def test_it_colours_each_grid_by_its_open_cases(world: World) -> None:
    for _ in range(3):
        case_in(world, Status.IN_PROGRESS)
    case_in(world, Status.CLOSED)
    report(world, grid=OTHER)
    data = selectors.grid_map(user=world.users["dispatcher"], metric="open")
    assert len(data["features"]) == 8  # every grid of the district, also those without cases
    mine, other = _feature(data, GRID)["properties"], _feature(data, OTHER)["properties"]
    assert (mine["value"], other["value"]) == (3, 1)
    assert data["max"] == 3
    assert mine["fill"] == selectors.PALETTE[-1]
    assert other["fill"] == selectors.colour(1, 3) == selectors.PALETTE[1]
    quiet = _feature(data, "110101001001002")["properties"]
    assert quiet["value"] == 0 and quiet["fill"] == selectors.ZERO_COLOUR
    assert mine["url"] == "/cases/?unit=110101001001001&status=" + selectors.OPEN_PARAM.replace(
        ",", "%2C"
    )
    assert _feature(data, GRID)["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_overdue_counts_only_cases_past_their_deadline(world: World) -> None:
    late = case_in(world, Status.IN_PROGRESS)
    case_in(world, Status.IN_PROGRESS)
    Case.objects.filter(pk=late.pk).update(
        resolution_due_at=timezone.now() - timedelta(hours=1),
        due_soon_at=timezone.now() - timedelta(hours=5),
    )
    data = selectors.grid_map(user=world.users["dispatcher"], metric="overdue")
    props = _feature(data, GRID)["properties"]
    assert (props["value"], props["open"], props["overdue"]) == (1, 2, 1)
    assert "sla=overdue" in props["url"]


def test_cases_per_thousand_residents_come_from_the_registry(world: World) -> None:
    building = world.buildings[GRID]
    actor = world.users["community_staff"]
    household = add_household(actor, building, "101")
    for i in range(4):
        add_resident(actor, household, name=f"居民{i}", relation="head" if i == 0 else "spouse")
    report(world)
    report(world)
    report(world, grid=OTHER)
    data = selectors.grid_map(user=world.users["dispatcher"], metric="per_1000")
    mine, other = _feature(data, GRID)["properties"], _feature(data, OTHER)["properties"]
    assert (mine["total"], mine["residents"], mine["value"]) == (2, 4, 500.0)
    # No registered residents: no rate and a grey grid, never a division by zero.
    assert (other["total"], other["residents"], other["value"]) == (1, 0, None)
    assert other["fill"] == selectors.NO_DATA_COLOUR
    assert any(row["label"] == "无人口数据" for row in data["legend"])


def test_the_map_shows_only_the_users_subtree(world: World) -> None:
    report(world, grid=OTHER)
    data = selectors.grid_map(user=world.users["street_staff"], metric="open")
    codes = {f["properties"]["code"] for f in data["features"]}
    assert codes and all(c.startswith("110101001") for c in codes)


def test_an_unknown_metric_is_an_error_naming_the_field(world: World, client: Any) -> None:
    with pytest.raises(DomainError) as error:
        selectors.grid_map(user=world.users["dispatcher"], metric="population")
    assert error.value.field == "metric"
    login_as(client, world.users["dispatcher"])
    response = client.get("/dashboard/map.json?metric=nope")
    assert response.status_code == 400 and response.json()["field"] == "metric"


def test_the_map_endpoint_returns_geojson_and_hides_other_streets(
    world: World, client: Any
) -> None:
    case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["dispatcher"])
    response = client.get("/dashboard/map.json?metric=open")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["metric"] == "open"
    login_as(client, world.users["street_staff"])
    assert client.get("/dashboard/map.json?unit=110101002").status_code == 404
    login_as(client, world.users["resident"])
    assert client.get("/dashboard/map.json").status_code == 404


def test_the_colour_scale_has_five_equal_steps() -> None:
    assert selectors.colour(None, 10) == selectors.NO_DATA_COLOUR
    assert selectors.colour(0, 10) == selectors.ZERO_COLOUR
    assert [selectors.colour(v, 10) for v in (1, 2, 3, 5, 10)] == [
        selectors.PALETTE[0],
        selectors.PALETTE[0],
        selectors.PALETTE[1],
        selectors.PALETTE[2],
        selectors.PALETTE[4],
    ]


def test_a_poll_that_knows_the_shapes_gets_colours_without_geometry(
    world: World, client: Any
) -> None:
    """The page polls every few seconds: the boundaries, most of the answer, come once."""
    from wangge.territory import actions as territory

    case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["dispatcher"])
    first = client.get("/dashboard/map.json?metric=open").json()
    assert first["geometry"] == "sent"
    assert all(f["geometry"] for f in first["features"])
    again = client.get("/dashboard/map.json", {"metric": "open", "shapes": first["shapes"]})
    body = again.json()
    assert body["geometry"] == "unchanged" and body["shapes"] == first["shapes"]
    assert all(f["geometry"] is None for f in body["features"])
    assert [f["properties"] for f in body["features"]] == [
        f["properties"] for f in first["features"]
    ]
    assert len(again.content) < len(client.get("/dashboard/map.json").content)
    # A boundary change (or another subtree) sends the shapes again.
    territory.bump_boundary_version()
    changed = client.get("/dashboard/map.json", {"metric": "open", "shapes": first["shapes"]})
    assert changed.json()["geometry"] == "sent"
    other = client.get(
        "/dashboard/map.json", {"unit": "110101001", "shapes": first["shapes"]}
    ).json()
    assert other["geometry"] == "sent"


@pytest.mark.parametrize("path", ["/dashboard/map.json?metric=open", "/dashboard/data.json"])
def test_the_polled_answers_are_compressed_for_browsers_that_accept_it(
    world: World, client: Any, path: str
) -> None:
    import gzip
    import json

    case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["dispatcher"])
    plain = client.get(path)
    packed = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    unpacked, expected = json.loads(gzip.decompress(packed.content)), plain.json()
    for answer in (unpacked, expected):
        answer.pop("generated_at", None)  # data.json's clock: the two calls may straddle a second
    assert unpacked == expected
