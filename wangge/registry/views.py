"""Registry pages: buildings and households, a resident's card (masked, with an audited reveal),
the building head's weekly check on the phone, the freshness report and the access audit.
Views only parse and delegate."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wangge.core.errors import DomainError
from wangge.registry import actions, selectors
from wangge.registry.forms import ChangeForm, RevealForm
from wangge.registry.models import SpecialGroup
from wangge.territory.models import Level


def _require_access(request: HttpRequest) -> None:
    if not selectors.has_registry_access(request.user):
        raise DjangoPermissionDenied


def _private(response: HttpResponse) -> HttpResponse:
    # Pages with personal data: never kept by a shared cache or the browser's back cache.
    add_never_cache_headers(response)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _require_access(request)
    buildings = selectors.building_summaries(user=request.user)
    return _private(render(request, "registry/index.html", {"buildings": buildings}))


@login_required
@require_GET
def building_detail(request: HttpRequest, pk: int) -> HttpResponse:
    building = selectors.building_get(user=request.user, pk=pk)
    households = selectors.households_of_building(building=building)
    context = {
        "building": building,
        "households": households,
        "resident_count": sum(len(h.residents.all()) for h in households),
    }
    return _private(render(request, "registry/building.html", context))


def _resident_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    resident = selectors.resident_get(user=request.user, pk=pk)
    return {
        "resident": resident,
        "household": resident.household,
        "can_reveal": selectors.can_reveal(request.user, resident.household.building),
        "form": RevealForm(),
    }


@login_required
@require_GET
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _private(render(request, "registry/resident.html", _resident_context(request, pk)))


@login_required
@require_POST
def resident_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    context = _resident_context(request, pk)
    form = RevealForm(request.POST)
    context["form"] = form
    reason = form.data.get("reason", "")
    try:
        context["revealed"] = actions.reveal_resident(
            actor=request.user, resident=context["resident"], reason=reason
        )
    except DomainError as exc:
        context["error"] = exc
        status = exc.http_status
    else:
        status = 200
    return _private(render(request, "registry/resident.html", context, status=status))


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    _require_access(request)
    query = request.GET.get("q", "")[:50]
    group = request.GET.get("tag", "")
    group = group if group in SpecialGroup.values else ""
    searched = bool(query.strip() or group)
    results = (
        selectors.resident_search(user=request.user, query=query, group=group) if searched else []
    )
    context = {
        "query": query,
        "group": group,
        "groups": SpecialGroup.choices,
        "results": results,
        "searched": searched,
    }
    return _private(render(request, "registry/search.html", context))


@login_required
@require_GET
def weekly_check(request: HttpRequest) -> HttpResponse:
    _require_access(request)
    building = None
    if request.GET.get("building", "").isdigit():
        building = selectors.building_get(user=request.user, pk=int(request.GET["building"]))
    households = selectors.due_households(user=request.user, building=building)
    context = {
        "households": households,
        "building": building,
        "buildings": selectors.check_buildings(user=request.user),
        "interval_days": selectors.CHECK_INTERVAL.days,
    }
    return _private(render(request, "registry/check.html", context))


def _check_url(building: str) -> str:
    url = reverse("registry:check")
    return f"{url}?building={building}" if building.isdigit() else url


@login_required
@require_POST
def check_unchanged(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get(user=request.user, pk=pk)
    try:
        household = actions.confirm_unchanged(actor=request.user, household_id=household.pk)
    except DomainError as exc:
        if request.headers.get("HX-Request"):
            return render(
                request, "registry/_check_row.html", {"h": household, "error": exc}, status=400
            )
        messages.error(request, exc.message)
    else:
        if request.headers.get("HX-Request"):
            return render(request, "registry/_check_row.html", {"h": household, "done": True})
        messages.success(request, _("%(h)s 已核实：无变化") % {"h": household})
    return redirect(_check_url(request.POST.get("building", "")))


@login_required
@require_http_methods(["GET", "POST"])
def check_change(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get(user=request.user, pk=pk)
    form = ChangeForm(request.POST or None, initial={"tenure": ""})
    error: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            actions.record_change(
                actor=request.user,
                household_id=household.pk,
                note=form.cleaned_data["note"],
                tenure=form.cleaned_data["tenure"] or None,
                floor_area_m2=form.cleaned_data["floor_area_m2"],
            )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("%(h)s 的变化已记录") % {"h": household})
            return redirect("registry:check")
    context = {"household": household, "form": form, "error": error}
    return _private(render(request, "registry/change.html", context))


@login_required
@require_GET
def freshness(request: HttpRequest) -> HttpResponse:
    _require_access(request)
    level = Level.COMMUNITY if request.GET.get("level") == Level.COMMUNITY else Level.GRID
    rows = selectors.freshness_report(user=request.user, level=level)
    context = {
        "rows": rows,
        "level": level,
        "total": sum(r.households for r in rows),
        "stale": sum(r.stale for r in rows),
        "interval_days": selectors.CHECK_INTERVAL.days,
    }
    return _private(render(request, "registry/freshness.html", context))


@login_required
@require_GET
def audits(request: HttpRequest) -> HttpResponse:
    if not selectors.can_list_audits(request.user):
        raise DjangoPermissionDenied
    rows = selectors.audit_list(user=request.user).select_related("user")[:500]
    return _private(render(request, "registry/audits.html", {"audits": rows}))
