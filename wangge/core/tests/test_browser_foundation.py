"""Browser journeys: logging in, the home page and the language switch."""

import re

import pytest
from playwright.sync_api import expect

from wangge.core.tests.fixtures import World

pytestmark = pytest.mark.browser

PASSWORD = "wangge-test-pass"


def test_a_grid_worker_logs_in_with_a_mobile_number_and_sees_role_and_grid(
    live_server, world: World, page
) -> None:
    worker = world.users["grid_worker"]
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("手机号或用户名").fill(worker.mobile)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(f"{live_server.url}/")
    memberships = page.get_by_test_id("memberships")
    expect(memberships).to_contain_text("网格员")
    expect(memberships).to_contain_text("第1街道第1社区第1网格")
    expect(page.locator(".scope-card")).to_have_count(1)
    assert page.wangge_errors == []


def test_a_wrong_password_shows_the_chinese_error(live_server, world: World, page) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("手机号或用户名").fill(world.users["grid_worker"].mobile)
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()

    expect(page.get_by_role("alert")).to_contain_text("手机号/用户名或密码不正确")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def test_the_language_switch_turns_the_page_to_english_and_back(
    live_server, world: World, page
) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("django_language") == "en"
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("django_language") == "zh-hans"


def test_the_api_docs_page_shows_the_operations_from_our_own_files(live_server, page) -> None:
    # Swagger UI comes from django-ninja's static files (the CSP allows no CDN).
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Wangge staff API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert all(url.startswith(live_server.url) for url in requested), requested
