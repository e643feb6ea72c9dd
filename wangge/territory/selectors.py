"""Reads of the territory, always within the user's scope (404 outside it)."""

from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404

from wangge.accounts.scope import scope_of
from wangge.territory.models import Building, Level, OrgUnit


def unit_list(*, user: Any) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(scope_of(user).code_q("code"))


def unit_get(*, user: Any, code: str) -> OrgUnit:
    unit = unit_list(user=user).filter(code=code).select_related("parent").first()
    if unit is None:
        raise Http404("unit not found")
    return unit


def scope_roots(*, user: Any) -> list[OrgUnit]:
    """The top units of the user's scope, for the tree's first level."""
    scope = scope_of(user)
    if scope.is_superuser:
        return list(OrgUnit.objects.filter(parent__isnull=True).order_by("code"))
    return list(OrgUnit.objects.filter(code__in=scope.territory_codes).order_by("code"))


def unit_children(*, user: Any, unit: OrgUnit) -> list[OrgUnit]:
    return list(
        unit_list(user=user)
        .filter(parent=unit)
        .annotate(child_count=Count("children"))
        .order_by("code")
    )


def unit_ancestors(*, unit: OrgUnit) -> list[OrgUnit]:
    from wangge.territory.models import ancestor_codes

    return list(OrgUnit.objects.filter(code__in=ancestor_codes(unit.code)).order_by("code"))


def grid_list_within(*, user: Any, unit: OrgUnit) -> QuerySet[OrgUnit]:
    return unit_list(user=user).filter(code__startswith=unit.code, level=Level.GRID)


def building_list(*, user: Any) -> QuerySet[Building]:
    return Building.objects.filter(scope_of(user).code_q("grid__code")).select_related(
        "grid", "building_head"
    )


def building_get(*, user: Any, pk: int) -> Building:
    building = building_list(user=user).filter(pk=pk).first()
    if building is None:
        raise Http404("building not found")
    return building


def public_grid_get(*, code: str) -> OrgUnit:
    """The public grid card (挂牌公示) exists for every grid, logged in or not."""
    grid = (
        OrgUnit.objects.filter(code=code, level__in=[Level.GRID, Level.MICROGRID])
        .select_related("parent__parent")
        .first()
    )
    if grid is None:
        raise Http404("grid not found")
    return grid


def subtree_counts(*, user: Any, unit: OrgUnit) -> dict[str, int]:
    scope = scope_of(user)
    rows = (
        OrgUnit.objects.filter(scope.code_q("code"), code__startswith=unit.code)
        .exclude(pk=unit.pk)
        .values("level")
        .annotate(n=Count("id"))
    )
    counts = {row["level"]: row["n"] for row in rows}
    counts["building"] = building_list(user=user).filter(grid__code__startswith=unit.code).count()
    return counts
