"""The command-centre pages: a normal dashboard, a dark big screen, and the JSON they poll."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from wangge.cases.selectors import (
    check_date_range,
    department_options,
    parse_department_id,
    parse_filter_date,
    unit_options,
)
from wangge.core.decorators import form_target
from wangge.core.errors import DomainError
from wangge.dashboard import actions, selectors
from wangge.dashboard.models import ExportKind, ExportStatus

TREND_UNITS = ("day", "week", "month")
RATE_LABELS = [
    ("response", gettext_lazy("响应率")),
    ("resolution", gettext_lazy("解决率")),
    ("satisfaction", gettext_lazy("满意率")),
    ("on_time", gettext_lazy("按期办结率")),
    ("return", gettext_lazy("退单率")),
    ("reopen", gettext_lazy("重办率")),
    ("composite", gettext_lazy("综合得分")),
]


@dataclass(frozen=True)
class Params:
    scope_code: str | None
    department_id: int | None
    date_from: date | None
    date_to: date | None
    trend_unit: str

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "scope_code": self.scope_code,
            "department_id": self.department_id,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "trend_unit": self.trend_unit,
        }


def _params(request: HttpRequest) -> Params:
    get = request.GET
    unit = get.get("unit", "").strip()
    if unit and not unit.isdigit():
        raise DomainError(_("辖区编码须为数字 (unit must be a code)"), field="unit")
    department = get.get("department", "").strip()
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        raw = get.get(name, "").strip()
        dates[name] = parse_filter_date(raw, field=name) if raw else None
    check_date_range(dates["date_from"], dates["date_to"])
    trend_unit = get.get("trend", "day")
    if trend_unit not in TREND_UNITS:
        raise DomainError(
            _("趋势粒度应为 day、week 或 month (trend: day, week or month)"), field="trend"
        )
    return Params(
        unit or None,
        parse_department_id(department) if department else None,
        dates["date_from"],
        dates["date_to"],
        trend_unit,
    )


def _report_months(count: int = 12) -> list[str]:
    """This month and the ones before it, newest first (YYYY-MM), for the report form."""
    today = timezone.localdate()
    year, month = today.year, today.month
    months = []
    for _i in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _check_access(request: HttpRequest) -> None:
    if not selectors.may_view(request.user):
        raise Http404("no dashboard for this user")


def _page(request: HttpRequest, template: str) -> HttpResponse:
    _check_access(request)
    try:
        params = _params(request)
    except DomainError as exc:
        return render(request, "dashboard/error.html", {"error": exc}, status=400)
    data = selectors.dashboard_data(user=request.user, **params.as_kwargs())
    return render(
        request,
        template,
        {
            "data": data,
            "params": params,
            "unit_options": unit_options(user=request.user),
            "department_options": department_options(user=request.user),
            "rate_labels": RATE_LABELS,
            "refresh_ms": settings.WANGGE_DASHBOARD_REFRESH_SECONDS * 1000,
            "map_metrics": selectors.MAP_METRICS,
            "report_months": _report_months(),
            "tile_url": settings.MAP_TILE_URL,
            "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        },
    )


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return _page(request, "dashboard/index.html")


@login_required
@require_GET
def screen(request: HttpRequest) -> HttpResponse:
    return _page(request, "dashboard/screen.html")


# The dashboard polls data.json and map.json every few seconds (a big screen all day): both are
# compressed when the browser accepts it (a map poll of the demo district: ~117 KB of JSON).
# Neither answer holds a credential (no CSRF token, no session key) for BREACH to guess.
@login_required
@require_GET
@gzip_page
def data(request: HttpRequest) -> JsonResponse:
    _check_access(request)
    try:
        params = _params(request)
    except DomainError as exc:
        return JsonResponse({"error": str(exc), "field": exc.field}, status=400)
    payload = selectors.dashboard_data(user=request.user, **params.as_kwargs())
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
@gzip_page
def map_data(request: HttpRequest) -> JsonResponse:
    """The grids of the user's subtree, coloured by ?metric=open|overdue|per_1000."""
    _check_access(request)
    try:
        params = _params(request)
        payload = selectors.grid_map(
            user=request.user,
            metric=request.GET.get("metric", "open"),
            scope_code=params.scope_code,
            department_id=params.department_id,
            date_from=params.date_from,
            date_to=params.date_to,
            known_shapes=request.GET.get("shapes", "")[:200],
        )
    except DomainError as exc:
        return JsonResponse({"error": str(exc), "field": exc.field}, status=400)
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


# --- exports ----------------------------------------------------------------------------------


def _export_params(request: HttpRequest) -> dict[str, Any]:
    """The case list's filters (from the query string the button carries) as a plain dict."""
    params: dict[str, Any] = {}
    for key in request.GET:
        values = [v for v in request.GET.getlist(key) if v]
        if values:
            params[key] = ",".join(values) if key == "status" else values[-1]
    return params


@form_target()
def export_cases(request: HttpRequest) -> HttpResponse:
    """Start the case ledger export with the case list's filters; show its progress page."""
    try:
        export = actions.request_export(
            actor=request.user, kind=ExportKind.CASES_XLSX, params=_export_params(request)
        )
    except DomainError as exc:
        return render(request, "dashboard/error.html", {"error": exc}, status=400)
    return redirect("dashboard:export", pk=export.pk)


@form_target()
def export_report(request: HttpRequest) -> HttpResponse:
    """Start the monthly report (PDF) of a month and unit of the user's territory."""
    _check_access(request)
    try:
        export = actions.request_export(
            actor=request.user,
            kind=ExportKind.MONTHLY_PDF,
            params={"month": request.POST.get("month", ""), "unit": request.POST.get("unit", "")},
        )
    except DomainError as exc:
        return render(request, "dashboard/error.html", {"error": exc}, status=400)
    return redirect("dashboard:export", pk=export.pk)


@login_required
@require_GET
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress of an export: a page, or (htmx polling) just its progress box."""
    export = selectors.export_get(user=request.user, pk=pk)
    template = (
        "dashboard/_export_progress.html"
        if request.headers.get("HX-Request")
        else "dashboard/export.html"
    )
    response = render(request, template, {"export": export})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    export = selectors.export_get(user=request.user, pk=pk)
    if export.status != ExportStatus.DONE or not export.file:
        raise Http404("export not ready")
    response = FileResponse(
        export.file.open("rb"), as_attachment=True, filename=export.filename or "export"
    )
    response["Cache-Control"] = "private, no-store"
    return response
