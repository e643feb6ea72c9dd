"""The command-centre pages: a normal dashboard, a dark big screen, and the JSON they poll."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from wangge.cases.selectors import department_options, unit_options
from wangge.core.errors import DomainError
from wangge.dashboard import selectors

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
        raise DomainError("辖区编码须为数字 (unit must be a code)", field="unit")
    department = get.get("department", "").strip()
    if department and not department.isdigit():
        raise DomainError("部门须为编号 (department must be an id)", field="department")
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        raw = get.get(name, "").strip()
        try:
            dates[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise DomainError(
                f"日期格式应为 2026-05-01 ({name} must be YYYY-MM-DD)", field=name
            ) from None
    trend_unit = get.get("trend", "day")
    if trend_unit not in TREND_UNITS:
        raise DomainError("趋势粒度应为 day、week 或 month (trend)", field="trend")
    return Params(
        unit or None,
        int(department) if department else None,
        dates["date_from"],
        dates["date_to"],
        trend_unit,
    )


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


@login_required
@require_GET
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
