"""Browser journey at a desk: community staff upload a ledger, read the dry run's errors, fix
the file, import it and watch the progress until it is done.

Tasks go to Django's dummy backend here (as a worker's queue would hold them) and the test
runs each one itself, so the page is seen polling while a task is queued or running."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.tasks.signals import task_enqueued
from playwright.sync_api import expect

from wangge.registry.models import Household, Resident
from wangge.registry.tests.factories import RegistryWorld, make_id_number
from wangge.registry.tests.ledger_files import household, resident, xlsx

pytestmark = pytest.mark.browser
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def queued(settings: Any) -> Iterator[list[Any]]:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    results: list[Any] = []

    def keep(sender: Any, task_result: Any, **kwargs: Any) -> None:
        results.append(task_result)

    task_enqueued.connect(keep)
    yield results
    task_enqueued.disconnect(keep)


def _run_next(queued: list[Any]) -> None:
    result = queued.pop(0)
    result.task.call(*result.args, **result.kwargs)


def _upload(page: Any, name: str, data: bytes) -> None:
    page.get_by_label("台账文件 (.xlsx)").set_input_files(
        files=[{"name": name, "mimeType": XLSX, "buffer": data}]
    )
    page.get_by_role("button", name="上传并检查").click()


def test_staff_import_a_ledger_from_errors_to_done(
    live_server, world, registry: RegistryWorld, page, login_page, screenshot, queued
) -> None:
    address = registry.mine.address
    people = [
        make_id_number(birth=date(1962, 3, 4), sex="male"),
        make_id_number(birth=date(1991, 11, 12), sex="female"),
    ]
    broken_id = people[0][:17] + ("0" if people[0][17] != "0" else "1")
    rows = [
        resident(address, broken_id, room="1101", name="郑国强", sex="男"),
        resident(address, people[1], room="1101", name="郑小雨", mobile="1390000"),
    ]
    broken = xlsx(households=[household(address, "1101")], residents=rows)
    rows[0]["id_number"] = people[0]
    rows[1]["mobile"] = "13900004321"
    fixed = xlsx(households=[household(address, "1101")], residents=rows)

    login_page(page, live_server, world.users["community_staff"])
    page.goto(f"{live_server.url}/registry/ledgers/")
    expect(page.get_by_role("heading", name="导入台账")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("template-link").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    screenshot(page, "registry-ledgers-desk")

    # Upload: the dry run is queued, the page polls.
    _upload(page, "居民台账.xlsx", broken)
    job = page.get_by_test_id("ledger-job")
    expect(job.get_by_test_id("job-status")).to_have_text("正在检查…")
    _run_next(queued)
    expect(job.get_by_test_id("job-status")).to_have_text("检查未通过")
    errors = page.get_by_test_id("ledger-errors")
    expect(errors.locator("tbody tr")).to_have_count(2)
    expect(errors).to_contain_text("校验码")
    expect(errors).to_contain_text("手机号")
    expect(page.get_by_test_id("import-button")).to_have_count(0)
    screenshot(page, "registry-ledger-errors-desk")

    # Fix and upload again from the same page.
    _upload(page, "居民台账-改正.xlsx", fixed)
    expect(job.get_by_test_id("job-status")).to_have_text("正在检查…")
    _run_next(queued)
    expect(job.get_by_test_id("job-status")).to_have_text("检查通过，可以导入")
    expect(page.get_by_test_id("ledger-counts")).to_contain_text("居民")
    assert not Household.objects.filter(room="1101").exists()

    # Import: progress while it is queued, then done.
    page.get_by_test_id("import-button").click()
    expect(job.get_by_test_id("job-status")).to_have_text("正在导入…")
    expect(job.get_by_test_id("job-progress")).to_be_visible()
    screenshot(page, "registry-ledger-importing-desk")
    _run_next(queued)
    expect(job.get_by_test_id("job-status")).to_have_text("导入完成")
    expect(job.get_by_test_id("job-progress")).to_have_attribute("value", "100")
    screenshot(page, "registry-ledger-done-desk")

    assert sorted(
        Resident.objects.filter(household__room="1101").values_list("name", flat=True)
    ) == [
        "郑国强",
        "郑小雨",
    ]
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.wangge_errors == []
