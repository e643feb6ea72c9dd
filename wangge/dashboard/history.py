"""Bulk case history for demos and benchmarks: `manage.py seed_cases --count N`.

Generates many realistic cases at once in the demo district (its grids, buildings, categories,
departments and field staff) with numpy, each with the timeline a page needs, deadlines from the
working calendar (vectorised, the same results as `sla.compute_due`) and the state its age
allows (recent cases are still open, old ones mostly closed, a tail stuck and overdue).

On PostgreSQL numpy simulates only narrow numeric columns (indexes into the grids, buildings,
categories, texts and names; timestamps), which are copied in binary into a temporary table;
the database assembles the wide case rows and their timelines with `INSERT … SELECT` (CASES_SQL,
EVENTS_SQL). Elsewhere (SQLite: tests, small demos) the same simulation becomes Python rows for
`bulk_create`. Either way the whole load is one transaction, and the dashboard's marks are
then computed by the database with the recount's own rules and the rollups summed from them
(`dashboard.actions.count_loaded`; `count_cases` on SQLite), so the counters equal a recount.

This bypasses `cases.actions` on purpose: the rows it writes are what the actions would have
written for the same history, and tests check them against the actions' own rules (deadlines,
counters, timelines, pages) on both databases.
"""

import json
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from wangge.accounts.models import Membership, Role, User
from wangge.cases import sla
from wangge.cases.actions import TRACKING_ALPHABET
from wangge.cases.demo import CLASS_WEIGHTS, SOURCE_WEIGHTS
from wangge.cases.demo_texts import REJECT_NOTES, REPORTS, RESULTS, RETURN_NOTES, SUSPEND_NOTES
from wangge.cases.models import (
    Case,
    CaseEvent,
    Category,
    LimitUnit,
    Outcome,
    Rating,
    Source,
    Status,
)
from wangge.core.demo import DISTRICT_CODE, GIVEN_NAMES, LOGIN_BY_ROLE, SURNAMES, DemoError
from wangge.dashboard.actions import count_cases, count_loaded
from wangge.dashboard.models import CaseMark, CaseRollup
from wangge.territory.models import Building, Department, Level, OrgUnit
from wangge.workcalendar import deadlines
from wangge.workcalendar.selectors import working_calendar

US = 1_000_000  # microseconds per second
HOUR = 3600 * US
DAY = 24 * HOUR
NULL = -1  # "no timestamp" in the int64 arrays
CODE_SPACE = len(TRACKING_ALPHABET) ** 8
LOCAL_OFFSET = timedelta(hours=8)  # Asia/Shanghai, the calendar's zone: no DST since 1991
LOCAL_OFFSET_US = 8 * HOUR
CODE_FACTOR = 0x9E3779B97F  # odd: multiplying ids by it modulo 32^8 is a bijection

# Hours between steps: log-normal around these medians.
MEDIAN_HOURS = {
    "accept": 0.6,
    "dispatch": 0.5,
    "sign": 2.5,
    "handle": 30.0,
    "verify": 6.0,
    "rate": 12.0,
}
# How a case ends if it gets that far (shares of all cases).
P_REJECT = 0.05
P_ON_SPOT = 0.05  # of grid patrol reports
P_RETURN = 0.04
P_WORKER = 0.12
P_SUSPEND = 0.01
P_STUCK = 0.02  # handling takes ten times as long: the overdue tail
P_RATED = 0.75
P_EXPLAINED = 0.08


@dataclass
class _Reference:
    grids: list[OrgUnit]
    grid_p: np.ndarray
    community_id: np.ndarray  # per grid: the handling unit (its community)
    buildings: list[list[tuple[str, float, float]]]  # per grid
    categories: list[Category]
    category_p: np.ndarray
    limits: list[sla.Limits]
    departments: dict[tuple[str, str], Department]
    department_ids: np.ndarray  # index 0: none
    department_names: np.ndarray
    department_options: np.ndarray  # [grid, category, 2] indexes into department_ids
    worker_ids: np.ndarray  # per grid, 0: none
    worker_names: np.ndarray
    dispatcher: User
    grid_ids: np.ndarray
    category_ids: np.ndarray
    building_count: np.ndarray  # per grid
    building_lon: np.ndarray  # [grid, building], padded
    building_lat: np.ndarray
    text_count: np.ndarray  # per category
    texts: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def _load(rng: np.random.Generator) -> _Reference:
    grids = list(
        OrgUnit.objects.filter(code__startswith=DISTRICT_CODE, level=Level.GRID).order_by("code")
    )
    by_grid: dict[int, list[tuple[str, float, float]]] = {}
    for grid_id, address, lon, lat in Building.objects.filter(
        grid__code__startswith=DISTRICT_CODE
    ).values_list("grid_id", "address", "lon", "lat"):
        by_grid.setdefault(grid_id, []).append((address, lon, lat))
    grids = [g for g in grids if g.pk in by_grid and g.parent_id]
    if not grids:
        raise DemoError("请先创建演示辖区 (run seed_demo first)", field="district")
    # The desk that accepts and dispatches: the demo dispatcher, or any district dispatcher.
    dispatcher = (
        User.objects.filter(username=LOGIN_BY_ROLE["dispatcher"].username).first()
        or User.objects.filter(
            memberships__role=Role.DISPATCHER, memberships__unit__code=DISTRICT_CODE
        ).first()
    )
    if dispatcher is None:
        raise DemoError("请先创建演示辖区 (run seed_demo first)", field="district")
    # Some grids are busier than others (markets, old compounds): a log-normal load.
    weights = rng.lognormal(0, 0.6, len(grids))
    categories = list(
        Category.objects.filter(is_active=True, parent__isnull=False)
        .select_related("parent")
        .order_by("sort_order", "code")
    )
    cw = np.array(
        [
            CLASS_WEIGHTS.get(c.parent.code if c.parent else "", 3)
            / sum(1 for d in categories if d.parent_id == c.parent_id)
            for c in categories
        ]
    )
    # Each grid's worker (the first by username: the demo login where there is one).
    workers: dict[str, tuple[int, str]] = {}
    for code, user_id, name, username in (
        Membership.objects.filter(
            role=Role.GRID_WORKER, unit__code__startswith=DISTRICT_CODE, unit__level=Level.GRID
        )
        .order_by("unit__code", "user__username")
        .values_list("unit__code", "user_id", "user__display_name", "user__username")
    ):
        workers.setdefault(code, (user_id, name or username))
    # Who may lead a case of each category in each grid: the department of the category's kind
    # at the grid's street, then the district's; else any department above the grid.
    departments = list(
        Department.objects.filter(unit__code__startswith=DISTRICT_CODE, is_active=True)
        .select_related("unit")
        .order_by("unit__code", "pk")
    )
    by_key = {(d.unit.code, d.kind): i + 1 for i, d in enumerate(departments)}
    options = np.zeros((len(grids), len(categories), 2), dtype=np.int64)
    for gi, g in enumerate(grids):
        above = [i + 1 for i, d in enumerate(departments) if g.code.startswith(d.unit.code)]
        for ci, c in enumerate(categories):
            kind = c.default_department_kind or "city_management"
            found = [
                k for k in (by_key.get((g.code[:9], kind)), by_key.get((DISTRICT_CODE, kind))) if k
            ] or above[:1]
            options[gi, ci, : len(found)] = found
    most = max(len(by_grid[g.pk]) for g in grids)
    ref = _Reference(
        grids=grids,
        grid_p=weights / weights.sum(),
        community_id=np.array([g.parent_id for g in grids]),
        buildings=[by_grid[g.pk] for g in grids],
        categories=categories,
        category_p=cw / cw.sum(),
        limits=[sla.limits_for(category=c, priority=c.priority) for c in categories],
        departments={(d.unit.code, d.kind): d for d in departments},
        department_ids=np.array([0, *(d.pk for d in departments)], dtype=np.int64),
        department_names=np.array(["", *(d.name for d in departments)], dtype=object),
        department_options=options,
        worker_ids=np.array([workers.get(g.code, (0, ""))[0] for g in grids], dtype=np.int64),
        worker_names=np.array([workers.get(g.code, (0, "网格员"))[1] for g in grids], dtype=object),
        dispatcher=dispatcher,
        grid_ids=np.array([g.pk for g in grids], dtype=np.int64),
        category_ids=np.array([c.pk for c in categories], dtype=np.int64),
        building_count=np.array([len(by_grid[g.pk]) for g in grids], dtype=np.int64),
        building_lon=np.zeros((len(grids), most)),
        building_lat=np.zeros((len(grids), most)),
        text_count=np.zeros(len(categories), dtype=np.int64),
    )
    for gi, g in enumerate(grids):
        for bi, (_address, lon, lat) in enumerate(by_grid[g.pk]):
            ref.building_lon[gi, bi], ref.building_lat[gi, bi] = lon or 0.0, lat or 0.0
    for i, c in enumerate(categories):
        ref.texts[i] = REPORTS.get(c.code) or [(c.name, f"群众反映{c.name}问题，请尽快处理。")]
        ref.text_count[i] = len(ref.texts[i])
    return ref


class _Deadlines:
    """Deadlines of many cases at once, with the working calendar's own rules, vectorised.

    The working-day clock is a nondecreasing function P(t): the working time (µs) between a
    fixed origin and t, flat on non-working days. A limit of N working days started at t is due
    at the earliest instant at which P reaches P(t) + N days, and it turns due soon at the latest
    instant from which the threshold remains (deadlines.WorkingCalendar.add_working_time and
    subtract_working_time, restated over a table of the period's days). Hour limits are clock
    arithmetic. A test compares every result with `sla.compute_due`.
    """

    def __init__(self, start: datetime, end: datetime, limits: list[sla.Limits]):
        self.start_us = int(start.timestamp() * US)
        self.keys = sorted(set(limits), key=repr)
        self.index = np.array([self.keys.index(x) for x in limits], dtype=np.int64)
        self.calendar = working_calendar()
        for moment in (start, end):
            if moment.astimezone(deadlines.CALENDAR_TZ).utcoffset() != LOCAL_OFFSET:
                raise ValueError("the working calendar's zone is expected at UTC+8")
        longest = max(
            (x.resolution for x in self.keys if x.unit == LimitUnit.WORKING_DAYS), default=0
        )
        # Days (local, counted from the epoch) from the first receipt to past the last deadline:
        # N working days fit in 7/5 N calendar days plus the longest holiday.
        self.first_day = _local_day(self.start_us) - 1
        last_day = (
            _local_day(int(end.timestamp() * US)) + 2 * longest + deadlines.MAX_NON_WORKING_RUN + 7
        )
        origin = date(1970, 1, 1)
        days = [origin + timedelta(days=d) for d in range(self.first_day, last_day + 1)]
        self.workday = np.array([self.calendar.is_workday(d) for d in days], dtype=bool)
        self.year = np.array([d.year for d in days], dtype=np.int64)
        # W[i]: working time before day i (µs); one more entry for the end of the last day.
        self.before = np.concatenate([[0], np.cumsum(self.workday.astype(np.int64) * DAY)])
        self.warnings: list[str] = [""]
        self._warning_index: dict[tuple[int, int], int] = {}

    def _day_index(self, t: np.ndarray) -> np.ndarray:
        i = _local_day(t) - self.first_day
        if len(i) and (i.min() < 0 or i.max() >= len(self.workday)):
            raise ValueError("a deadline falls outside the calendar table")
        return i

    def _position(self, t: np.ndarray) -> np.ndarray:
        """P(t): working time since the table's first day."""
        i = self._day_index(t)
        midnight = (i + self.first_day) * DAY - LOCAL_OFFSET_US
        return self.before[i] + np.where(self.workday[i], t - midnight, 0)

    def _earliest(self, x: np.ndarray) -> np.ndarray:
        """The earliest instant at which P reaches x (x > P of some instant in the table)."""
        i = np.searchsorted(self.before, x, side="left") - 1  # last day with W < x: a workday
        if len(i) and (i.min() < 0 or i.max() >= len(self.workday)):
            raise ValueError("a deadline falls outside the calendar table")
        return (i + self.first_day) * DAY - LOCAL_OFFSET_US + (x - self.before[i])

    def _latest(self, y: np.ndarray) -> np.ndarray:
        """The latest instant at which P is y (y ≥ P of some instant in the table)."""
        i = np.searchsorted(self.before, y, side="right") - 1  # last day with W <= y
        i = np.minimum(i, len(self.workday) - 1)
        return (i + self.first_day) * DAY - LOCAL_OFFSET_US + (y - self.before[i])

    def _warning(self, first_year: int, last_year: int) -> int:
        key = (first_year, last_year)
        if key not in self._warning_index:
            warnings = self.calendar.warnings_for(date(first_year, 1, 1), date(last_year, 1, 1))
            text = "；".join(dict.fromkeys(str(w) for w in warnings))[:200]
            if text not in self.warnings:
                self.warnings.append(text)
            self._warning_index[key] = self.warnings.index(text)
        return self._warning_index[key]

    def __call__(
        self, created: np.ndarray, category: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(response due, resolution due, due soon, index into `warnings`) per case."""
        k = self.index[category]
        n = len(created)
        response = np.empty(n, dtype=np.int64)
        resolution = np.empty(n, dtype=np.int64)
        soon = np.empty(n, dtype=np.int64)
        warning = np.zeros(n, dtype=np.int64)
        for key_index, limit in enumerate(self.keys):
            rows = np.flatnonzero(k == key_index)
            if not len(rows):
                continue
            at = created[rows]
            response[rows] = at + limit.response_hours * HOUR
            if limit.unit == LimitUnit.HOURS:
                span = timedelta(hours=limit.resolution)
                due = at + _us(span)
            else:
                span = limit.resolution * deadlines.DAY
                due = self._earliest(self._position(at) + _us(span)) if limit.resolution else at
            threshold = _us(
                deadlines.due_soon_threshold(
                    span, limit.due_soon_fraction, timedelta(hours=limit.due_soon_min_hours)
                )
            )
            if threshold <= 0:
                turn = due
            elif limit.unit == LimitUnit.HOURS:
                turn = np.maximum(at, due - threshold)
            else:
                turn = np.maximum(at, self._latest(self._position(due) - threshold))
            resolution[rows], soon[rows] = due, turn
            if limit.unit == LimitUnit.WORKING_DAYS:
                # deadlines.WorkingCalendar.deadline: the years from receipt to the due day.
                last = np.where(due > at, _local_day(due - 1), _local_day(due))
                first_year = self.year[self._day_index(at)]
                last_year = self.year[np.clip(last - self.first_day, 0, len(self.year) - 1)]
                pairs = np.unique(np.stack([first_year, last_year], axis=1), axis=0)
                for y0, y1 in pairs.tolist():
                    w = self._warning(y0, y1)
                    if w:
                        warning[rows[(first_year == y0) & (last_year == y1)]] = w
        return response, resolution, soon, warning


def _us(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def _local_day(t: Any) -> Any:
    """Local (UTC+8) calendar day numbers of µs instants, counted from 1970-01-01."""
    return (t + LOCAL_OFFSET_US) // DAY


def tracking_codes(ids: np.ndarray) -> list[str]:
    """Distinct 8-character codes for distinct ids (a bijection of the code space)."""
    return list(_tracking_bytes(ids).astype(str).tolist())


def _tracking_bytes(ids: np.ndarray) -> np.ndarray:
    x = (ids.astype(np.uint64) * np.uint64(CODE_FACTOR)) % np.uint64(CODE_SPACE)
    alphabet = np.frombuffer(TRACKING_ALPHABET.encode(), dtype=np.uint8)
    digits = np.stack(
        [alphabet[((x >> np.uint64(5 * i)) & np.uint64(31)).astype(np.int64)] for i in range(8)],
        axis=1,
    )
    return digits.copy().view("S8").ravel()


STATUSES = [
    Status.REPORTED,
    Status.ACCEPTED,
    Status.REJECTED,
    Status.DISPATCHED,
    Status.IN_PROGRESS,
    Status.HANDLED,
    Status.CLOSED,
    Status.SUSPENDED,
]
OUTCOMES = ["", Outcome.SOLVED, Outcome.EXPLAINED]
RATINGS = ["", Rating.SATISFIED, Rating.BASICALLY_SATISFIED]
SOURCES = list(SOURCE_WEIGHTS)
RESULT_TEXTS = [r for rs in RESULTS.values() for r in rs]
PHONE_PREFIXES = np.array([135, 136, 138, 139, 150, 158, 186, 188, 177, 199], dtype=np.int64)


@dataclass
class Batch:
    """One chunk of generated cases as columns, and their timeline as event columns."""

    cases: dict[str, Any]
    events: dict[str, Any]
    n: int

    @property
    def event_count(self) -> int:
        return int(self.cases["version"].sum())


def _lognormal(rng: np.random.Generator, median_hours: float, n: int) -> np.ndarray:
    return (rng.lognormal(np.log(median_hours), 0.9, n) * HOUR).astype(np.int64)


def _pick(pool: list[str], rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, len(pool), n)


def simulate(
    ref: _Reference,
    due_table: _Deadlines,
    rng: np.random.Generator,
    *,
    first_id: int,
    n: int,
    window: tuple[int, int],
    now_us: int,
) -> dict[str, np.ndarray]:
    """The history of n cases as numeric columns (indexes into the reference lists, int64
    microseconds with NULL for "not yet"): what both writers turn into rows."""
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    lo, hi = window
    # Reports arrive by day and mostly in waking hours: a uniform day, a daytime hour.
    created = np.sort(rng.integers(lo, hi, n))
    local_hour = ((created + LOCAL_OFFSET_US) // HOUR) % 24
    night = (local_hour < 7) | (local_hour >= 22)
    created = np.where(night & (rng.random(n) < 0.8), created - 10 * HOUR, created)
    created = np.clip(created, due_table.start_us, now_us - 60 * US)

    grid = rng.choice(len(ref.grids), n, p=ref.grid_p)
    category = rng.choice(len(ref.categories), n, p=ref.category_p)
    sp = np.array([SOURCE_WEIGHTS[s] for s in SOURCES], dtype=float)
    source = rng.choice(len(SOURCES), n, p=sp / sp.sum())
    patrol = source == SOURCES.index(Source.GRID_PATROL)
    resident = source == SOURCES.index(Source.RESIDENT)
    response_due, resolution_due, due_soon, warning = due_table(created, category)

    # The path: each step happens some hours after the previous one, if "now" has come.
    on_spot = patrol & (rng.random(n) < P_ON_SPOT / 0.30)
    rejected = ~on_spot & (rng.random(n) < P_REJECT)
    returned = ~on_spot & ~rejected & (rng.random(n) < P_RETURN)
    can_department = ref.department_options[grid, category, 0] > 0
    can_worker = ref.worker_ids[grid] > 0
    worker_led = ~on_spot & ~rejected & can_worker & ((rng.random(n) < P_WORKER) | ~can_department)
    # Nobody to send it to: the case waits at the desk (accepted) for good.
    no_lead = ~can_department & ~can_worker
    on_spot &= can_worker
    stuck = rng.random(n) < P_STUCK
    accepted = np.where(on_spot, NULL, created + _lognormal(rng, MEDIAN_HOURS["accept"], n))
    # The desk always has a queue: the newest reports are still waiting to be accepted, at any
    # hour the demo is seeded (at 3 a.m. every report of the evening was already accepted).
    backlog = np.argsort(created)[-max(3, n // 200) :]
    waiting = np.zeros(n, bool)
    waiting[backlog] = True
    accepted = np.where(waiting & ~on_spot, now_us + HOUR, accepted)
    first_dispatch = accepted + _lognormal(rng, MEDIAN_HOURS["dispatch"], n)
    return_at = first_dispatch + _lognormal(rng, 4, n)
    returned_done = returned & (accepted != NULL) & (return_at <= now_us)
    dispatched = np.where(
        returned_done, return_at + _lognormal(rng, MEDIAN_HOURS["dispatch"], n), first_dispatch
    )
    signed = dispatched + _lognormal(rng, MEDIAN_HOURS["sign"], n)
    handle_gap = _lognormal(rng, MEDIAN_HOURS["handle"], n) * np.where(stuck, 10, 1)
    handled = signed + handle_gap
    closed = handled + _lognormal(rng, MEDIAN_HOURS["verify"], n)
    rated_at = closed + _lognormal(rng, MEDIAN_HOURS["rate"], n)
    will_rate = rng.random(n) < P_RATED

    def reached(t: np.ndarray) -> np.ndarray:
        return (t != NULL) & (t <= now_us)

    def code(status: Status) -> int:
        return STATUSES.index(status)

    st = np.full(n, code(Status.REPORTED), dtype=np.int64)
    a_ok = ~on_spot & reached(accepted)
    st[a_ok] = code(Status.ACCEPTED)
    st[rejected & a_ok] = code(Status.REJECTED)
    live = a_ok & ~rejected & ~no_lead
    d_ok = live & reached(dispatched)
    st[d_ok] = code(Status.DISPATCHED)
    s_ok = d_ok & reached(signed)
    st[s_ok] = code(Status.IN_PROGRESS)
    h_ok = s_ok & reached(handled)
    st[h_ok] = code(Status.HANDLED)
    c_ok = h_ok & reached(closed)
    st[c_ok] = code(Status.CLOSED)
    r_ok = c_ok & will_rate & reached(rated_at)
    suspended = s_ok & ~h_ok & (rng.random(n) < P_SUSPEND / 0.05)
    st[suspended] = code(Status.SUSPENDED)
    st[on_spot] = code(Status.CLOSED)

    def keep(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.where(mask, values, NULL)

    accepted_at = keep(a_ok, accepted)
    dispatched_at = keep(d_ok, dispatched)
    signed_at = np.where(on_spot, created, keep(s_ok, signed))
    handled_at = np.where(on_spot, created, keep(h_ok, handled))
    closed_at = np.where(on_spot, created, keep(c_ok, closed))
    closed_at = np.where(rejected & a_ok, accepted, closed_at)
    rated = keep(r_ok, rated_at)
    suspended_at = signed + (handle_gap // 3)
    paused_at = keep(suspended & reached(suspended_at), suspended_at)
    st[suspended & (paused_at == NULL)] = code(Status.IN_PROGRESS)
    suspended &= paused_at != NULL

    solved = rng.random(n) >= P_EXPLAINED
    outcome = np.where(h_ok | on_spot, np.where(solved, 1, 2), 0)
    rating = np.where(r_ok, np.where(rng.random(n) < 0.82, 1, 2), 0)

    # Who leads: a department of the category's kind at the street (or the district), or the
    # grid worker.
    first = ref.department_options[grid, category, 0]
    second = ref.department_options[grid, category, 1]
    street_pick = (rng.random(n) < 0.6) | (second == 0)
    chosen = np.where(d_ok & ~worker_led, np.where(street_pick, first, second), 0)
    lead_worker = np.where((d_ok & worker_led) | on_spot, ref.worker_ids[grid], 0)
    lead_worker = np.where(lead_worker == 0, NULL, lead_worker)

    # Texts: the category's reports at one of the grid's buildings, reporters' names and numbers.
    building = (rng.random(n) * ref.building_count[grid]).astype(np.int64)
    variant = (rng.random(n) * ref.text_count[category]).astype(np.int64)
    lon = ref.building_lon[grid, building] + rng.normal(0, 0.00005, n)
    lat = ref.building_lat[grid, building] + rng.normal(0, 0.00005, n)
    surname = rng.integers(0, len(SURNAMES), n)
    given = rng.integers(0, len(GIVEN_NAMES), n)
    phone = PHONE_PREFIXES[rng.integers(0, 10, n)] * 10**8 + rng.integers(0, 10**8, n)
    anonymous = resident & (rng.random(n) < 0.06)
    reporter_id = np.where(patrol, ref.worker_ids[grid], 0)
    reporter_id = np.where(reporter_id == 0, NULL, reporter_id)
    result = np.where(h_ok | on_spot, _pick(RESULT_TEXTS, rng, n), -1)

    # The timeline's steps (the writers turn them into entries): mask and time of each.
    steps = {
        "report": (np.ones(n, bool), created),
        "resolve_on_spot": (on_spot, created),
        "accept": (a_ok, accepted),
        "reject": (rejected & a_ok, accepted),
        "first_dispatch": (returned_done, first_dispatch),
        "return": (returned_done, return_at),
        "dispatch": (d_ok, dispatched),
        "sign": (s_ok, signed),
        "request_suspension": (suspended, paused_at - HOUR),
        "approve_suspension": (suspended, paused_at),
        "handle": (h_ok, handled),
        "verify_pass": (c_ok, closed),
        "rate": (r_ok, rated),
    }
    version = np.zeros(n, dtype=np.int64)
    last_event = created.copy()
    for mask, at in steps.values():
        version += mask
        last_event = np.where(mask, np.maximum(last_event, at), last_event)
    open_now = np.isin(
        st, [code(Status.CLOSED), code(Status.REJECTED)], invert=True
    )  # (seeded cases are never merged)
    return {
        "id": ids,
        "created": created,
        "grid": grid,
        "category": category,
        "source": source,
        "patrol": patrol,
        "hotline": source == SOURCES.index(Source.HOTLINE),
        "response_due": response_due,
        "resolution_due": resolution_due,
        "due_soon": due_soon,
        "warning": warning,
        "status": st,
        "on_spot": on_spot,
        "a_ok": a_ok,
        "rejected": rejected & a_ok,
        "d_ok": d_ok,
        "s_ok": s_ok,
        "h_ok": h_ok,
        "c_ok": c_ok,
        "r_ok": r_ok,
        "suspended": suspended,
        "returned_done": returned_done,
        "first_dispatch": keep(returned_done, first_dispatch),
        "return_at": keep(returned_done, return_at),
        "accepted_at": accepted_at,
        "dispatched_at": dispatched_at,
        "signed_at": signed_at,
        "handled_at": handled_at,
        "closed_at": closed_at,
        "rated_at": rated,
        "paused_at": paused_at,
        "solved": solved,
        "outcome": outcome,
        "rating": rating,
        "department": chosen,
        "lead_department": ref.department_ids[chosen],
        "lead_worker": lead_worker,
        "building": building,
        "variant": variant,
        "lon": lon,
        "lat": lat,
        "surname": surname,
        "given": given,
        "phone": phone,
        "anonymous": anonymous,
        "reporter_id": reporter_id,
        "result": result,
        "reject_note": _pick(REJECT_NOTES, rng, n),
        "return_note": _pick(RETURN_NOTES, rng, n),
        "suspend_note": _pick(SUSPEND_NOTES, rng, n),
        "version": version,
        "updated": last_event,
        "warned_due_soon": open_now & (due_soon <= now_us),
        "warned_overdue": open_now & (resolution_due <= now_us),
    }


def generate(
    ref: _Reference,
    due_table: _Deadlines,
    rng: np.random.Generator,
    *,
    first_id: int,
    n: int,
    window: tuple[int, int],
    now_us: int,
) -> Batch:
    """`simulate`, turned into the rows of the case and timeline tables as Python values
    (SQLite; PostgreSQL assembles the same rows itself, see CASES_SQL and EVENTS_SQL)."""
    s = simulate(ref, due_table, rng, first_id=first_id, n=n, window=window, now_us=now_us)
    ids, grid, category = s["id"], s["grid"], s["category"]
    titles: list[str] = []
    descriptions: list[str] = []
    addresses: list[str] = []
    formatted: dict[tuple[int, int, int, int], tuple[str, str, str]] = {}
    for g, b, c, v in zip(
        grid.tolist(), s["building"].tolist(), category.tolist(), s["variant"].tolist(), strict=True
    ):
        hit = formatted.get((g, b, c, v))
        if hit is None:
            address = ref.buildings[g][b][0]
            title, description = ref.texts[c][v]
            road = address.split(" ")[0]
            hit = (
                title.format(place=address, road=road)[:100],
                description.format(place=address, road=road),
                address,
            )
            formatted[(g, b, c, v)] = hit
        titles.append(hit[0])
        descriptions.append(hit[1])
        addresses.append(hit[2])
    patrol, anonymous = s["patrol"], s["anonymous"]
    names = np.char.add(
        np.array(list(SURNAMES))[s["surname"]], np.array(list(GIVEN_NAMES))[s["given"]]
    ).astype(object)
    worker_name = ref.worker_names[grid]
    result = np.where(s["result"] >= 0, np.array(RESULT_TEXTS, dtype=object)[s["result"]], "")
    department_name = ref.department_names[s["department"]]
    lead_worker = s["lead_worker"]

    # Timeline: (mask, action, from, to, time, actor id, actor label, note, data, public)
    desk_id, desk_label = ref.dispatcher.pk, str(ref.dispatcher)
    reporter_id = s["reporter_id"]
    reporter_label = np.where(patrol, worker_name, "群众")
    lead_label = np.where(lead_worker != NULL, worker_name, department_name)
    none = np.full(n, NULL, dtype=np.int64)
    desk = np.full(n, desk_id, dtype=np.int64)
    empty = np.full(n, "", dtype=object)
    dispatch_data = np.array(
        [
            f'{{"department": "{d}", "worker": null, "co_departments": []}}'
            if d
            else f'{{"department": null, "worker": "{w}", "co_departments": []}}'
            for d, w in zip(department_name.tolist(), worker_name.tolist(), strict=True)
        ],
        dtype=object,
    )
    wrong = ref.departments.get((DISTRICT_CODE, "city_management"))
    wrong_data = (
        f'{{"department": "{wrong.name if wrong else ""}", "worker": null, "co_departments": []}}'
    )
    notes = {
        k: np.array(p, dtype=object)
        for k, p in (("reject", REJECT_NOTES), ("return", RETURN_NOTES), ("suspend", SUSPEND_NOTES))
    }
    rating = s["rating"]
    created, paused_at = s["created"], s["paused_at"]
    steps: list[tuple[Any, ...]] = [
        (np.ones(n, bool), "report", "", Status.REPORTED, created, reporter_id,
         reporter_label, empty, "{}", True),
        (s["on_spot"], "resolve_on_spot", Status.REPORTED, Status.CLOSED, created, reporter_id,
         reporter_label, result, "{}", True),
        (s["a_ok"], "accept", Status.REPORTED, Status.ACCEPTED, s["accepted_at"], desk,
         desk_label, empty, "{}", True),
        (s["rejected"], "reject", Status.ACCEPTED, Status.REJECTED, s["accepted_at"], desk,
         desk_label, notes["reject"][s["reject_note"]], "{}", True),
        (s["returned_done"], "dispatch", Status.ACCEPTED, Status.DISPATCHED,
         s["first_dispatch"], desk, desk_label, empty, wrong_data, True),
        (s["returned_done"], "return", Status.DISPATCHED, Status.ACCEPTED, s["return_at"], none,
         wrong.name if wrong else "职能部门", notes["return"][s["return_note"]], "{}", False),
        (s["d_ok"], "dispatch", Status.ACCEPTED, Status.DISPATCHED, s["dispatched_at"], desk,
         desk_label, empty, dispatch_data, True),
        (s["s_ok"], "sign", Status.DISPATCHED, Status.IN_PROGRESS, s["signed_at"], lead_worker,
         lead_label, empty, "{}", True),
        (s["suspended"], "request_suspension", Status.IN_PROGRESS, Status.IN_PROGRESS,
         paused_at - HOUR, lead_worker, lead_label, notes["suspend"][s["suspend_note"]],
         '{"extra": null}', False),
        (s["suspended"], "approve_suspension", Status.IN_PROGRESS, Status.SUSPENDED, paused_at,
         desk, desk_label, empty, "{}", True),
        (s["h_ok"], "handle", Status.IN_PROGRESS, Status.HANDLED, s["handled_at"], lead_worker,
         lead_label, result,
         np.where(s["solved"], '{"outcome": "solved"}', '{"outcome": "explained"}'), True),
        (s["c_ok"], "verify_pass", Status.HANDLED, Status.CLOSED, s["closed_at"], desk,
         desk_label, empty, "{}", True),
        (s["r_ok"], "rate", Status.CLOSED, Status.CLOSED, s["rated_at"], none, "群众", empty,
         np.where(rating == 1, '{"rating": "satisfied", "solved": true}',
                  '{"rating": "basically_satisfied", "solved": true}'), True),
    ]  # fmt: skip
    ev: dict[str, list[Any]] = {k: [] for k in EVENT_COLUMNS}
    for mask, action, src, dst, at, actor, label, note, data, public in steps:
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue

        def column(value: Any, idx: np.ndarray = idx) -> list[Any]:
            if isinstance(value, np.ndarray):
                return list(value[idx].tolist())
            return [value] * len(idx)

        ev["case_id"] += ids[idx].tolist()
        ev["action"] += [action] * len(idx)
        ev["from_status"] += column(src)
        ev["to_status"] += column(dst)
        ev["actor_id"] += column(actor)
        ev["actor_label"] += column(label)
        ev["note"] += column(note)
        ev["data"] += column(data)
        ev["is_public"] += [public] * len(idx)
        ev["created_at"] += np.asarray(at)[idx].tolist()

    limits = [ref.limits[c] for c in range(len(ref.categories))]
    lead_department = s["lead_department"]
    cases: dict[str, Any] = {
        "id": ids,
        "tracking_code": tracking_codes(ids),
        "title": titles,
        "description": descriptions,
        "category_id": ref.category_ids[category],
        "answers": "{}",
        "lon": s["lon"],
        "lat": s["lat"],
        "address": addresses,
        "grid_id": ref.grid_ids[grid],
        "grid_code": np.array([g.code for g in ref.grids], dtype=object)[grid],
        "handling_unit_id": ref.community_id[grid],
        "source": np.array(SOURCES, dtype=object)[s["source"]],
        "priority": np.array([c.priority for c in ref.categories], dtype=object)[category],
        "status": np.array(STATUSES, dtype=object)[s["status"]],
        "reporter_id": reporter_id,
        "reporter_name": np.where(anonymous, "", np.where(patrol, worker_name, names)),
        "reporter_phone": np.where(anonymous | patrol, "", s["phone"].astype(str)),
        "is_anonymous": anonymous,
        "external_ref": np.where(
            s["hotline"], np.char.add("12345-", ids.astype(str)).astype(object), ""
        ),
        "lead_department_id": np.where(lead_department == 0, NULL, lead_department),
        "lead_worker_id": lead_worker,
        "response_limit_hours": np.array([x.response_hours for x in limits])[category],
        "resolution_limit": np.array([x.resolution for x in limits])[category],
        "resolution_unit": np.array([x.unit for x in limits], dtype=object)[category],
        "clock_started_at": created,
        "extension_days": 0,
        "response_due_at": s["response_due"],
        "resolution_due_at": s["resolution_due"],
        "due_soon_at": s["due_soon"],
        "calendar_warning": np.array(due_table.warnings, dtype=object)[s["warning"]],
        "paused_at": paused_at,
        "pauses": "[]",
        "accepted_at": s["accepted_at"],
        "dispatched_at": s["dispatched_at"],
        "signed_at": s["signed_at"],
        "handled_at": s["handled_at"],
        "closed_at": s["closed_at"],
        "result": result,
        "outcome": np.array(OUTCOMES, dtype=object)[s["outcome"]],
        "rating": np.array(RATINGS, dtype=object)[rating],
        "rating_note": "",
        "rated_at": s["rated_at"],
        "reopen_count": 0,
        "return_count": s["returned_done"].astype(int),
        "master_id": None,
        # Warnings a scan would have sent already: do not send thousands on the next scan.
        "warned_due_soon": s["warned_due_soon"],
        "warned_overdue": s["warned_overdue"],
        "version": s["version"],
        "idempotency_key": None,
        "created_by_id": reporter_id,
        "created_at": created,
        "updated_at": s["updated"],
    }
    return Batch(cases=cases, events=ev, n=n)


EVENT_COLUMNS = (
    "case_id",
    "action",
    "from_status",
    "to_status",
    "actor_id",
    "actor_label",
    "note",
    "data",
    "is_public",
    "created_at",
)


TIME_COLUMNS = {
    "clock_started_at",
    "response_due_at",
    "resolution_due_at",
    "due_soon_at",
    "paused_at",
    "accepted_at",
    "dispatched_at",
    "signed_at",
    "handled_at",
    "closed_at",
    "rated_at",
    "created_at",
    "updated_at",
    "first_dispatch",
    "return_at",
}
JSON_COLUMNS = {"data", "answers", "pauses"}
ID_COLUMNS = {"reporter_id", "lead_department_id", "lead_worker_id", "master_id", "created_by_id"}


def _python_value(name: str, value: Any, i: int) -> Any:
    if not isinstance(value, np.ndarray | list):
        return json.loads(value) if name in JSON_COLUMNS else value
    v = value[i]
    if isinstance(v, np.generic):
        v = v.item()
    if (name in TIME_COLUMNS or name in ID_COLUMNS or name == "actor_id") and v == NULL:
        return None
    if name in TIME_COLUMNS:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(v))
    if name in JSON_COLUMNS:
        return json.loads(v)
    return v


def _bulk_create(batch: Batch, *, timeline: bool = True) -> None:
    cases = [
        Case(**{k: _python_value(k, v, i) for k, v in batch.cases.items()}) for i in range(batch.n)
    ]
    for case in cases:
        case.id = int(case.id)  # type: ignore[misc]
    Case.objects.bulk_create(cases, batch_size=500)
    if not timeline:
        return
    m = len(batch.events["case_id"])
    CaseEvent.objects.bulk_create(
        (
            CaseEvent(**{k: _python_value(k, v, i) for k, v in batch.events.items()})
            for i in range(m)
        ),
        batch_size=1000,
    )


# --- PostgreSQL: the varying columns as binary COPY, the wide rows assembled by the database ---

PG_EPOCH_US = 946_684_800 * US  # PostgreSQL counts timestamps from 2000-01-01 UTC
PG_NULL_TIME = np.iinfo(np.int64).min  # -infinity: "not yet", NULLIF'd into NULL below
# Staging column → (PostgreSQL type, binary layout). All fixed width, so that numpy writes the
# whole COPY BINARY payload as one structured array.
STAGING: dict[str, tuple[str, str]] = {
    "id": ("bigint", ">i8"),
    "tracking": ("text", "S8"),
    "created": ("timestamptz", ">i8"),
    "grid": ("smallint", ">i2"),
    "building": ("integer", ">i4"),
    "category": ("smallint", ">i2"),
    "variant": ("smallint", ">i2"),
    "source": ("smallint", ">i2"),
    "status": ("smallint", ">i2"),
    "response_due": ("timestamptz", ">i8"),
    "resolution_due": ("timestamptz", ">i8"),
    "due_soon": ("timestamptz", ">i8"),
    "warning": ("smallint", ">i2"),
    "paused_at": ("timestamptz", ">i8"),
    "accepted_at": ("timestamptz", ">i8"),
    "dispatched_at": ("timestamptz", ">i8"),
    "signed_at": ("timestamptz", ">i8"),
    "handled_at": ("timestamptz", ">i8"),
    "closed_at": ("timestamptz", ">i8"),
    "rated_at": ("timestamptz", ">i8"),
    "updated": ("timestamptz", ">i8"),
    "first_dispatch": ("timestamptz", ">i8"),
    "return_at": ("timestamptz", ">i8"),
    "outcome": ("smallint", ">i2"),
    "rating": ("smallint", ">i2"),
    "lead_department": ("bigint", ">i8"),
    "lead_worker": ("bigint", ">i8"),
    "reporter_id": ("bigint", ">i8"),
    "lon": ("double precision", ">f8"),
    "lat": ("double precision", ">f8"),
    "surname": ("smallint", ">i2"),
    "given": ("smallint", ">i2"),
    "phone": ("bigint", ">i8"),
    "anonymous": ("boolean", "u1"),
    "result": ("smallint", ">i2"),
    "returned_done": ("boolean", "u1"),
    "version": ("integer", ">i4"),
    "warned_due_soon": ("boolean", "u1"),
    "warned_overdue": ("boolean", "u1"),
}
STAGING_TIMES = {name for name, (kind, _layout) in STAGING.items() if kind == "timestamptz"}

# The lookups the staging rows point into (index → values), filled once per load.
LOOKUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "wangge_seed_grid": (
        ("g", "smallint"),
        ("grid_id", "bigint"),
        ("grid_code", "text"),
        ("community_id", "bigint"),
        ("worker_name", "text"),
    ),
    "wangge_seed_building": (
        ("g", "smallint"),
        ("b", "integer"),
        ("address", "text"),
        ("road", "text"),
    ),
    "wangge_seed_category": (
        ("c", "smallint"),
        ("category_id", "bigint"),
        ("priority", "text"),
        ("response_hours", "integer"),
        ("resolution_limit", "integer"),
        ("resolution_unit", "text"),
    ),
    "wangge_seed_text": (
        ("c", "smallint"),
        ("v", "smallint"),
        ("title", "text"),
        ("description", "text"),
    ),
}
LOOKUP_KEYS = {
    "wangge_seed_grid": "g",
    "wangge_seed_building": "g, b",
    "wangge_seed_category": "c",
    "wangge_seed_text": "c, v",
}


def _binary_payload(s: dict[str, np.ndarray], n: int) -> bytes:
    """The staging rows in COPY BINARY format: header, per row the field count and each
    field's length and big-endian value, trailer."""
    layout: list[tuple[str, str]] = [("fields", ">i2")]
    for name, (_kind, dtype) in STAGING.items():
        layout += [(f"{name}_length", ">i4"), (name, dtype)]
    rows = np.empty(n, dtype=np.dtype(layout))
    rows["fields"] = len(STAGING)
    for name, (_kind, dtype) in STAGING.items():
        rows[f"{name}_length"] = np.dtype(dtype).itemsize
        value = s[name]
        if name in STAGING_TIMES:
            value = np.where(value == NULL, PG_NULL_TIME, value - PG_EPOCH_US)
        rows[name] = value
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
    return header + rows.tobytes() + b"\xff\xff"


def _staging_tables(ref: _Reference) -> None:
    """Create (for this transaction) the staging table, and its lookups filled."""
    _check_templates(ref)
    columns = ", ".join(f"{name} {kind}" for name, (kind, _layout) in STAGING.items())
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS wangge_seed_case ({columns}) ON COMMIT DROP"
        )
        for table, lookup in LOOKUPS.items():
            definition = ", ".join(f"{name} {kind}" for name, kind in lookup)
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {table} ({definition}, "
                f"PRIMARY KEY ({LOOKUP_KEYS[table]})) ON COMMIT DROP"
            )
            cursor.execute(f"TRUNCATE {table}")
        rows: dict[str, list[tuple[Any, ...]]] = {
            "wangge_seed_grid": [
                (gi, g.pk, g.code, int(ref.community_id[gi]), str(ref.worker_names[gi]))
                for gi, g in enumerate(ref.grids)
            ],
            "wangge_seed_building": [
                (gi, bi, address, address.split(" ")[0])
                for gi, buildings in enumerate(ref.buildings)
                for bi, (address, _lon, _lat) in enumerate(buildings)
            ],
            "wangge_seed_category": [
                (ci, c.pk, str(c.priority), x.response_hours, x.resolution, str(x.unit))
                for ci, (c, x) in enumerate(zip(ref.categories, ref.limits, strict=True))
            ],
            "wangge_seed_text": [
                (ci, vi, title, description)
                for ci, texts in ref.texts.items()
                for vi, (title, description) in enumerate(texts)
            ],
        }
        for table, values in rows.items():
            # One statement per lookup: its columns as arrays, unnested.
            arrays = ", ".join(f"%s::{kind}[]" for _name, kind in LOOKUPS[table])
            cursor.execute(
                f"INSERT INTO {table} SELECT * FROM unnest({arrays})",  # noqa: S608 (constants)
                [list(column) for column in zip(*values, strict=True)],
            )


def _check_templates(ref: _Reference) -> None:
    # The database fills {place} and {road} with replace(): no other format fields may occur.
    for texts in ref.texts.values():
        for pair in texts:
            for text in pair:
                if text.format(place="{place}", road="{road}") != text:
                    raise ValueError(f"report template with other fields: {text!r}")


def _stage(s: dict[str, np.ndarray], n: int) -> None:
    s = {**s, "tracking": _tracking_bytes(s["id"])}
    names = ", ".join(STAGING)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE wangge_seed_case")
        raw = cursor.cursor  # psycopg's own cursor: COPY is not part of the DB-API
        with raw.copy(f"COPY wangge_seed_case ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            payload = memoryview(_binary_payload(s, n))
            step = 8 << 20
            for start in range(0, len(payload), step):
                copy.write(payload[start : start + step])


def _time(column: str) -> str:
    return f"NULLIF(s.{column}, '-infinity')"


# The case rows, from the staged columns and the lookups: what `generate` builds in Python.
CASES_SQL = f"""
INSERT INTO cases_case
    (id, tracking_code, title, description, category_id, answers, lon, lat, address, grid_id,
     grid_code, handling_unit_id, source, priority, status, reporter_id, reporter_name,
     reporter_phone, is_anonymous, external_ref, lead_department_id, lead_worker_id,
     response_limit_hours, resolution_limit, resolution_unit, clock_started_at, extension_days,
     response_due_at, resolution_due_at, due_soon_at, calendar_warning, paused_at, pauses,
     accepted_at, dispatched_at, signed_at, handled_at, closed_at, result, outcome, rating,
     rating_note, rated_at, reopen_count, return_count, master_id, warned_due_soon,
     warned_overdue, version, idempotency_key, created_by_id, created_at, updated_at)
SELECT s.id, s.tracking,
       left(replace(replace(t.title, '{{place}}', b.address), '{{road}}', b.road), 100),
       replace(replace(t.description, '{{place}}', b.address), '{{road}}', b.road),
       c.category_id, '{{}}'::jsonb, s.lon, s.lat, b.address, g.grid_id, g.grid_code,
       g.community_id, (%(sources)s::text[])[s.source + 1], c.priority,
       (%(statuses)s::text[])[s.status + 1], NULLIF(s.reporter_id, {NULL}),
       CASE WHEN s.anonymous THEN '' WHEN s.source = %(patrol)s THEN g.worker_name
            ELSE (%(surnames)s::text[])[s.surname + 1] || (%(given)s::text[])[s.given + 1] END,
       CASE WHEN s.anonymous OR s.source = %(patrol)s THEN '' ELSE s.phone::text END,
       s.anonymous, CASE WHEN s.source = %(hotline)s THEN '12345-' || s.id ELSE '' END,
       NULLIF(s.lead_department, 0), NULLIF(s.lead_worker, {NULL}),
       c.response_hours, c.resolution_limit, c.resolution_unit, s.created, 0,
       s.response_due, s.resolution_due, s.due_soon, (%(warnings)s::text[])[s.warning + 1],
       {_time("paused_at")}, '[]'::jsonb, {_time("accepted_at")}, {_time("dispatched_at")},
       {_time("signed_at")}, {_time("handled_at")}, {_time("closed_at")},
       COALESCE((%(results)s::text[])[s.result + 1], ''), (%(outcomes)s::text[])[s.outcome + 1],
       (%(ratings)s::text[])[s.rating + 1], '', {_time("rated_at")}, 0,
       s.returned_done::int, NULL, s.warned_due_soon, s.warned_overdue, s.version, NULL,
       NULLIF(s.reporter_id, {NULL}), s.created, s.updated
FROM wangge_seed_case s
JOIN wangge_seed_grid g ON g.g = s.grid
JOIN wangge_seed_building b ON b.g = s.grid AND b.b = s.building
JOIN wangge_seed_category c ON c.c = s.category
JOIN wangge_seed_text t ON t.c = s.category AND t.v = s.variant
"""  # noqa: S608 (constants only; values are parameters)


def _cases_sql(due_table: _Deadlines) -> None:
    params: dict[str, Any] = {
        "sources": [str(x) for x in SOURCES],
        "statuses": [str(x) for x in STATUSES],
        "outcomes": [str(x) for x in OUTCOMES],
        "ratings": [str(x) for x in RATINGS],
        "warnings": due_table.warnings,
        "results": RESULT_TEXTS,
        "surnames": list(SURNAMES),
        "given": list(GIVEN_NAMES),
        "patrol": SOURCES.index(Source.GRID_PATROL),
        "hotline": SOURCES.index(Source.HOTLINE),
    }
    with connection.cursor() as cursor:
        cursor.execute(CASES_SQL, params)


# The timeline of cases just copied, written by PostgreSQL from the cases' own columns: the
# same steps, times, actors and texts as `generate` builds for the other databases.
EVENTS_SQL = """
INSERT INTO cases_caseevent
    (case_id, action, from_status, to_status, actor_id, actor_label, note, data, is_public,
     created_at)
SELECT c.id, v.action, v.from_status, v.to_status, v.actor_id, v.actor_label, v.note,
       v.data, v.is_public, v.at
FROM cases_case c
JOIN wangge_seed_case r ON r.id = c.id
LEFT JOIN territory_department d ON d.id = c.lead_department_id
LEFT JOIN accounts_user u ON u.id = c.lead_worker_id
CROSS JOIN LATERAL (
  SELECT COALESCE(NULLIF(u.display_name, ''), u.username, d.name, '网格员') AS lead,
         c.accepted_at IS NOT NULL AS desk
) AS l
-- Each step's time is NULL when the case did not take it; the expressions of the other
-- columns are only evaluated for the steps taken (CASE), which is most of the work.
CROSS JOIN LATERAL (VALUES
  (1, 'report', '', 'reported', c.created_at, c.reporter_id,
   CASE WHEN c.source = 'grid_patrol' THEN c.reporter_name ELSE '群众' END, '',
   '{}'::jsonb, true),
  (2, 'resolve_on_spot', 'reported', 'closed',
   CASE WHEN NOT l.desk AND c.status = 'closed' THEN c.created_at END,
   c.reporter_id, c.reporter_name, c.result, '{}', true),
  (3, 'accept', 'reported', 'accepted', c.accepted_at, %(desk_id)s, %(desk_label)s, '', '{}',
   true),
  (4, 'reject', 'accepted', 'rejected', CASE WHEN c.status = 'rejected' THEN c.accepted_at END,
   %(desk_id)s, %(desk_label)s,
   CASE WHEN c.status = 'rejected' THEN (%(reject_notes)s::text[])[1 + c.id %% %(n_reject)s] END,
   '{}', true),
  (5, 'dispatch', 'accepted', 'dispatched', NULLIF(r.first_dispatch, '-infinity'), %(desk_id)s,
   %(desk_label)s, '', %(wrong_data)s::jsonb, true),
  (6, 'return', 'dispatched', 'accepted', NULLIF(r.return_at, '-infinity'), NULL,
   %(wrong_label)s,
   CASE WHEN r.returned_done THEN (%(return_notes)s::text[])[1 + c.id %% %(n_return)s] END,
   '{}', false),
  (7, 'dispatch', 'accepted', 'dispatched', c.dispatched_at, %(desk_id)s, %(desk_label)s, '',
   CASE WHEN c.dispatched_at IS NOT NULL THEN jsonb_build_object(
     'department', d.name, 'worker', COALESCE(NULLIF(u.display_name, ''), u.username),
     'co_departments', '[]'::jsonb) END, true),
  (8, 'sign', 'dispatched', 'in_progress', CASE WHEN l.desk THEN c.signed_at END,
   c.lead_worker_id, l.lead, '', '{}', true),
  (9, 'request_suspension', 'in_progress', 'in_progress', c.paused_at - interval '1 hour',
   c.lead_worker_id, l.lead,
   CASE WHEN c.paused_at IS NOT NULL THEN
     (%(suspend_notes)s::text[])[1 + c.id %% %(n_suspend)s] END,
   '{"extra": null}', false),
  (10, 'approve_suspension', 'in_progress', 'suspended', c.paused_at, %(desk_id)s,
   %(desk_label)s, '', '{}', true),
  (11, 'handle', 'in_progress', 'handled', CASE WHEN l.desk THEN c.handled_at END,
   c.lead_worker_id, l.lead, c.result,
   CASE WHEN l.desk AND c.handled_at IS NOT NULL THEN jsonb_build_object('outcome', c.outcome)
   END, true),
  (12, 'verify_pass', 'handled', 'closed',
   CASE WHEN c.status = 'closed' AND l.desk THEN c.closed_at END,
   %(desk_id)s, %(desk_label)s, '', '{}', true),
  (13, 'rate', 'closed', 'closed', c.rated_at, NULL, '群众', '',
   CASE WHEN c.rated_at IS NOT NULL THEN jsonb_build_object('rating', c.rating, 'solved', true)
   END, true)
) AS v(ord, action, from_status, to_status, at, actor_id, actor_label, note, data, is_public)
WHERE c.id >= %(lo)s AND c.id < %(hi)s AND v.at IS NOT NULL
ORDER BY c.id, v.ord
"""


def _events_sql(ref: _Reference, first_id: int, n: int) -> None:
    wrong = ref.departments.get((DISTRICT_CODE, "city_management"))
    wrong_name = wrong.name if wrong else "职能部门"
    params: dict[str, Any] = {
        "desk_id": ref.dispatcher.pk,
        "desk_label": str(ref.dispatcher),
        "reject_notes": list(REJECT_NOTES),
        "n_reject": len(REJECT_NOTES),
        "return_notes": list(RETURN_NOTES),
        "n_return": len(RETURN_NOTES),
        "suspend_notes": list(SUSPEND_NOTES),
        "n_suspend": len(SUSPEND_NOTES),
        "wrong_data": json.dumps(
            {"department": wrong_name, "worker": None, "co_departments": []}, ensure_ascii=False
        ),
        "wrong_label": wrong_name,
        "lo": first_id,
        "hi": first_id + n,
    }
    with connection.cursor() as cursor:
        cursor.execute(EVENTS_SQL, params)


BULK_TABLES = (Case._meta.db_table, CaseEvent._meta.db_table)


def _drop_secondary_indexes(
    tables: tuple[str, ...] = BULK_TABLES, *, keep_unique: bool = False
) -> list[str]:
    """Drop the indexes and (unless `keep_unique`) unique constraints, not the primary keys, of
    `tables`, returning the statements that recreate them. Building an index once over sorted
    data is many times cheaper than updating it row by row; the caller's transaction holds the
    tables' locks, so nobody ever sees them without their indexes."""
    recreate: list[str] = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid), conindid FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
            unique = cursor.fetchall()
            kept = {index for _name, _definition, index in unique} if keep_unique else set()
            for name, definition, _index in [] if keep_unique else unique:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(
                "SELECT i.indexrelid, i.indexrelid::regclass::text, "
                "pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
                [table],
            )
            for oid, name, definition in cursor.fetchall():
                if oid in kept:
                    continue
                cursor.execute(f"DROP INDEX {name}")
                recreate.append(definition)
    return recreate


def _bulk_session(*, trust_references: bool) -> None:
    """Settings of this transaction for a bulk load on PostgreSQL."""
    with connection.cursor() as cursor:
        # Index builds run with PostgreSQL's parallel workers (2 by default), which share
        # this memory: at 256 MB a 1M-case load's 22 index builds spilled to disk (16 s);
        # at 1 GB they take 11.7 s (2 GB no better). Local to the load's transaction.
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        if trust_references:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            if row and row[0]:
                # Every reference written here points at a row read or written by this load:
                # skip the per-row foreign-key triggers (superusers only).
                cursor.execute("SET LOCAL session_replication_role = replica")


def _reserve_ids(n: int) -> int:
    """The first of n consecutive case ids nobody else will take."""
    table = Case._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
            first = int(cursor.fetchone()[0]) + 1
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, first + n - 1]
            )
        return first
    return int(Case.objects.aggregate(m=Max("id"))["m"] or 0) + 1


@dataclass
class Result:
    cases: int
    events: int
    seconds: float
    rollup_seconds: float
    # Where the time went (seconds): "prepare", "generate", "write", "timeline", "counters",
    # "indexes".
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def seed_cases(
    *,
    count: int,
    days: int = 90,
    seed: int = 2026,
    chunk: int = 100_000,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    defer_indexes: bool | None = None,
    trust_references: bool = True,
    timeline: bool = True,
) -> Result:
    """Add `count` cases received over the last `days` days, in one transaction.

    On PostgreSQL the cases are simulated by numpy as a few narrow numeric columns, copied in
    binary into a temporary table and turned into case rows (texts, names, codes) by one
    INSERT … SELECT per chunk; the timeline is another INSERT … SELECT from the cases. A load at
    least as large as the table (and 100,000 cases) rebuilds the case, timeline, mark and day
    rollup tables' secondary indexes once at the end instead of updating them per row
    (`defer_indexes`; the day rollups are then rewritten whole), and a superuser skips the
    foreign-key triggers (`trust_references`): the tables are locked meanwhile. The counters:
    marks by the recount's own rules over the new cases, every rollup grain summed from them
    (`dashboard.actions.count_loaded`). `timeline=False` (benchmarks of counters and lists
    only) leaves out the timeline entries.
    """
    if count < 1:
        raise DemoError("数量须为正整数 (count must be at least 1)", field="count")
    if days < 1:
        raise DemoError("天数须为正整数 (days must be at least 1)", field="days")
    if chunk < 1:
        raise DemoError("每批数量须为正整数 (chunk must be at least 1)", field="chunk")
    started = clock.perf_counter()
    phases = dict.fromkeys(("prepare", "generate", "write", "timeline", "counters", "indexes"), 0.0)
    now = (now or timezone.now()).replace(microsecond=0)
    now_us = int(now.timestamp() * US)
    local_start = timezone.localtime(now - timedelta(days=days)).replace(
        minute=0, second=0, microsecond=0
    )
    first_id = 0
    with transaction.atomic():
        first_id = _reserve_ids(count)
    rng = np.random.default_rng([seed, first_id])
    ref = _load(rng)
    table = _Deadlines(local_start, now, ref.limits)
    lo = table.start_us
    span = now_us - lo
    done = events = 0
    chunks = max(1, -(-count // chunk))
    postgres = connection.vendor == "postgresql"
    if defer_indexes is None:
        defer_indexes = postgres and count >= max(100_000, Case.objects.count())

    def lap(phase: str, since: float) -> float:
        t = clock.perf_counter()
        phases[phase] += t - since
        return t

    with transaction.atomic():
        recreate: list[str] = []
        t = started  # "prepare": ids, reference data, deadline table, indexes, lookups
        if postgres:
            _bulk_session(trust_references=trust_references)
            if defer_indexes:
                recreate = _drop_secondary_indexes()
                # The marks and the day rollups grow with the cases too. The day rollups are
                # rewritten whole by count_loaded (no ON CONFLICT: their unique key goes too
                # and comes back with the other indexes, checking that each key is once).
                recreate += _drop_secondary_indexes((CaseMark._meta.db_table,), keep_unique=True)
                recreate += _drop_secondary_indexes((CaseRollup._meta.db_table,))
            _staging_tables(ref)
        t = lap("prepare", t)
        for k in range(chunks):
            n = min(chunk, count - done)
            # Chunks fill the period oldest first, so ids grow with the time of receipt.
            window = (lo + span * k // chunks, lo + span * (k + 1) // chunks)
            args: dict[str, Any] = {
                "first_id": first_id + done, "n": n, "window": window, "now_us": now_us
            }  # fmt: skip
            if postgres:
                s = simulate(ref, table, rng, **args)
                t = lap("generate", t)
                _stage(s, n)
                _cases_sql(table)
                t = lap("write", t)
                if timeline:
                    _events_sql(ref, first_id + done, n)
                    events += int(s["version"].sum())
                t = lap("timeline", t)
            else:  # SQLite (tests, small demos); updated_at is stamped now by auto_now
                batch = generate(ref, table, rng, **args)
                t = lap("generate", t)
                _bulk_create(batch, timeline=timeline)
                events += batch.event_count if timeline else 0
                t = lap("write", t)
            done += n
            if progress is not None:
                progress(done, count)
        if postgres:
            count_loaded(first_id, first_id + count, rebuild_days=defer_indexes)
        else:
            count_cases(Case.objects.filter(pk__gte=first_id, pk__lt=first_id + count))
        t = lap("counters", t)
        if recreate:
            with connection.cursor() as cursor:
                for statement in recreate:
                    cursor.execute(statement)
                tables = (*BULK_TABLES, CaseMark._meta.db_table, CaseRollup._meta.db_table)
                cursor.execute(f"ANALYZE {', '.join(tables)}")
        t = lap("indexes", t)
    return Result(done, events, clock.perf_counter() - started, phases["counters"], phases)
