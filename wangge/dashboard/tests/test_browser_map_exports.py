"""Browser journeys: the map of grids shows the database's numbers; the export buttons give
files that read back."""

from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from wangge.cases.models import OPEN_STATUSES, Case, Status
from wangge.cases.tests.helpers import case_in, report
from wangge.core.tests.fixtures import World, restore_reference_data
from wangge.dashboard import selectors

pytestmark = pytest.mark.browser

GRID = "110101001001001"
OTHER = "110101002002002"


def _cases(world: World) -> None:
    restore_reference_data()
    for _ in range(3):
        case_in(world, Status.IN_PROGRESS)
    case_in(world, Status.CLOSED)
    report(world, grid=OTHER)


def _open_by_grid() -> dict[str, int]:
    """Counted straight from the case table, not through the selector the map uses."""
    counts: dict[str, int] = {}
    for case in Case.objects.filter(status__in=OPEN_STATUSES):
        counts[case.grid_code] = counts.get(case.grid_code, 0) + 1
    return counts


def test_the_map_colours_grids_by_the_databases_numbers_and_opens_their_cases(
    live_server: Any, world: World, page: Any, login_page: Any, screenshot: Any
) -> None:
    _cases(world)
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/dashboard/")
    box = page.locator("[data-grid-map]")
    expect(box).to_have_attribute("data-map-state", "ready")
    expect(box).to_have_attribute("data-feature-count", "8")
    counts = _open_by_grid()
    top = max(counts.values())
    for code in (GRID, OTHER, "110101001001002"):
        value = counts.get(code, 0)
        expect(page.locator(f".map-value-{code}")).to_have_text(str(value))
        fill = page.locator(f"path.grid-{code}").get_attribute("fill")
        assert fill == selectors.colour(value, top), code
    assert page.locator(f"path.grid-{GRID}").get_attribute("fill") == "#a50f15"  # the darkest
    expect(page.locator("[data-map-legend] li")).to_have_text(["0", "1", "2", "3"])
    page.wait_for_timeout(800)
    screenshot(page, "dashboard-map-open")

    # Another metric: overdue (none yet), the same grids redrawn.
    page.select_option("[data-map-metric]", "overdue")
    expect(box).to_have_attribute("data-metric", "overdue")
    expect(page.locator(f".map-value-{GRID}")).to_have_text("0")
    assert page.locator(f"path.grid-{GRID}").get_attribute("fill") == selectors.ZERO_COLOUR
    page.select_option("[data-map-metric]", "per_1000")
    expect(box).to_have_attribute("data-metric", "per_1000")
    expect(page.locator(f".map-value-{GRID}")).to_have_text("无人口数据")
    # The hover text's word for this metric (a tooltip read "… / undefined 55.7"): map.js reads
    # it from the dataset, where data-msg-per-1000 would be "msgPer-1000".
    assert box.evaluate("b => b.dataset.msgPerThousand") == "每千人办件"
    # Leaflet's own zoom buttons speak the page's language too.
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "放大"
    page.select_option("[data-map-metric]", "open")
    expect(box).to_have_attribute("data-metric", "open")

    # A click on a grid opens the list of its open cases.
    page.locator(f"path.grid-{GRID}").click()
    expect(page).to_have_url(
        f"{live_server.url}/cases/?unit={GRID}&status="
        + "%2C".join(sorted(OPEN_STATUSES, key=list(Status.values).index))
    )
    expect(page.get_by_test_id("total")).to_contain_text(str(counts[GRID]))
    assert page.wangge_errors == []


def test_the_big_screen_carries_the_map(
    live_server: Any, world: World, page: Any, login_page: Any, screenshot: Any
) -> None:
    _cases(world)
    page.set_viewport_size({"width": 1920, "height": 1080})
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/dashboard/screen/")
    expect(page.locator("[data-grid-map]")).to_have_attribute("data-map-state", "ready")
    expect(page.locator(f".map-value-{GRID}")).to_have_text("3")
    size = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size == [1920, 1080]
    page.wait_for_timeout(1200)
    screenshot(page, "dashboard-big-screen-map")
    assert page.wangge_errors == []


def test_the_export_buttons_give_the_filtered_ledger_and_the_monthly_report(
    live_server: Any, world: World, page: Any, login_page: Any, screenshot: Any, tmp_path: Any
) -> None:
    _cases(world)
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/cases/?status=in_progress")
    expect(page.get_by_test_id("total")).to_contain_text("3")
    page.locator('[data-export="cases"]').click()
    expect(page.locator("#export-progress")).to_have_attribute("data-status", "done")
    screenshot(page, "export-ledger-done")
    with page.expect_download() as download:
        page.locator("[data-download]").click()
    path = tmp_path / "ledger.xlsx"
    download.value.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    expected = set(
        Case.objects.filter(status=Status.IN_PROGRESS).values_list("tracking_code", flat=True)
    )
    assert rows[0][0] == "查询码" and {r[0] for r in rows[1:]} == expected
    assert all(r[2] == "处置中" for r in rows[1:])

    page.goto(f"{live_server.url}/dashboard/")
    month = timezone.localdate().strftime("%Y-%m")
    expect(page.locator(".dash-report select")).to_have_value(month)
    page.locator('[data-export="report"]').click()
    expect(page.locator("#export-progress")).to_have_attribute("data-status", "done")
    with page.expect_download() as download:
        page.locator("[data-download]").click()
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert page.wangge_errors == []
