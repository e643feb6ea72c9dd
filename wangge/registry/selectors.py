"""Reads of the registry, always within the user's scope: a building, household or resident
outside every subtree the user holds a registry role in is a 404.

Roles (role × unit subtree, DOMAIN.md §2), kept to the minimum the work needs (PIPL):
- read: grid workers, community and street staff, leaders (read-only) and admins in their
  subtree; building heads only in the buildings they head;
- reveal a full ID or mobile number: community staff or above (see `can_reveal`);
- dispatchers and department handlers do not see the registry.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.accounts.scope import scope_of
from wangge.registry.models import AccessAudit, Household, Resident, ResidentTag
from wangge.registry.protection import ID_NUMBER, MOBILE, last4_lookup_digests, lookup_digests
from wangge.territory.models import Building, Level, OrgUnit

ID_OR_MOBILE_TAIL = re.compile(r"^[0-9]{3}[0-9X]$")
FULL_ID = re.compile(r"^[0-9]{17}[0-9X]$")
FULL_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")

READ_ROLES = frozenset(
    {
        Role.GRID_WORKER,
        Role.BUILDING_HEAD,
        Role.COMMUNITY_STAFF,
        Role.STREET_STAFF,
        Role.LEADER,
        Role.ADMIN,
    }
)
WRITE_ROLES = frozenset(
    {Role.GRID_WORKER, Role.BUILDING_HEAD, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN}
)
REVEAL_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN})
AUDIT_ROLES = frozenset({Role.ADMIN})
CHECK_INTERVAL = timedelta(days=7)


def _nothing() -> Q:
    return Q(pk__in=[])


def registry_q(user: Any, building: str = "") -> Q:
    """Q on rows whose building (reached through the `building` lookup prefix, e.g.
    "household__building__") the user may read in the registry."""
    scope = scope_of(user)
    if scope.is_superuser:
        return Q()
    prefix = f"{building}__" if building else ""
    parts: list[Q] = []
    for code, roles in scope.roles_by_code.items():
        if roles & (READ_ROLES - {Role.BUILDING_HEAD}):
            parts.append(Q(**{f"{prefix}grid__code__startswith": code}))
        elif Role.BUILDING_HEAD in roles:
            parts.append(
                Q(**{f"{prefix}grid__code__startswith": code, f"{prefix}building_head": user.pk})
            )
    return reduce(or_, parts) if parts else _nothing()


def registry_roles(user: Any, building: Building) -> frozenset[str]:
    """The registry roles `user` holds over `building` (a building head only over their own)."""
    scope = scope_of(user)
    if scope.is_superuser:
        return frozenset(Role.values)
    roles = set(scope.roles_at(building.grid.code) & READ_ROLES)
    if building.building_head_id != user.pk:
        roles.discard(Role.BUILDING_HEAD)
    return frozenset(roles)


def can_write(user: Any, building: Building) -> bool:
    scope = scope_of(user)
    roles = registry_roles(user, building)
    return bool(roles & WRITE_ROLES) and scope.can_act_on_code(building.grid.code)


def can_reveal(user: Any, building: Building) -> bool:
    return bool(registry_roles(user, building) & REVEAL_ROLES)


def has_registry_access(user: Any) -> bool:
    scope = scope_of(user)
    return scope.is_superuser or any(r & READ_ROLES for r in scope.roles_by_code.values())


# --- buildings and households --------------------------------------------------------------


def building_list(*, user: Any) -> QuerySet[Building]:
    return (
        Building.objects.filter(registry_q(user))
        .select_related("grid", "building_head")
        .order_by("grid__code", "name", "pk")
    )


def building_summaries(*, user: Any, now: datetime | None = None) -> QuerySet[Building]:
    """Buildings in scope with their household count and how many are due for the check."""
    cutoff = (now or timezone.now()) - CHECK_INTERVAL
    return building_list(user=user).annotate(
        registered=Count("households"),
        due=Count(
            "households",
            filter=Q(households__last_verified_at__isnull=True)
            | Q(households__last_verified_at__lt=cutoff),
        ),
    )


def building_get(*, user: Any, pk: int) -> Building:
    building = building_list(user=user).filter(pk=pk).first()
    if building is None:
        raise Http404("building not found")
    return building


def household_list(*, user: Any) -> QuerySet[Household]:
    return Household.objects.filter(registry_q(user, "building")).select_related(
        "building__grid", "unit"
    )


def household_get(*, user: Any, pk: int) -> Household:
    household = household_list(user=user).filter(pk=pk).first()
    if household is None:
        raise Http404("household not found")
    return household


def households_of_building(*, building: Building) -> list[Household]:
    """A building's households with their residents and tags (three queries, any size)."""
    residents = Resident.objects.order_by("pk").prefetch_related(
        Prefetch("tags", queryset=ResidentTag.objects.order_by("group"))
    )
    return list(
        Household.objects.filter(building=building)
        .select_related("unit")
        .prefetch_related(Prefetch("residents", queryset=residents))
        .order_by("unit__number", "room")
    )


# --- residents ------------------------------------------------------------------------------


def resident_list(*, user: Any) -> QuerySet[Resident]:
    return Resident.objects.filter(registry_q(user, "household__building")).select_related(
        "household__unit", "household__building__grid"
    )


def resident_get(*, user: Any, pk: int) -> Resident:
    resident = (
        resident_list(user=user)
        .filter(pk=pk)
        .prefetch_related(Prefetch("tags", queryset=ResidentTag.objects.order_by("group")))
        .first()
    )
    if resident is None:
        raise Http404("resident not found")
    return resident


def resident_search(
    *, user: Any, query: str = "", group: str = "", limit: int = 100
) -> list[Resident]:
    """Residents in scope by name, address, tag, a full ID or mobile number (exact, through the
    keyed digest) or the last four characters of either. Identifiers are never compared in clear."""
    qs = resident_list(user=user)
    text = query.strip()
    query = text.upper()
    if group:
        qs = qs.filter(tags__group=group)
    if query:
        if ID_OR_MOBILE_TAIL.match(query):
            qs = qs.filter(
                Q(id_number_last4_digest__in=last4_lookup_digests(query, purpose=ID_NUMBER))
                | Q(mobile_last4_digest__in=last4_lookup_digests(query, purpose=MOBILE))
            )
        elif FULL_ID.match(query):
            qs = qs.filter(id_number_digest__in=lookup_digests(query, purpose=ID_NUMBER))
        elif FULL_MOBILE.match(query):
            qs = qs.filter(mobile_digest__in=lookup_digests(query, purpose=MOBILE))
        else:
            qs = qs.filter(
                Q(name__contains=query) | Q(household__building__address__contains=query)
            )
    return list(
        qs.distinct()
        .prefetch_related(Prefetch("tags", queryset=ResidentTag.objects.order_by("group")))
        .order_by("household__building_id", "household__unit__number", "household__room", "pk")[
            :limit
        ]
    )


# --- the weekly check ----------------------------------------------------------------------


def stale_q(now: datetime | None = None, prefix: str = "") -> Q:
    cutoff = (now or timezone.now()) - CHECK_INTERVAL
    return Q(**{f"{prefix}last_verified_at__isnull": True}) | Q(
        **{f"{prefix}last_verified_at__lt": cutoff}
    )


def check_buildings(*, user: Any) -> QuerySet[Building]:
    """Buildings on the user's weekly-check page: those they head, else all they may write in."""
    headed = building_list(user=user).filter(building_head=user.pk)
    if headed.exists():
        return headed
    return building_list(user=user)


def due_households(
    *, user: Any, building: Building | None = None, now: datetime | None = None, limit: int = 200
) -> list[Household]:
    """Households due for the weekly check (never verified, or over 7 days ago), oldest first."""
    buildings = check_buildings(user=user)
    qs = household_list(user=user).filter(stale_q(now), building__in=buildings)
    if building is not None:
        qs = qs.filter(building=building)
    return list(
        qs.annotate(resident_count=Count("residents"))
        .order_by("last_verified_at", "building_id", "unit__number", "room")
        .select_related("building")[:limit]
    )


@dataclass(frozen=True)
class FreshnessRow:
    unit: OrgUnit
    households: int
    stale: int
    never: int

    @property
    def fresh(self) -> int:
        return self.households - self.stale

    @property
    def fresh_percent(self) -> int:
        return round(100 * self.fresh / self.households) if self.households else 0


def freshness_report(
    *, user: Any, level: str = Level.GRID, now: datetime | None = None
) -> list[FreshnessRow]:
    """Per grid (or community): households, how many are stale and never verified. One query."""
    length = 15 if level == Level.GRID else 12
    cutoff = (now or timezone.now()) - CHECK_INTERVAL
    rows = (
        household_list(user=user)
        .annotate(code=Substr("building__grid__code", 1, length))
        .values("code")
        .annotate(
            households=Count("id"),
            stale=Count(
                "id", filter=Q(last_verified_at__isnull=True) | Q(last_verified_at__lt=cutoff)
            ),
            never=Count("id", filter=Q(last_verified_at__isnull=True)),
        )
        .order_by("code")
    )
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[r["code"] for r in rows])}
    return [
        FreshnessRow(
            unit=units[r["code"]], households=r["households"], stale=r["stale"], never=r["never"]
        )
        for r in rows
        if r["code"] in units
    ]


# --- the access audit ----------------------------------------------------------------------


def can_list_audits(user: Any) -> bool:
    scope = scope_of(user)
    return scope.is_superuser or any(r & AUDIT_ROLES for r in scope.roles_by_code.values())


def audit_list(*, user: Any) -> QuerySet[AccessAudit]:
    """Reveals and exports in the subtrees where the user is an admin."""
    scope = scope_of(user)
    if scope.is_superuser:
        return AccessAudit.objects.all()
    codes = [code for code, roles in scope.roles_by_code.items() if roles & AUDIT_ROLES]
    if not codes:
        return AccessAudit.objects.none()
    return AccessAudit.objects.filter(reduce(or_, (Q(grid_code__startswith=c) for c in codes)))
