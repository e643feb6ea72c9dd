"""Browser journeys of the case loop: a grid worker reports on a phone, the dispatcher accepts and
dispatches, the department signs and handles, the dispatcher verifies, closes and records the
rating; a second tab acting on an old version is told to reload; the list loads more with htmx."""

import contextlib
import io
import os
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from wangge.cases.catalogue import seed_categories
from wangge.cases.models import Case, Category, PriorityPolicy, Status
from wangge.cases.tests.helpers import case_in, report
from wangge.core.tests.browser import DESK, _open_page, save_screenshot
from wangge.core.tests.fixtures import World
from wangge.workcalendar.actions import seed_from_chinesecalendar

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def case_data(world: World) -> None:
    """Transactional tests flush the tables the migrations filled: put them back."""
    seed_categories(Category, PriorityPolicy)
    year = timezone.localdate().year
    seed_from_chinesecalendar(years=[year - 1, year])


@pytest.fixture
def open_page(request: pytest.FixtureRequest, chromium: Any) -> Iterator[Callable[..., Any]]:
    """`open_page(phone=True)`: a page in a fresh browser context (one per person)."""
    opened: list[Iterator[Any]] = []

    def make(*, phone: bool = False, javascript: bool = True) -> Any:
        options: dict[str, Any] = {"viewport": DESK}
        if phone:
            options = {
                "viewport": PHONE,
                "device_scale_factor": 2,
                "is_mobile": True,
                "has_touch": True,
            }
        options["java_script_enabled"] = javascript
        pages = _open_page(request, chromium, **options)
        opened.append(pages)
        return next(pages)

    yield make
    for pages in opened:
        with contextlib.suppress(StopIteration):
            next(pages)


def shot(page: Any, name: str) -> None:
    if os.environ.get("WANGGE_SCREENSHOTS") == "1":
        save_screenshot(page, f"cases-{name}")


def jpeg(size: tuple[int, int] = (1200, 900)) -> bytes:
    image = Image.new("RGB", size, (90, 140, 200))
    image.paste((120, 120, 110), (0, size[1] // 2, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def expect_status(page: Any, label: str) -> None:
    expect(page.get_by_test_id("status")).to_have_text(label)


def expect_event(page: Any, action: str, text: str) -> None:
    expect(page.get_by_test_id("timeline").locator(f'li[data-action="{action}"]')).to_contain_text(
        text
    )


def test_a_patrol_report_goes_round_the_whole_loop(
    live_server, world: World, case_data, open_page, login_page
) -> None:
    users = world.users

    # 1. The grid worker, on a phone: photo, map tap, category, one line, submit.
    worker = open_page(phone=True)
    login_page(worker, live_server, users["grid_worker"])
    worker.goto(f"{live_server.url}/cases/report/")
    expect(worker.locator("#pick-map[data-ready='1']")).to_be_attached()
    worker.set_input_files(
        "input[name=photos]",
        files=[{"name": "patrol.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}],
    )
    expect(worker.locator("#photo-count")).to_have_text("已选择 1 张照片")
    expect(worker.locator("#photo-previews img")).to_have_count(1)
    # Submitted too early: what is missing is said on the page, and the photo stays chosen.
    worker.get_by_role("button", name="提交上报").tap()
    expect(worker.get_by_test_id("client-error")).to_have_text("请补全：位置、问题类别、一句话描述")
    expect(worker.locator("#photo-previews img")).to_have_count(1)
    assert not Case.objects.exists()
    worker.locator("#pick-map").tap()
    expect(worker.get_by_test_id("location")).to_contain_text("已在地图上选择")
    worker.get_by_label("问题类别").select_option(label="暴露垃圾")
    worker.get_by_label("一句话描述").fill("3号楼门口垃圾堆积")
    shot(worker, "1-report-filled")
    worker.get_by_role("button", name="提交上报").tap()

    expect(worker).to_have_url(re.compile(r"/cases/\d+/$"))
    expect(worker.locator(".messages")).to_contain_text("已上报，查询码")
    expect_status(worker, "待受理")
    expect_event(worker, "report", str(users["grid_worker"]))
    expect(worker.get_by_test_id("photos").locator("img")).to_have_count(1)
    expect(worker.locator(".case-actions")).to_have_count(0)  # nothing for the worker to do yet
    shot(worker, "2-reported")
    case = Case.objects.get()
    assert case.grid.code == "110101001001001"
    assert case.photos.count() == 1
    case_url = f"{live_server.url}/cases/{case.pk}/"

    # 2. The dispatcher, at a desk: accept, then dispatch to the suggested department.
    desk = open_page()
    login_page(desk, live_server, users["dispatcher"])
    desk.goto(case_url)
    desk.get_by_role("button", name="受理", exact=True).click()
    expect(desk.locator(".messages")).to_contain_text("已受理")
    expect_status(desk, "待分拨")
    expect_event(desk, "accept", "待受理 → 待分拨")
    desk.locator('details[data-action="dispatch"] > summary').click()
    expect(desk.get_by_label("主办部门")).to_have_value(str(world.department.pk))
    desk.get_by_role("button", name="确认分拨").click()
    expect_status(desk, "待签收")
    expect_event(desk, "dispatch", "第1街道城管科")
    expect(desk.get_by_test_id("lead")).to_have_text("第1街道城管科")
    shot(desk, "3-dispatched")

    # 3. The department handler, on a phone: the new dispatch is in the top bar; sign, handle.
    handler = open_page(phone=True)
    login_page(handler, live_server, users["department_handler"])
    handler.goto(f"{live_server.url}/cases/todo/")
    expect(handler.get_by_test_id("unread-count")).to_have_text("1")
    expect(handler.get_by_test_id("count-dispatched")).to_have_text("1")
    handler.locator('a[data-queue="dispatched"]').tap()
    handler.get_by_role("link", name="3号楼门口垃圾堆积").tap()
    handler.get_by_role("button", name="签收", exact=True).tap()
    expect_status(handler, "处置中")
    expect_event(handler, "sign", "待签收 → 处置中")
    handler.locator('details[data-action="handle"] > summary').tap()
    handler.get_by_label("处置结果").fill("已联系环卫清运，现场已清理干净")
    handler.get_by_role("button", name="确认处置反馈").tap()
    expect_status(handler, "待核查")
    expect_event(handler, "handle", "已联系环卫清运")
    shot(handler, "4-handled")

    # 4. The dispatcher verifies (the case closes) and records the reporter's rating.
    desk.goto(case_url)
    desk.get_by_role("button", name="核查通过").click()
    expect_status(desk, "已办结")
    expect_event(desk, "verify_pass", "待核查 → 已办结")
    desk.locator('details[data-action="rate"] > summary').click()
    desk.get_by_label("满意", exact=True).check()
    desk.get_by_role("button", name="确认评价").click()
    expect(desk.locator(".messages")).to_contain_text("已评价")
    expect(desk.get_by_test_id("rating")).to_contain_text("满意")
    expect_status(desk, "已办结")
    timeline = desk.get_by_test_id("timeline").locator("li")
    expect(timeline).to_have_count(7)
    assert [li.get_attribute("data-action") for li in timeline.all()] == [
        "report",
        "accept",
        "dispatch",
        "sign",
        "handle",
        "verify_pass",
        "rate",
    ]
    # Rated once; what is left is reopening (重办) if the problem comes back.
    expect(desk.locator('.case-actions [data-action="rate"]')).to_have_count(0)
    expect(desk.locator('.case-actions [data-action="reopen"]')).to_have_count(1)
    shot(desk, "5-closed")

    case.refresh_from_db()
    assert (case.status, case.rating) == (Status.CLOSED, "satisfied")
    for page in (worker, desk, handler):
        assert page.wangge_errors == []


def test_the_patrol_report_form_speaks_english_to_an_english_reader(
    live_server, world: World, case_data, open_page, login_page
) -> None:
    """What the form's script writes (photos chosen, the map pin) comes translated from the
    page, like the countdown."""
    worker = open_page(phone=True)
    login_page(worker, live_server, world.users["grid_worker"])
    worker.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    worker.goto(f"{live_server.url}/cases/report/")
    expect(worker.locator("#pick-map[data-ready='1']")).to_be_attached()
    worker.set_input_files(
        "input[name=photos]",
        files=[{"name": "patrol.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}],
    )
    expect(worker.locator("#photo-count")).to_have_text("1 photo(s) chosen")
    worker.locator("#pick-map").tap()
    expect(worker.get_by_test_id("location")).to_have_text(
        re.compile(r"^✓ Chosen on the map \(\d+\.\d{5}, \d+\.\d{5}\)$")
    )
    worker.context.clear_cookies(name="django_language")


def test_without_javascript_a_patrol_report_is_placed_by_its_address(
    live_server, world: World, case_data, open_page, login_page
) -> None:
    worker = open_page(phone=True, javascript=False)
    login_page(worker, live_server, world.users["grid_worker"])
    worker.goto(f"{live_server.url}/cases/report/")
    expect(worker.locator("#pick-map")).to_be_hidden()
    expect(worker.get_by_role("button", name="使用当前位置")).to_be_hidden()
    expect(worker.get_by_text("没有地图时，请在下面")).to_be_visible()
    worker.get_by_label("问题类别").select_option(label="暴露垃圾")
    worker.get_by_label("一句话描述").fill("垃圾桶满溢")
    worker.get_by_text("补充说明和地址（可选）").click()
    building = world.buildings["110101001001001"]
    worker.get_by_label("地址").fill(building.address)
    worker.get_by_role("button", name="提交上报").click()
    expect(worker).to_have_url(re.compile(r"/cases/\d+/$"))
    assert Case.objects.get().grid == building.grid


def test_a_second_tab_on_an_old_version_is_told_to_reload(
    live_server, world: World, case_data, open_page, login_page
) -> None:
    case = report(world)
    first = open_page()
    login_page(first, live_server, world.users["dispatcher"])
    second = first.context.new_page()
    url = f"{live_server.url}/cases/{case.pk}/"
    first.goto(url)
    second.goto(url)
    # The deadline's countdown speaks the page's language.
    countdown = re.compile(r"^剩余 (\d+天\d+小时|\d+小时\d+分|\d+分钟)$")
    expect(first.get_by_test_id("countdown")).to_have_text(countdown)
    english = second.context.new_page()
    english.context.add_cookies(
        [{"name": "django_language", "value": "en", "url": live_server.url}]
    )
    english.goto(url)
    left = re.compile(r"^(\d+ d \d+ h|\d+ h \d+ min|\d+ min) left$")
    expect(english.get_by_test_id("countdown")).to_have_text(left)
    english.context.clear_cookies(name="django_language")
    english.close()

    first.get_by_role("button", name="受理", exact=True).click()
    expect_status(first, "待分拨")

    reject = second.locator('details[data-action="reject"]')
    reject.locator("summary").click()
    reject.get_by_label("说明（必填）").fill("不属于受理范围")
    second.get_by_role("button", name="确认不予受理").click()

    alert = second.get_by_test_id("action-error")
    expect(alert).to_contain_text("案件已被他人更新，请刷新")
    expect_status(second, "待分拨")  # the page now shows the case as it is
    shot(second, "conflict")
    second.get_by_role("link", name="刷新查看最新状态").click()
    expect(second.get_by_test_id("action-error")).to_have_count(0)
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED


def test_the_case_list_loads_more_in_place_and_filters_with_htmx(
    live_server, world: World, case_data, open_page, login_page
) -> None:
    # An hour ago: none is overdue whatever the weekday (3 days ago was 1–3 working days).
    start = timezone.now() - timedelta(hours=1)
    for i in range(53):
        report(world, title=f"巡查发现问题{i:02d}", created_at=start + timedelta(minutes=i))
    report(world, title="井盖缺失", created_at=start)
    page = open_page(phone=True)
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/cases/")
    rows = page.locator("#case-rows tr[data-case]")
    expect(rows).to_have_count(50)
    expect(page.get_by_test_id("total")).to_have_text("共 54 件")

    page.get_by_role("link", name="加载更多").tap()
    expect(rows).to_have_count(54)
    expect(page.get_by_role("link", name="加载更多")).to_have_count(0)
    assert page.url == f"{live_server.url}/cases/"  # loaded in place, no navigation

    page.get_by_role("searchbox").fill("井盖")
    page.get_by_role("button", name="搜索").tap()
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("total")).to_have_text("共 1 件")
    expect(page).to_have_url(re.compile(r"q=%E4%BA%95%E7%9B%96"))
    shot(page, "list-filtered")

    # A select applies at once, without a button.
    page.get_by_text("筛选条件").tap()
    page.get_by_label("时限").select_option(label="已超时")
    expect(page.get_by_test_id("total")).to_have_text("共 0 件")
    expect(page.locator("#case-rows")).to_contain_text("没有符合条件的案件")
    expect(page).to_have_url(re.compile(r"sla=overdue"))
    assert page.wangge_errors == []


def test_choosing_a_grid_worker_clears_the_suggested_department(
    live_server, world: World, case_data, open_page, login_page
) -> None:
    """Dispatch has one lead: the suggested department comes pre-selected, and choosing a
    grid worker beside it was refused ("主办：请选择一个主办部门或一名网格员")."""
    case = case_in(world, Status.ACCEPTED)
    page = open_page()
    login_page(page, live_server, world.users["dispatcher"])
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    dispatch = page.locator('details[data-action="dispatch"]')
    dispatch.locator("> summary").click()
    department = dispatch.locator("select[name=department]")
    assert department.input_value() != ""  # the suggestion
    dispatch.locator("select[name=worker]").select_option(str(world.users["grid_worker"].pk))
    assert department.input_value() == ""
    dispatch.get_by_role("button", name="确认分拨").click()
    expect_status(page, "待签收")
    case.refresh_from_db()
    assert case.lead_worker_id == world.users["grid_worker"].pk and case.lead_department is None


def test_the_rows_stay_put_when_the_count_arrives(
    live_server, world: World, case_data, open_page, login_page
) -> None:
    """The count (and the export button) load after the rows: they must not push the rows
    down under a finger about to tap one (a tap meant for a case opened an export)."""
    report(world, title="井盖缺失")
    page = open_page(phone=True)
    login_page(page, live_server, world.users["dispatcher"])
    held: list[Any] = []
    page.route("**/cases/total/**", lambda route: held.append(route))
    page.goto(f"{live_server.url}/cases/")
    expect(page.get_by_test_id("total-pending")).to_be_visible()
    row = page.get_by_role("link", name="井盖缺失")
    before = row.bounding_box()
    page.wait_for_timeout(200)
    assert held, "the count was not asked for"
    held[0].continue_()
    expect(page.get_by_test_id("total")).to_contain_text("共 1 件")
    assert row.bounding_box() == before

    # The whole row opens the case, not only its title (18 px tall on a phone).
    item = page.locator("#case-rows tr[data-case]").first
    box = item.bounding_box()
    assert box is not None and box["height"] >= 44
    # A tap on the time at the card's right edge (the title's link covers the card).
    cell = item.locator("td.c-time").bounding_box()
    assert cell is not None
    page.touchscreen.tap(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
