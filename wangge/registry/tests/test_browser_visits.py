"""Browser journey on a 390 px phone: a grid worker knocks on a door, records the visit and turns
what they found into a case in one step."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from wangge.cases.models import Case, Category, Source
from wangge.core.tests.browser import _open_page
from wangge.registry.models import Visit
from wangge.registry.tests.factories import RegistryWorld

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(request: pytest.FixtureRequest, chromium: Any) -> Iterator[Any]:
    yield from _open_page(
        request,
        chromium,
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )


def test_a_grid_workers_visit_becomes_a_case_on_a_phone(
    live_server, world, registry: RegistryWorld, phone, login_page, screenshot
) -> None:
    page = phone
    household = registry.households["101"]
    login_page(page, live_server, world.users["grid_worker"])
    page.goto(f"{live_server.url}/registry/buildings/{registry.mine.pk}/")
    page.get_by_test_id("household-101").get_by_role("link", name="101室").tap()

    expect(page.get_by_role("heading", name="1单元101室")).to_be_visible()
    expect(page.get_by_test_id("household-residents")).to_contain_text("独居老人")
    record = page.get_by_test_id("record-visit")
    box = record.bounding_box()
    assert box is not None and box["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "registry-household-phone")
    record.tap()

    expect(page.get_by_role("heading", name="记录走访")).to_be_visible()
    page.get_by_label("走访事由").select_option(label="敲门行动")
    page.get_by_label("发现情况").fill("燃气灶软管老化开裂，老人独居")
    page.get_by_label("群众诉求").fill("希望尽快更换软管")
    page.get_by_role("button", name="保存走访").tap()

    expect(page.locator(".messages")).to_contain_text("走访已记录")
    expect(page.get_by_test_id("visit-findings")).to_contain_text("燃气灶软管老化开裂")
    expect(page.get_by_label("一句话描述")).to_have_value("燃气灶软管老化开裂，老人独居")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    category = Category.objects.get(code="gas_hazard")
    page.get_by_label("问题类别").select_option(str(category.pk))
    page.get_by_label("一句话描述").fill("独居老人家燃气软管老化")
    screenshot(page, "registry-visit-to-case-phone")
    page.get_by_role("button", name="转为事件").tap()

    expect(page.locator(".messages")).to_contain_text("已转为事件")
    link = page.get_by_test_id("visit-case")
    expect(link).to_contain_text("独居老人家燃气软管老化")
    expect(page.get_by_role("button", name="转为事件")).to_have_count(0)

    visit = Visit.objects.select_related("case__category").get()
    case = Case.objects.get()
    assert visit.household == household and visit.purpose == "knock"
    assert visit.case == case
    assert case.grid_id == registry.mine.grid_id and case.grid_code == "110101001001001"
    assert case.category == category and case.source == Source.GRID_PATROL
    assert case.reporter == world.users["grid_worker"]
    expect(link).to_contain_text(case.tracking_code)

    # The case page opens from the visit.
    link.get_by_role("link").tap()
    expect(page.get_by_role("heading", name="独居老人家燃气软管老化")).to_be_visible()
    screenshot(page, "registry-visit-case-detail-phone")
    assert page.wangge_errors == []
