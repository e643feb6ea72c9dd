"""The ledger pages: template download, upload → dry run → import through tasks (immediate
backend: they run on commit), the error list, the export, and who may use which."""

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from wangge.core.tests.fixtures import login_as
from wangge.registry.ledgers import jobs
from wangge.registry.models import AccessAudit, Household, Resident
from wangge.registry.tests.factories import make_id_number
from wangge.registry.tests.ledger_files import household, moved_resident, read_rows, resident, xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def post(client, django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """POST, then run what the request left for after commit (the test's transaction never
    commits): the immediate task backend then runs the enqueued task."""

    def do(url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {}, **extra)

    return do


def _upload(post, data: bytes, name: str = "台账.xlsx"):
    return post(reverse("registry:ledger_upload"), {"file": SimpleUploadedFile(name, data, XLSX)})


def _token(response) -> str:
    assert response.status_code == 302, response.content[:500]
    return response["Location"].rstrip("/").split("/")[-1]


def test_the_page_offers_the_template_upload_and_export(client, post, world, registry) -> None:
    login_as(client, world.users["community_staff"])
    page = client.get(reverse("registry:ledgers"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="upload-form"' in html and 'data-testid="export-full"' in html
    template = client.get(reverse("registry:ledger_template"))
    assert template["Content-Type"] == XLSX
    assert "attachment" in template["Content-Disposition"]
    assert template["Cache-Control"] == "private, no-store"


def test_read_only_and_field_roles_see_only_what_they_may_do(client, post, world, registry) -> None:
    login_as(client, world.users["leader"])
    html = client.get(reverse("registry:ledgers")).content.decode()
    assert 'data-testid="upload-form"' not in html and 'data-testid="export-masked"' in html
    assert _upload(post, xlsx(households=[household(registry.mine.address)])).status_code == 403
    login_as(client, world.users["grid_worker"])
    html = client.get(reverse("registry:ledgers")).content.decode()
    assert 'data-testid="upload-form"' in html and 'data-testid="export-full"' not in html
    login_as(client, world.users["dispatcher"])
    assert client.get(reverse("registry:ledgers")).status_code == 403


def test_upload_check_and_import_a_ledger(client, post, world, registry) -> None:
    login_as(client, world.users["community_staff"])
    address = registry.mine.address
    person = make_id_number(birth=date(1977, 8, 8), sex="male")
    data = xlsx(
        households=[household(address, "909")],
        residents=[resident(address, person, room="909", name="吴刚", sex="男")],
    )
    token = _token(_upload(post, data))
    page = client.get(reverse("registry:ledger_job", args=[token]))
    html = page.content.decode()
    assert "检查通过，可以导入" in html and 'data-testid="import-button"' in html
    assert not Household.objects.filter(room="909").exists()

    imported = post(reverse("registry:ledger_job_import", args=[token]))
    assert imported.status_code == 302
    fragment = client.get(reverse("registry:ledger_job", args=[token]), HTTP_HX_REQUEST="true")
    assert "导入完成" in fragment.content.decode() and "<html" not in fragment.content.decode()
    assert Resident.objects.get(name="吴刚").household.room == "909"
    # The upload is gone once imported; importing twice is refused.
    assert jobs.job_get(user=world.users["community_staff"], token=token).upload == ""
    again = post(reverse("registry:ledger_job_import", args=[token]), follow=True)
    assert "未通过检查或已在导入" in again.content.decode()


def test_a_broken_file_lists_its_errors_and_offers_them_all_as_a_file(
    client, post, world, registry
) -> None:
    login_as(client, world.users["community_staff"])
    address = registry.mine.address
    valid = make_id_number(birth=date(1990, 1, 1), sex="male")
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    rows = [resident(address, make_id_number(), name="", room="101") for _ in range(3)]
    rows.append(resident(address, wrong, room="101", sex="男"))
    token = _token(_upload(post, xlsx(residents=rows)))
    html = client.get(reverse("registry:ledger_job", args=[token])).content.decode()
    assert "检查未通过" in html and 'data-testid="import-button"' not in html
    assert "请填写姓名" in html and "校验码" in html
    assert f"110105********{wrong[-4:]}" in html and wrong not in html
    refused = post(reverse("registry:ledger_job_import", args=[token]), follow=True)
    assert "未通过检查" in refused.content.decode()
    errors = client.get(reverse("registry:ledger_job_errors", args=[token]))
    assert errors.status_code == 200
    listed = read_rows(b"".join(errors.streaming_content), "错误清单")
    assert listed[0] == ("表", "行", "列", "值", "原因")
    assert {(r[1], r[2]) for r in listed[1:]} >= {(2, "姓名"), (3, "姓名"), (4, "姓名")}


def test_a_job_belongs_to_whoever_uploaded_it(client, post, world, registry) -> None:
    login_as(client, world.users["community_staff"])
    token = _token(_upload(post, xlsx(households=[household(registry.mine.address)])))
    login_as(client, world.users["street_staff"])
    assert client.get(reverse("registry:ledger_job", args=[token])).status_code == 404
    assert post(reverse("registry:ledger_job_import", args=[token])).status_code == 404
    assert jobs.job_get(user=world.users["community_staff"], token=token).status == jobs.CHECKED


def test_uploads_that_are_not_workbooks_are_refused_with_a_reason(
    client, post, world, registry
) -> None:
    login_as(client, world.users["community_staff"])
    refused = _upload(post, b"a,b\n1,2\n", name="台账.csv")
    assert refused.status_code == 400
    assert ".xlsx" in refused.content.decode()
    token = _token(_upload(post, b"not a zip", name="fake.xlsx"))
    html = client.get(reverse("registry:ledger_job", args=[token])).content.decode()
    assert "无法读取该文件" in html


def test_exports_masked_by_get_and_full_by_post_with_a_reason(
    client, post, world, registry
) -> None:
    login_as(client, world.users["community_staff"])
    masked = client.get(reverse("registry:ledger_export"), {"kind": "residents"})
    assert masked.status_code == 200 and masked["Content-Type"] == XLSX
    body = b"".join(masked.streaming_content)
    ids = {row[8] for row in read_rows(body, "居民")[1:]}
    assert registry.plain["id_a"] not in ids and "110105********002X" in ids

    missing = client.post(reverse("registry:ledger_export"), {"kind": "residents", "reason": ""})
    assert missing.status_code == 400 and "事由" in missing.content.decode()
    full = client.post(
        reverse("registry:ledger_export"), {"kind": "residents", "reason": "民政低保复核"}
    )
    assert full.status_code == 200
    ids = {row[8] for row in read_rows(b"".join(full.streaming_content), "居民")[1:]}
    assert registry.plain["id_a"] in ids
    assert AccessAudit.objects.get().reason == "民政低保复核"

    login_as(client, world.users["grid_worker"])
    refused = client.post(
        reverse("registry:ledger_export"), {"kind": "residents", "reason": "民政低保复核"}
    )
    assert refused.status_code == 403 and AccessAudit.objects.count() == 1


def test_the_template_round_trips_through_the_page(client, post, world, registry) -> None:
    login_as(client, world.users["community_staff"])
    template = client.get(reverse("registry:ledger_template")).content
    token = _token(_upload(post, template, name="模板.xlsx"))
    job = jobs.job_get(user=world.users["community_staff"], token=token)
    assert (job.status, job.error_count, job.processed) == (jobs.CHECKED, 0, 0)


def test_a_worker_without_a_shared_cache_is_warned_about(settings) -> None:
    from wangge.registry.checks import check_ledger_jobs_cache

    assert check_ledger_jobs_cache() == []
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert [w.id for w in check_ledger_jobs_cache()] == ["registry.W002"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    assert check_ledger_jobs_cache() == []


def test_the_check_page_warns_of_residents_who_would_move(client, post, world, registry) -> None:
    login_as(client, world.users["superuser"])
    wang = registry.residents["a"]
    row = moved_resident(registry)
    token = _token(_upload(post, xlsx(residents=[row])))
    html = client.get(reverse("registry:ledger_job", args=[token])).content.decode()
    assert "检查通过，可以导入" in html
    assert 'data-testid="ledger-moves"' in html and "1 人将迁到其他住户，0 人将改名" in html
    assert f"王秀英 将从 {wang.household} 迁到 {registry.households['201']}" in html
    with translation.override(translation.get_language()):  # the request switches it
        english = client.get(
            reverse("registry:ledger_job", args=[token]), HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
    assert "1 would move to another household, 0 would be renamed" in english


def test_opening_the_upload_address_goes_to_the_ledger_page(client, world, registry) -> None:
    """A reload or a bookmark of a form's target lands on its page, not on the home page."""
    login_as(client, world.users["community_staff"])
    response = client.get(reverse("registry:ledger_upload"))
    assert response.status_code == 302 and response["Location"] == reverse("registry:ledgers")
    token = "a" * 20
    response = client.get(reverse("registry:ledger_job_import", args=[token]))
    assert response["Location"] == reverse("registry:ledger_job", args=[token])
