"""Browser journeys: the territory tree and map, scope, and the public grid card on a phone."""

import re

import pytest
from playwright.sync_api import expect

from wangge.core.tests.fixtures import World

pytestmark = pytest.mark.browser


def wait_for_map(page) -> None:
    page.wait_for_selector('#map[data-map-state="ready"]')


def overlay_paths(page) -> int:
    return page.locator(".leaflet-overlay-pane path").count()


def expand(page, code: str) -> None:
    page.locator(f'.node[data-code="{code}"] > .node-row > .twisty').click()
    expect(page.locator(f"#kids-{code} > .node").first).to_be_visible()


def test_the_tree_expands_level_by_level_and_the_map_navigates(
    live_server, world: World, page, login_page, screenshot
) -> None:
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/territory/")

    # The only root (the district) is open: its two streets are drawn on the map.
    expect(page.get_by_test_id("unit-head")).to_contain_text("测试区")
    wait_for_map(page)
    assert overlay_paths(page) == 2

    expand(page, "110101001")
    expand(page, "110101001001")
    grid_link = page.locator('.node-link[data-code="110101001001001"]')
    expect(grid_link).to_be_visible()
    page.evaluate("window.samePage = true")
    grid_link.click()

    # The panel is swapped in place (htmx); the URL and the highlighted node follow.
    expect(page.locator("#unit-panel h1")).to_have_text("第1街道第1社区第1网格")
    expect(page).to_have_url(f"{live_server.url}/territory/units/110101001001001/")
    expect(grid_link).to_have_attribute("aria-current", "page")
    assert page.evaluate("window.samePage === true"), "the page was reloaded, not swapped"
    wait_for_map(page)
    # The grid's own boundary and its building.
    assert overlay_paths(page) == 2
    expect(page.get_by_test_id("buildings")).to_contain_text("1号楼")
    expect(page.get_by_test_id("grid-card-link")).to_be_visible()
    screenshot(page, "territory-grid-desk")

    # Up to the community through the breadcrumb: two grids on its map.
    page.locator(".breadcrumb").get_by_role("link", name="第1街道第1社区").click()
    expect(page.locator("#unit-panel h1")).to_have_text("第1街道第1社区")
    wait_for_map(page)
    assert overlay_paths(page) == 2
    screenshot(page, "territory-community-desk")

    # Clicking a polygon opens that grid.
    page.locator(".leaflet-overlay-pane path").nth(1).click()
    expect(page).to_have_url(f"{live_server.url}/territory/units/110101001001002/")
    expect(page.locator("#unit-panel h1")).to_have_text("第1街道第1社区第2网格")

    # Back through the history, across the panel swap, to the district.
    page.go_back()
    expect(page.locator("#unit-panel h1")).to_have_text("第1街道第1社区")
    page.go_back()
    expect(page.locator("#unit-panel h1")).to_have_text("第1街道第1社区第1网格")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/territory/")
    expect(page.locator("#unit-panel h1")).to_have_text("测试区")
    wait_for_map(page)
    assert overlay_paths(page) == 2
    assert page.wangge_errors == []


def test_a_unit_outside_the_users_scope_is_the_404_page(
    live_server, world: World, page, login_page
) -> None:
    login_page(page, live_server, world.users["grid_worker"])
    response = page.goto(f"{live_server.url}/territory/units/110101002/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="找不到页面")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("第2街道")


def test_the_grid_card_on_a_phone_masks_numbers_fits_and_draws_the_map(
    live_server, world: World, phone_page, screenshot
) -> None:
    page = phone_page
    worker = world.users["grid_worker"]
    head = world.users["building_head"]
    page.goto(f"{live_server.url}/territory/g/110101001001001/")

    expect(page.locator("h1")).to_have_text("第1街道第1社区第1网格")
    expect(page.get_by_test_id("grid-workers")).to_contain_text(worker.masked_mobile)
    expect(page.get_by_test_id("buildings")).to_contain_text(head.masked_mobile)
    html = page.content()
    assert worker.mobile not in html
    assert head.mobile not in html
    assert page.locator('a[href^="tel:"]').count() == 0

    wait_for_map(page)
    assert overlay_paths(page) >= 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width}px wide"
    screenshot(page, "grid-card-phone")

    # A published work number: in full, one tap to call; the building head's stays masked.
    worker.public_phone = "010-65123456"
    worker.save(update_fields=["public_phone"])
    page.reload()
    call = page.get_by_test_id("grid-workers").get_by_role("link", name="010-65123456")
    expect(call).to_have_attribute("href", "tel:01065123456")
    expect(page.get_by_test_id("buildings")).to_contain_text(head.masked_mobile)
    assert page.wangge_errors == []


def test_the_territory_browser_fits_a_phone(
    live_server, world: World, phone_page, login_page, screenshot
) -> None:
    page = phone_page
    login_page(page, live_server, world.users["community_staff"])
    page.goto(f"{live_server.url}/territory/units/110101001001001/")
    wait_for_map(page)
    # On a phone the tree is folded away once a unit is open.
    expect(page.get_by_test_id("tree")).not_to_have_attribute("open", re.compile(".*"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width}px wide"
    screenshot(page, "territory-grid-phone")
    assert page.wangge_errors == []


def test_the_map_adds_tiles_and_attribution_only_when_a_tile_server_is_set(
    live_server, world: World, page, login_page, settings
) -> None:
    login_page(page, live_server, world.users["street_staff"])
    page.goto(f"{live_server.url}/territory/units/110101001/")
    wait_for_map(page)
    assert page.locator(".leaflet-tile-pane img").count() == 0
    assert page.locator(".leaflet-control-attribution").count() == 0

    # A same-origin template keeps within the CSP; the tiles themselves may 404 here.
    settings.MAP_TILE_URL = f"{live_server.url}/tiles/{{z}}/{{x}}/{{y}}.png"
    settings.MAP_TILE_ATTRIBUTION = "© 测试底图"
    page.goto(f"{live_server.url}/territory/units/110101001/")
    wait_for_map(page)
    expect(page.locator(".leaflet-tile-pane img").first).to_be_attached()
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("© 测试底图")
