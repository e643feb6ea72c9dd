"""Reads of the territory, always within the user's scope (404 outside it)."""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.http import Http404

from wangge.accounts.models import Membership, Role
from wangge.accounts.scope import scope_of
from wangge.core.validators import mask_mobile
from wangge.territory.models import Building, Level, OrgUnit, ancestor_codes

GRID_LEVELS = (Level.GRID, Level.MICROGRID)


def unit_list(*, user: Any) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(scope_of(user).code_q("code"))


def unit_get(*, user: Any, code: str) -> OrgUnit:
    unit = unit_list(user=user).filter(code=code).select_related("parent").first()
    if unit is None:
        raise Http404("unit not found")
    return unit


def _with_counts(units: QuerySet[OrgUnit]) -> QuerySet[OrgUnit]:
    """Annotate what a tree node or a list row shows: number of children and of buildings."""
    return units.annotate(
        child_count=Count("children", distinct=True),
        building_count=Count("buildings", distinct=True),
    )


def scope_roots(*, user: Any) -> list[OrgUnit]:
    """The top units of the user's scope, for the tree's first level (with counts)."""
    scope = scope_of(user)
    if scope.is_superuser:
        roots = OrgUnit.objects.filter(parent__isnull=True)
    else:
        roots = OrgUnit.objects.filter(code__in=scope.territory_codes)
    return list(_with_counts(roots).order_by("code"))


def unit_children(*, user: Any, unit: OrgUnit) -> list[OrgUnit]:
    return list(_with_counts(unit_list(user=user).filter(parent=unit)).order_by("code"))


def unit_ancestors(*, unit: OrgUnit) -> list[OrgUnit]:
    """Every ancestor, root first. Names only: used for breadcrumbs, also on public pages."""
    return list(OrgUnit.objects.filter(code__in=ancestor_codes(unit.code)).order_by("code"))


@dataclass
class TreeNode:
    unit: OrgUnit
    # None: not loaded yet (the browser fetches it when the node is expanded).
    children: "list[TreeNode] | None" = None
    current: bool = False
    # The name without the parent's prefix: the tree already shows the parent.
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or self.unit.name

    @property
    def expanded(self) -> bool:
        return self.children is not None


def child_nodes(*, user: Any, unit: OrgUnit) -> list[TreeNode]:
    """The tree's next level under `unit` (children with counts, short labels)."""
    return [
        TreeNode(unit=child, label=short_name(child, unit.name))
        for child in unit_children(user=user, unit=unit)
    ]


def unit_tree(*, user: Any, unit: OrgUnit | None, roots: list[OrgUnit]) -> list[TreeNode]:
    """The tree's roots, with the path down to `unit` (and `unit` itself) expanded.

    One query for every level on the path at once, whatever the depth.
    """
    nodes = [TreeNode(unit=root, current=unit is not None and root.pk == unit.pk) for root in roots]
    if unit is None:
        return nodes
    scope = scope_of(user)
    path = [code for code in [*ancestor_codes(unit.code), unit.code] if scope.sees_code(code)]
    children_of: dict[int | None, list[OrgUnit]] = defaultdict(list)
    for child in _with_counts(unit_list(user=user).filter(parent__code__in=path)).order_by("code"):
        children_of[child.parent_id].append(child)
    level = nodes
    for code in path:
        node = next((n for n in level if n.unit.code == code), None)
        if node is None:
            break
        node.children = [
            TreeNode(
                unit=child,
                current=child.pk == unit.pk,
                label=short_name(child, node.unit.name),
            )
            for child in children_of.get(node.unit.pk, [])
        ]
        level = node.children
    return nodes


def short_name(unit: OrgUnit, parent_name: str | None) -> str:
    """第1街道第1社区第1网格 under 第1街道第1社区 → 第1网格 (map labels are small)."""
    if parent_name and unit.name.startswith(parent_name) and len(unit.name) > len(parent_name):
        return unit.name[len(parent_name) :]
    return unit.name


def _feature(unit: OrgUnit, parent_name: str | None) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": unit.boundary,
        "properties": {
            "code": unit.code,
            "name": unit.name,
            "label": short_name(unit, parent_name),
            "level": unit.level,
        },
    }


def _building_features(buildings: Any) -> list[dict[str, Any]]:
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
            "properties": {"name": b.name, "label": b.address, "kind": "building"},
        }
        for b in buildings
    ]


def boundary_features(*, user: Any, unit: OrgUnit, level: str | None = None) -> dict[str, Any]:
    """The map of a unit page: its children's boundaries (or all its grids with level=grid).

    A unit with no children shows its own boundary and, for a grid, its buildings.
    """
    if level == Level.GRID:
        units = grid_list_within(user=user, unit=unit)
    else:
        units = unit_list(user=user).filter(parent=unit)
    rows = units.exclude(boundary__isnull=True).only("code", "name", "level", "boundary")
    features = [_feature(u, unit.name) for u in rows]
    if not features and unit.boundary:
        features = [_feature(unit, None)]
    if unit.level in GRID_LEVELS:
        buildings = (
            building_list(user=user)
            .filter(grid=unit)
            .select_related(None)
            .only("name", "address", "lon", "lat")
        )
        features += _building_features(buildings)
    return {"type": "FeatureCollection", "features": features}


def grid_list_within(*, user: Any, unit: OrgUnit) -> QuerySet[OrgUnit]:
    return unit_list(user=user).filter(code__codeprefix=unit.code, level=Level.GRID)


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
        OrgUnit.objects.filter(code=code, level__in=GRID_LEVELS)
        .select_related("parent__parent")
        .first()
    )
    if grid is None:
        raise Http404("grid not found")
    return grid


@dataclass(frozen=True)
class Contact:
    """A person on a public card. `phone` is their public work number (公示电话) if they have
    one, else their mobile, masked unless the viewer's scope covers the grid; `tel` (for a
    tap-to-call link) is set only when the full number may be shown."""

    name: str
    phone: str
    tel: str | None

    @property
    def masked(self) -> bool:
        return self.tel is None and self.phone != "—"


def _tel(number: str) -> str:
    """A tap-to-call target: 010-65123456-801 → 01065123456,801 (the comma waits, then dials
    the extension)."""
    parts = number.split("-")
    if len(parts) == 3:
        return f"{parts[0]}{parts[1]},{parts[2]}"
    return "".join(parts)


def _contact(person: Any, *, full: bool) -> Contact:
    if person.public_phone:
        # Published by its owner's administrator to be called: in full, for everyone.
        return Contact(name=str(person), phone=person.public_phone, tel=_tel(person.public_phone))
    mobile = person.mobile or ""
    return Contact(
        name=str(person),
        phone=(mobile if full else mask_mobile(mobile)) or "—",
        tel=mobile if full and mobile else None,
    )


@dataclass(frozen=True)
class CardBuilding:
    name: str
    address: str
    floors: int
    household_count: int
    head: Contact | None


@dataclass(frozen=True)
class GridCard:
    grid: OrgUnit
    ancestors: list[OrgUnit]
    workers: list[Contact]
    buildings: list[CardBuilding]
    full_contacts: bool
    map_data: dict[str, Any] = field(default_factory=dict)

    @property
    def any_masked(self) -> bool:
        heads = [b.head for b in self.buildings if b.head is not None]
        return any(c.masked for c in [*self.workers, *heads])

    def ancestor(self, level: str) -> OrgUnit | None:
        return next((a for a in self.ancestors if a.level == level), None)

    @property
    def street(self) -> OrgUnit | None:
        return self.ancestor(Level.STREET)

    @property
    def community(self) -> OrgUnit | None:
        return self.ancestor(Level.COMMUNITY)


def public_grid_card(*, user: Any, code: str) -> GridCard:
    """The public card of a grid (挂牌公示): who is responsible and how to reach them.

    Phone numbers are masked (138****5678) unless the viewer's scope covers the grid; the full
    numbers never leave this function otherwise.
    """
    grid = public_grid_get(code=code)
    full = scope_of(user).sees_code(grid.code)
    memberships = (
        Membership.objects.filter(unit=grid, role=Role.GRID_WORKER)
        .select_related("user")
        .order_by("created_at", "pk")
    )
    buildings = list(grid.buildings.select_related("building_head").order_by("name", "address"))
    features: list[dict[str, Any]] = []
    if grid.boundary:
        features.append(_feature(grid, None))
    features += _building_features(buildings)
    return GridCard(
        grid=grid,
        ancestors=unit_ancestors(unit=grid),
        workers=[_contact(m.user, full=full) for m in memberships if m.user.is_active],
        buildings=[
            CardBuilding(
                name=b.name,
                address=b.address,
                floors=b.floors,
                household_count=b.household_count,
                head=_contact(b.building_head, full=full) if b.building_head else None,
            )
            for b in buildings
        ],
        full_contacts=full,
        map_data={"type": "FeatureCollection", "features": features},
    )


@dataclass(frozen=True)
class ScopeSummary:
    unit: OrgUnit
    counts: dict[str, int]


def scope_summaries(*, user: Any, roots: list[OrgUnit]) -> list[ScopeSummary]:
    """Counts under each root (streets, communities, grids, buildings) for the home page.

    Two queries per distinct code length among the roots (at most five), not per root.
    """
    scope = scope_of(user)
    by_length: dict[int, list[str]] = defaultdict(list)
    for root in roots:
        by_length[len(root.code)].append(root.code)
    counts: dict[str, dict[str, int]] = {root.code: {"building": 0} for root in roots}
    for length, codes in by_length.items():
        under = reduce(or_, (Q(code__codeprefix=c) for c in codes))
        rows = (
            OrgUnit.objects.filter(scope.code_q("code"), under)
            .exclude(code__in=codes)
            .annotate(root=Substr("code", 1, length))
            .values("root", "level")
            .annotate(n=Count("id"))
        )
        for row in rows:
            counts[row["root"]][row["level"]] = row["n"]
        in_grids = reduce(or_, (Q(grid__code__codeprefix=c) for c in codes))
        building_rows = (
            Building.objects.filter(scope.code_q("grid__code"), in_grids)
            .annotate(root=Substr("grid__code", 1, length))
            .values("root")
            .annotate(n=Count("id"))
        )
        for building_row in building_rows:
            counts[building_row["root"]]["building"] = building_row["n"]
    return [ScopeSummary(unit=root, counts=counts[root.code]) for root in roots]


def subtree_counts(*, user: Any, unit: OrgUnit) -> dict[str, int]:
    scope = scope_of(user)
    rows = (
        OrgUnit.objects.filter(scope.code_q("code"), code__codeprefix=unit.code)
        .exclude(pk=unit.pk)
        .values("level")
        .annotate(n=Count("id"))
    )
    counts = {row["level"]: row["n"] for row in rows}
    counts["building"] = building_list(user=user).filter(grid__code__codeprefix=unit.code).count()
    return counts
