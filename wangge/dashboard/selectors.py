"""Reads of the dashboard: counters, rates, breakdowns, trends and rankings within a user's scope.

Everything that counts cases by what happened to them is a SUM over rollup rows: whole months
from the month × community grain and the slices (by category, by source, per day), the days at
the edges of a period and grid-level scopes from the day × grid rows. Only 即将超时 and 已超时 (and
the unsigned cases past their response deadline, part of 响应率) come from the case table: they
change with the clock, with no transition to update a counter, so they are counted with the
indexed SLA query over open cases only, once per dashboard (see
docs/decisions/0004-dashboard-rollups.md).
"""

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache, reduce
from operator import or_
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.models import Role
from wangge.accounts.scope import Scope, scope_of
from wangge.cases.models import (
    OPEN_STATUS_LIST,
    UNSIGNED_STATUS_LIST,
    Case,
    Category,
    SlaStatus,
    Source,
    Status,
    clock_start,
)
from wangge.cases.selectors import OPEN_PARAM
from wangge.cases.sla import sla_q
from wangge.core.errors import DomainError
from wangge.core.sql import open_case_scan
from wangge.dashboard.counters import COMMUNITY_LENGTH
from wangge.dashboard.models import (
    COUNTERS,
    CaseRollup,
    CaseRollupMonth,
    CaseRollupSlice,
    Export,
    SliceKind,
)
from wangge.territory.models import Department, Level, OrgUnit, TerritoryState

NOT_DISPATCHED = 0
# Not building heads: their scope is their own buildings, and the dashboard counts whole units
# (its numbers would not match the lists they lead to, which show their own reports only).
DASHBOARD_ROLES = frozenset(Role.values) - {Role.RESIDENT, Role.VOLUNTEER, Role.BUILDING_HEAD}


@dataclass(frozen=True)
class Period:
    scope_code: str = ""
    department_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def may_view(user: Any) -> bool:
    scope = scope_of(user)
    return scope.is_superuser or bool(scope.roles & DASHBOARD_ROLES and not scope.is_empty)


def one_row(rows: QuerySet[Any], **aggregates: Any) -> dict[str, Any]:
    """`rows.aggregate(**aggregates)`, as the same single SELECT without GROUP BY: Django's
    aggregate() spends 2–3 ms of Python per call preparing it (measured at 10M cases on the
    summary's reads), more than PostgreSQL takes to answer; the summary makes four."""
    found = list(rows.order_by().annotate(one=Value(1)).values("one").annotate(**aggregates))
    return found[0] if found else dict.fromkeys(aggregates)


def _prefix_q(lookup: str, codes: tuple[str, ...] | list[str]) -> Q:
    if not codes:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{lookup}__codeprefix": c}) for c in codes))


def _scope_q(scope: Scope, *, department_field: str, code_field: str = "grid_code") -> Q:
    """Territory subtrees the user holds, plus the cases their departments lead."""
    if scope.is_superuser:
        return Q()
    q = _prefix_q(code_field, scope.unit_codes)
    if scope.department_ids:
        q |= Q(**{f"{department_field}__in": scope.department_ids})
    return q


def _filters_q(
    period: Period, *, department_field: str, day_field: str | None, code_field: str = "grid_code"
) -> Q:
    q = Q()
    if period.scope_code:
        q &= Q(**{f"{code_field}__codeprefix": period.scope_code})
    if period.department_id is not None:
        q &= Q(**{department_field: period.department_id})
    if day_field == "day":
        if period.date_from:
            q &= Q(day__gte=period.date_from)
        if period.date_to:
            q &= Q(day__lte=period.date_to)
    elif day_field == "created_at":
        tz = timezone.get_current_timezone()
        if period.date_from:
            q &= Q(created_at__gte=datetime.combine(period.date_from, time.min, tzinfo=tz))
        if period.date_to:
            q &= Q(
                created_at__lt=datetime.combine(
                    period.date_to + timedelta(days=1), time.min, tzinfo=tz
                )
            )
    return q


def rollups(*, user: Any, period: Period) -> QuerySet[CaseRollup]:
    """Day × grid rollup rows of the user's scope and the period."""
    scope = scope_of(user)
    return CaseRollup.objects.filter(
        _scope_q(scope, department_field="department_id"),
        _filters_q(period, department_field="department_id", day_field="day"),
    )


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def whole_months(
    date_from: date | None, date_to: date | None, today: date
) -> tuple[date | None, date] | None:
    """The first and last month (as first days; first None: from the beginning) lying wholly
    inside [date_from, date_to]; None when there is none. No case is received after today, so
    a range reaching today covers the current month."""
    first = None
    if date_from is not None:
        first = date_from if date_from.day == 1 else _next_month(date_from)
    if date_to is None or date_to >= today:
        last = _month_start(today)
    elif _next_month(date_to) - timedelta(days=1) == date_to:
        last = _month_start(date_to)
    else:
        last = _month_start(_month_start(date_to) - timedelta(days=1))
    if first is not None and last < first:
        return None
    return first, last


def whole_years(
    date_from: date | None, date_to: date | None, today: date
) -> tuple[date | None, date] | None:
    """As `whole_months`, for years (as their first days): a range reaching today covers the
    current year."""
    first = None
    if date_from is not None:
        first = date_from if date_from.timetuple().tm_yday == 1 else date(date_from.year + 1, 1, 1)
    if date_to is None or date_to >= today:
        last = date(today.year, 1, 1)
    elif (date_to.month, date_to.day) == (12, 31):
        last = date(date_to.year, 1, 1)
    else:
        last = date(date_to.year - 1, 1, 1)
    if first is not None and last < first:
        return None
    return first, last


@dataclass(frozen=True)
class Part:
    """Rollup rows to sum: day × grid rows, or month × community rows (`monthly`)."""

    rows: QuerySet[Any]
    monthly: bool

    @property
    def code_field(self) -> str:
        return "community_code" if self.monthly else "grid_code"


def _communities_or_larger(scope: Scope, period: Period) -> bool:
    codes = [*([period.scope_code] if period.scope_code else []), *scope.unit_codes]
    return not any(len(c) > COMMUNITY_LENGTH for c in codes)


def slices_serve(scope: Scope, period: Period) -> bool:
    """Whether CaseRollupSlice rows can count `period` for `scope`: they are cut by community
    and have no department, so not for a grid-level scope, a department filter or a scope
    that includes the cases a department leads."""
    return (
        _communities_or_larger(scope, period)
        and period.department_id is None
        and (scope.is_superuser or not scope.department_ids)
    )


def _slices(scope: Scope, period: Period, kind: str) -> QuerySet[CaseRollupSlice]:
    """The slices of `kind` in the scope and the period's unit (call only if `slices_serve`)."""
    rows = CaseRollupSlice.objects.filter(kind=kind)
    if not scope.is_superuser:
        rows = rows.filter(_prefix_q("community_code", scope.unit_codes))
    if period.scope_code:
        rows = rows.filter(community_code__codeprefix=period.scope_code)
    return rows


def rollup_parts(
    *,
    user: Any,
    period: Period,
    today: date | None = None,
    fine_only: bool = False,
    slice_kind: str | None = None,
    day_slices: bool = False,
) -> list[Part]:
    """The rollup rows counting the cases of `period`, as few as possible.

    Whole months of a scope no finer than communities are read from the month × community
    grain (or, with `slice_kind`, from the slices of that kind: by category or by source); the
    days at the edges of the range (and anything at grid level) from the day × grid grain.
    Summing the parts gives the same numbers as summing day rows only
    (docs/decisions/0004-dashboard-rollups.md).
    """
    scope = scope_of(user)
    fine = rollups(user=user, period=period)
    if fine_only or not _communities_or_larger(scope, period):
        return [Part(fine, False)]
    if slice_kind is not None and not slices_serve(scope, period):
        return [Part(fine, False)]
    today = today or timezone.localdate()
    months = whole_months(period.date_from, period.date_to, today)
    if months is None:
        return [Part(fine, False)]
    first, last = months
    coarse: QuerySet[Any]
    if slice_kind is not None:
        coarse = _slices(scope, period, slice_kind).filter(
            Q(start__lte=last) & (Q(start__gte=first) if first else Q())
        )
    else:
        coarse = CaseRollupMonth.objects.filter(
            _scope_q(scope, department_field="department_id", code_field="community_code"),
            _filters_q(
                Period(period.scope_code, period.department_id),
                department_field="department_id",
                day_field=None,
                code_field="community_code",
            ),
            Q(month__lte=last) & (Q(month__gte=first) if first else Q()),
        )
    parts = [Part(coarse, True)]
    years = whole_years(period.date_from, period.date_to, today)
    if slice_kind == SliceKind.CATEGORY and years is not None:
        # Whole years of the breakdown by category from the yearly slices (at 80 communities
        # × 45 sub-categories, 3,600 rows a year instead of 43,000), the other months as above.
        first_year, last_year = years
        after_years = date(last_year.year + 1, 1, 1)
        in_years = Q(start__lt=after_years) & (Q(start__gte=first_year) if first_year else Q())
        parts = [Part(_slices(scope, period, SliceKind.CATEGORY_YEAR).filter(in_years), True)]
        # The whole months outside those years (none when the years cover them all).
        other_months = []
        if first_year is not None and (first is None or first < first_year):
            other_months.append(Q(start__lt=first_year) & (Q(start__gte=first) if first else Q()))
        if after_years <= last:
            other_months.append(Q(start__gte=after_years, start__lte=last))
        if other_months:
            monthly = _slices(scope, period, slice_kind).filter(reduce(or_, other_months))
            parts.append(Part(monthly, True))
    # The days at the edges: from the day slices (days × communities) when they can count them
    # (`day_slices`: callers that need no department or category), else the day × grid rows.
    by_slice = day_slices and slice_kind is None and slices_serve(scope, period)
    day = "start" if by_slice else "day"
    edges = Q()
    if period.date_from and first and period.date_from < first:
        edges |= Q(**{f"{day}__lt": first})
    after = _next_month(last)
    if period.date_to and period.date_to >= after:
        edges |= Q(**{f"{day}__gte": after})
    if edges and by_slice:
        # _slices restricts to the scope's communities; the period's own dates are `edges`
        # within the range the caller asked for.
        inside = Q(start__gte=period.date_from) if period.date_from else Q()
        if period.date_to:
            inside &= Q(start__lte=period.date_to)
        parts.append(Part(_slices(scope, period, SliceKind.DAY).filter(edges, inside), True))
    elif edges:
        parts.append(Part(fine.filter(edges), False))
    return parts


def scoped_cases(*, user: Any, period: Period) -> QuerySet[Case]:
    """The cases of the user's scope and the period, in any state."""
    scope = scope_of(user)
    return Case.objects.filter(
        _scope_q(scope, department_field="lead_department_id"),
        _filters_q(period, department_field="lead_department_id", day_field="created_at"),
    )


def open_cases(*, user: Any, period: Period) -> QuerySet[Case]:
    return scoped_cases(user=user, period=period).filter(status__in=OPEN_STATUS_LIST)


def _late_unsigned_q(now: datetime) -> Q:
    return Q(status__in=UNSIGNED_STATUS_LIST, signed_at__isnull=True, paused_at__isnull=True) & Q(
        response_due_at__lt=now
    )


CLOCK_COUNTS = ("due_soon", "overdue", "late_unsigned")


def clock_read(
    cases: QuerySet[Case], now: datetime, group: Mapping[str, Any] | None = None
) -> dict[tuple[Any, ...], dict[str, int]]:
    """即将超时, 已超时 and the unsigned cases past their response deadline among `cases` (the
    cases of a scope and period, `scoped_cases`), per tuple of the `group` expressions' values
    (one key `()` without them); only groups with something to count.

    Two reads of the cases on the clock, not one of the whole open backlog: the open ones whose
    `clock_start` has passed (every case due soon or overdue: index case_clock_start) and the
    unsigned ones past their response deadline (case_late_unsigned). Each repeats its index's
    condition and reads only that index's columns (it counts a NOT NULL column of the index,
    not the id), so PostgreSQL reads the index alone."""
    group = dict(group or {})
    names = list(group)
    # A suspended case is counted as it stood when paused (sla_q compares with paused_at), and
    # paused_at is at the latest the present: bound the range by the later of `now` and the
    # present, so that a case paused after `now` (while a report runs, or for a `now` in the
    # past) is still read; the FILTERs decide what counts.
    bound = max(now, timezone.now())
    on_clock = cases.filter(status__in=OPEN_STATUS_LIST).alias(clock_start=clock_start())
    reads: list[tuple[QuerySet[Case], dict[str, Any]]] = [
        (
            on_clock.filter(clock_start__lte=bound),
            {
                "due_soon": Count("resolution_due_at", filter=sla_q(SlaStatus.DUE_SOON, now)),
                "overdue": Count("resolution_due_at", filter=sla_q(SlaStatus.OVERDUE, now)),
            },
        ),
        (cases.filter(_late_unsigned_q(now)), {"late_unsigned": Count("response_due_at")}),
    ]
    counted: dict[tuple[Any, ...], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(CLOCK_COUNTS, 0)
    )
    with open_case_scan():
        for rows, aggregates in reads:
            rows = rows.order_by()
            found: Iterable[Mapping[str, Any]] = (
                rows.values(**group).annotate(**aggregates)
                if names
                else [one_row(rows, **aggregates)]
            )
            for r in found:
                values = {k: int(r[k] or 0) for k in aggregates}
                if any(values.values()):
                    counted[tuple(r[n] for n in names)].update(values)
    return dict(counted)


@dataclass(frozen=True)
class Clock:
    """即将超时, 已超时 and the unsigned cases past their response deadline, counted once for a
    whole dashboard: per (sub-unit code of `length` digits, lead department, sub-category,
    source), only the groups with something to count. The summary and every breakdown sum
    these rows instead of each counting the open cases again."""

    length: int
    rows: list[dict[str, Any]]

    def totals(self) -> dict[str, int]:
        return {k: sum(int(r[k]) for r in self.rows) for k in CLOCK_COUNTS}

    def by(self, key: Callable[[Mapping[str, Any]], Any]) -> dict[Any, dict[str, int]]:
        groups: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLOCK_COUNTS, 0))
        for r in self.rows:
            group = groups[key(r)]
            for k in CLOCK_COUNTS:
                group[k] += int(r[k])
        return groups


CLOCK_KEYS = ("c_unit", "c_department", "c_category", "c_source")


def clock_counts(*, user: Any, period: Period, length: int, now: datetime) -> Clock:
    """The clock counts of the scope and period, grouped (see `Clock` and `clock_read`)."""
    counted = clock_read(
        scoped_cases(user=user, period=period),
        now,
        {
            "c_unit": Substr("grid_code", 1, length),
            "c_department": Coalesce("lead_department_id", 0),
            "c_category": F("category_id"),
            "c_source": F("source"),
        },
    )
    return Clock(
        length, [dict(zip(CLOCK_KEYS, key, strict=True)) | v for key, v in counted.items()]
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def rates(sums: dict[str, int]) -> dict[str, float | None]:
    """The KPIs of DOMAIN.md §3 from counter sums (None when nothing to measure)."""
    basic = float(settings.WANGGE_KPI_BASICALLY_SATISFIED_WEIGHT)
    result: dict[str, float | None] = {
        # Responses due: signed cases, and unsigned ones whose response deadline has passed.
        "response": _ratio(
            sums["responded_on_time"], sums["responded"] + sums.get("late_unsigned", 0)
        ),
        "resolution": _ratio(sums["solved"], sums["closed"]),
        "satisfaction": _ratio(
            sums["satisfied"] + basic * sums["basically_satisfied"], sums["rated"]
        ),
        "on_time": _ratio(sums["closed_on_time"], sums["closed"]),
        "return": _ratio(sums["returned"], sums["dispatched"]),
        "reopen": _ratio(sums["reopened"], sums["ever_closed"]),
    }
    weights = settings.WANGGE_KPI_WEIGHTS
    parts = [(float(w), result[k]) for k, w in weights.items() if result.get(k) is not None]
    total_weight = sum(w for w, _v in parts)
    # A part with nothing to measure (no rated case yet) leaves the others' weights to share.
    result["composite"] = (
        round(sum(w * v for w, v in parts if v is not None) / total_weight, 4)
        if total_weight
        else None
    )
    return result


def cases_url(period: Period, **params: Any) -> str:
    query: dict[str, Any] = {}
    if period.scope_code:
        query["unit"] = period.scope_code
    if period.department_id:
        query["department"] = period.department_id
    if period.date_from:
        query["date_from"] = period.date_from.isoformat()
    if period.date_to:
        query["date_to"] = period.date_to.isoformat()
    query.update({k: v for k, v in params.items() if v not in (None, "")})
    path = _cases_path(get_urlconf(), get_script_prefix())
    return f"{path}?{urlencode(query)}" if query else path


@lru_cache(maxsize=16)
def _cases_path(urlconf: str | None, prefix: str) -> str:
    # A dashboard links every row to the case list: ~120 reverse() calls per poll otherwise.
    return reverse("cases:list", urlconf=urlconf)


def summary(
    *,
    user: Any,
    scope_code: str | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime | None = None,
    base: "Base | None" = None,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Counters, rates and their case-list links for the user's scope (three small queries;
    one when the dashboard passes the `base` and `clock` it read for its breakdowns)."""
    now = now or timezone.now()
    period = Period(scope_code or "", department_id, date_from, date_to)
    today = timezone.localdate(now)
    # Aliases differ from the column names: an aggregate may not shadow the field it sums.
    sums: dict[str, int] = dict.fromkeys(COUNTERS, 0)
    if base is not None:
        for group in base.groups.values():
            for c in COUNTERS:
                sums[c] += group[c]
    else:
        for part in rollup_parts(user=user, period=period, today=today, day_slices=True):
            raw = one_row(part.rows, **{f"n_{c}": Sum(c) for c in COUNTERS})
            for c in COUNTERS:
                sums[c] += int(raw[f"n_{c}"] or 0)
    scope = scope_of(user)
    today_period = Period(period.scope_code, department_id, today, today)
    if slices_serve(scope, period):
        # The day slice of today: communities, not grids × categories × departments × sources.
        todays = one_row(_slices(scope, period, SliceKind.DAY).filter(start=today), n=Sum("total"))
    else:
        todays = one_row(rollups(user=user, period=today_period), n=Sum("total"))
    sums["today"] = int(todays["n"] or 0)
    if clock is not None:
        sums.update(clock.totals())
    else:
        counted = clock_read(scoped_cases(user=user, period=period), now)
        sums.update(counted.get((), dict.fromkeys(CLOCK_COUNTS, 0)))
    links = {
        "total": cases_url(period),
        "closed": cases_url(period, status=Status.CLOSED),
        "open": cases_url(period, status=OPEN_PARAM),
        "today": cases_url(today_period),
        "due_soon": cases_url(period, sla=SlaStatus.DUE_SOON),
        "overdue": cases_url(period, sla=SlaStatus.OVERDUE),
        "rejected": cases_url(period, status=Status.REJECTED),
        "merged": cases_url(period, status=Status.MERGED),
    }
    return {
        "counters": {
            k: sums[k]
            for k in (
                "total",
                "closed",
                "open",
                "today",
                "due_soon",
                "overdue",
                "rejected",
                "merged",
            )
        },
        "sums": sums,
        "rates": rates(sums),
        "links": links,
    }


# --- breakdowns ---------------------------------------------------------------------------


def root_unit(*, user: Any, scope_code: str | None = None) -> OrgUnit | None:
    """The unit the dashboard is about: the requested one (404 outside the user's territory) or
    the top of the user's territory."""
    scope = scope_of(user)
    if scope_code:
        unit = OrgUnit.objects.filter(code=scope_code).first()
        if unit is None or not scope.sees_code(unit.code):
            raise Http404("unit not found")
        return unit
    codes: list[str] = list(
        OrgUnit.objects.filter(level=Level.DISTRICT).values_list("code", flat=True)
        if scope.is_superuser
        else scope.territory_codes
    )
    if len(codes) == 1:
        return OrgUnit.objects.filter(code=codes[0]).first()
    return None


@dataclass
class Row:
    key: str
    label: str
    url: str | None
    sums: dict[str, int]
    rates: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "url": self.url,
            **{k: self.sums.get(k, 0) for k in ("total", "open", "closed", "due_soon", "overdue")},
            "rates": self.rates,
        }


@dataclass(frozen=True)
class Base:
    """Counters per (sub-unit code of `length` digits, lead department) over a period, read
    once for a whole dashboard (whole months from the month grain when `length` allows): the
    summary, the sub-units, the streets and the departments are sums of these groups."""

    length: int
    groups: dict[tuple[str, int], dict[str, int]]

    def by(self, key: Callable[[str, int], Any]) -> dict[Any, dict[str, int]]:
        sums: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
        for (unit, department), counted in self.groups.items():
            group = sums[key(unit, department)]
            for c in COUNTERS:
                group[c] += counted[c]
        return sums


def base_counts(*, user: Any, period: Period, length: int, today: date) -> Base:
    groups: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    fine_only = length > COMMUNITY_LENGTH
    for part in rollup_parts(user=user, period=period, today=today, fine_only=fine_only):
        rows: Iterable[Mapping[str, Any]] = (
            part.rows.order_by()
            .values(b_unit=Substr(part.code_field, 1, length), b_department=F("department_id"))
            .annotate(**{f"n_{c}": Sum(c) for c in COUNTERS})
        )
        for r in rows:
            group = groups[(r["b_unit"], r["b_department"])]
            for c in COUNTERS:
                group[c] += int(r[f"n_{c}"] or 0)
    return Base(length, dict(groups))


def _grouped(
    *,
    user: Any,
    period: Period,
    rollup_key: Callable[[Part], Any],
    case_key: Any,
    now: datetime,
    fine_only: bool = False,
    slice_kind: str | None = None,
    counted: dict[Any, dict[str, int]] | None = None,
    clock: dict[Any, dict[str, int]] | None = None,
) -> dict[Any, dict[str, int]]:
    """Counters and clock counts per group. `counted` and `clock` are the groups' sums when
    the caller has them already (from `Base` and `Clock`); otherwise they are read here."""
    sums: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    if counted is not None:
        sums.update({k: dict(v) for k, v in counted.items()})
    else:
        today = timezone.localdate(now)
        for part in rollup_parts(
            user=user, period=period, today=today, fine_only=fine_only, slice_kind=slice_kind
        ):
            rows: Iterable[Mapping[str, Any]] = (
                part.rows.order_by()
                .annotate(group=rollup_key(part))
                .values("group")
                .annotate(**{f"n_{c}": Sum(c) for c in COUNTERS})
            )
            for r in rows:
                group = sums[r["group"]]
                for c in COUNTERS:
                    group[c] += int(r[f"n_{c}"] or 0)
    if clock is None:
        clock = {
            key[0]: counts
            for key, counts in clock_read(
                scoped_cases(user=user, period=period), now, {"group": case_key}
            ).items()
        }
    for key, counts in clock.items():
        sums[key].update(counts)
    return {k: v for k, v in sums.items() if v.get("total") or v.get("overdue")}


def by_unit(
    *,
    user: Any,
    period: Period,
    length: int,
    now: datetime | None = None,
    base: Base | None = None,
    clock: Clock | None = None,
) -> list[Row]:
    """Per sub-unit whose code has `length` digits (streets 9, communities 12, grids 15).
    `base` and `clock` (read at `length` digits or more) spare the reads."""
    now = now or timezone.now()
    groups = _grouped(
        user=user,
        period=period,
        rollup_key=lambda part: Substr(part.code_field, 1, length),
        case_key=Substr("grid_code", 1, length),
        now=now,
        fine_only=length > COMMUNITY_LENGTH,
        counted=base.by(lambda unit, _d: unit[:length]) if base else None,
        clock=clock.by(lambda r: r["c_unit"][:length]) if clock else None,
    )
    names = dict(OrgUnit.objects.filter(code__in=list(groups)).values_list("code", "name"))
    return [
        Row(
            code,
            names.get(code, code),
            cases_url(Period(code, period.department_id, period.date_from, period.date_to)),
            s,
            rates(s),
        )
        for code, s in sorted(groups.items())
    ]


def by_department(
    *,
    user: Any,
    period: Period,
    now: datetime | None = None,
    base: Base | None = None,
    clock: Clock | None = None,
) -> list[Row]:
    now = now or timezone.now()
    groups = _grouped(
        user=user,
        period=period,
        rollup_key=lambda part: Coalesce("department_id", 0),
        case_key=Coalesce("lead_department_id", 0),
        now=now,
        counted=base.by(lambda _u, department: department) if base else None,
        clock=clock.by(lambda r: r["c_department"]) if clock else None,
    )
    names = dict(Department.objects.filter(pk__in=list(groups)).values_list("pk", "name"))
    rows = []
    for pk, s in groups.items():
        if pk == NOT_DISPATCHED:
            label, url = _("未分拨或网格员办理"), None
        else:
            label = names.get(pk, str(pk))
            url = cases_url(Period(period.scope_code, pk, period.date_from, period.date_to))
        rows.append(Row(str(pk), str(label), url, s, rates(s)))
    return sorted(rows, key=lambda r: -r.sums["total"])


def by_category(
    *, user: Any, period: Period, now: datetime | None = None, clock: Clock | None = None
) -> list[Row]:
    """Per class (大类): the rollups count sub-classes, summed here into their parent."""
    now = now or timezone.now()
    groups = _grouped(
        user=user,
        period=period,
        rollup_key=lambda part: F("category_id"),
        case_key=F("category_id"),
        now=now,
        slice_kind=SliceKind.CATEGORY,
        clock=clock.by(lambda r: r["c_category"]) if clock else None,
    )
    categories = {
        c.pk: c for c in Category.objects.filter(pk__in=list(groups)).select_related("parent")
    }
    merged: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[str, str] = {}
    for pk, s in groups.items():
        category = categories.get(pk)
        top = category.parent if category and category.parent else category
        code = top.code if top else str(pk)
        labels[code] = top.label if top else str(pk)
        for k, v in s.items():
            merged[code][k] += v
    rows = [
        Row(code, labels[code], cases_url(period, category=code), dict(s), rates(dict(s)))
        for code, s in merged.items()
    ]
    return sorted(rows, key=lambda r: -r.sums["total"])


def by_source(
    *, user: Any, period: Period, now: datetime | None = None, clock: Clock | None = None
) -> list[Row]:
    now = now or timezone.now()
    groups = _grouped(
        user=user,
        period=period,
        rollup_key=lambda part: F("source"),
        case_key=F("source"),
        now=now,
        slice_kind=SliceKind.SOURCE,
        clock=clock.by(lambda r: r["c_source"]) if clock else None,
    )
    labels = dict(Source.choices)
    rows = [
        Row(key, str(labels.get(key, key)), cases_url(period, source=key), s, rates(s))
        for key, s in groups.items()
    ]
    return sorted(rows, key=lambda r: -r.sums["total"])


def trend(
    *, user: Any, period: Period, unit: str = "day", now: datetime | None = None
) -> list[dict[str, Any]]:
    """Cases received per day, ISO week or month, with how many of them are closed now."""
    today = timezone.localdate(now or timezone.now())
    end = period.date_to or today
    spans = {"day": 30, "week": 7 * 12, "month": 366}
    start = period.date_from or end - timedelta(days=spans.get(unit, 30) - 1)
    window = Period(period.scope_code, period.department_id, start, end)
    scope = scope_of(user)
    parts: list[QuerySet[Any]]
    if slices_serve(scope, window):  # rows per day (or month) and community, not per case
        days = _slices(scope, window, SliceKind.DAY).filter(start__gte=start, start__lte=end)
        months = whole_months(start, end, today) if unit == "month" else None
        if months is None:
            parts = [days]
        else:
            # Whole months from the monthly source slices (summed over the sources: every
            # case once), the days before the first of them from the day slices.
            first, last = months
            monthly = _slices(scope, window, SliceKind.SOURCE).filter(
                start__gte=first or start, start__lte=last
            )
            parts = [monthly, days.exclude(start__gte=first or start, start__lt=_next_month(last))]
        parts = [p.order_by().values(day_key=F("start")) for p in parts]
    else:
        parts = [rollups(user=user, period=window).order_by().values(day_key=F("day"))]
    rows: list[Mapping[str, Any]] = [
        r
        for p in parts
        for r in p.annotate(n_total=Sum("total"), n_closed=Sum("closed"), n_open=Sum("open"))
    ]
    buckets: dict[date, dict[str, int]] = defaultdict(lambda: {"total": 0, "closed": 0, "open": 0})

    def bucket(d: date) -> date:
        if unit == "week":
            return d - timedelta(days=d.weekday())
        if unit == "month":
            return d.replace(day=1)
        return d

    d = start
    while d <= end:  # every bucket, also the empty ones, so a chart has no gaps
        buckets[bucket(d)]
        d += timedelta(days=1)
    for r in rows:
        b = buckets[bucket(r["day_key"])]
        for k in ("total", "closed", "open"):
            b[k] += int(r[f"n_{k}"] or 0)
    return [{"day": k.isoformat(), **v} for k, v in sorted(buckets.items())]


def rankings(
    rows: list[Row], *, size: int = 5, min_closed: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """红榜 (best composite first) and 黑榜 (worst first) among rows that have a score and at
    least `min_closed` closed cases (WANGGE_RANKING_MIN_CLOSED)."""
    if min_closed is None:
        min_closed = settings.WANGGE_RANKING_MIN_CLOSED
    scored = [
        r
        for r in rows
        if r.rates.get("composite") is not None
        and r.key != "0"
        and r.sums.get("closed", 0) >= min_closed
    ]
    ordered = sorted(scored, key=lambda r: (-(r.rates["composite"] or 0), -r.sums["total"]))
    # With few rows, each row is on one list only: the better half red, the rest black.
    red = ordered[: min(size, (len(ordered) + 1) // 2)]

    # A row on the 黑榜 scores lower than every row on the 红榜: two departments with the same
    # score are never split between the lists (the one with fewer cases named worst), and
    # when the rest tie with the top (two departments at 100) the 黑榜 stays empty.
    def score(r: Row) -> float:
        return r.rates["composite"] or 0.0  # scored rows only: never None here

    black = [r for r in ordered[len(red) :] if red and score(r) < score(red[-1])][-size:]
    return {
        "red": [r.as_dict() for r in red],
        "black": [r.as_dict() for r in reversed(black)],
    }


# What the units ranked beside the departments are, by the length of their codes (every
# length child_length gives).
RANKED_LEVEL_BY_LENGTH = {
    9: gettext_lazy("街道"),
    12: gettext_lazy("社区"),
    15: gettext_lazy("网格"),
}


def child_length(root: OrgUnit | None) -> int:
    if root is None:
        return 9
    return min(len(root.code) + 3, 15)


def shared_reads(
    *, user: Any, period: Period, length: int, now: datetime
) -> tuple[Clock, "Base | None"]:
    """What a whole dashboard (or the monthly report) reads once and sums many ways: the open
    cases' clock counts for the summary and every breakdown, and the counters per (sub-unit,
    department) for the summary, the sub-units, the streets and the departments (while the
    sub-units are no finer than communities: the summary then reads the same rows)."""
    clock = clock_counts(user=user, period=period, length=length, now=now)
    base = (
        base_counts(user=user, period=period, length=length, today=timezone.localdate(now))
        if length <= COMMUNITY_LENGTH
        else None
    )
    return clock, base


def owner_name(user: Any, root: Any) -> str:
    """Whose dashboard or report it is: the unit, or for those who see only their departments'
    cases (a department handler) the departments: their figures count nothing else."""
    scope = scope_of(user)
    if not scope.is_superuser and not scope.unit_codes and scope.department_ids:
        names = Department.objects.filter(pk__in=scope.department_ids).order_by("name")
        return "、".join(names.values_list("name", flat=True))
    return str(root.name) if root else str(_("辖区"))


def dashboard_data(
    *,
    user: Any,
    scope_code: str | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    trend_unit: str = "day",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the dashboard pages show, as JSON-ready data."""
    now = now or timezone.now()
    root = root_unit(user=user, scope_code=scope_code)
    period = Period(scope_code or "", department_id, date_from, date_to)
    length = child_length(root)
    clock, base = shared_reads(user=user, period=period, length=length, now=now)
    head = summary(
        user=user,
        scope_code=scope_code,
        department_id=department_id,
        date_from=date_from,
        date_to=date_to,
        now=now,
        base=base,
        clock=clock,
    )
    units = by_unit(user=user, period=period, length=length, now=now, base=base, clock=clock)
    # Ranked side by side: the streets for those who see whole streets (the district), else
    # the units one level below the user's own. A community's staff ranked "their street" on
    # their community's cases alone, under the street's name.
    ranked_level = RANKED_LEVEL_BY_LENGTH[length]  # child_length: 9, 12 or 15
    departments = by_department(user=user, period=period, now=now, base=base, clock=clock)
    return {
        "generated_at": timezone.localtime(now).isoformat(timespec="seconds"),
        "root": {"code": root.code, "name": owner_name(user, root), "level": root.level}
        if root
        else None,
        **head,
        "by_unit": [r.as_dict() for r in units],
        "by_department": [r.as_dict() for r in departments],
        "by_category": [
            r.as_dict() for r in by_category(user=user, period=period, now=now, clock=clock)
        ],
        "by_source": [
            r.as_dict() for r in by_source(user=user, period=period, now=now, clock=clock)
        ],
        "trend": trend(user=user, period=period, unit=trend_unit, now=now),
        "trend_unit": trend_unit,
        "rankings": {
            "departments": rankings(departments),
            "streets": rankings(units),
            "units_label": str(ranked_level),
            # Only units and departments with at least this many closed cases are ranked.
            "min_closed": settings.WANGGE_RANKING_MIN_CLOSED,
        },
    }


# --- the map of grids -------------------------------------------------------------------------

# What the map can colour grids by, with the labels the pages show.
MAP_METRICS = (
    ("open", gettext_lazy("办理中")),
    ("overdue", gettext_lazy("已超时")),
    ("per_1000", gettext_lazy("每千人办件")),
)
# Sequential reds (ColorBrewer Reds, 5 classes); grids with nothing, and with no population data.
PALETTE = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
ZERO_COLOUR = "#eef3f7"
NO_DATA_COLOUR = "#bdbdbd"


def colour(value: float | None, top: float) -> str:
    """The fill of a grid: five equal steps up to the largest value on the map."""
    if value is None:
        return NO_DATA_COLOUR
    if value <= 0 or top <= 0:
        return ZERO_COLOUR
    step = min(len(PALETTE), max(1, math.ceil(value / top * len(PALETTE))))
    return PALETTE[step - 1]


def legend(top: float, metric: str) -> list[dict[str, Any]]:
    rows = [{"colour": ZERO_COLOUR, "label": "0"}]
    n = len(PALETTE)
    for i, fill in enumerate(PALETTE):
        if metric == "per_1000":
            rows.append({"colour": fill, "label": f"{top * i / n:.1f}–{top * (i + 1) / n:.1f}"})
            continue
        # Whole numbers: the counts that fall in this step (none in some steps when few).
        lo, hi = math.floor(top * i / n) + 1, math.floor(top * (i + 1) / n)
        if lo <= hi:
            rows.append({"colour": fill, "label": str(lo) if lo == hi else f"{lo}–{hi}"})
    if metric == "per_1000":
        rows.append({"colour": NO_DATA_COLOUR, "label": _("无人口数据")})
    return rows


def residents_by_grid(prefixes: list[str]) -> dict[str, int]:
    """Registered residents per grid code (residents of households in the grid's buildings)."""
    from wangge.registry.models import Resident

    rows = (
        Resident.objects.filter(_prefix_q("household__building__grid__code", prefixes))
        .order_by()
        .values("household__building__grid__code")
        .annotate(n=Count("pk"))
    )
    return {r["household__building__grid__code"]: int(r["n"]) for r in rows}


def grid_map(
    *,
    user: Any,
    metric: str = "open",
    scope_code: str | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime | None = None,
    known_shapes: str = "",
) -> dict[str, Any]:
    """The grids of the user's subtree as a GeoJSON FeatureCollection coloured by `metric`:
    open cases, overdue cases, or cases received per 1,000 registered residents.

    `shapes` in the answer names the boundaries sent (the boundary version and the subtrees);
    a poll that passes it back as `known_shapes` gets the features without their geometry
    while it still holds (the page redraws colours every few seconds: the geometry of a
    district's grids is most of the ~200 KB).

    Open and overdue come from the open cases (indexed, bounded by the backlog, not by the
    history); the rate sums the day × grid rollups of the period. A grid without registered
    residents has no rate ("no population data"), never a division by zero.
    """
    from wangge.dashboard.geometry import simplified_grids

    if metric not in dict(MAP_METRICS):
        raise DomainError(
            _("地图指标应为 open、overdue 或 per_1000 (metric must be open, overdue or per_1000)"),
            field="metric",
        )
    now = now or timezone.now()
    scope = scope_of(user)
    root = root_unit(user=user, scope_code=scope_code)
    period = Period(scope_code or "", department_id, date_from, date_to)
    if root is not None:
        prefixes = [root.code]
    elif scope.is_superuser:
        prefixes = list(OrgUnit.objects.filter(level=Level.DISTRICT).values_list("code", flat=True))
    else:
        prefixes = list(scope.territory_codes)
    shapes: dict[str, dict[str, Any]] = {}
    for prefix in prefixes:
        shapes.update(simplified_grids(prefix))
    shapes_token = f"{TerritoryState.current_versions()[0]}-{'.'.join(sorted(prefixes))}"
    send_geometry = known_shapes != shapes_token
    names = dict(OrgUnit.objects.filter(code__in=list(shapes)).values_list("code", "name"))
    clock = (
        open_cases(user=user, period=period)
        .order_by()
        .values("grid_code")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=sla_q(SlaStatus.OVERDUE, now)))
    )
    with open_case_scan():
        counts: dict[str, dict[str, int]] = {
            r["grid_code"]: {"open": r["open"], "overdue": r["overdue"]} for r in clock
        }
    totals: dict[str, int] = {}
    residents: dict[str, int] = {}
    if metric == "per_1000":
        rows = (
            rollups(user=user, period=period)
            .order_by()
            .values("grid_code")
            .annotate(n=Sum("total"))
        )
        totals = {r["grid_code"]: int(r["n"] or 0) for r in rows}
        residents = residents_by_grid(list(shapes))
    values: dict[str, float | None] = {}
    for code in shapes:
        c = counts.get(code, {})
        if metric == "per_1000":
            people = residents.get(code, 0)
            values[code] = round(totals.get(code, 0) * 1000 / people, 1) if people else None
        else:
            values[code] = c.get(metric, 0)
    top = max((v for v in values.values() if v is not None), default=0)
    link_params: dict[str, Any] = {}
    if metric == "open":
        link_params["status"] = OPEN_PARAM
    elif metric == "overdue":
        link_params["sla"] = SlaStatus.OVERDUE
    features = []
    for code, geometry in shapes.items():
        c = counts.get(code, {})
        value = values[code]
        features.append(
            {
                "type": "Feature",
                "geometry": geometry if send_geometry else None,
                "properties": {
                    "code": code,
                    "name": names.get(code, code),
                    "value": value,
                    "open": c.get("open", 0),
                    "overdue": c.get("overdue", 0),
                    "total": totals.get(code) if metric == "per_1000" else None,
                    "residents": residents.get(code, 0) if metric == "per_1000" else None,
                    "fill": colour(value, top),
                    "url": cases_url(
                        Period(code, department_id, date_from, date_to), **link_params
                    ),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "shapes": shapes_token,
        "geometry": "sent" if send_geometry else "unchanged",
        "metric": metric,
        "max": top,
        "legend": legend(top, metric),
        "features": features,
    }


def export_get(*, user: Any, pk: int) -> Export:
    """An export, only for the person who asked for it (404 for anyone else)."""
    export = Export.objects.filter(pk=pk, requested_by_id=getattr(user, "pk", None)).first()
    if export is None:
        raise Http404("export not found")
    return export
