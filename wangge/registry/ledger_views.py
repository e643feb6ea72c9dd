"""Ledger pages: the template, uploading a ledger (dry run, then import, with progress the page
polls through htmx) and the export. Views only parse and delegate."""

import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from wangge.core.decorators import form_target
from wangge.core.errors import DomainError
from wangge.core.responses import private
from wangge.registry import selectors
from wangge.registry.ledgers import exporter, jobs, sheets
from wangge.registry.ledgers.forms import ExportForm, UploadForm
from wangge.registry.views import require_access

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(request: HttpRequest, **context: Any) -> HttpResponse:
    context.setdefault("upload_form", UploadForm())
    context.setdefault("export_form", ExportForm())
    context["can_import"] = selectors.can_import(request.user)
    context["can_export_full"] = selectors.can_export_full(request.user)
    status = context.pop("status", 200)
    return private(render(request, "registry/ledgers.html", context, status=status))


@login_required
@require_GET
def ledgers(request: HttpRequest) -> HttpResponse:
    require_access(request)
    return _page(request)


@login_required
@require_GET
def ledger_template(request: HttpRequest) -> HttpResponse:
    require_access(request)
    response = HttpResponse(sheets.write_template(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, "人房台账模板.xlsx")
    return private(response)


@form_target(back=lambda request: reverse("registry:ledgers"))
def ledger_upload(request: HttpRequest) -> HttpResponse:
    require_access(request)
    if not selectors.can_import(request.user):
        raise DjangoPermissionDenied
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, upload_form=form, status=400)
    try:
        job = jobs.start_check(actor=request.user, upload=form.cleaned_data["file"])
    except DomainError as exc:
        form.add_error("file", exc.message)
        return _page(request, upload_form=form, status=exc.http_status)
    return redirect("registry:ledger_job", token=job.token)


@login_required
@require_GET
def ledger_job(request: HttpRequest, token: str) -> HttpResponse:
    job = jobs.job_get(user=request.user, token=token)
    context = {"job": job, "upload_form": UploadForm()}
    template = (
        "registry/_ledger_job.html"
        if request.headers.get("HX-Request")
        else "registry/ledger_job.html"
    )
    return private(render(request, template, context))


@form_target(back=lambda request, token: reverse("registry:ledger_job", args=[token]))
def ledger_job_import(request: HttpRequest, token: str) -> HttpResponse:
    try:
        jobs.start_import(actor=request.user, token=token)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("registry:ledger_job", token=token)


@login_required
@require_GET
def ledger_job_errors(request: HttpRequest, token: str) -> HttpResponseBase:
    _job, handle = jobs.error_file(user=request.user, token=token)
    response = FileResponse(
        handle, as_attachment=True, filename="台账错误清单.xlsx", content_type=XLSX
    )
    return private(response)


@login_required
@require_http_methods(["GET", "POST"])
def ledger_export(request: HttpRequest) -> HttpResponseBase:
    """GET: the masked export. POST with a reason: the full numbers, audited."""
    require_access(request)
    data = request.POST if request.method == "POST" else request.GET
    form = ExportForm(data)
    if not form.is_valid():
        return _page(request, export_form=form, status=400)
    reason = form.cleaned_data["reason"] if request.method == "POST" else ""
    if request.method == "POST" and not reason:
        form.add_error("reason", _("请填写导出完整号码的事由 (reason: required for a full export)"))
        return _page(request, export_form=form, status=400)
    building = request.GET.get("building", "")
    # Closed (and so deleted) by the FileResponse once sent, or below on an error.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        exporter.export_ledgers(
            actor=request.user,
            out=handle,
            kinds=form.kinds(),
            building_id=int(building) if building.isdigit() else None,
            reveal_reason=reason,
        )
    except DomainError as exc:
        handle.close()
        form.add_error("reason" if exc.field == "reason" else None, exc.message)
        return _page(request, export_form=form, status=exc.http_status)
    handle.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"人房台账-{'完整' if reason else '脱敏'}-{stamp}.xlsx"
    return private(FileResponse(handle, as_attachment=True, filename=name, content_type=XLSX))
