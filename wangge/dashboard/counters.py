"""The definitions of the dashboard's counters, once: what one case contributes to the rollups.

`contribution(case)` gives the rollup key of a case and the set of COUNTERS it has now. The
incremental path (wangge.dashboard.actions.record_case) and the repair command both use it; the
SQL recount (`recount_rows`) restates the same rules as filtered COUNTs, and a property test
checks that the two agree.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Case as DbCase
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.query import QuerySet
from django.utils import timezone

from wangge.cases.models import OPEN_STATUSES, Case, Outcome, Rating, Status
from wangge.dashboard.models import COUNTERS

BITS: dict[str, int] = {name: 1 << i for i, name in enumerate(COUNTERS)}
KEY_FIELDS = ("day", "grid_code", "category_id", "department_id", "source")
MONTH_KEY_FIELDS = ("month", "community_code", "department_id")
SLICE_KEY_FIELDS = ("kind", "start", "community_code", "category_id", "source")
COMMUNITY_LENGTH = 12

Key = tuple[date, str, int, int, str]
MonthKey = tuple[date, str, int]
SliceKey = tuple[str, date, str, int, str]


def month_key(key: Key) -> MonthKey:
    """The (month, community, department) row a day × grid row is summed into."""
    day, grid_code, _category_id, department_id, _source = key
    return (day.replace(day=1), grid_code[:COMMUNITY_LENGTH], department_id)


def slice_keys(key: Key) -> tuple[SliceKey, ...]:
    """The CaseRollupSlice rows a day × grid row is summed into: (year, community,
    sub-category), (month, community, sub-category), (month, community, source) and
    (day, community)."""
    day, grid_code, category_id, _department_id, source = key
    month, community = day.replace(day=1), grid_code[:COMMUNITY_LENGTH]
    return (
        ("category_year", month.replace(month=1), community, category_id, ""),
        ("category", month, community, category_id, ""),
        ("source", month, community, 0, source),
        ("day", day, community, 0, ""),
    )


@dataclass(frozen=True)
class Contribution:
    key: Key
    flags: int


def case_key(case: Any) -> Key:
    return (
        timezone.localdate(case.created_at),
        case.grid_code,
        case.category_id,
        case.lead_department_id or 0,
        case.source,
    )


def case_flags(case: Any) -> int:
    """The 0/1 properties of a case as a bit set (bit i = COUNTERS[i])."""
    closed = case.status == Status.CLOSED
    has: dict[str, bool] = {
        "total": True,
        "open": case.status in OPEN_STATUSES,
        "closed": closed,
        "rejected": case.status == Status.REJECTED,
        "merged": case.status == Status.MERGED,
        "solved": closed and case.outcome == Outcome.SOLVED,
        "closed_on_time": closed
        and case.closed_at is not None
        and case.closed_at <= case.resolution_due_at,
        "responded": case.signed_at is not None,
        "responded_on_time": case.signed_at is not None and case.signed_at <= case.response_due_at,
        "dispatched": case.dispatched_at is not None,
        "returned": case.return_count > 0,
        "ever_closed": closed or case.reopen_count > 0,
        "reopened": case.reopen_count > 0,
        "rated": bool(case.rating),
        "satisfied": case.rating == Rating.SATISFIED,
        "basically_satisfied": case.rating == Rating.BASICALLY_SATISFIED,
        "unsatisfied": case.rating == Rating.UNSATISFIED,
    }
    return sum(BITS[name] for name, value in has.items() if value)


def contribution(case: Any) -> Contribution:
    return Contribution(key=case_key(case), flags=case_flags(case))


def counts_of(flags: int, sign: int = 1) -> dict[str, int]:
    return {name: sign if flags & bit else 0 for name, bit in BITS.items()}


def counter_filters() -> dict[str, Q]:
    """The same rules as `case_flags`, as Q objects over the case table (for the recount)."""
    closed = Q(status=Status.CLOSED)
    signed = Q(signed_at__isnull=False)
    return {
        "total": Q(),
        "open": Q(status__in=OPEN_STATUSES),
        "closed": closed,
        "rejected": Q(status=Status.REJECTED),
        "merged": Q(status=Status.MERGED),
        "solved": closed & Q(outcome=Outcome.SOLVED),
        "closed_on_time": closed
        & Q(closed_at__isnull=False, closed_at__lte=F("resolution_due_at")),
        "responded": signed,
        "responded_on_time": signed & Q(signed_at__lte=F("response_due_at")),
        "dispatched": Q(dispatched_at__isnull=False),
        "returned": Q(return_count__gt=0),
        "ever_closed": closed | Q(reopen_count__gt=0),
        "reopened": Q(reopen_count__gt=0),
        "rated": ~Q(rating=""),
        "satisfied": Q(rating=Rating.SATISFIED),
        "basically_satisfied": Q(rating=Rating.BASICALLY_SATISFIED),
        "unsatisfied": Q(rating=Rating.UNSATISFIED),
    }


def recount_rows(cases: QuerySet[Case] | None = None) -> QuerySet[Any]:
    """Rollup rows computed from scratch with one GROUP BY over the case table."""
    cases = Case.objects.all() if cases is None else cases
    aggregates = {
        name: Count("pk", filter=q) if q else Count("pk") for name, q in counter_filters().items()
    }
    return (
        cases.order_by()
        .annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()),
            department_key=Coalesce("lead_department_id", 0),
        )
        .values("day", "grid_code", "category_id", "department_key", "source")
        .annotate(**aggregates)
    )


def mark_rows(cases: QuerySet[Case] | None = None) -> QuerySet[Any]:
    """Each case's mark (key and flags) computed by the database, with `counter_filters`."""
    cases = Case.objects.all() if cases is None else cases
    flags: Any = Value(0)
    for name, q in counter_filters().items():
        bit = Value(BITS[name])
        flags = flags + (
            ExpressionWrapper(bit, output_field=IntegerField())
            if not q
            else DbCase(When(q, then=bit), default=Value(0))
        )
    return (
        cases.order_by()
        .annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()),
            department_key=Coalesce("lead_department_id", 0),
            flags=ExpressionWrapper(flags, output_field=IntegerField()),
            mark_case=F("pk"),
        )
        .values("mark_case", "day", "grid_code", "category_id", "department_key", "source", "flags")
    )


def drift() -> dict[tuple[Any, ...], tuple[dict[str, int], dict[str, int]]]:
    """Rollup keys whose stored counters differ from a recount: {key: (stored, recounted)}.

    Every grain is checked: day × grid keys as they are, month × community keys prefixed with
    "month", slices with "slice". Rows whose counters are all zero (every case moved away) are
    the same as missing rows.
    """
    from wangge.dashboard.models import CaseRollup, CaseRollupMonth, CaseRollupSlice

    def clean(values: dict[str, int]) -> dict[str, int]:
        return {c: int(values[c]) for c in COUNTERS}

    stored: dict[tuple[Any, ...], dict[str, int]] = {
        (r["day"], r["grid_code"], r["category_id"], r["department_id"], r["source"]): clean(r)
        for r in CaseRollup.objects.values(*KEY_FIELDS, *COUNTERS)
        if any(r[c] for c in COUNTERS)
    }
    for r in CaseRollupMonth.objects.values(*MONTH_KEY_FIELDS, *COUNTERS):
        if any(r[c] for c in COUNTERS):
            stored[("month", *(r[f] for f in MONTH_KEY_FIELDS))] = clean(r)
    for r in CaseRollupSlice.objects.values(*SLICE_KEY_FIELDS, *COUNTERS):
        if any(r[c] for c in COUNTERS):
            stored[("slice", *(r[f] for f in SLICE_KEY_FIELDS))] = clean(r)
    fresh: dict[tuple[Any, ...], dict[str, int]] = {}
    for r in recount_rows().iterator(chunk_size=2000):
        key: Key = (r["day"], r["grid_code"], r["category_id"], r["department_key"], r["source"])
        fresh[key] = clean(r)
        for coarse in (("month", *month_key(key)), *(("slice", *k) for k in slice_keys(key))):
            summed = fresh.setdefault(coarse, dict.fromkeys(COUNTERS, 0))
            for c in COUNTERS:
                summed[c] += int(r[c])
    zero = dict.fromkeys(COUNTERS, 0)
    return {
        key: (stored.get(key, zero), fresh.get(key, zero))
        for key in stored.keys() | fresh.keys()
        if stored.get(key) != fresh.get(key)
    }
