"""Territory pages: the tree + map browser and the public grid card (挂牌公示). Views only parse
and delegate to selectors."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from wangge.accounts.scope import scope_of
from wangge.territory import selectors
from wangge.territory.models import OrgUnit


def _wants_fragment(request: HttpRequest) -> bool:
    """An htmx request for the panel only; a history restore needs the whole page."""
    return bool(
        request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    )


def _panel_context(request: HttpRequest, unit: OrgUnit) -> dict[str, Any]:
    ancestors = selectors.unit_ancestors(unit=unit)
    context: dict[str, Any] = {
        "unit": unit,
        "ancestors": ancestors,
        # Ancestors above the user's own units are named, not linked: their pages are 404.
        "linked_codes": {a.code for a in ancestors if scope_of(request.user).sees_code(a.code)},
        "children": selectors.unit_children(user=request.user, unit=unit),
        "counts": selectors.subtree_counts(user=request.user, unit=unit),
        "is_grid": unit.level in selectors.GRID_LEVELS,
        "area_km2": unit.area_m2 / 1_000_000 if unit.area_m2 else None,
    }
    if context["is_grid"]:
        # 户数: the households registered in the registry (kept fresh by building heads), not
        # the design count typed when the building was created.
        context["buildings"] = (
            selectors.building_list(user=request.user)
            .filter(grid=unit)
            .annotate(registered=Count("households"))[:200]
        )
    return context


@login_required
@require_GET
def browser(request: HttpRequest) -> HttpResponse:
    roots = selectors.scope_roots(user=request.user)
    unit = roots[0] if len(roots) == 1 else None
    context: dict[str, Any] = _panel_context(request, unit) if unit else {"unit": None}
    context["tree"] = selectors.unit_tree(user=request.user, unit=unit, roots=roots)
    return render(request, "territory/browser.html", context)


@login_required
@require_GET
def unit_detail(request: HttpRequest, code: str) -> HttpResponse:
    unit = selectors.unit_get(user=request.user, code=code)
    context = _panel_context(request, unit)
    if _wants_fragment(request):
        context["fragment"] = True
        response = render(request, "territory/_unit_panel.html", context)
    else:
        roots = selectors.scope_roots(user=request.user)
        context["tree"] = selectors.unit_tree(user=request.user, unit=unit, roots=roots)
        response = render(request, "territory/browser.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def unit_children(request: HttpRequest, code: str) -> HttpResponse:
    """The tree's next level under a unit (an htmx fragment)."""
    unit = selectors.unit_get(user=request.user, code=code)
    nodes = selectors.child_nodes(user=request.user, unit=unit)
    return render(request, "territory/_children.html", {"unit": unit, "nodes": nodes})


@login_required
@require_GET
def grids_geojson(request: HttpRequest, code: str) -> JsonResponse:
    """Boundaries of the unit's children (or its grids, with ?level=grid) as a FeatureCollection."""
    unit = selectors.unit_get(user=request.user, code=code)
    data = selectors.boundary_features(
        user=request.user, unit=unit, level=request.GET.get("level") or None
    )
    return JsonResponse(data, content_type="application/geo+json")


@require_GET
def grid_card(request: HttpRequest, code: str) -> HttpResponse:
    card = selectors.public_grid_card(user=request.user, code=code)
    response = render(request, "territory/grid_card.html", {"card": card, "grid": card.grid})
    # The same URL shows full or masked numbers depending on who asks: never cache it shared.
    response["Cache-Control"] = "private, no-cache"
    return response
