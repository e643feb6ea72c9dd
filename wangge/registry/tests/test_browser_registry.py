"""Browser journey on a 390 px phone: a building head's weekly check."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from wangge.core.tests.browser import _open_page
from wangge.registry.models import CheckOutcome, Household
from wangge.registry.tests.factories import RegistryWorld

pytestmark = pytest.mark.browser


@pytest.fixture
def phone390(request: pytest.FixtureRequest, chromium: Any) -> Iterator[Any]:
    yield from _open_page(
        request,
        chromium,
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )


def test_a_building_head_does_the_weekly_check_on_a_phone(
    live_server, world, registry: RegistryWorld, phone390, login_page, screenshot
) -> None:
    page = phone390
    login_page(page, live_server, world.users["building_head"])
    page.goto(f"{live_server.url}/registry/check/")

    expect(page.get_by_test_id("due-count")).to_have_text("待核实 2 户")
    first = page.get_by_test_id(f"check-{registry.households['101'].pk}")
    second = page.get_by_test_id(f"check-{registry.households['102'].pk}")
    expect(first).to_contain_text("1单元101室")
    # Big enough to tap, and nothing wider than the phone.
    box = first.get_by_role("button", name="无变化").bounding_box()
    assert box is not None and box["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "registry-weekly-check-phone")

    # One tap: the row turns green in place.
    page.evaluate("window.samePage = true")
    first.get_by_role("button", name="无变化").tap()
    expect(first.get_by_role("status")).to_have_text("✓ 已核实：无变化")
    expect(page.get_by_test_id("due-count")).to_have_text("待核实 1 户")
    assert page.evaluate("window.samePage === true")

    # Two taps for a change: the form, then save.
    second.get_by_role("link", name="有变化").tap()
    expect(page.get_by_role("heading", name="记录变化")).to_be_visible()
    page.get_by_label("变化说明").fill("602 租户已搬走，新租户下周入住")
    page.get_by_label("产权").select_option("tenant")
    page.get_by_role("button", name="保存").tap()
    expect(page.locator(".messages")).to_contain_text("变化已记录")
    expect(page.get_by_test_id("all-done")).to_be_visible()
    screenshot(page, "registry-weekly-check-done-phone")

    outcomes = {
        h.room: h.checks.get().outcome
        for h in Household.objects.filter(building=registry.mine).prefetch_related("checks")
    }
    assert outcomes == {"101": CheckOutcome.UNCHANGED, "102": CheckOutcome.CHANGED}
    assert page.wangge_errors == []


def test_a_building_head_adds_a_household_and_registers_its_head_on_a_phone(
    live_server, world, registry: RegistryWorld, phone390, login_page, screenshot
) -> None:
    page = phone390
    login_page(page, live_server, world.users["building_head"])
    page.goto(f"{live_server.url}/registry/buildings/{registry.mine.pk}/")
    page.get_by_test_id("add-household").tap()
    expect(page.get_by_role("heading", name="新增住户")).to_be_visible()
    page.get_by_label("房号").fill("101")  # already registered: named
    page.get_by_role("button", name="保存").tap()
    expect(page.get_by_test_id("error-room")).to_contain_text("已有 101 室")
    page.get_by_label("房号").fill("601")
    page.get_by_label("产权").select_option("tenant")
    page.get_by_label("建筑面积 (m²)").fill("76.5")
    page.get_by_role("button", name="保存").tap()
    expect(page.locator(".messages")).to_contain_text("已新增住户 1单元601室")
    household = Household.objects.get(building=registry.mine, room="601")

    page.get_by_test_id("add-resident").tap()
    expect(page.get_by_role("heading", name="登记新居民")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("姓名").fill("赵建国")
    page.get_by_label("性别").select_option("male")
    page.get_by_label("出生日期").fill("1975-05-20")
    page.get_by_label("手机号").fill("1380013")  # too short: named, nothing else lost
    page.get_by_role("button", name="登记").tap()
    expect(page.get_by_test_id("error-mobile")).to_be_visible()
    expect(page.get_by_label("姓名")).to_have_value("赵建国")
    screenshot(page, "registry-new-resident-error-phone")
    page.get_by_label("手机号").fill("13800138000")
    page.get_by_role("button", name="登记").tap()
    expect(page.locator(".messages")).to_contain_text("已登记 赵建国")
    expect(page.get_by_role("heading", name="赵建国")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("13800138000")
    expect(page.locator("body")).to_contain_text("138****8000")
    assert household.residents.get().relation_to_head == "head"


def test_the_buildings_list_fits_a_phone_in_english(
    live_server, world, registry: RegistryWorld, phone390, login_page
) -> None:
    page = phone390
    login_page(page, live_server, world.users["community_staff"])
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/registry/")
    table = page.get_by_test_id("buildings")
    expect(table).to_contain_text("Households")
    # The grid goes under the address: no column of its own, nothing to scroll sideways.
    for heading in table.locator("th.wide-only").all():
        expect(heading).to_be_hidden()
    expect(table.locator(".narrow-only").first).to_be_visible()
    width = page.evaluate("document.querySelector('[data-testid=buildings]').scrollWidth")
    assert width <= 390 - 24, width
    page.context.clear_cookies(name="django_language")
