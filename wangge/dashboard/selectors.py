"""Reads of the dashboard: counters, rates, breakdowns, trends and rankings within a user's scope.

Everything that counts cases by what happened to them is a SUM over CaseRollup rows (a few
thousand rows at most for a district and a year, whatever the number of cases). Only 即将超时 and
已超时 (and the unsigned cases past their response deadline, part of 响应率) come from the case
table: they change with the clock, with no transition to update a counter, so they are counted
with the indexed SLA query over open cases only (see docs/decisions/0004-dashboard-rollups.md).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.models import Role
from wangge.accounts.scope import Scope, scope_of
from wangge.cases.models import OPEN_STATUSES, Case, Category, SlaStatus, Source, Status
from wangge.cases.sla import sla_q
from wangge.dashboard.models import COUNTERS, CaseRollup
from wangge.territory.models import Department, Level, OrgUnit

NOT_DISPATCHED = 0
DASHBOARD_ROLES = frozenset(Role.values) - {Role.RESIDENT, Role.VOLUNTEER}
OPEN_PARAM = ",".join(s for s in Status.values if s in OPEN_STATUSES)
UNSIGNED = (Status.REPORTED, Status.ACCEPTED, Status.DISPATCHED)


@dataclass(frozen=True)
class Period:
    scope_code: str = ""
    department_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def may_view(user: Any) -> bool:
    scope = scope_of(user)
    return scope.is_superuser or bool(scope.roles & DASHBOARD_ROLES and not scope.is_empty)


def _prefix_q(lookup: str, codes: tuple[str, ...] | list[str]) -> Q:
    if not codes:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{lookup}__startswith": c}) for c in codes))


def _scope_q(scope: Scope, *, department_field: str) -> Q:
    """Territory subtrees the user holds, plus the cases their departments lead."""
    if scope.is_superuser:
        return Q()
    q = _prefix_q("grid_code", scope.unit_codes)
    if scope.department_ids:
        q |= Q(**{f"{department_field}__in": scope.department_ids})
    return q


def _filters_q(period: Period, *, department_field: str, day_field: str | None) -> Q:
    q = Q()
    if period.scope_code:
        q &= Q(grid_code__startswith=period.scope_code)
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
    scope = scope_of(user)
    return CaseRollup.objects.filter(
        _scope_q(scope, department_field="department_id"),
        _filters_q(period, department_field="department_id", day_field="day"),
    )


def open_cases(*, user: Any, period: Period) -> QuerySet[Case]:
    scope = scope_of(user)
    return Case.objects.filter(
        _scope_q(scope, department_field="lead_department_id"),
        _filters_q(period, department_field="lead_department_id", day_field="created_at"),
        status__in=OPEN_STATUSES,
    )


def _clock_aggregates(now: datetime) -> dict[str, Any]:
    late_unsigned = Q(status__in=UNSIGNED, signed_at__isnull=True, paused_at__isnull=True) & Q(
        response_due_at__lt=now
    )
    return {
        "due_soon": Count("pk", filter=sla_q(SlaStatus.DUE_SOON, now)),
        "overdue": Count("pk", filter=sla_q(SlaStatus.OVERDUE, now)),
        "late_unsigned": Count("pk", filter=late_unsigned),
    }


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
    return f"{reverse('cases:list')}?{urlencode(query)}" if query else reverse("cases:list")


def summary(
    *,
    user: Any,
    scope_code: str | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Counters, rates and their case-list links for the user's scope (two small queries)."""
    now = now or timezone.now()
    period = Period(scope_code or "", department_id, date_from, date_to)
    today = timezone.localdate(now)
    in_period = _filters_q(
        Period(date_from=date_from, date_to=date_to), department_field="", day_field="day"
    )
    base = rollups(user=user, period=Period(period.scope_code, department_id))
    # Aliases differ from the column names: an aggregate may not shadow the field it sums.
    if in_period:  # Q() would match nothing once OR-ed with the day of today
        base = base.filter(in_period | Q(day=today))
    raw = base.aggregate(
        **{f"n_{c}": Coalesce(Sum(c, filter=in_period or None), 0) for c in COUNTERS},
        n_today=Coalesce(Sum("total", filter=Q(day=today)), 0),
    )
    sums: dict[str, int] = {k[2:]: int(v or 0) for k, v in raw.items()}
    clock = open_cases(user=user, period=period).aggregate(**_clock_aggregates(now))
    sums.update({k: int(v or 0) for k, v in clock.items()})
    today_period = Period(period.scope_code, department_id, today, today)
    links = {
        "total": cases_url(period),
        "closed": cases_url(period, status=Status.CLOSED),
        "open": cases_url(period, status=OPEN_PARAM),
        "today": cases_url(today_period),
        "due_soon": cases_url(period, sla=SlaStatus.DUE_SOON),
        "overdue": cases_url(period, sla=SlaStatus.OVERDUE),
        "rejected": cases_url(period, status=Status.REJECTED),
    }
    return {
        "counters": {
            k: sums[k]
            for k in ("total", "closed", "open", "today", "due_soon", "overdue", "rejected")
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


def _grouped(
    *, user: Any, period: Period, rollup_key: Any, case_key: Any, now: datetime
) -> dict[Any, dict[str, int]]:
    sums: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    rows: Iterable[Mapping[str, Any]] = (
        rollups(user=user, period=period)
        .order_by()
        .annotate(group=rollup_key)
        .values("group")
        .annotate(**{f"n_{c}": Sum(c) for c in COUNTERS})
    )
    for r in rows:
        sums[r["group"]].update({c: int(r[f"n_{c}"] or 0) for c in COUNTERS})
    clock: Iterable[Mapping[str, Any]] = (
        open_cases(user=user, period=period)
        .order_by()
        .annotate(group=case_key)
        .values("group")
        .annotate(**_clock_aggregates(now))
    )
    for r in clock:
        sums[r["group"]].update(
            due_soon=r["due_soon"], overdue=r["overdue"], late_unsigned=r["late_unsigned"]
        )
    return {k: v for k, v in sums.items() if v.get("total") or v.get("overdue")}


def by_unit(*, user: Any, period: Period, length: int, now: datetime | None = None) -> list[Row]:
    """Per sub-unit whose code has `length` digits (streets 9, communities 12, grids 15)."""
    now = now or timezone.now()
    groups = _grouped(
        user=user,
        period=period,
        rollup_key=Substr("grid_code", 1, length),
        case_key=Substr("grid_code", 1, length),
        now=now,
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


def by_department(*, user: Any, period: Period, now: datetime | None = None) -> list[Row]:
    now = now or timezone.now()
    groups = _grouped(
        user=user,
        period=period,
        rollup_key=Coalesce("department_id", 0),
        case_key=Coalesce("lead_department_id", 0),
        now=now,
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


def by_category(*, user: Any, period: Period, now: datetime | None = None) -> list[Row]:
    """Per class (大类): the rollups count sub-classes, summed here into their parent."""
    now = now or timezone.now()
    groups = _grouped(
        user=user,
        period=period,
        rollup_key=F("category_id"),
        case_key=F("category_id"),
        now=now,
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
        labels[code] = top.name if top else str(pk)
        for k, v in s.items():
            merged[code][k] += v
    rows = [
        Row(code, labels[code], cases_url(period, category=code), dict(s), rates(dict(s)))
        for code, s in merged.items()
    ]
    return sorted(rows, key=lambda r: -r.sums["total"])


def by_source(*, user: Any, period: Period, now: datetime | None = None) -> list[Row]:
    now = now or timezone.now()
    groups = _grouped(
        user=user,
        period=period,
        rollup_key=F("source"),
        case_key=F("source"),
        now=now,
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
    rows: Iterable[Mapping[str, Any]] = (
        rollups(user=user, period=window)
        .order_by()
        .values("day")
        .annotate(n_total=Sum("total"), n_closed=Sum("closed"), n_open=Sum("open"))
    )
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
        b = buckets[bucket(r["day"])]
        for k in ("total", "closed", "open"):
            b[k] += int(r[f"n_{k}"] or 0)
    return [{"day": k.isoformat(), **v} for k, v in sorted(buckets.items())]


def rankings(rows: list[Row], *, size: int = 5) -> dict[str, list[dict[str, Any]]]:
    """红榜 (best composite first) and 黑榜 (worst first) among rows that have a score."""
    scored = [r for r in rows if r.rates.get("composite") is not None and r.key != "0"]
    ordered = sorted(scored, key=lambda r: (-(r.rates["composite"] or 0), -r.sums["total"]))
    # With few rows, each row is on one list only: the better half red, the rest black.
    red = ordered[: min(size, (len(ordered) + 1) // 2)]
    black = ordered[len(red) :][-size:]
    return {
        "red": [r.as_dict() for r in red],
        "black": [r.as_dict() for r in reversed(black)],
    }


def child_length(root: OrgUnit | None) -> int:
    if root is None:
        return 9
    return min(len(root.code) + 3, 15)


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
    head = summary(
        user=user,
        scope_code=scope_code,
        department_id=department_id,
        date_from=date_from,
        date_to=date_to,
        now=now,
    )
    units = by_unit(user=user, period=period, length=child_length(root), now=now)
    streets = (
        units if child_length(root) == 9 else by_unit(user=user, period=period, length=9, now=now)
    )
    departments = by_department(user=user, period=period, now=now)
    return {
        "generated_at": timezone.localtime(now).isoformat(timespec="seconds"),
        "root": {"code": root.code, "name": root.name, "level": root.level} if root else None,
        **head,
        "by_unit": [r.as_dict() for r in units],
        "by_department": [r.as_dict() for r in departments],
        "by_category": [r.as_dict() for r in by_category(user=user, period=period, now=now)],
        "by_source": [r.as_dict() for r in by_source(user=user, period=period, now=now)],
        "trend": trend(user=user, period=period, unit=trend_unit, now=now),
        "rankings": {
            "departments": rankings(departments),
            "streets": rankings(streets),
        },
    }
