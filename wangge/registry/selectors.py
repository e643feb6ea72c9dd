"""Reads of the registry, always within the user's scope: a building, household or resident
outside every subtree the user holds a registry role in is a 404.

Roles (role × unit subtree, DOMAIN.md §2), kept to the minimum the work needs (PIPL):
- read: grid workers, community and street staff, leaders (read-only) and admins in their
  subtree; building heads only in the buildings they head;
- reveal a full ID or mobile number: community staff or above (see `can_reveal`);
- dispatchers and department handlers do not see the registry.
"""

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Role
from wangge.accounts.scope import scope_of
from wangge.registry.models import (
    AccessAudit,
    ChangeKind,
    Household,
    PartyMemberLink,
    PoliticalStatus,
    Resident,
    ResidentChange,
    ResidentTag,
    Visit,
)
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
            parts.append(Q(**{f"{prefix}grid__code__codeprefix": code}))
        elif Role.BUILDING_HEAD in roles:
            parts.append(
                Q(**{f"{prefix}grid__code__codeprefix": code, f"{prefix}building_head": user.pk})
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


def holds_role(user: Any, roles: AbstractSet[str], *, acting: bool = False) -> bool:
    """Whether the user holds one of `roles` somewhere (a superuser always); with `acting`,
    somewhere they may act (not only a read-only view of a unit)."""
    scope = scope_of(user)
    return scope.is_superuser or any(
        held & roles and (not acting or scope.can_act_on_code(code))
        for code, held in scope.roles_by_code.items()
    )


def has_registry_access(user: Any) -> bool:
    return holds_role(user, READ_ROLES)


def can_import(user: Any) -> bool:
    """Whether the user may import ledgers: a registry writer somewhere they may act."""
    return holds_role(user, WRITE_ROLES, acting=True)


def can_export_full(user: Any) -> bool:
    """Whether the user may export ledgers unmasked."""
    return holds_role(user, REVEAL_ROLES)


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
    """Residents in scope by name (its beginning: a surname or a full name), address, tag, a full
    ID or mobile number (exact, through the keyed digest) or the last four characters of either.
    Identifiers are never compared in clear. At most `limit`, shown by address.

    Each kind of query picks its ids with an index and LIMIT (a million residents: bench/
    registry_search.py), then one query loads those rows; a name query does not also scan every
    address, it asks the small building table which buildings match."""
    text = query.strip()
    query = text.upper()
    buildings = _scope_buildings(user)
    base = Resident.objects.filter(_search_scope(user, buildings)).order_by()
    if group:
        tags = ResidentTag.objects.filter(group=group)
        if buildings is not None:
            # One range of the (group, building, resident) index: only the tags in scope, not
            # every tag of the group in the district checked against its resident's household.
            tags = tags.filter(building_id__in=buildings)
        base = base.filter(pk__in=tags.values("resident_id"))
    if not query:
        ids = _ids(base.order_by("pk"), limit)
    elif ID_OR_MOBILE_TAIL.match(query):
        ids = _ids(
            base.filter(
                Q(id_number_last4_digest__in=last4_lookup_digests(query, purpose=ID_NUMBER))
                | Q(mobile_last4_digest__in=last4_lookup_digests(query, purpose=MOBILE))
            ).order_by("pk"),
            limit,
        )
    elif FULL_ID.match(query):
        # "Not blank" repeats the unique index's condition so the database may use that index.
        ids = _ids(
            base.filter(id_number_digest__in=lookup_digests(query, purpose=ID_NUMBER)).exclude(
                id_number_digest=""
            ),
            limit,
        )
    elif FULL_MOBILE.match(query):
        ids = _ids(base.filter(mobile_digest__in=lookup_digests(query, purpose=MOBILE)), limit)
    else:
        ids = _ids(_name_starts_with(base, text), limit)
        if len(ids) < limit:
            # The matching buildings first (a small table), then their residents: a join from
            # the residents' side would walk every household checking its address.
            buildings = list(
                Building.objects.filter(registry_q(user), address__contains=text)
                .order_by("pk")
                .values_list("pk", flat=True)[:limit]
            )
            if buildings:
                more = (
                    base.filter(household__building_id__in=buildings)
                    .exclude(pk__in=ids)
                    .order_by("household__building_id", "household_id", "pk")
                )
                ids += _ids(more, limit - len(ids))
    found = (
        # Not the grid: its boundary (GeoJSON) would be parsed for every row shown.
        Resident.objects.filter(pk__in=ids)
        .select_related("household__unit", "household__building")
        .only(
            "name",
            "id_number_masked",
            "mobile_masked",
            "household__room",
            "household__unit__number",
            "household__building__address",
        )
        .prefetch_related(Prefetch("tags", queryset=ResidentTag.objects.order_by("group")))
    )
    return sorted(
        found,
        key=lambda r: (r.household.building_id, r.household.unit.number, r.household.room, r.pk),
    )


# Up to this many buildings in scope, a search names them instead of joining every candidate
# row to its building and grid to compare the grid's code (a community has a few hundred).
SCOPE_AS_BUILDINGS = 2000


def _scope_buildings(user: Any) -> list[int] | None:
    """The ids of the buildings in the user's scope, or None when there are too many to name."""
    buildings = list(
        building_list(user=user).order_by().values_list("pk", flat=True)[: SCOPE_AS_BUILDINGS + 1]
    )
    return buildings if len(buildings) <= SCOPE_AS_BUILDINGS else None


def _search_scope(user: Any, buildings: list[int] | None) -> Q:
    if buildings is not None:
        return Q(household__building_id__in=buildings)
    return registry_q(user, "household__building")


def _ids(qs: QuerySet[Resident], limit: int) -> list[int]:
    return list(qs.values_list("pk", flat=True)[:limit])


def _name_starts_with(qs: QuerySet[Resident], text: str) -> QuerySet[Resident]:
    """Names beginning with `text`, through the index on name. PostgreSQL: LIKE 'text%' on the
    pattern index Django adds beside it, in index order (no sort of every 王 in the district).
    SQLite's LIKE ignores a case-sensitive index, so there a range on the name does the same."""
    if connection.vendor == "sqlite":
        return qs.filter(name__gte=text, name__lt=text + "\U0010ffff").order_by("name", "pk")
    return qs.filter(name__startswith=text)


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


def _due_qs(*, user: Any, building: Building | None, now: datetime | None) -> QuerySet[Household]:
    buildings = check_buildings(user=user)
    qs = household_list(user=user).filter(stale_q(now), building__in=buildings)
    return qs.filter(building=building) if building is not None else qs


# How many due households the weekly check lists at once (the oldest-checked first).
DUE_LIST_LIMIT = 200


def due_households(
    *,
    user: Any,
    building: Building | None = None,
    now: datetime | None = None,
    limit: int = DUE_LIST_LIMIT,
) -> list[Household]:
    """Households due for the weekly check (never verified, or over 7 days ago), oldest first;
    the first `limit` of them (`due_household_count` says how many there are)."""
    return list(
        _due_qs(user=user, building=building, now=now)
        .annotate(resident_count=Count("residents"))
        .order_by("last_verified_at", "building_id", "unit__number", "room")
        .select_related("building")[:limit]
    )


def due_household_count(
    *, user: Any, building: Building | None = None, now: datetime | None = None
) -> int:
    """How many households are due for the weekly check (all of them, not only those listed)."""
    return _due_qs(user=user, building=building, now=now).count()


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
    return holds_role(user, AUDIT_ROLES)


def audit_list(*, user: Any) -> QuerySet[AccessAudit]:
    """Reveals and exports in the subtrees where the user is an admin."""
    scope = scope_of(user)
    if scope.is_superuser:
        return AccessAudit.objects.all()
    codes = [code for code, roles in scope.roles_by_code.items() if roles & AUDIT_ROLES]
    if not codes:
        return AccessAudit.objects.none()
    return AccessAudit.objects.filter(reduce(or_, (Q(grid_code__codeprefix=c) for c in codes)))


# --- 联户: party members and the households they keep in touch with ----------------------------

ID_NUMBER_LABEL = _("身份证号")
MOBILE_LABEL = _("手机号")
PARTY_STATUSES = (PoliticalStatus.PARTY_MEMBER, PoliticalStatus.PROBATIONARY_MEMBER)
# Pairing party members with households is the community's work (社区党委): community staff
# and above; everyone who reads the registry sees the pairs.
LINK_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN})


def community_code(building: Building) -> str:
    return building.grid.code[:12]


def can_manage_links(user: Any, building: Building) -> bool:
    scope = scope_of(user)
    return bool(registry_roles(user, building) & LINK_ROLES) and scope.can_act_on_code(
        building.grid.code
    )


def has_link_management(user: Any) -> bool:
    return holds_role(user, LINK_ROLES)


def party_member_list(*, user: Any) -> QuerySet[Resident]:
    """Party members (and probationary members) in scope, each with how many households they
    keep in touch with, by address."""
    return (
        resident_list(user=user)
        .filter(political_status__in=PARTY_STATUSES)
        .annotate(link_count=Count("member_links"))
        .order_by(
            "household__building__grid__code",
            "household__building_id",
            "household__unit__number",
            "household__room",
            "pk",
        )
    )


def party_member_get(*, user: Any, pk: int) -> Resident:
    member = party_member_list(user=user).filter(pk=pk).first()
    if member is None:
        raise Http404("party member not found")
    return member


def member_links(*, member: Resident) -> list[PartyMemberLink]:
    heads = Resident.objects.filter(relation_to_head="head").order_by("pk")
    return list(
        PartyMemberLink.objects.filter(member=member)
        .select_related("household__unit", "household__building")
        .prefetch_related(Prefetch("household__residents", queryset=heads, to_attr="heads"))
        .order_by("household__building_id", "household__unit__number", "household__room")
    )


def link_buildings(*, user: Any, member: Resident) -> QuerySet[Building]:
    """Buildings of the member's community that the user sees: where households may be picked."""
    code = community_code(member.household.building)
    return building_list(user=user).filter(grid__code__codeprefix=code)


def link_candidates(*, member: Resident, building: Building) -> list[Household]:
    """A building's households, each marked whether `member` already keeps in touch with it and
    how many party members do."""
    mine = PartyMemberLink.objects.filter(member=member, household=OuterRef("pk"))
    return list(
        Household.objects.filter(building=building)
        .select_related("unit")
        .annotate(is_linked=Exists(mine), member_count=Count("party_links"))
        .order_by("unit__number", "room")
    )


def household_links(*, household: Household) -> list[PartyMemberLink]:
    return list(
        PartyMemberLink.objects.filter(household=household)
        .select_related("member__household__unit", "member__household__building")
        .order_by("member__name", "pk")
    )


# --- a household's page ----------------------------------------------------------------------


def household_detail(*, user: Any, pk: int) -> Household:
    """A household in scope with its residents and their tags."""
    residents = Resident.objects.order_by("pk").prefetch_related(
        Prefetch("tags", queryset=ResidentTag.objects.order_by("group"))
    )
    household = (
        household_list(user=user)
        .filter(pk=pk)
        .prefetch_related(Prefetch("residents", queryset=residents))
        .first()
    )
    if household is None:
        raise Http404("household not found")
    return household


def household_moves(*, household: Household, limit: int = 50) -> list[ResidentChange]:
    """Who moved into or out of the household, newest first."""
    return list(
        ResidentChange.objects.filter(kind=ChangeKind.MOVE)
        .filter(Q(from_household=household) | Q(to_household=household))
        .select_related("from_household__unit", "to_household__unit")
        .order_by("-created_at", "-pk")[:limit]
    )


def resident_changes(*, resident: Resident, limit: int = 50) -> list[ResidentChange]:
    return list(
        ResidentChange.objects.filter(resident=resident)
        .select_related(
            "from_household__unit",
            "from_household__building",
            "to_household__unit",
            "to_household__building",
        )
        .order_by("-created_at", "-pk")[:limit]
    )


def last_move_in(*, resident: Resident) -> date | None:
    found: date | None = (
        ResidentChange.objects.filter(resident=resident, kind=ChangeKind.MOVE)
        .order_by("-moved_in_on", "-pk")
        .values_list("moved_in_on", flat=True)
        .first()
    )
    return found


def describe_changes(change: ResidentChange) -> list[tuple[str, str, str]]:
    """(field label, before, after) of an edit, with choice values shown by their labels."""
    rows: list[tuple[str, str, str]] = []
    fields = {f.name: f for f in Resident._meta.get_fields() if hasattr(f, "verbose_name")}
    labels = {"id_number": ID_NUMBER_LABEL, "mobile": MOBILE_LABEL}
    for name, pair in (change.changes or {}).items():
        before, after = [*pair, "", ""][:2] if isinstance(pair, list) else ("", "")
        field = fields.get(name)
        label = labels.get(name) or (str(field.verbose_name) if field is not None else name)
        choices = dict(getattr(field, "choices", None) or [])
        rows.append((str(label), str(choices.get(before, before)), str(choices.get(after, after))))
    return rows


def move_buildings(
    *, user: Any, resident: Resident, query: str = "", limit: int = 30
) -> list[Building]:
    """Buildings a resident may be moved into by `user`: the same grid by default, or those whose
    address contains `query`; only where the user may write."""
    qs = building_list(user=user)
    query = query.strip()
    if query:
        qs = qs.filter(address__contains=query)
    else:
        qs = qs.filter(grid_id=resident.household.building.grid_id)
    return [b for b in qs[: limit * 2] if can_write(user, b)][:limit]


def move_households(*, building: Building) -> list[Household]:
    return list(Household.objects.filter(building=building).select_related("unit"))


# --- 民情走访: visits and their monthly coverage ----------------------------------------------


def visit_list(*, user: Any) -> QuerySet[Visit]:
    return Visit.objects.filter(registry_q(user, "household__building")).select_related(
        "household__unit", "household__building__grid", "visited_by", "case"
    )


def visit_get(*, user: Any, pk: int) -> Visit:
    visit = visit_list(user=user).filter(pk=pk).first()
    if visit is None:
        raise Http404("visit not found")
    return visit


def recent_visits(*, user: Any, mine: bool = False, limit: int = 100) -> list[Visit]:
    qs = visit_list(user=user)
    if mine:
        qs = qs.filter(visited_by=user.pk)
    return list(qs.order_by("-visited_at", "-pk")[:limit])


def household_visits(*, household: Household, limit: int = 20) -> list[Visit]:
    return list(
        Visit.objects.filter(household=household)
        .select_related("visited_by", "case")
        .order_by("-visited_at", "-pk")[:limit]
    )


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The first instant of `month` and of the next one, in the local time zone."""
    zone = timezone.get_current_timezone()
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=zone)
    return start, end


def special_households(*, user: Any, group: str = "") -> QuerySet[Household]:
    """Households in scope with at least one resident in a special group (or in `group`)."""
    tags = ResidentTag.objects.filter(resident__household=OuterRef("pk"))
    if group:
        tags = tags.filter(group=group)
    return household_list(user=user).filter(Exists(tags))


def _visited_in(month: date) -> Exists:
    start, end = month_bounds(month)
    return Exists(
        Visit.objects.filter(household=OuterRef("pk"), visited_at__gte=start, visited_at__lt=end)
    )


@dataclass(frozen=True)
class CoverageRow:
    unit: OrgUnit
    households: int
    visited: int

    @property
    def unvisited(self) -> int:
        return self.households - self.visited

    @property
    def percent(self) -> int:
        return round(100 * self.visited / self.households) if self.households else 0


def coverage_report(
    *, user: Any, month: date, level: str = Level.GRID, group: str = ""
) -> list[CoverageRow]:
    """Per grid (or community): special-group households and how many were visited in `month`.
    One query."""
    length = 15 if level == Level.GRID else 12
    rows = (
        special_households(user=user, group=group)
        .annotate(code=Substr("building__grid__code", 1, length), was_visited=_visited_in(month))
        .values("code")
        .annotate(households=Count("id"), visited=Count("id", filter=Q(was_visited=True)))
        .order_by("code")
    )
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[r["code"] for r in rows])}
    return [
        CoverageRow(unit=units[r["code"]], households=r["households"], visited=r["visited"])
        for r in rows
        if r["code"] in units
    ]


def coverage_households(
    *, user: Any, month: date, code: str, group: str = "", limit: int = 500
) -> list[Household]:
    """The special-group households under unit `code`, not yet visited in `month` first; each
    with `last_visit` (its latest visit that month, or None) and its tagged residents."""
    start, end = month_bounds(month)
    tagged = (
        Resident.objects.filter(tags__isnull=False)
        .distinct()
        .order_by("pk")
        .prefetch_related(Prefetch("tags", queryset=ResidentTag.objects.order_by("group")))
    )
    in_month = Q(visits__visited_at__gte=start, visits__visited_at__lt=end)
    return list(
        special_households(user=user, group=group)
        .filter(building__grid__code__codeprefix=code)
        .annotate(last_visit=Max("visits__visited_at", filter=in_month))
        .prefetch_related(Prefetch("residents", queryset=tagged, to_attr="tagged"))
        .order_by(
            F("last_visit").asc(nulls_first=True),
            "building__grid__code",
            "building_id",
            "unit__number",
            "room",
        )[:limit]
    )
