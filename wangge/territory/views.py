"""Territory pages: the tree + map browser and the public grid card (挂牌公示). Views only parse
and delegate to selectors."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from wangge.accounts.scope import scope_of
from wangge.territory import selectors
from wangge.territory.models import Level, OrgUnit


def _tree_context(request: HttpRequest, unit: OrgUnit | None) -> dict[str, Any]:
    roots = selectors.scope_roots(user=request.user)
    return {
        "roots": roots,
        "unit": unit,
        "ancestors": selectors.unit_ancestors(unit=unit) if unit else [],
        "children": selectors.unit_children(user=request.user, unit=unit) if unit else [],
    }


@login_required
@require_GET
def browser(request: HttpRequest) -> HttpResponse:
    roots = selectors.scope_roots(user=request.user)
    unit = roots[0] if len(roots) == 1 else None
    return render(request, "territory/browser.html", _tree_context(request, unit))


@login_required
@require_GET
def unit_detail(request: HttpRequest, code: str) -> HttpResponse:
    unit = selectors.unit_get(user=request.user, code=code)
    context = _tree_context(request, unit)
    context["counts"] = selectors.subtree_counts(user=request.user, unit=unit)
    if unit.level in (Level.GRID, Level.MICROGRID):
        context["buildings"] = selectors.building_list(user=request.user).filter(grid=unit)[:200]
    template = (
        "territory/_unit_panel.html"
        if request.headers.get("HX-Request")
        else "territory/browser.html"
    )
    return render(request, template, context)


@login_required
@require_GET
def unit_children(request: HttpRequest, code: str) -> HttpResponse:
    unit = selectors.unit_get(user=request.user, code=code)
    children = selectors.unit_children(user=request.user, unit=unit)
    return render(request, "territory/_children.html", {"unit": unit, "children": children})


@login_required
@require_GET
def grids_geojson(request: HttpRequest, code: str) -> JsonResponse:
    """Boundaries of the unit's children (or its grids, with ?level=grid) as a FeatureCollection."""
    unit = selectors.unit_get(user=request.user, code=code)
    if request.GET.get("level") == Level.GRID:
        units = selectors.grid_list_within(user=request.user, unit=unit)
    else:
        units = selectors.unit_list(user=request.user).filter(parent=unit)
    features = [
        {
            "type": "Feature",
            "geometry": u.boundary,
            "properties": {"code": u.code, "name": u.name, "level": u.level},
        }
        for u in units.exclude(boundary__isnull=True).only("code", "name", "level", "boundary")
    ]
    if not features and unit.boundary:
        features = [
            {
                "type": "Feature",
                "geometry": unit.boundary,
                "properties": {"code": unit.code, "name": unit.name, "level": unit.level},
            }
        ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


@require_GET
def grid_card(request: HttpRequest, code: str) -> HttpResponse:
    grid = selectors.public_grid_get(code=code)
    full_contacts = scope_of(request.user).sees_code(grid.code)
    workers = grid.memberships.filter(role="grid_worker").select_related("user")
    buildings = grid.buildings.select_related("building_head").order_by("name")
    context = {
        "grid": grid,
        "ancestors": selectors.unit_ancestors(unit=grid),
        "workers": [m.user for m in workers],
        "buildings": buildings,
        "full_contacts": full_contacts,
    }
    return render(request, "territory/grid_card.html", context)
