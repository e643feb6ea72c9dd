"""Browser journeys of the residents' pages on a 390×844 phone: report with a photo, see the
receipt, staff close the case, the resident says "not solved" and the case goes back to its
handler; the report page's weight; the public map."""

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from wangge.cases.models import Case, Status
from wangge.cases.tests.helpers import do, report
from wangge.core.tests.browser import _open_page
from wangge.core.tests.fixtures import World
from wangge.public.tests.helpers import GRID, jpeg
from wangge.territory.tests.factories import center_of

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PAGE_BUDGET = 300 * 1024


def unexpected(errors: list[str], status: int) -> list[str]:
    """Console errors other than the one Chromium logs for an answer with `status`, which the
    test provoked on purpose (a refused form, a wrong code)."""
    expected = f"the server responded with a status of {status}"
    return [e for e in errors if expected not in e]


@pytest.fixture
def resident_page(request: pytest.FixtureRequest, chromium: Any, world: World) -> Iterator[Any]:
    """A phone (390×844) whose GPS puts it in the middle of the test grid."""
    lon, lat = center_of(world.unit(GRID))
    pages = _open_page(
        request,
        chromium,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat},
        permissions=["geolocation"],
    )
    yield next(pages)
    with contextlib.suppress(StopIteration):
        next(pages)


def test_a_resident_reports_follows_and_sends_back_an_unsolved_case(
    live_server: Any, world: World, resident_page: Any, screenshot: Callable[..., Any]
) -> None:
    page = resident_page
    neighbour = report(world, title="东门口垃圾没人管")  # already reported nearby
    page.goto(f"{live_server.url}/r/")
    expect(page.locator("#pick-map[data-ready='1']")).to_be_attached()

    # 1. Photo (resized in the browser), description, location by GPS — but no category yet.
    page.set_input_files(
        "#photos",
        files=[{"name": "big.jpg", "mimeType": "image/jpeg", "buffer": jpeg((3200, 2400))}],
    )
    expect(page.locator("#thumbs img")).to_have_count(1)
    expect(page.locator("#photo-count")).to_have_text("已选择 1 张照片")
    page.get_by_label("问题描述").fill("小区东门口垃圾堆了三天没人清运")
    page.get_by_role("button", name="使用当前位置").tap()
    expect(page.get_by_test_id("location")).to_have_text(
        re.compile(r"^✓ 当前位置（[\d.]+, [\d.]+）$")
    )
    page.get_by_label("称呼").fill("王女士")
    page.get_by_label("手机号").fill("139 1111 2222")
    page.get_by_role("button", name="提交", exact=True).tap()

    # The category is named as missing; everything typed, and the photo, are still there.
    expect(page.get_by_test_id("form-errors")).to_contain_text("问题类别：请选择问题类别")
    expect(page.locator('.field-error[data-for="category"]')).to_be_visible()
    expect(page.get_by_label("问题描述")).to_have_value("小区东门口垃圾堆了三天没人清运")
    expect(page.locator("#thumbs img")).to_have_count(1)
    assert Case.objects.count() == 1

    # 2. Choosing the category shows the open case nearby: "是不是这件事？"
    page.get_by_label("暴露垃圾").check()  # a tile: the most used categories come first
    nearby = page.get_by_test_id("nearby")
    expect(nearby).to_be_visible()
    expect(nearby.locator("li")).to_have_count(1)
    expect(nearby).to_contain_text("东门口垃圾没人管")
    screenshot(page, "public-1-is-it-this-one")
    page.get_by_role("button", name="都不是，继续提交").tap()
    expect(nearby).to_be_hidden()
    screenshot(page, "public-2-report-filled")
    page.get_by_role("button", name="提交", exact=True).tap()

    # 3. The receipt: tracking code, link and the text message.
    expect(page).to_have_url(re.compile(r"/r/t/[^/]+/\?new=1$"))
    case = Case.objects.exclude(pk=neighbour.pk).get()
    expect(page.get_by_test_id("tracking-code")).to_have_text(case.tracking_code)
    expect(page.get_by_test_id("sms-text")).to_contain_text(case.tracking_code)
    expect(page.get_by_test_id("status-label")).to_have_text("已收到")
    expect(page.get_by_test_id("photos").locator("img")).to_have_count(1)
    screenshot(page, "public-3-receipt")
    assert case.reporter_phone == "13911112222"
    assert case.photos.get().width == 1600  # resized on the phone before upload
    link = page.get_by_test_id("track-link").input_value()

    # 4. Staff handle and close it, through the real actions.
    for action in ("accept", "dispatch", "sign", "handle", "verify_pass"):
        do(world, case, action)
    page.goto(link)
    expect(page.get_by_test_id("status-label")).to_have_text("已办结")
    expect(page.get_by_test_id("result")).to_contain_text("已清运完毕")

    # 5. "Not solved": the case goes back to the department that handled it.
    page.get_by_label("未解决").check()
    page.get_by_label("不满意").check()
    page.get_by_label("意见").fill("垃圾又堆起来了")
    screenshot(page, "public-4-rating")
    page.get_by_role("button", name="提交评价").tap()
    expect(page.locator(".messages")).to_contain_text("问题已重新交给办理单位处理")
    expect(page.get_by_test_id("status-label")).to_have_text("办理中")
    expect(page.get_by_test_id("status-text")).to_contain_text("已按群众反馈重新交办理单位处理")
    expect(page.get_by_test_id("timeline")).to_contain_text("垃圾又堆起来了")
    screenshot(page, "public-5-reopened")
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    assert case.lead_department == world.department
    assert case.reopen_count == 1
    assert unexpected(page.wangge_errors, 422) == []


def test_a_report_survives_a_lost_security_cookie(
    live_server: Any, world: World, resident_page: Any
) -> None:
    """A phone browser that dropped its cookies while the form was open (or a page left open
    for hours): the first submission is refused by the CSRF check, the page fetches a fresh
    token by itself and the same input arrives once, with nothing retyped."""
    page = resident_page
    page.goto(f"{live_server.url}/r/")
    expect(page.locator("#pick-map[data-ready='1']")).to_be_attached()
    page.get_by_test_id("categories").locator("input").first.check()
    page.get_by_label("问题描述").fill("楼下垃圾桶满了")
    page.get_by_role("button", name="使用当前位置").tap()
    expect(page.get_by_test_id("location")).to_contain_text("当前位置")
    page.get_by_label("匿名反映").check()
    page.context.clear_cookies()
    refused = []
    page.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
    page.get_by_role("button", name="提交", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/r/t/[^/]+/\?new=1$"))
    assert len(refused) == 1  # the first try was refused, the second went through
    case = Case.objects.get()
    assert case.description == "楼下垃圾桶满了"
    assert unexpected(page.wangge_errors, 403) == []


def test_a_report_over_the_networks_limit_keeps_its_input_and_says_when(
    live_server: Any, world: World, resident_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An anonymous report refused for too many from one network (a shared mobile address):
    what was typed stays, the page says in how many minutes; the receipt of one that goes
    through calls its code a case number (no phone to look it up with)."""
    from wangge.public import views

    monkeypatch.setattr(views, "REPORT_RATE", (0, 3600))
    page = resident_page
    page.goto(f"{live_server.url}/r/")
    expect(page.locator("#pick-map[data-ready='1']")).to_be_attached()
    page.get_by_test_id("categories").locator("input").first.check()
    page.get_by_label("问题描述").fill("楼道灯坏了一周")
    page.get_by_role("button", name="使用当前位置").tap()
    expect(page.get_by_test_id("location")).to_contain_text("当前位置")
    page.get_by_label("匿名反映").check()
    page.get_by_role("button", name="提交", exact=True).tap()
    expect(page.get_by_test_id("form-errors")).to_contain_text(re.compile(r"请 \d+ 分钟后再提交"))
    expect(page.get_by_test_id("form-errors")).not_to_contain_text("请修改以下内容")
    expect(page.get_by_label("问题描述")).to_have_value("楼道灯坏了一周")
    assert not Case.objects.exists()

    monkeypatch.setattr(views, "REPORT_RATE", (30, 3600))
    page.get_by_role("button", name="提交", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/r/t/[^/]+/\?new=1$"))
    code = Case.objects.get().tracking_code
    expect(page.get_by_test_id("receipt")).to_contain_text(f"事件编号 {code}")
    expect(page.get_by_test_id("sms-text")).to_contain_text(f"事件编号 {code}")
    expect(page.get_by_test_id("status")).not_to_contain_text("查询码")
    assert unexpected(page.wangge_errors, 429) == []


def test_a_category_with_questions_asks_them_on_the_phone(
    live_server: Any, world: World, resident_page: Any
) -> None:
    page = resident_page
    page.goto(f"{live_server.url}/r/")
    expect(page.locator("#pick-map[data-ready='1']")).to_be_attached()
    questions = page.get_by_test_id("questions-utilities")
    expect(questions).to_be_hidden()
    page.get_by_text("更多类别").tap()
    page.get_by_label("水电气热").check()
    expect(questions).to_be_visible()  # shown for the chosen category only
    expect(page.get_by_test_id("questions-elderly_care")).to_be_hidden()
    # ... and the others are neither sent nor checked by the browser.
    expect(page.get_by_test_id("questions-elderly_care")).to_have_js_property("disabled", True)
    expect(questions).to_have_js_property("disabled", False)
    page.get_by_label("问题描述").fill("整栋楼停水一天了")
    page.get_by_role("button", name="使用当前位置").tap()
    expect(page.get_by_test_id("location")).to_contain_text("当前位置")
    page.get_by_label("匿名反映").check()
    page.get_by_role("button", name="提交", exact=True).tap()

    # The missing answer is named at the question; nothing is stored.
    expect(questions.locator(".field-error")).to_contain_text("请回答“类型”")
    expect(page.get_by_test_id("form-errors")).to_contain_text("请回答“类型”")
    assert not Case.objects.exists()
    questions.get_by_label("水", exact=True).check()
    questions.get_by_label("影响户数").fill("30")
    page.get_by_role("button", name="提交", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/r/t/[^/]+/\?new=1$"))
    assert Case.objects.get().answers == {"utility": "水", "households": 30}
    assert unexpected(page.wangge_errors, 422) == []


def test_without_javascript_a_resident_reports_by_address(
    request: pytest.FixtureRequest,
    live_server: Any,
    world: World,
    chromium: Any,
    screenshot: Callable[..., Any],
) -> None:
    """A phone with JavaScript off: no map and no GPS button, the address places the report
    (a building's address), and an unknown address is named at its box with what was typed."""
    pages = _open_page(request, chromium, viewport=PHONE, is_mobile=True, java_script_enabled=False)
    page = next(pages)
    building = world.buildings["110101002002002"]
    page.goto(f"{live_server.url}/r/")
    expect(page.get_by_test_id("pick-map")).to_be_hidden()
    expect(page.get_by_role("button", name="使用当前位置")).to_be_hidden()
    expect(page.get_by_test_id("location")).to_contain_text("请在下面写明详细地址")
    # Without JavaScript every category's questions are there to answer, under its name.
    questions = page.get_by_test_id("questions-utilities")
    expect(questions).to_be_visible()
    expect(questions).to_contain_text("“水电气热”还需要了解")
    page.get_by_text("更多类别").click()
    page.get_by_label("水电气热").check()
    questions.get_by_label("水", exact=True).check()
    questions.get_by_label("影响户数").fill("3")
    page.get_by_label("问题描述").fill("楼下垃圾桶满了没人清")
    page.get_by_label("详细地址").fill("火星基地")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator('[data-for="address"]')).to_contain_text("没有找到这个地址")
    expect(page.get_by_label("问题描述")).to_have_value("楼下垃圾桶满了没人清")
    assert not Case.objects.exists()
    screenshot(page, "report-without-javascript-address-not-found")

    page.get_by_label("详细地址").fill(f"{building.address}门口")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page).to_have_url(re.compile(r"/r/t/[^/]+/\?new=1$"))
    case = Case.objects.get()
    assert case.grid == building.grid and case.address == f"{building.address}门口"
    assert case.answers == {"utility": "水", "households": 3}
    with contextlib.suppress(StopIteration):
        next(pages)


def test_the_report_page_weighs_under_300_kb_before_photos(
    live_server: Any, world: World, resident_page: Any
) -> None:
    page = resident_page
    sizes: dict[str, int] = {}

    def count(response: Any) -> None:
        with contextlib.suppress(Exception):
            sizes[response.url] = len(response.body()) + sum(
                len(k) + len(v) + 4 for k, v in response.headers.items()
            )

    page.on("response", count)
    page.goto(f"{live_server.url}/r/", wait_until="networkidle")
    expect(page.locator("#pick-map[data-ready='1']")).to_be_attached()
    total = sum(sizes.values())
    print(
        f"report page: {total} bytes in {len(sizes)} responses",
        sorted(sizes.items(), key=lambda kv: -kv[1]),
    )
    assert total <= PAGE_BUDGET, sorted(sizes.items(), key=lambda kv: -kv[1])
    assert not any("echarts" in url for url in sizes)
    assert page.wangge_errors == []


def test_the_public_map_shows_cases_and_filters_by_class(
    live_server: Any, world: World, resident_page: Any, screenshot: Callable[..., Any]
) -> None:
    report(world)
    report(
        world,
        title="楼道堆物",
        category=__import__("wangge.cases.models", fromlist=["Category"]).Category.objects.get(
            code="fire_hazard"
        ),
    )
    page = resident_page
    page.goto(f"{live_server.url}/r/map/")
    expect(page.get_by_test_id("public-map")).to_have_attribute("data-loaded", "2")
    expect(page.get_by_test_id("map-count")).to_contain_text("2")
    page.get_by_label("类别").select_option("safety")
    expect(page.get_by_test_id("public-map")).to_have_attribute("data-loaded", "1")
    page.locator(".leaflet-interactive").last.tap()
    expect(page.locator(".leaflet-popup")).to_contain_text("消防隐患")
    # The popup speaks the legend's words (办理中 · the exact status).
    expect(page.locator(".leaflet-popup .status-open")).to_contain_text(re.compile(r"^办理中 · "))
    screenshot(page, "public-6-map")
    assert page.wangge_errors == []


def test_the_lookup_page_finds_a_case_by_code_and_digits(
    live_server: Any, world: World, resident_page: Any
) -> None:
    case = report(world)
    page = resident_page
    page.goto(f"{live_server.url}/r/track/")
    page.get_by_label("查询码").fill(case.tracking_code.lower())
    page.get_by_label("手机号后四位").fill("1111")
    page.get_by_role("button", name="查询").tap()
    expect(page.get_by_test_id("not-found")).to_be_visible()
    page.get_by_label("手机号后四位").fill("2222")
    page.get_by_role("button", name="查询").tap()
    expect(page.get_by_test_id("status-label")).to_have_text("已收到")
    assert unexpected(page.wangge_errors, 404) == []


def test_the_english_report_page_fits_the_phone(
    live_server: Any, world: World, resident_page: Any
) -> None:
    """English category names are long ("Property management"): the tiles wrap them instead of
    pushing the page wider than the phone."""
    page = resident_page
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/r/")
    expect(page.locator("#pick-map[data-ready='1']")).to_be_attached()
    expect(page.locator("main")).to_contain_text("Property management")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width
