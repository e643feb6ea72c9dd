"""Browser journeys: the dashboard and the big screen show the database's numbers, live."""

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from wangge.cases.catalogue import seed_categories
from wangge.cases.models import (
    OPEN_STATUSES,
    Case,
    Category,
    PriorityPolicy,
    Rating,
    Source,
    Status,
)
from wangge.cases.tests.helpers import case_in, do, report
from wangge.core.tests.browser import server_turn
from wangge.core.tests.fixtures import World
from wangge.workcalendar.actions import seed_from_chinesecalendar

pytestmark = pytest.mark.browser


def _demo_cases(world: World) -> None:
    # Transactional tests flush the tables the migrations filled: put them back.
    seed_categories(Category, PriorityPolicy)
    year = timezone.localdate().year
    seed_from_chinesecalendar(years=[year - 1, year])
    for rating in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.SATISFIED):
        do(world, case_in(world, Status.CLOSED), "rate", rating=rating)
    case_in(world, Status.IN_PROGRESS)
    case_in(world, Status.DISPATCHED)
    case_in(world, Status.REJECTED)
    report(world, grid="110101002002002", source=Source.HOTLINE)
    report(world, grid="110101002001001", source=Source.GRID_PATROL)


def _expected() -> dict[str, int]:
    """Counted straight from the case table, not from the rollups the page reads."""
    today = timezone.localdate()
    cases = list(Case.objects.all())
    return {
        "total": len(cases),
        "closed": sum(c.status == Status.CLOSED for c in cases),
        "open": sum(c.status in OPEN_STATUSES for c in cases),
        "today": sum(timezone.localdate(c.created_at) == today for c in cases),
        "due_soon": 0,
        "overdue": 0,
    }


def _check_counters(page: Any, expected: dict[str, int]) -> None:
    for key, value in expected.items():
        expect(page.locator(f'[data-counter="{key}"] strong')).to_have_text(str(value))


def test_the_dashboard_shows_the_databases_numbers_and_updates_without_reload(
    live_server: Any, world: World, page: Any, login_page: Any, screenshot: Any
) -> None:
    _demo_cases(world)
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/dashboard/")
    _check_counters(page, _expected())
    expect(page.locator('[data-rate="resolution"] strong')).to_have_text("100.0%")
    expect(page.locator('[data-rate="satisfaction"] strong')).to_have_text("96.7%")
    expect(page.locator('[data-table="by_unit"] tr')).to_have_count(2)
    expect(page.locator('[data-chart="trend"] canvas')).to_have_count(1)
    page.wait_for_timeout(1500)  # let the charts' entry animation finish
    screenshot(page, "dashboard-desk")

    # A new case arrives: the numbers change at the next refresh (every 5 s), the page stays.
    # The wait allows a busy test machine three refreshes: what is tested is the update without
    # a reload, not the machine's speed.
    page.evaluate("window.samePage = true")
    with server_turn():  # the page polls meanwhile
        report(world)
        expected = _expected()
    expect(page.locator('[data-counter="total"] strong')).to_have_text(
        str(expected["total"]), timeout=16_000
    )
    _check_counters(page, expected)
    assert page.evaluate("window.samePage === true")

    # Every number opens the list of the cases behind it: a row's 办理中 opens that unit's open
    # cases, not all of them.
    cell = page.locator('[data-table="by_unit"] tr').first.locator("td").nth(1).locator("a")
    shown = int(cell.inner_text())
    href = cell.get_attribute("href") or ""
    assert "unit=" in href and "status=" in href
    page.goto(f"{live_server.url}{href}")
    expect(page.get_by_test_id("total")).to_have_text(f"共 {shown} 件")
    page.goto(f"{live_server.url}/dashboard/")
    page.locator('[data-counter="closed"]').click()
    expect(page).to_have_url(f"{live_server.url}/cases/?status=closed")
    assert page.wangge_errors == []


def test_the_big_screen_is_dark_full_hd_and_matches_the_database(
    live_server: Any, world: World, page: Any, login_page: Any, screenshot: Any
) -> None:
    _demo_cases(world)
    page.set_viewport_size({"width": 1920, "height": 1080})
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/dashboard/screen/")
    _check_counters(page, _expected())
    expect(page.locator('[data-chart="units"] canvas')).to_have_count(1)
    expect(page.locator('[data-chart="category"] canvas')).to_have_count(1)
    expect(page.locator('[data-rank="streets.red"] li')).to_have_count(
        1
    )  # street 2 has no score yet
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(6, 16, 31)"
    size = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size == [1920, 1080]
    page.wait_for_timeout(1500)
    screenshot(page, "dashboard-big-screen")
    with server_turn():  # the page polls meanwhile
        do(world, Case.objects.get(status=Status.DISPATCHED), "sign")
        expected = _expected()
    expect(page.locator('[data-counter="open"] strong')).to_have_text(str(expected["open"]))
    # A 1440×900 desk monitor: the whole screen, zoomed to fit, nothing off to the side.
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.locator("#dashboard")).to_have_css("zoom", "0.75")
    size = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size[0] <= 1440 and size[1] <= 900, size
    assert page.locator('[data-counter="overdue"]').bounding_box()["x"] < 1440
    assert page.wangge_errors == []


def test_on_a_phone_the_dashboard_fits_the_screen_in_both_languages(
    live_server: Any, world: World, phone_page: Any, login_page: Any
) -> None:
    """The tables' longer English headers once pushed the page to 492 px on a 390 px phone."""
    _demo_cases(world)
    phone = phone_page
    login_page(phone, live_server, world.users["dispatcher"])
    for language in ("zh-hans", "en"):
        phone.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        phone.goto(f"{live_server.url}/dashboard/")
        expect(phone.locator('[data-table="by_unit"] tr')).to_have_count(2)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= phone.viewport_size["width"], (language, width)
    phone.context.clear_cookies(name="django_language")
    assert phone.wangge_errors == []


def _notes(page: Any, chart: str) -> list[str]:
    """The texts an ECharts chart draws over its canvas (its graphic elements)."""
    return page.evaluate(
        """name => {
            const box = document.querySelector(`[data-chart="${name}"]`);
            const option = window.echarts.getInstanceByDom(box).getOption();
            return (option.graphic || []).flatMap(g => g.elements || [])
                .map(e => (e.style || {}).text).filter(Boolean);
        }""",
        chart,
    )


def test_charts_of_an_empty_period_say_there_is_no_data(
    live_server: Any, world: World, page: Any, login_page: Any
) -> None:
    _demo_cases(world)
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator('[data-chart="category"] canvas')).to_have_count(1)
    assert _notes(page, "category") == [] and _notes(page, "trend") == []

    page.goto(f"{live_server.url}/dashboard/?date_from=2001-01-01&date_to=2001-01-31")
    expect(page.locator('[data-chart="category"] canvas')).to_have_count(1)
    assert _notes(page, "category") == ["暂无数据"]
    assert _notes(page, "trend") == ["暂无数据"]
