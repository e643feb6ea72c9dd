"""Bulk case history for demos and benchmarks: `manage.py seed_cases --count N`.

Generates many realistic cases at once in the demo district (its grids, buildings, categories,
departments and field staff) with numpy, each with the timeline a page needs, plausible
deadlines from the working calendar and the state its age allows (recent cases are still open,
old ones mostly closed, a tail stuck and overdue). Rows are written with COPY on PostgreSQL and
`bulk_create` elsewhere, in chunks; after each chunk the dashboard's rollups and marks are
computed by the database with the recount's own SQL (`dashboard.actions.count_cases`), so the
counters equal a recount.

This bypasses `cases.actions` on purpose: the rows it writes are what the actions would have
written for the same history, and a test checks them against the actions' own rules
(deadlines, counters, pages).
"""

import json
import time as clock
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from wangge.dashboard.actions import count_cases
from wangge.territory.models import Building, Department, Level, OrgUnit
from wangge.workcalendar import deadlines
from wangge.workcalendar.selectors import working_calendar

US = 1_000_000  # microseconds per second
HOUR = 3600 * US
DAY = 24 * HOUR
NULL = -1  # "no timestamp" in the int64 arrays
CODE_SPACE = len(TRACKING_ALPHABET) ** 8
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
    )
    for i, c in enumerate(categories):
        ref.texts[i] = REPORTS.get(c.code) or [(c.name, f"群众反映{c.name}问题，请尽快处理。")]
    return ref


class _Deadlines:
    """Deadlines of every case from a table computed with the real calendar.

    For each local hour of the period and each distinct set of limits, `sla.compute_due` gives
    the deadlines of a case received at the start of that hour; a case received later in the
    hour is due that much later (clock hours, and working days on a working day), or at the same
    instant when working days are counted from a non-working day (its deadlines are fixed at
    24:00 of a working day, whatever the hour of receipt). Where the due-soon instant jumps
    within an hour (it falls across a weekend or holiday), the cases of that hour get it
    computed one by one.
    """

    def __init__(self, start: datetime, hours: int, limits: list[sla.Limits]):
        self.start_us = int(start.timestamp() * US)
        self.keys = sorted(set(limits), key=repr)
        self.index = np.array([self.keys.index(x) for x in limits])
        self.calendar = working_calendar()
        shape = (len(self.keys), hours + 1)
        self.response = np.zeros(shape, dtype=np.int64)
        self.resolution = np.zeros(shape, dtype=np.int64)
        self.soon = np.zeros(shape, dtype=np.int64)
        self.fixed = np.zeros(shape, dtype=bool)
        self.warning = np.full(shape, "", dtype=object)
        for h in range(hours + 1):
            at = start + timedelta(hours=h)
            workday = self.calendar.is_workday(timezone.localtime(at).date())
            for k, limit in enumerate(self.keys):
                response, resolution, soon, warning = self._due(at, limit)
                self.response[k, h] = response
                self.resolution[k, h] = resolution
                self.soon[k, h] = soon
                self.fixed[k, h] = limit.unit == LimitUnit.WORKING_DAYS and not workday
                self.warning[k, h] = warning
        # Hours in which the deadlines do not move with the time of receipt (a deadline at the
        # end of a working day before a weekend, a due-soon instant across a holiday).
        soon_step = self.soon[:, 1:] - self.soon[:, :-1]
        due_step = self.resolution[:, 1:] - self.resolution[:, :-1]
        self.jumps = ~self.fixed[:, :-1] & ((soon_step != HOUR) | (due_step != HOUR))

    def _due(self, at: datetime, limit: sla.Limits) -> tuple[int, int, int, str]:
        # sla.compute_due without pauses or extensions, on one calendar for the whole table
        # (compute_due re-reads the calendar's revision on every call).
        cal = self.calendar if limit.unit != LimitUnit.HOURS else deadlines.HOURS_ONLY
        response = deadlines.deadline(
            at, limit.response_hours, LimitUnit.HOURS, calendar=deadlines.HOURS_ONLY
        )
        resolution = deadlines.deadline(at, limit.resolution, limit.unit, calendar=cal)
        soon = deadlines.due_soon_at(
            at,
            resolution.due_at,
            limit_unit=limit.unit,
            due_soon_fraction=limit.due_soon_fraction,
            due_soon_window=timedelta(hours=limit.due_soon_min_hours),
            calendar=cal,
        )
        warnings = [*response.warnings, *resolution.warnings]
        return (
            int(response.due_at.timestamp() * US),
            int(resolution.due_at.timestamp() * US),
            int(soon.timestamp() * US),
            "；".join(dict.fromkeys(str(w) for w in warnings))[:200],
        )

    def __call__(
        self, created: np.ndarray, category: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        k = self.index[category]
        h = (created - self.start_us) // HOUR
        shift = (created - self.start_us) - h * HOUR
        fixed = self.fixed[k, h]
        moved = np.where(fixed, 0, shift)
        resolution = self.resolution[k, h] + moved
        soon = self.soon[k, h] + moved
        for i in np.flatnonzero(self.jumps[k, h]).tolist():
            at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(created[i]))
            _response, resolution[i], soon[i], _warning = self._due(at, self.keys[int(k[i])])
        return self.response[k, h] + shift, resolution, soon, self.warning[k, h]


def tracking_codes(ids: np.ndarray) -> list[str]:
    """Distinct 8-character codes for distinct ids (a bijection of the code space)."""
    x = (ids.astype(np.uint64) * np.uint64(CODE_FACTOR)) % np.uint64(CODE_SPACE)
    alphabet = np.frombuffer(TRACKING_ALPHABET.encode(), dtype=np.uint8)
    digits = np.stack(
        [alphabet[((x >> np.uint64(5 * i)) & np.uint64(31)).astype(np.int64)] for i in range(8)],
        axis=1,
    )
    return digits.copy().view("S8").ravel().astype(str).tolist()


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "")


def _stamp(values: np.ndarray) -> list[str]:
    """int64 microseconds since the epoch → COPY text (\\N for NULL)."""
    text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us", timezone="UTC")
    out = np.where(values == NULL, "\\N", text)
    return list(out.tolist())


@dataclass
class Batch:
    """One chunk of generated cases as columns, and their timeline as event columns."""

    cases: dict[str, Any]
    events: dict[str, Any]
    n: int
    returns: dict[str, Any] = field(default_factory=dict)

    @property
    def event_count(self) -> int:
        return int(self.cases["version"].sum())


def _lognormal(rng: np.random.Generator, median_hours: float, n: int) -> np.ndarray:
    return (rng.lognormal(np.log(median_hours), 0.9, n) * HOUR).astype(np.int64)


def _pick_texts(pool: list[str], rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]


def generate(
    ref: _Reference,
    due_table: _Deadlines,
    rng: np.random.Generator,
    *,
    first_id: int,
    n: int,
    window: tuple[int, int],
    now_us: int,
    with_events: bool = True,
) -> Batch:
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    lo, hi = window
    # Reports arrive by day and mostly in waking hours: a uniform day, a daytime hour.
    created = np.sort(rng.integers(lo, hi, n))
    local_hour = ((created + 8 * HOUR) // HOUR) % 24  # Asia/Shanghai has no DST
    night = (local_hour < 7) | (local_hour >= 22)
    created = np.where(night & (rng.random(n) < 0.8), created - 10 * HOUR, created)
    created = np.clip(created, due_table.start_us, now_us - 60 * US)

    grid = rng.choice(len(ref.grids), n, p=ref.grid_p)
    category = rng.choice(len(ref.categories), n, p=ref.category_p)
    sources = list(SOURCE_WEIGHTS)
    sp = np.array([SOURCE_WEIGHTS[s] for s in sources], dtype=float)
    source = rng.choice(len(sources), n, p=sp / sp.sum())
    patrol = source == sources.index(Source.GRID_PATROL)
    resident = source == sources.index(Source.RESIDENT)
    hotline = source == sources.index(Source.HOTLINE)
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

    st = np.full(n, Status.REPORTED, dtype=object)
    a_ok = ~on_spot & reached(accepted)
    st[a_ok] = Status.ACCEPTED
    st[rejected & a_ok] = Status.REJECTED
    live = a_ok & ~rejected & ~no_lead
    d_ok = live & reached(dispatched)
    st[d_ok] = Status.DISPATCHED
    s_ok = d_ok & reached(signed)
    st[s_ok] = Status.IN_PROGRESS
    h_ok = s_ok & reached(handled)
    st[h_ok] = Status.HANDLED
    c_ok = h_ok & reached(closed)
    st[c_ok] = Status.CLOSED
    r_ok = c_ok & will_rate & reached(rated_at)
    suspended = s_ok & ~h_ok & (rng.random(n) < P_SUSPEND / 0.05)
    st[suspended] = Status.SUSPENDED
    st[on_spot] = Status.CLOSED

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
    st[suspended & (paused_at == NULL)] = Status.IN_PROGRESS
    suspended &= paused_at != NULL

    solved = rng.random(n) >= P_EXPLAINED
    outcome = np.where(h_ok | on_spot, np.where(solved, Outcome.SOLVED, Outcome.EXPLAINED), "")
    rating = np.where(
        r_ok,
        np.where(rng.random(n) < 0.82, Rating.SATISFIED, Rating.BASICALLY_SATISFIED),
        "",
    )

    # Who leads: a department of the category's kind at the street (or the district), or the
    # grid worker.
    grid_codes = np.array([g.code for g in ref.grids], dtype=object)[grid]
    first = ref.department_options[grid, category, 0]
    second = ref.department_options[grid, category, 1]
    street_pick = (rng.random(n) < 0.6) | (second == 0)
    chosen = np.where(d_ok & ~worker_led, np.where(street_pick, first, second), 0)
    lead_department = ref.department_ids[chosen]
    department_name = ref.department_names[chosen]
    worker_ids = ref.worker_ids
    lead_worker = np.where((d_ok & worker_led) | on_spot, worker_ids[grid], 0)
    lead_worker = np.where(lead_worker == 0, NULL, lead_worker)

    # Texts: the category's reports, the building's address, reporters' names and numbers.
    building = (rng.random(n) * np.array([len(b) for b in ref.buildings])[grid]).astype(int)
    variant = (
        rng.random(n) * np.array([len(ref.texts[c]) for c in range(len(ref.categories))])[category]
    ).astype(int)
    formatted: dict[tuple[int, int, int, int], tuple[str, str, str]] = {}
    titles: list[str] = []
    descriptions: list[str] = []
    addresses: list[str] = []
    lons = np.empty(n)
    lats = np.empty(n)
    for i, (g, b, c, v) in enumerate(
        zip(grid.tolist(), building.tolist(), category.tolist(), variant.tolist(), strict=True)
    ):
        key4 = (g, b, c, v)
        hit = formatted.get(key4)
        address, lon, lat = ref.buildings[g][b]
        if hit is None:
            title, description = ref.texts[c][v]
            road = address.split(" ")[0]
            hit = (
                title.format(place=address, road=road)[:100],
                description.format(place=address, road=road),
                address,
            )
            formatted[key4] = hit
        titles.append(hit[0])
        descriptions.append(hit[1])
        addresses.append(hit[2])
        lons[i], lats[i] = lon, lat
    lons += rng.normal(0, 0.00005, n)
    lats += rng.normal(0, 0.00005, n)
    surnames, given = list(SURNAMES), list(GIVEN_NAMES)
    names = np.char.add(
        np.array(surnames)[rng.integers(0, len(surnames), n)],
        np.array(given)[rng.integers(0, len(given), n)],
    ).astype(object)
    prefixes = np.array([135, 136, 138, 139, 150, 158, 186, 188, 177, 199], dtype=np.int64)
    phones = (prefixes[rng.integers(0, 10, n)] * 10**8 + rng.integers(0, 10**8, n)).astype(str)
    anonymous = resident & (rng.random(n) < 0.06)
    reporter_id = np.where(patrol, worker_ids[grid], 0)
    reporter_id = np.where(reporter_id == 0, NULL, reporter_id)
    worker_name = ref.worker_names[grid]
    reporter_name = np.where(anonymous, "", np.where(patrol, worker_name, names))
    reporter_phone = np.where(anonymous | patrol, "", phones)
    results_pool = [r for rs in RESULTS.values() for r in rs]
    result = np.where(h_ok | on_spot, _pick_texts(results_pool, rng, n), "")

    # Timeline: (mask, action, from, to, time, actor id, actor label, note, data, public)
    desk_id, desk_label = ref.dispatcher.pk, str(ref.dispatcher)
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
    reject_note = _pick_texts(REJECT_NOTES, rng, n)
    return_note = _pick_texts(RETURN_NOTES, rng, n)
    suspend_note = _pick_texts(SUSPEND_NOTES, rng, n)
    wrong = ref.departments.get((DISTRICT_CODE, "city_management"))
    wrong_data = (
        f'{{"department": "{wrong.name if wrong else ""}", "worker": null, "co_departments": []}}'
    )
    steps: list[tuple[Any, ...]] = [
        (np.ones(n, bool), "report", "", Status.REPORTED, created, reporter_id,
         reporter_label, empty, "{}", True),
        (on_spot, "resolve_on_spot", Status.REPORTED, Status.CLOSED, created, reporter_id,
         reporter_label, result, "{}", True),
        (a_ok, "accept", Status.REPORTED, Status.ACCEPTED, accepted, desk, desk_label, empty,
         "{}", True),
        (rejected & a_ok, "reject", Status.ACCEPTED, Status.REJECTED, accepted, desk,
         desk_label, reject_note, "{}", True),
        (returned_done, "dispatch", Status.ACCEPTED, Status.DISPATCHED, first_dispatch, desk,
         desk_label, empty, wrong_data, True),
        (returned_done, "return", Status.DISPATCHED, Status.ACCEPTED, return_at, none,
         wrong.name if wrong else "职能部门", return_note, "{}", False),
        (d_ok, "dispatch", Status.ACCEPTED, Status.DISPATCHED, dispatched, desk, desk_label,
         empty, dispatch_data, True),
        (s_ok, "sign", Status.DISPATCHED, Status.IN_PROGRESS, signed, lead_worker, lead_label,
         empty, "{}", True),
        (suspended, "request_suspension", Status.IN_PROGRESS, Status.IN_PROGRESS,
         paused_at - HOUR, lead_worker, lead_label, suspend_note, '{"extra": null}', False),
        (suspended, "approve_suspension", Status.IN_PROGRESS, Status.SUSPENDED, paused_at, desk,
         desk_label, empty, "{}", True),
        (h_ok, "handle", Status.IN_PROGRESS, Status.HANDLED, handled, lead_worker, lead_label,
         result, np.where(solved, '{"outcome": "solved"}', '{"outcome": "explained"}'), True),
        (c_ok, "verify_pass", Status.HANDLED, Status.CLOSED, closed, desk, desk_label, empty,
         "{}", True),
        (r_ok, "rate", Status.CLOSED, Status.CLOSED, rated, none, "群众", empty,
         np.where(rating == Rating.SATISFIED, '{"rating": "satisfied", "solved": true}',
                  '{"rating": "basically_satisfied", "solved": true}'), True),
    ]  # fmt: skip
    ev: dict[str, list[Any]] = {
        k: []
        for k in (
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
    }
    version = np.zeros(n, dtype=np.int64)
    last_event = created.copy()
    for mask, action, src, dst, at, actor, label, note, data, public in steps:
        if not with_events:  # the database writes them (EVENTS_SQL): count them only
            idx = np.flatnonzero(mask)
            version[idx] += 1
            last_event[idx] = np.maximum(last_event[idx], np.asarray(at)[idx])
            continue
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        version[idx] += 1

        def column(value: Any, idx: np.ndarray = idx) -> list[Any]:
            if isinstance(value, np.ndarray):
                return list(value[idx].tolist())
            return [value] * len(idx)

        at_idx = np.asarray(at)[idx]
        last_event[idx] = np.maximum(last_event[idx], at_idx)
        ev["case_id"] += ids[idx].tolist()
        ev["action"] += [action] * len(idx)
        ev["from_status"] += column(src)
        ev["to_status"] += column(dst)
        ev["actor_id"] += column(actor)
        ev["actor_label"] += column(label)
        ev["note"] += column(note)
        ev["data"] += column(data)
        ev["is_public"] += [public] * len(idx)
        ev["created_at"].append(at_idx)
    ev_times: Any = np.concatenate(ev["created_at"]) if ev["created_at"] else np.zeros(0, np.int64)
    ev["created_at"] = ev_times

    open_now = np.isin(st, [Status.CLOSED, Status.REJECTED, Status.MERGED], invert=True)
    limits = [ref.limits[c] for c in range(len(ref.categories))]
    response_hours = np.array([x.response_hours for x in limits])[category]
    resolution_limit = np.array([x.resolution for x in limits])[category]
    resolution_unit = np.array([x.unit for x in limits], dtype=object)[category]
    priority = np.array([c.priority for c in ref.categories], dtype=object)[category]
    pauses = "[]"
    cases: dict[str, Any] = {
        "id": ids,
        "tracking_code": tracking_codes(ids),
        "title": titles,
        "description": descriptions,
        "category_id": np.array([c.pk for c in ref.categories])[category],
        "answers": "{}",
        "lon": lons,
        "lat": lats,
        "address": addresses,
        "grid_id": np.array([g.pk for g in ref.grids])[grid],
        "grid_code": grid_codes,
        "handling_unit_id": ref.community_id[grid],
        "source": np.array(sources, dtype=object)[source],
        "priority": priority,
        "status": st,
        "reporter_id": reporter_id,
        "reporter_name": reporter_name,
        "reporter_phone": reporter_phone,
        "is_anonymous": anonymous,
        "external_ref": np.where(
            hotline,
            np.char.add("12345-", ids.astype(str)).astype(object),
            "",
        ),
        "lead_department_id": np.where(lead_department == 0, NULL, lead_department),
        "lead_worker_id": lead_worker,
        "response_limit_hours": response_hours,
        "resolution_limit": resolution_limit,
        "resolution_unit": resolution_unit,
        "clock_started_at": created,
        "extension_days": 0,
        "response_due_at": response_due,
        "resolution_due_at": resolution_due,
        "due_soon_at": due_soon,
        "calendar_warning": warning,
        "paused_at": paused_at,
        "pauses": pauses,
        "accepted_at": accepted_at,
        "dispatched_at": dispatched_at,
        "signed_at": signed_at,
        "handled_at": handled_at,
        "closed_at": closed_at,
        "result": result,
        "outcome": outcome,
        "rating": rating,
        "rating_note": "",
        "rated_at": rated,
        "reopen_count": 0,
        "return_count": returned_done.astype(int),
        "master_id": None,
        # Warnings a scan would have sent already: do not send thousands on the next scan.
        "warned_due_soon": open_now & (due_soon <= now_us),
        "warned_overdue": open_now & (resolution_due <= now_us),
        "version": version,
        "idempotency_key": None,
        "created_by_id": reporter_id,
        "created_at": created,
        "updated_at": last_event,
    }
    r = np.flatnonzero(returned_done)
    returns = {
        "case_id": ids[r],
        "first_dispatch": first_dispatch[r],
        "return_at": return_at[r],
    }
    return Batch(cases=cases, events=ev, n=n, returns=returns)


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


def _text_column(name: str, value: Any, n: int) -> list[str]:
    """One column as COPY text."""
    if not isinstance(value, np.ndarray | list):
        if value is None:
            return ["\\N"] * n
        if isinstance(value, bool):
            return ["t" if value else "f"] * n
        return [_escape(str(value))] * n
    if name in TIME_COLUMNS:
        return _stamp(np.asarray(value))
    if isinstance(value, np.ndarray) and value.dtype == bool:
        return np.where(value, "t", "f").tolist()  # type: ignore[no-any-return]
    if name in ID_COLUMNS or name == "actor_id":
        arr = np.asarray(value, dtype=np.int64)
        return np.where(arr == NULL, "\\N", arr.astype(str)).tolist()  # type: ignore[no-any-return]
    if isinstance(value, np.ndarray) and value.dtype.kind in "if":
        return value.astype(str).tolist()  # type: ignore[no-any-return]
    values = [str(v) for v in value]
    # Escape only when needed: the generated texts rarely hold a tab, newline or backslash.
    if any(c in "".join(values) for c in "\\\t\n\r"):
        return [_escape(v) for v in values]
    return values


def _copy_text(columns: dict[str, Any], n: int) -> Iterator[bytes]:
    texts = [_text_column(name, value, n) for name, value in columns.items()]
    step = 20_000
    for start in range(0, n, step):
        rows = zip(*(t[start : start + step] for t in texts), strict=True)
        yield ("\n".join("\t".join(r) for r in rows) + "\n").encode()


def _copy(table: str, columns: dict[str, Any], n: int) -> None:
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not part of the DB-API
        with raw.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN") as copy:
            for chunk in _copy_text(columns, n):
                copy.write(chunk)


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


def _bulk_create(batch: Batch) -> None:
    cases = [
        Case(**{k: _python_value(k, v, i) for k, v in batch.cases.items()}) for i in range(batch.n)
    ]
    for case in cases:
        case.id = int(case.id)  # type: ignore[misc]
    Case.objects.bulk_create(cases, batch_size=500)
    m = len(batch.events["case_id"])
    CaseEvent.objects.bulk_create(
        (
            CaseEvent(**{k: _python_value(k, v, i) for k, v in batch.events.items()})
            for i in range(m)
        ),
        batch_size=1000,
    )


# The timeline of cases just copied, written by PostgreSQL from the cases' own columns: the
# same steps, times, actors and texts as `generate` builds for the other databases.
EVENTS_SQL = """
INSERT INTO cases_caseevent
    (case_id, action, from_status, to_status, actor_id, actor_label, note, data, is_public,
     created_at)
SELECT c.id, v.action, v.from_status, v.to_status, v.actor_id, v.actor_label, v.note,
       v.data::jsonb, v.is_public, v.at
FROM cases_case c
LEFT JOIN territory_department d ON d.id = c.lead_department_id
LEFT JOIN accounts_user u ON u.id = c.lead_worker_id
LEFT JOIN wangge_seed_returns r ON r.case_id = c.id
CROSS JOIN LATERAL (VALUES
  (1, 'report', '', 'reported', c.created_at, c.reporter_id,
   CASE WHEN c.source = 'grid_patrol' THEN c.reporter_name ELSE '群众' END, '', '{}', true),
  (2, 'resolve_on_spot', 'reported', 'closed',
   CASE WHEN c.accepted_at IS NULL AND c.status = 'closed' THEN c.created_at END,
   c.reporter_id, c.reporter_name, c.result, '{}', true),
  (3, 'accept', 'reported', 'accepted', c.accepted_at, %(desk_id)s, %(desk_label)s, '', '{}',
   true),
  (4, 'reject', 'accepted', 'rejected', CASE WHEN c.status = 'rejected' THEN c.accepted_at END,
   %(desk_id)s, %(desk_label)s, (%(reject_notes)s::text[])[1 + c.id %% %(n_reject)s], '{}',
   true),
  (5, 'dispatch', 'accepted', 'dispatched', r.first_dispatch, %(desk_id)s, %(desk_label)s, '',
   %(wrong_data)s, true),
  (6, 'return', 'dispatched', 'accepted', r.return_at, NULL, %(wrong_label)s,
   (%(return_notes)s::text[])[1 + c.id %% %(n_return)s], '{}', false),
  (7, 'dispatch', 'accepted', 'dispatched', c.dispatched_at, %(desk_id)s, %(desk_label)s, '',
   json_build_object('department', d.name, 'worker', COALESCE(NULLIF(u.display_name, ''), u.username),
                     'co_departments', json_build_array())::text, true),
  (8, 'sign', 'dispatched', 'in_progress',
   CASE WHEN c.accepted_at IS NOT NULL THEN c.signed_at END, c.lead_worker_id,
   COALESCE(NULLIF(u.display_name, ''), u.username, d.name, '网格员'), '', '{}', true),
  (9, 'request_suspension', 'in_progress', 'in_progress', c.paused_at - interval '1 hour',
   c.lead_worker_id, COALESCE(NULLIF(u.display_name, ''), u.username, d.name, '网格员'),
   (%(suspend_notes)s::text[])[1 + c.id %% %(n_suspend)s], '{"extra": null}', false),
  (10, 'approve_suspension', 'in_progress', 'suspended', c.paused_at, %(desk_id)s,
   %(desk_label)s, '', '{}', true),
  (11, 'handle', 'in_progress', 'handled',
   CASE WHEN c.accepted_at IS NOT NULL THEN c.handled_at END, c.lead_worker_id,
   COALESCE(NULLIF(u.display_name, ''), u.username, d.name, '网格员'), c.result, json_build_object('outcome', c.outcome)::text,
   true),
  (12, 'verify_pass', 'handled', 'closed',
   CASE WHEN c.status = 'closed' AND c.accepted_at IS NOT NULL THEN c.closed_at END,
   %(desk_id)s, %(desk_label)s, '', '{}', true),
  (13, 'rate', 'closed', 'closed', c.rated_at, NULL, '群众', '',
   json_build_object('rating', c.rating, 'solved', true)::text, true)
) AS v(ord, action, from_status, to_status, at, actor_id, actor_label, note, data, is_public)
WHERE c.id >= %(lo)s AND c.id < %(hi)s AND v.at IS NOT NULL
ORDER BY c.id, v.ord
"""


def _events_sql(ref: _Reference, batch: Batch) -> None:
    wrong = ref.departments.get((DISTRICT_CODE, "city_management"))
    wrong_name = wrong.name if wrong else "职能部门"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS wangge_seed_returns "
            "(case_id bigint PRIMARY KEY, first_dispatch timestamptz, return_at timestamptz) "
            "ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE wangge_seed_returns")
    _copy("wangge_seed_returns", batch.returns, len(batch.returns["case_id"]))
    ids = batch.cases["id"]
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
        "lo": int(ids[0]),
        "hi": int(ids[-1]) + 1,
    }
    with connection.cursor() as cursor:
        cursor.execute(EVENTS_SQL, params)


def _write(ref: _Reference, batch: Batch, *, timeline: bool = True) -> None:
    if connection.vendor == "postgresql":
        _copy(Case._meta.db_table, batch.cases, batch.n)
        if timeline:
            _events_sql(ref, batch)
    else:  # SQLite (tests, small demos); updated_at is stamped now by auto_now
        _bulk_create(batch)


BULK_TABLES = (Case._meta.db_table, CaseEvent._meta.db_table)


def _drop_secondary_indexes() -> list[str]:
    """Drop the indexes and unique constraints (not the primary keys) of the case and timeline
    tables, returning the statements that recreate them. Building an index once over sorted
    data is many times cheaper than updating it row by row; the caller's transaction holds the
    tables' locks, so nobody ever sees them without their indexes."""
    recreate: list[str] = []
    with connection.cursor() as cursor:
        for table in BULK_TABLES:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {name}")
                recreate.append(definition)
    return recreate


def _bulk_session(*, trust_references: bool) -> None:
    """Settings of this transaction for a bulk load on PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
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

    On PostgreSQL a load at least as large as the table (and 100,000 cases) rebuilds the case
    and timeline tables' indexes once at the end instead of updating them per row
    (`defer_indexes`), and a superuser skips the foreign-key triggers (`trust_references`):
    the tables are locked meanwhile. `timeline=False` (benchmarks of counters and lists only)
    leaves out the timeline entries.
    """
    if count < 1:
        raise DemoError("数量须为正整数 (count must be at least 1)", field="count")
    if days < 1:
        raise DemoError("天数须为正整数 (days must be at least 1)", field="days")
    started = clock.perf_counter()
    now = (now or timezone.now()).replace(microsecond=0)
    now_us = int(now.timestamp() * US)
    local_start = timezone.localtime(now - timedelta(days=days)).replace(
        minute=0, second=0, microsecond=0
    )
    hours = int((now - local_start).total_seconds() // 3600) + 2
    first_id = 0
    with transaction.atomic():
        first_id = _reserve_ids(count)
    rng = np.random.default_rng([seed, first_id])
    ref = _load(rng)
    table = _Deadlines(local_start, hours, ref.limits)
    lo = table.start_us
    span = now_us - lo
    done = events = 0
    rollup_seconds = 0.0
    chunks = max(1, -(-count // chunk))
    postgres = connection.vendor == "postgresql"
    if defer_indexes is None:
        defer_indexes = postgres and count >= max(100_000, Case.objects.count())
    with transaction.atomic():
        recreate: list[str] = []
        if postgres:
            _bulk_session(trust_references=trust_references)
            if defer_indexes:
                recreate = _drop_secondary_indexes()
        for k in range(chunks):
            n = min(chunk, count - done)
            # Chunks fill the period oldest first, so ids grow with the time of receipt.
            window = (lo + span * k // chunks, lo + span * (k + 1) // chunks)
            batch = generate(
                ref,
                table,
                rng,
                first_id=first_id + done,
                n=n,
                window=window,
                now_us=now_us,
                with_events=not postgres,
            )
            _write(ref, batch, timeline=timeline)
            t = clock.perf_counter()
            count_cases(Case.objects.filter(pk__gte=first_id + done, pk__lt=first_id + done + n))
            rollup_seconds += clock.perf_counter() - t
            done += n
            events += batch.event_count if timeline else 0
            if progress is not None:
                progress(done, count)
        if recreate:
            with connection.cursor() as cursor:
                for statement in recreate:
                    cursor.execute(statement)
                cursor.execute(f"ANALYZE {', '.join(BULK_TABLES)}")
    return Result(done, events, clock.perf_counter() - started, rollup_seconds)
