"""是不是这件事？: before submitting, open cases of the same category within 250 m are offered,
measured on the sphere; closed cases, other categories and far ones are not."""

import math
from typing import Any

import pytest
from django.test import Client

from wangge.cases import selectors
from wangge.cases.models import Case, Category, Status
from wangge.cases.tests.helpers import case_in
from wangge.core.tests.fixtures import World
from wangge.public.tests.helpers import GRID, garbage
from wangge.territory.tests.factories import center_of


def moved(lon: float, lat: float, *, north_m: float = 0, east_m: float = 0) -> tuple[float, float]:
    """The point `north_m` north and `east_m` east of (lon, lat), on the sphere."""
    r = selectors.EARTH_RADIUS_M
    new_lat = lat + math.degrees(north_m / r)
    new_lon = lon + math.degrees(east_m / (r * math.cos(math.radians(lat))))
    return new_lon, new_lat


def at(world: World, *, north_m: float = 0, east_m: float = 0, **kwargs: Any) -> Case:
    lon, lat = moved(*center_of(world.unit(GRID)), north_m=north_m, east_m=east_m)
    status = kwargs.pop("status", Status.REPORTED)
    return case_in(world, status, lon=lon, lat=lat, **kwargs)


def test_distance_is_the_great_circle_distance() -> None:
    # One degree of latitude is ~111.2 km; Beijing to Shanghai is ~1,068 km.
    assert selectors.haversine_m(116.0, 39.0, 116.0, 40.0) == pytest.approx(111_195, rel=1e-3)
    assert selectors.haversine_m(116.4074, 39.9042, 121.4737, 31.2304) == pytest.approx(
        1_067_000, rel=5e-3
    )


@pytest.mark.parametrize("lat", [0.0, 39.9, 60.0, 80.0])
def test_the_box_holds_every_point_of_the_circle(lat: float) -> None:
    west, south, east, north = selectors.bbox_around(lon=116.0, lat=lat, radius_m=250)
    for bearing in range(0, 360, 5):
        lon, plat = moved(
            116.0,
            lat,
            north_m=249.9 * math.cos(math.radians(bearing)),
            east_m=249.9 * math.sin(math.radians(bearing)),
        )
        assert west <= lon <= east and south <= plat <= north, bearing


def test_a_nearby_open_case_is_found_and_far_closed_or_other_ones_are_not(world: World) -> None:
    near = at(world, north_m=120)
    edge = at(world, east_m=240, status=Status.IN_PROGRESS)
    at(world, north_m=300)  # too far
    at(world, east_m=180, north_m=180)  # 255 m away diagonally: inside the box, outside the circle
    at(world, north_m=50, status=Status.CLOSED)
    at(world, north_m=60, status=Status.REJECTED)
    at(world, north_m=40, category=Category.objects.get(code="debris"))

    lon, lat = center_of(world.unit(GRID))
    found = selectors.nearby_open_cases(category=garbage(), lon=lon, lat=lat, radius_m=250)
    assert [n.case.pk for n in found] == [near.pk, edge.pk]
    assert found[0].distance_m == pytest.approx(120, abs=0.5)
    assert found[1].distance_m == pytest.approx(240, abs=0.5)


def test_the_endpoint_answers_with_titles_distances_and_follow_links_only(
    world: World, client: Client
) -> None:
    near = at(world, north_m=100, title="东门垃圾 联系我13911112222", reporter_name="王女士")
    lon, lat = center_of(world.unit(GRID))
    response = client.get(
        "/r/nearby.json", {"category": garbage().pk, "lon": f"{lon}", "lat": f"{lat}"}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["radius_m"] == 250
    [item] = data["cases"]
    assert item["distance_m"] == 100
    assert item["status"] == "已收到"
    assert item["url"].startswith("/r/t/")
    body = response.content.decode()
    for private in ("13911112222", "王女士", near.tracking_code, "reporter"):
        assert private not in body
    # The follow link shows the case but does not let the visitor rate it.
    page = client.get(item["url"])
    assert page.status_code == 200
    assert "您正在关注这件事的办理进度" in page.content.decode()


@pytest.mark.parametrize(
    "params",
    [{}, {"category": "x", "lon": "1", "lat": "2"}, {"category": "1", "lon": "a", "lat": "b"}],
)
def test_the_endpoint_refuses_bad_parameters_without_a_500(
    world: World, client: Client, params: dict[str, str]
) -> None:
    response = client.get("/r/nearby.json", params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "location"


def test_personal_matters_are_never_offered_as_nearby_cases(world: World, client: Client) -> None:
    """Disputes and policy questions (WANGGE_OPEN311_PRIVATE_CATEGORIES) are nobody else's
    business: no follow link to a neighbour's family dispute."""
    family = Category.objects.get(code="dispute_family")
    at(world, north_m=20, category=family, title="赡养老人纠纷")
    lon, lat = center_of(world.unit(GRID))
    assert len(selectors.nearby_open_cases(category=family, lon=lon, lat=lat)) == 1
    response = client.get("/r/nearby.json", {"category": family.pk, "lon": lon, "lat": lat})
    assert response.status_code == 200
    assert response.json()["cases"] == []
    assert "赡养老人纠纷" not in response.content.decode()
