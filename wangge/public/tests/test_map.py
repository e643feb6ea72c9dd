"""The public map: open cases and those closed in the last 30 days, rounded to ~10 m, filtered by
class, bounded, and with nothing about people or their words."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from wangge.cases.models import Category, Status
from wangge.cases.tests.helpers import case_in, report
from wangge.core.tests.fixtures import World
from wangge.public import selectors


def features(client: Client, **params: str) -> list[dict]:
    response = client.get("/r/map/cases.geojson", params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    return response.json()["features"]


def test_open_and_recently_closed_cases_are_on_the_map(world: World, client: Client) -> None:
    open_case = report(world, lon=116.0512345, lat=39.9587654)
    closed = case_in(world, Status.CLOSED)
    case_in(world, Status.REJECTED)
    merged = case_in(world, Status.MERGED)
    found = features(client)
    assert len(found) == 3  # the open one, the closed one, and the master of the merged one
    assert merged.pk not in [f["properties"].get("id") for f in found]
    by_state = {f["properties"]["open"] for f in found}
    assert by_state == {True, False}
    point = next(f for f in found if f["geometry"]["coordinates"] == [116.0512, 39.9588])
    assert point["properties"]["status"] == "已收到"
    assert point["properties"]["category"] == open_case.category.name
    assert point["properties"]["class"] == "environment"
    closed_feature = next(f for f in found if not f["properties"]["open"])
    assert (
        closed_feature["properties"]["closed"] == timezone.localdate(closed.closed_at).isoformat()
    )


def test_cases_closed_more_than_30_days_ago_are_left_off(
    world: World, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_in(world, Status.CLOSED)
    real_now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: real_now + timedelta(days=31))
    assert features(client) == []


def test_nothing_about_people_or_their_words_is_on_the_map(world: World, client: Client) -> None:
    case = report(
        world,
        title="王女士家门口垃圾",
        description="电话13911112222",
        reporter_name="王女士",
        reporter_phone="13911112222",
    )
    body = client.get("/r/map/cases.geojson").content.decode()
    for private in ("王女士", "13911112222", case.tracking_code, "垃圾三天", "title", "reporter"):
        assert private not in body


def test_the_map_filters_by_class_and_is_bounded(
    world: World, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        report(world)
    report(world, category=Category.objects.get(code="fire_hazard"))
    assert len(features(client, category="safety")) == 1
    assert len(features(client, category="environment")) == 3
    assert len(features(client, category="exposed_garbage")) == 3
    assert len(features(client, category="no_such_class")) == 0
    assert len(features(client, category="<script>")) == 4  # ignored, not an error
    monkeypatch.setattr(selectors, "MAP_FEATURES", 2)
    response = client.get("/r/map/cases.geojson").json()
    assert len(response["features"]) == 2
    assert response["truncated"] is True


def test_the_map_page_and_the_street_outlines_need_no_login(world: World, client: Client) -> None:
    page = client.get("/r/map/")
    assert page.status_code == 200
    assert "问题地图" in page.content.decode()
    outlines = client.get("/r/streets.geojson").json()
    assert {f["properties"]["name"] for f in outlines["features"]} == {"第1街道", "第2街道"}
    ring = outlines["features"][0]["geometry"]["coordinates"][0]
    assert all(len(str(x).split(".")[-1]) <= 5 for point in ring for x in point)


def test_personal_matters_stay_off_the_map(world: World, client: Client, settings) -> None:
    """The map hides what the Open311 feed hides: disputes and policy questions by default."""
    garbage = report(world)
    family = report(world, category=Category.objects.get(code="dispute_family"))
    question = report(world, category=Category.objects.get(code="policy_household"))
    found = features(client)
    assert [f["properties"]["category"] for f in found] == [garbage.category.name]
    assert features(client, category="dispute") == []
    page = client.get("/r/map/").content.decode()
    assert 'value="dispute"' not in page and 'value="environment"' in page
    settings.WANGGE_OPEN311_PRIVATE_CATEGORIES = []
    assert {f["properties"]["category"] for f in features(client)} == {
        garbage.category.name,
        family.category.name,
        question.category.name,
    }


def test_the_map_speaks_the_readers_language_and_caches_per_language(
    world: World, client: Client
) -> None:
    from django.conf import settings
    from django.utils import translation

    report(world)  # 暴露垃圾 under 市容环境
    with translation.override(translation.get_language()):
        chinese = client.get("/r/map/cases.geojson")
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        english = client.get("/r/map/cases.geojson")
    assert chinese.json()["features"][0]["properties"]["category"] == "暴露垃圾"
    properties = english.json()["features"][0]["properties"]
    assert (properties["class_name"], properties["category"]) == (
        "Cityscape and environment",
        "Exposed rubbish",
    )
    # The language may come from the cookie: a cache must not hand one language's copy out
    # for the other's.
    vary = {v.strip().lower() for v in english["Vary"].split(",")}
    assert {"cookie", "accept-language"} <= vary
