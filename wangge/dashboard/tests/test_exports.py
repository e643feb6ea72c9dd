"""Exports: the case ledger read back with openpyxl, the monthly report's text read back from
the PDF, progress, and who may see what."""

import io
import re
import shutil
import subprocess
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from wangge.cases.models import Case, Rating, Status
from wangge.cases.tests.helpers import case_in, do, handled_by_grid_worker, report
from wangge.core.errors import DomainError
from wangge.core.tests.fixtures import World, login_as
from wangge.dashboard import actions, exports
from wangge.dashboard.models import Export, ExportKind, ExportStatus

OTHER = "110101002002002"


def pdf_text(data: bytes, context: dict[str, Any] | None = None) -> str:
    """The text of a PDF: pypdf if installed, else poppler's pdftotext, else WeasyPrint's own
    layout of the same report (then the PDF bytes are only checked to be a PDF)."""
    try:
        from pypdf import PdfReader  # type: ignore[import-not-found]

        return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    except ImportError:
        pass
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        done = subprocess.run(  # noqa: S603 (a fixed command on our own bytes)
            [pdftotext, "-layout", "-", "-"], input=data, capture_output=True, check=True
        )
        return done.stdout.decode()
    assert data.startswith(b"%PDF-")
    from django.template.loader import render_to_string
    from weasyprint import HTML

    assert context is not None
    document = HTML(string=render_to_string("dashboard/report.html", context)).render()
    texts: list[str] = []

    def walk(box: Any) -> None:
        if getattr(box, "text", None):
            texts.append(box.text)
        for child in getattr(box, "children", []) or []:
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    return "\n".join(texts)


def _export(user: Any, kind: str, params: dict[str, Any], capture: Any) -> Export:
    with capture(execute=True):
        export = actions.request_export(actor=user, kind=kind, params=params)
    export.refresh_from_db()
    return export


def test_the_ledger_has_chinese_headers_masked_phones_and_the_lists_filters(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    closed = case_in(world, Status.CLOSED)
    do(world, closed, "rate", rating=Rating.SATISFIED)
    case_in(world, Status.IN_PROGRESS)
    report(world, grid=OTHER, reporter_phone="13812345678")
    export = _export(
        world.users["dispatcher"],
        ExportKind.CASES_XLSX,
        {"status": "closed"},
        django_capture_on_commit_callbacks,
    )
    assert export.status == ExportStatus.DONE
    assert (export.rows_total, export.rows_done, export.percent) == (1, 1, 100)
    assert export.filename.endswith(".xlsx")
    sheet = load_workbook(export.file.open("rb"), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("查询码", "标题", "状态", "大类") and "联系电话" in rows[0]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["查询码"] == closed.tracking_code
    assert row["状态"] == "已办结" and row["评价"] == "满意"
    assert row["联系电话"] == "139****2222"  # the helper's reporter_phone 13911112222
    assert row["网格"] and row["街道"] and row["上报时间"].year == timezone.localdate().year


def test_the_ledger_names_the_lead_department_or_grid_worker(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    by_worker = handled_by_grid_worker(world)
    by_department = case_in(world, Status.IN_PROGRESS)
    waiting = report(world)
    export = _export(
        world.users["dispatcher"], ExportKind.CASES_XLSX, {}, django_capture_on_commit_callbacks
    )
    sheet = load_workbook(export.file.open("rb"), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    lead = {row[0]: dict(zip(rows[0], row, strict=True))["主办"] for row in rows[1:]}
    worker = world.users["grid_worker"]
    assert lead[by_worker.tracking_code] == f"{worker.display_name}（网格员）"
    assert by_department.lead_department is not None
    assert lead[by_department.tracking_code] == by_department.lead_department.name
    assert lead[waiting.tracking_code] is None  # an empty cell


def test_the_ledger_holds_only_the_users_subtree(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    mine = report(world)
    report(world, grid=OTHER, reporter_phone="13812345678")
    export = _export(
        world.users["street_staff"], ExportKind.CASES_XLSX, {}, django_capture_on_commit_callbacks
    )
    rows = list(load_workbook(export.file.open("rb")).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [mine.tracking_code]
    assert all("13812345678" not in str(v) for r in rows for v in r)


def test_a_bad_filter_is_refused_before_anything_is_stored(world: World) -> None:
    with pytest.raises(DomainError) as error:
        actions.request_export(
            actor=world.users["dispatcher"],
            kind=ExportKind.CASES_XLSX,
            params={"date_from": "yesterday"},
        )
    assert error.value.field == "date_from"
    assert not Export.objects.exists()


def test_the_ledger_is_written_in_batches_with_progress(
    world: World, monkeypatch: Any, tmp_path: Any
) -> None:
    for _ in range(7):
        report(world)
    monkeypatch.setattr(exports, "BATCH", 3)
    seen: list[int] = []
    qs = exports.ledger_queryset(user=world.users["dispatcher"], params={})
    rows = exports.write_ledger(qs=qs, path=tmp_path / "x.xlsx", progress=seen.append)
    assert rows == 7 and seen == [3, 6, 7]
    codes = [r[0] for r in load_workbook(tmp_path / "x.xlsx").active.iter_rows(values_only=True)]
    expected = list(Case.objects.order_by("-created_at", "-id").values_list("tracking_code"))
    assert codes[1:] == [c for (c,) in expected]  # newest first, none twice, none missing


def test_the_monthly_report_is_a_pdf_with_counters_rates_and_rankings(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    for rating in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED):
        do(world, case_in(world, Status.CLOSED), "rate", rating=rating)
    case_in(world, Status.IN_PROGRESS)
    month = timezone.localdate().strftime("%Y-%m")
    export = _export(
        world.users["dispatcher"],
        ExportKind.MONTHLY_PDF,
        {"month": month, "unit": ""},
        django_capture_on_commit_callbacks,
    )
    assert export.status == ExportStatus.DONE, export.error
    data = export.file.open("rb").read()
    assert data.startswith(b"%PDF-")
    context = exports.report_context(
        user=world.users["dispatcher"], month=exports.Month.parse(month)
    )
    text = pdf_text(data, context)
    flat = "".join(text.split())
    today = timezone.localdate()
    assert f"{today.year}年{today.month}月办件月报" in flat
    assert flat.startswith(world.unit("110101").name)
    for label in ("受理办件", "办结", "解决率", "满意率", "红榜", "黑榜", "高发问题"):
        assert label in flat, label
    assert "95.0%" in flat  # 满意率: (1 满意 + 0.9 × 1 基本满意) / 2 rated
    assert "暴露垃圾" in flat or "市容环境" in flat  # the category of the helper's cases


def test_a_department_handlers_report_is_titled_with_the_department(world: World) -> None:
    """It counts only the department's cases: it was titled as the whole district."""
    from wangge.territory.models import Department

    handler = world.users["department_handler"]
    month = exports.Month.parse(timezone.localdate().strftime("%Y-%m"))
    title = exports.report_context(user=handler, month=month)["title"]
    department = Department.objects.get(pk=handler.memberships.get().department_id)
    assert title.startswith(department.name)
    district = exports.report_context(user=world.users["dispatcher"], month=month)["title"]
    assert district.startswith(world.unit("110101").name)


def test_a_report_of_a_unit_outside_the_scope_is_refused(world: World) -> None:
    with pytest.raises(DomainError) as error:
        actions.request_export(
            actor=world.users["street_staff"],
            kind=ExportKind.MONTHLY_PDF,
            params={"month": "2026-05", "unit": "110101002"},
        )
    assert error.value.field == "unit"
    with pytest.raises(DomainError) as error:
        actions.request_export(
            actor=world.users["street_staff"],
            kind=ExportKind.MONTHLY_PDF,
            params={"month": "May"},
        )
    assert error.value.field == "month"


def test_exports_belong_to_the_person_who_asked(
    world: World, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report(world)
    login_as(client, world.users["dispatcher"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/dashboard/exports/cases/?status=reported")
    export = Export.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/dashboard/exports/{export.pk}/"
    )
    page = client.get(response["Location"])
    assert page.status_code == 200 and "下载" in page.content.decode()
    download = client.get(f"/dashboard/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    login_as(client, world.users["street_staff"])
    assert client.get(f"/dashboard/exports/{export.pk}/").status_code == 404
    assert client.get(f"/dashboard/exports/{export.pk}/download/").status_code == 404


def test_a_pending_export_shows_its_progress_and_polls(world: World, client: Any) -> None:
    export = Export.objects.create(
        kind=ExportKind.CASES_XLSX,
        requested_by=world.users["dispatcher"],
        status=ExportStatus.RUNNING,
        rows_total=200,
        rows_done=50,
    )
    login_as(client, world.users["dispatcher"])
    response = client.get(f"/dashboard/exports/{export.pk}/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'value="25"' in html and "50 / 200" in html and "hx-trigger" in html
    assert actions.run_export(export_id=export.pk) == "skipped"  # not pending: no second run


def test_a_failed_export_says_so(world: World, monkeypatch: Any) -> None:
    export = Export.objects.create(
        kind=ExportKind.MONTHLY_PDF,
        requested_by=world.users["dispatcher"],
        params={"month": date.today().strftime("%Y-%m"), "unit": ""},  # noqa: DTZ011
    )

    def broken(context: Any) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setattr(exports, "render_report", broken)
    assert actions.run_export(export_id=export.pk) == "failed"
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and "no fonts" in export.error


def test_an_export_is_written_in_the_language_of_whoever_asked(world: World) -> None:
    """A worker process has no request: the task carries the requester's language."""
    from django.utils import translation

    from wangge.dashboard.tasks import run_export_task

    case_in(world, Status.CLOSED)
    user = world.users["dispatcher"]
    with translation.override("en"), capture_enqueued() as enqueued:
        export = actions.request_export(actor=user, kind=ExportKind.CASES_XLSX, params={})
    assert enqueued == [((export.pk,), {"language": "en"})]
    # The worker runs it later, in whatever language its process has.
    with translation.override("zh-hans"):
        run_export_task.call(export.pk, language="en")
    export.refresh_from_db()
    rows = list(
        load_workbook(export.file.open("rb"), read_only=True).active.iter_rows(values_only=True)
    )
    assert rows[0][:2] == ("Tracking code", "Title")


@contextmanager
def capture_enqueued() -> Any:
    """The export task's enqueue calls, made when the request's transaction commits."""
    from unittest import mock

    from django.db import transaction

    from wangge.dashboard.tasks import run_export_task

    calls: list[tuple[Any, Any]] = []
    with (
        mock.patch.object(
            type(run_export_task),
            "enqueue",
            lambda self, *args, **kwargs: calls.append((args, kwargs)),
        ),
        mock.patch.object(transaction, "on_commit", lambda f, robust=False: f()),
    ):
        yield calls


def test_the_reports_category_labels_fit_their_column_in_any_language() -> None:
    """English labels are longer: the column widens to the longest (up to half the chart) and
    a longer label loses its start, never its sub-category at the end."""
    from wangge.dashboard.exports import _svg_hbars, _text_width

    english = "City appearance and environment / Exposed rubbish"
    svg = _svg_hbars([(english, 5), ("市容环境 / 暴露垃圾", 3)])
    label_x = float(re.search(r'<text x="([\d.]+)" [^>]*text-anchor="end"', svg).group(1))
    assert label_x >= _text_width(english)  # the whole label is inside the chart
    assert f">{english}</text>" in svg
    long = "A very long parent category name indeed / " * 3 + "Exposed rubbish"
    svg = _svg_hbars([(long, 1)])
    shown = re.search(r'text-anchor="end" font-size="11">([^<]+)</text>', svg).group(1)
    assert shown.startswith("…") and shown.endswith("Exposed rubbish")
