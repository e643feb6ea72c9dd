"""The dashboard pages and their JSON: access, filters and errors."""

from typing import Any

import pytest

from wangge.cases.models import Status
from wangge.cases.tests.helpers import case_in
from wangge.core.tests.fixtures import World, login_as


def test_it_shows_the_counters_on_the_page(world: World, client: Any) -> None:
    case_in(world, Status.CLOSED)
    case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["dispatcher"])
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "累计办件" in html and 'data-counter="total"' in html
    assert response.context["data"]["counters"]["total"] == 2
    assert 'href="/dashboard/"' in html  # the nav link
    # The rankings say whom they leave out (too few closed cases to rank).
    from django.conf import settings

    assert f"办结不少于 {settings.WANGGE_RANKING_MIN_CLOSED} 件的部门和单位才参与排名" in html


def test_a_department_handlers_dashboard_is_headed_with_the_department(
    world: World, client: Any
) -> None:
    """Its figures count only the department's cases: it was headed with the district."""
    from wangge.territory.models import Department

    handler = world.users["department_handler"]
    department = Department.objects.get(pk=handler.memberships.get().department_id)
    login_as(client, handler)
    for url in ("/dashboard/", "/dashboard/screen/"):
        html = client.get(url).content.decode()
        assert f"<span data-root>{department.name}</span>" in html, url
    assert client.get("/dashboard/data.json").json()["root"]["name"] == department.name
    login_as(client, world.users["dispatcher"])
    district = world.unit("110101").name
    assert f"<span data-root>{district}</span>" in client.get("/dashboard/").content.decode()


def test_the_big_screen_renders_with_the_same_data(world: World, client: Any) -> None:
    case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["leader"])
    response = client.get("/dashboard/screen/")
    assert response.status_code == 200
    assert response.context["data"]["counters"]["open"] == 1
    assert b"echarts.min.js" in response.content


def test_the_big_screen_says_which_period_it_shows(world: World, client: Any) -> None:
    login_as(client, world.users["leader"])
    assert 'data-testid="period"' not in client.get("/dashboard/screen/").content.decode()
    html = client.get("/dashboard/screen/?date_from=2026-10-01&date_to=2026-10-31").content
    assert "上报日期 2026-10-01 – 2026-10-31" in html.decode()
    html = client.get("/dashboard/screen/?date_from=2026-10-01").content
    assert "上报日期 2026-10-01 – …" in html.decode()


def test_the_json_endpoint_returns_fresh_numbers(world: World, client: Any) -> None:
    login_as(client, world.users["dispatcher"])
    assert client.get("/dashboard/data.json").json()["counters"]["total"] == 0
    case_in(world, Status.ACCEPTED)
    response = client.get("/dashboard/data.json?unit=110101001")
    assert response["Cache-Control"] == "no-store"
    assert response.json()["counters"]["total"] == 1


def test_it_rejects_bad_filters_naming_the_field(world: World, client: Any) -> None:
    login_as(client, world.users["dispatcher"])
    response = client.get("/dashboard/data.json?date_from=yesterday")
    assert response.status_code == 400
    assert response.json()["field"] == "date_from"


def test_it_does_not_exist_for_residents_or_outside_the_scope(world: World, client: Any) -> None:
    login_as(client, world.users["resident"])
    assert client.get("/dashboard/").status_code == 404
    assert client.get("/dashboard/data.json").status_code == 404
    login_as(client, world.users["street_staff"])
    assert client.get("/dashboard/data.json?unit=110101002").status_code == 404
    client.logout()
    assert client.get("/dashboard/").status_code == 302


def test_the_charts_words_follow_the_pages_language(world: World, client: Any) -> None:
    from django.utils import translation

    login_as(client, world.users["dispatcher"])
    # (The middleware leaves the request's language active in this thread: put it back after.)
    with translation.override(translation.get_language()):
        _chart_words_in_both_languages(client)


def _chart_words_in_both_languages(client: Any) -> None:
    for path in ("/dashboard/", "/dashboard/screen/"):
        chinese = client.get(path).content.decode()
        assert 'data-word-open="办理中"' in chinese and 'data-word-overdue="已超时"' in chinese
        english = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'data-word-open="In progress"' in english
        assert 'data-word-received="Cases"' in english
        # The rankings' headings (红榜 / 黑榜) come from the page too, not from the style sheet.
        assert 'data-title="红榜"' in chinese and 'data-title="黑榜"' in chinese
        assert 'data-title="Best"' in english and 'data-title="Worst"' in english


def test_a_building_head_has_no_dashboard(world, client) -> None:
    """Their scope is their own buildings; the dashboard counts whole units."""
    from wangge.core.tests.fixtures import login_as

    login_as(client, world.users["building_head"])
    assert client.get("/dashboard/").status_code == 404
    assert "/dashboard/" not in client.get("/cases/todo/").content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=0001-01-01", "date_from"),
        ("date_to=9999-12-31", "date_to"),
        ("department=99999999999999999999999", "department"),
        ("department=0", "department"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/dashboard/", "/dashboard/data.json", "/dashboard/map.json", "/cases/total/"]
)
def test_out_of_range_dates_and_ids_are_refused_in_words_not_a_500(
    world: World, client: Any, path: str, query: str, field: str
) -> None:
    """Year 1 or 9999 and a 23-digit id passed the format checks and then overflowed."""
    login_as(client, world.users["dispatcher"])
    response = client.get(f"{path}?{query}")
    body = response.content.decode()
    if path == "/cases/total/":
        # The list shows the error; its count counts what the list shows (unfiltered).
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert field in body or ("部门" if field == "department" else "日期") in body


@pytest.mark.parametrize("query", ["date_from=0001-01-01", "department=99999999999999999999999"])
def test_an_export_with_an_out_of_range_filter_is_refused_before_it_starts(
    world: World, client: Any, query: str
) -> None:
    from wangge.dashboard.models import Export

    login_as(client, world.users["dispatcher"])
    response = client.post(f"/dashboard/exports/cases/?{query}")
    assert response.status_code == 400
    assert ("2000-01-01" in response.content.decode()) == query.startswith("date")
    assert not Export.objects.exists()


def test_the_case_list_names_an_out_of_range_date(world: World, client: Any) -> None:
    case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["dispatcher"])
    response = client.get("/cases/", {"date_to": "9999-12-31"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-field="date_to"' in body and "2099-12-31" in body


def test_the_trend_says_its_grain_so_months_are_labelled_with_their_year(
    world: World, client: Any
) -> None:
    login_as(client, world.users["dispatcher"])
    data = client.get("/dashboard/data.json?trend=month").json()
    assert data["trend_unit"] == "month"
    assert all(point["day"].endswith("-01") for point in data["trend"])
