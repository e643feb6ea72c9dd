"""Demo cases for the demo district: a few hundred realistic cases in every state, category and
source, spread over the last ~60 days, each taken through its states by the real actions.

The actions stamp their own times with `timezone.now()`; to give each timeline believable times
(accepted an hour after the report, signed the next morning ...) the seed runs every action under
`_clock(moment)`, which sets that clock for the duration of one call. Nothing else changes the
cases: the states, timelines, deadlines and notifications are exactly what the actions write.
Deterministic for a given seed and day; running it again adds nothing.
"""

import io
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from wangge.accounts.models import Membership, Role, User
from wangge.cases import actions, sla
from wangge.cases.demo_texts import (
    ESCALATE_NOTES,
    EXTENSION_NOTES,
    RATING_NOTES,
    REJECT_NOTES,
    REPORTS,
    RESULTS,
    RETURN_NOTES,
    SUSPEND_NOTES,
    VERIFY_FAIL_NOTES,
)
from wangge.cases.models import ApprovalKind, Case, Category, Rating, Source, Status
from wangge.core.demo import (
    DEMO_COMMUNITY_CODE,
    DEMO_GRID_CODE,
    DEMO_SEED,
    DEMO_STREET_CODE,
    DISTRICT_CODE,
    GIVEN_NAMES,
    LOGIN_BY_ROLE,
    SURNAMES,
    DemoError,
    Writer,
)
from wangge.notifications.models import Notification
from wangge.territory.models import Building, Department, OrgUnit

KEY_PREFIX = "demo-case-"
DAYS = 60
# How often each class of problem is reported (relative weights).
CLASS_WEIGHTS = {
    "environment": 24,
    "street_order": 14,
    "livelihood": 14,
    "safety": 10,
    "dispute": 8,
    "construction": 8,
    "policy": 7,
    "advertising": 6,
    "emergency": 5,
    "other": 4,
}
SOURCE_WEIGHTS = {
    Source.RESIDENT: 34,
    Source.GRID_PATROL: 30,
    Source.HOTLINE: 22,
    Source.BUILDING_HEAD: 8,
    Source.INSPECTION: 6,
}
# Scenario → relative weight; each is a path through the state machine (see `_run`).
SCENARIOS = {
    "reported": 8,
    "accepted": 5,
    "rejected": 4,
    "returned": 3,
    "dispatched": 7,
    "in_progress": 11,
    "escalated": 3,
    "extension": 2,
    "suspended": 2,
    "handled": 8,
    "closed": 30,
    "closed_unrated": 5,
    "verify_failed": 3,
    "reopened": 2,
    "merged": 2,
    "on_spot": 5,
}
CLOSED_SCENARIOS = {"rejected", "closed", "closed_unrated", "verify_failed", "merged", "on_spot"}


@contextmanager
def _quiet_task_log() -> Iterator[None]:
    """Hundreds of notifications are delivered when the seed commits: log them as a count."""
    logger = logging.getLogger("django.tasks")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _clock(moment: datetime) -> Iterator[None]:
    """Let one real action run as if it were `moment` (see the module docstring)."""
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


@dataclass
class _Plan:
    """One case to create: where, what, who reported, which path, and how old."""

    scenario: str
    grid: OrgUnit
    category: Category
    source: str
    lead: str = "department"  # "department", "demo_department", "worker"
    timing: str = "random"  # "random", "due_soon", "overdue", "recent"
    photos: int = 0


@dataclass
class _World:
    rng: np.random.Generator
    now: datetime
    grids: list[OrgUnit]
    buildings: dict[int, list[tuple[str, float, float]]]
    categories: list[Category]
    category_p: np.ndarray
    departments: dict[tuple[str, str], Department]
    users: dict[str, User] = field(default_factory=dict)
    handler_password: str = ""
    made_handlers: int = 0

    def pick(self, options: list[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def user(self, username: str) -> User:
        # One object per user, so that its scope is computed once for the whole seed.
        if username not in self.users:
            self.users[username] = User.objects.get(username=username)
        return self.users[username]


def _load_world(seed: int, now: datetime) -> _World:
    rng = np.random.default_rng([seed, 31])
    grids = list(
        OrgUnit.objects.filter(code__startswith=DISTRICT_CODE, level="grid").order_by("code")
    )
    buildings: dict[int, list[tuple[str, float, float]]] = {}
    for grid_id, address, lon, lat in (
        Building.objects.filter(grid__code__startswith=DISTRICT_CODE)
        .order_by("grid_id", "id")
        .values_list("grid_id", "address", "lon", "lat")
    ):
        buildings.setdefault(grid_id, []).append((address, lon, lat))
    categories = list(
        Category.objects.filter(is_active=True, parent__isnull=False, code__in=REPORTS)
        .select_related("parent")
        .order_by("sort_order", "code")
    )
    weights = np.array(
        [
            CLASS_WEIGHTS.get(c.parent.code if c.parent else "", 3)
            / sum(1 for d in categories if d.parent_id == c.parent_id)
            for c in categories
        ]
    )
    departments = {
        (d.unit.code, d.kind): d
        for d in Department.objects.filter(
            unit__code__startswith=DISTRICT_CODE, is_active=True
        ).select_related("unit")
    }
    return _World(
        rng=rng,
        now=now,
        grids=[g for g in grids if g.pk in buildings],
        buildings=buildings,
        categories=categories,
        category_p=weights / weights.sum(),
        departments=departments,
        handler_password=make_password(None),
    )


def _weighted(w: _World, weights: Mapping[Any, int]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(w.rng.choice(len(keys), p=p / p.sum()))]


def _category(w: _World, code: str | None = None) -> Category:
    if code:
        return next(c for c in w.categories if c.code == code)
    return w.categories[int(w.rng.choice(len(w.categories), p=w.category_p))]


def _plans(w: _World, count: int) -> list[_Plan]:
    """The random bulk, then a fixed set that fills every to-do queue of the demo logins."""
    demo_grid = next(g for g in w.grids if g.code == DEMO_GRID_CODE)
    community = [g for g in w.grids if g.code.startswith(DEMO_COMMUNITY_CODE)]
    street = [g for g in w.grids if g.code.startswith(DEMO_STREET_CODE)]
    city = [c.code for c in w.categories if c.default_department_kind == "city_management"]
    fixed: list[_Plan] = []

    def add(scenario: str, lead: str = "department", timing: str = "recent", **kw: Any) -> None:
        category = _category(w, w.pick(city) if lead == "demo_department" else None)
        fixed.append(
            _Plan(
                scenario,
                kw.get("grid", demo_grid),
                category,
                kw.get("source", Source.RESIDENT),
                lead,
                timing,
                kw.get("photos", 0),
            )
        )

    # The demo grid worker: reports of their own, cases dispatched to them, cases to verify.
    add("reported", source=Source.GRID_PATROL, photos=1)
    add("reported", source=Source.BUILDING_HEAD, photos=1)
    add("accepted")
    add("dispatched", lead="worker")
    add("dispatched", lead="worker", timing="due_soon")
    add("in_progress", lead="worker", source=Source.GRID_PATROL, photos=1)
    add("in_progress", lead="worker", timing="overdue")
    add("handled", lead="demo_department", photos=1)
    add("handled", lead="worker")
    add("on_spot", source=Source.GRID_PATROL, photos=1, timing="random")
    # The demo department handler (东城区城市管理委员会).
    for timing in ("recent", "recent", "due_soon", "overdue"):
        add("dispatched", lead="demo_department", timing=timing, grid=w.pick(street))
    for timing in ("recent", "recent", "recent", "due_soon", "overdue"):
        add("in_progress", lead="demo_department", timing=timing, grid=w.pick(community))
    add("extension", lead="demo_department", grid=w.pick(street))
    add("reopened", lead="demo_department", grid=w.pick(street), timing="random")
    # The dispatcher and the demo community's desk.
    add("reported", timing="overdue", grid=w.pick(community))
    add("accepted", timing="due_soon", grid=w.pick(community))
    add("handled", timing="overdue", grid=w.pick(street))

    plans: list[_Plan] = []
    for _ in range(max(0, count - len(fixed))):
        r = w.rng.random()
        # Busier near the demo logins, so that their pages are full; the rest spread everywhere.
        grid = w.pick(community) if r < 0.12 else w.pick(street) if r < 0.25 else w.pick(w.grids)
        scenario = _weighted(w, SCENARIOS)
        source = Source.GRID_PATROL if scenario == "on_spot" else _weighted(w, SOURCE_WEIGHTS)
        lead = "worker" if w.rng.random() < 0.12 else "department"
        photos = int(source in (Source.GRID_PATROL, Source.BUILDING_HEAD) and w.rng.random() < 0.3)
        plans.append(_Plan(scenario, grid, _category(w), source, lead, "random", photos))
    return plans + fixed


# --- people ---------------------------------------------------------------------------------


def _name(w: _World) -> str:
    return w.pick(list(SURNAMES)) + w.pick(list(GIVEN_NAMES))


def _mobile(w: _World) -> str:
    prefix = w.pick(["135", "136", "138", "139", "150", "158", "186", "188", "177", "199"])
    return f"{prefix}{int(w.rng.integers(0, 10**8)):08d}"


def _handler(w: _World, department: Department) -> User:
    """The department's handler: the demo login for its department, else one made here."""
    demo = LOGIN_BY_ROLE[Role.DEPARTMENT_HANDLER]
    if department.name == demo.department_name and department.unit.code == DISTRICT_CODE:
        return w.user(demo.username)
    username = f"dh{department.unit.code}{department.kind}"
    if username not in w.users:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(
                username=username, display_name=_name(w), password=w.handler_password
            )
            Membership.objects.create(
                user=user, role=Role.DEPARTMENT_HANDLER, department=department
            )
            w.made_handlers += 1
        w.users[username] = user
    return w.users[username]


def _grid_worker(w: _World, grid: OrgUnit) -> User:
    login = LOGIN_BY_ROLE[Role.GRID_WORKER]
    return w.user(login.username if grid.code == login.unit_code else f"gw{grid.code}")


def _building_head(w: _World, grid: OrgUnit) -> User:
    login = LOGIN_BY_ROLE[Role.BUILDING_HEAD]
    return w.user(login.username if grid.code == login.unit_code else f"bh{grid.code}01")


def _desk(w: _World, unit_code: str) -> User:
    """Who works the case at its handling unit: the demo community or street desk, else the
    district dispatcher."""
    if unit_code == DEMO_COMMUNITY_CODE:
        return w.user(LOGIN_BY_ROLE[Role.COMMUNITY_STAFF].username)
    if unit_code == DEMO_STREET_CODE:
        return w.user(LOGIN_BY_ROLE[Role.STREET_STAFF].username)
    return w.user(LOGIN_BY_ROLE[Role.DISPATCHER].username)


def _department(w: _World, case: Case, plan: _Plan, *, wrong: bool = False) -> Department:
    kind = case.category.default_department_kind or "city_management"
    street, district = case.grid_code[:9], DISTRICT_CODE
    if wrong:
        kinds = [k for (code, k) in w.departments if code == street and k != kind]
        return w.departments[(street, w.pick(kinds))]
    if plan.lead == "demo_department":
        return next(
            d
            for d in w.departments.values()
            if d.name == LOGIN_BY_ROLE[Role.DEPARTMENT_HANDLER].department_name
        )
    options = [d for key, d in w.departments.items() if key in ((street, kind), (district, kind))]
    if not options:
        options = [w.departments[(district, "city_management")]]
    return w.pick(options)


# --- photos ---------------------------------------------------------------------------------


def _photo(w: _World) -> io.BytesIO:
    """A small generated street scene: sky, a road, a few buildings with windows."""
    width, height = 800, 600
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    sky = [int(v) for v in w.rng.integers(150, 220, 3)]
    for y in range(height // 2):
        shade = tuple(min(255, c + y // 6) for c in sky)
        draw.line([(0, y), (width, y)], fill=shade)
    draw.rectangle([0, height // 2, width, height], fill=(128, 128, 124))
    x = 0
    while x < width:
        bw, bh = int(w.rng.integers(90, 200)), int(w.rng.integers(120, 260))
        color = tuple(int(v) for v in w.rng.integers(140, 210, 3))
        draw.rectangle([x, height // 2 - bh, x + bw - 8, height // 2], fill=color)
        for wy in range(height // 2 - bh + 14, height // 2 - 20, 32):
            for wx in range(x + 10, x + bw - 24, 26):
                draw.rectangle([wx, wy, wx + 12, wy + 16], fill=(90, 110, 130))
        x += bw
    for _ in range(int(w.rng.integers(2, 6))):
        cx, cy = (
            int(w.rng.integers(40, width - 40)),
            int(w.rng.integers(height // 2 + 40, height - 30)),
        )
        draw.ellipse([cx - 28, cy - 18, cx + 28, cy + 18], fill=(70, 90, 60))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=75)
    out.seek(0)
    out.name = "demo.jpg"  # type: ignore[attr-defined]
    return out


# --- the paths ------------------------------------------------------------------------------


def _hours(w: _World, low: float, high: float) -> timedelta:
    return timedelta(hours=float(w.rng.uniform(low, high)))


def _steps(scenario: str) -> list[str]:
    base = {
        "reported": [],
        "accepted": ["accept"],
        "rejected": ["reject"],
        "returned": ["accept", "dispatch_wrong", "return"],
        "dispatched": ["accept", "dispatch"],
        "in_progress": ["accept", "dispatch", "sign"],
        "escalated": ["escalate", "dispatch", "sign"],
        "extension": ["accept", "dispatch", "sign", "request_extension"],
        "suspended": ["accept", "dispatch", "sign", "request_suspension", "approve_suspension"],
        "handled": ["accept", "dispatch", "sign", "handle"],
        "closed": ["accept", "dispatch", "sign", "handle", "verify_pass", "rate"],
        "closed_unrated": ["accept", "dispatch", "sign", "handle", "verify_pass"],
        "verify_failed": [
            "accept",
            "dispatch",
            "sign",
            "handle",
            "verify_fail",
            "handle",
            "verify_pass",
            "rate",
        ],
        "reopened": ["accept", "dispatch", "sign", "handle", "verify_pass", "rate_unsatisfied"],
        "merged": ["merge"],
        "on_spot": [],
    }
    return base[scenario]


# Typical delay before each step (hours, low–high).
GAPS = {
    "accept": (0.1, 3),
    "reject": (0.2, 6),
    "escalate": (0.5, 8),
    "dispatch": (0.1, 2),
    "dispatch_wrong": (0.1, 2),
    "return": (0.5, 6),
    "sign": (0.2, 10),
    "request_extension": (12, 48),
    "request_suspension": (6, 48),
    "approve_suspension": (0.5, 6),
    "handle": (3, 60),
    "verify_fail": (1, 12),
    "verify_pass": (1, 20),
    "rate": (2, 48),
    "rate_unsatisfied": (2, 48),
    "merge": (0.2, 4),
}


def _created_at(w: _World, plan: _Plan, gaps: list[timedelta]) -> datetime:
    """When the case was reported: old enough for its path, and in waking hours."""
    total = sum(gaps, timedelta())
    if plan.timing in ("due_soon", "overdue"):
        return _deadline_start(w, plan, total)
    if plan.timing == "recent":
        back = total + _hours(w, 1, 20)
    elif plan.scenario in CLOSED_SCENARIOS:
        back = total + timedelta(days=float(w.rng.uniform(1, DAYS - 5)))
    elif plan.scenario in ("reported", "accepted"):
        back = total + _hours(w, 0.5, 40)
    elif w.rng.random() < 0.15:  # a tail of stuck cases, overdue by now
        back = total + timedelta(days=float(w.rng.uniform(3, 15)))
    else:
        back = total + timedelta(days=float(w.rng.uniform(0, 3)))
    moment = w.now - back
    local = timezone.localtime(moment)
    if local.hour < 7 or local.hour >= 22:
        moment -= timedelta(hours=(local.hour + 3) % 24)  # move to the evening before
    return moment


def _deadline_start(w: _World, plan: _Plan, total: timedelta) -> datetime:
    """A report time that makes the case due soon, or overdue, now."""
    limits = sla.limits_for(category=plan.category, priority=plan.category.priority)
    for hours in range(int(total.total_seconds() // 3600) + 2, 24 * 40):
        start = w.now - timedelta(hours=hours)
        due = sla.compute_due(started_at=start, limits=limits)
        soon = due.due_soon_at <= w.now - timedelta(minutes=30)
        if (
            plan.timing == "due_soon"
            and soon
            and due.resolution_due_at > w.now + timedelta(hours=2)
        ):
            return start
        if plan.timing == "overdue" and due.resolution_due_at < w.now - timedelta(hours=20):
            return start
    return w.now - total - timedelta(days=20)


def _answers(w: _World, category: Category, title: str) -> dict[str, Any]:
    """Answers to the category's extra questions, consistent with the title."""
    answers: dict[str, Any] = {}
    for q in category.questions or []:
        if q["type"] == "choice":
            hinted = [c for c in q["choices"] if c in title]
            answers[q["key"]] = hinted[0] if hinted else w.pick(q["choices"])
        elif q["type"] == "number":
            answers[q["key"]] = int(w.rng.integers(1, 90 if q["key"] == "age" else 30))
        elif q["type"] == "boolean":
            answers[q["key"]] = bool(w.rng.random() < 0.5)
    return answers


def _run(w: _World, index: int, plan: _Plan, open_cases: list[int]) -> Case:
    steps = _steps(plan.scenario)
    gaps = [_hours(w, *GAPS[s]) for s in steps]
    created = _created_at(w, plan, gaps)
    # Squeeze the path into the time available (a recent case moves faster).
    room = (w.now - timedelta(minutes=5)) - created
    total = sum(gaps, timedelta())
    if total > room * 0.95:
        gaps = [g * (room * 0.95 / total) for g in gaps]

    category = plan.category
    title, description = w.pick(REPORTS[category.code])
    grid = plan.grid
    address, lon, lat = w.pick(w.buildings[grid.pk])
    road = address.split(" ")[0]
    actor: User | None = None
    if plan.source == Source.GRID_PATROL:
        actor = _grid_worker(w, grid)
    elif plan.source == Source.BUILDING_HEAD:
        actor = _building_head(w, grid)
    anonymous = plan.source == Source.RESIDENT and w.rng.random() < 0.06
    reporter = str(actor) if actor else _name(w)
    photos = [_photo(w) for _ in range(plan.photos)]
    results = RESULTS.get(category.parent.code if category.parent else "", RESULTS["other"])
    master: Case | None = None
    if plan.scenario == "merged" and open_cases:
        # A duplicate of a case still open: reported after it, merged soon after.
        master = Case.objects.select_related("category").get(pk=open_cases[-1])
        category, title, grid = master.category, master.title, master.grid
        lon, lat, address = master.lon or lon, master.lat or lat, master.address
        description = "同一问题再次反映：" + master.description
        created = min(master.created_at + _hours(w, 1, 30), w.now - timedelta(hours=1))
        gaps = [min(g, (w.now - created) * 0.9) for g in gaps]
    with _clock(created):
        case = actions.create_case(
            actor=actor,
            category=category,
            title=title.format(place=address, road=road),
            description=description.format(place=address, road=road),
            lon=lon,
            lat=lat,
            address=address,
            source=plan.source,
            reporter_name="" if anonymous else reporter,
            reporter_phone="" if anonymous else (getattr(actor, "mobile", "") or _mobile(w)),
            is_anonymous=anonymous,
            answers=_answers(w, category, title),
            photos=photos,
            resolve_on_spot=plan.scenario == "on_spot",
            result=w.pick(results) if plan.scenario == "on_spot" else "",
            idempotency_key=f"{KEY_PREFIX}{index:04d}",
            external_ref=f"12345-{timezone.localtime(created):%Y%m%d}{index:04d}"
            if plan.source == Source.HOTLINE
            else "",
            created_at=created,
        )
    at = created
    for step, gap in zip(steps, gaps, strict=True):
        at = at + gap
        case.refresh_from_db()
        with _clock(at):
            _act(w, case, plan, step, results, master)
    case.refresh_from_db()
    if case.status in (Status.REPORTED, Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS):
        open_cases.append(case.pk)
    return case


def _act(
    w: _World, case: Case, plan: _Plan, step: str, results: list[str], master: Case | None
) -> None:
    desk = _desk(w, case.handling_unit.code)
    case_id = case.pk
    if step == "accept":
        actions.accept(case_id=case_id, actor=desk)
    elif step == "reject":
        actions.reject(case_id=case_id, actor=desk, note=w.pick(REJECT_NOTES))
    elif step == "escalate":
        actions.escalate(case_id=case_id, actor=desk, note=w.pick(ESCALATE_NOTES))
    elif step in ("dispatch", "dispatch_wrong"):
        if plan.lead == "worker" and step == "dispatch":
            actions.dispatch(case_id=case_id, actor=desk, worker=_grid_worker(w, case.grid))
        else:
            department = _department(w, case, plan, wrong=step == "dispatch_wrong")
            actions.dispatch(case_id=case_id, actor=desk, department=department)
    elif step == "return":
        actions.return_case(case_id=case_id, actor=_lead(w, case), note=w.pick(RETURN_NOTES))
    elif step == "sign":
        actions.sign(case_id=case_id, actor=_lead(w, case))
    elif step == "handle":
        photos = [_photo(w)] if w.rng.random() < 0.25 else []
        actions.handle(case_id=case_id, actor=_lead(w, case), result=w.pick(results), photos=photos)
    elif step in ("verify_pass", "verify_fail"):
        verifier = _grid_worker(w, case.grid) if w.rng.random() < 0.4 else desk
        if verifier.pk == case.lead_worker_id:  # nobody verifies their own work
            verifier = desk
        note = w.pick(VERIFY_FAIL_NOTES) if step == "verify_fail" else ""
        actions.verify(case_id=case_id, actor=verifier, passed=step == "verify_pass", note=note)
    elif step in ("rate", "rate_unsatisfied"):
        rating: str = Rating.UNSATISFIED
        if step == "rate":
            rating = _weighted(
                w, {Rating.SATISFIED: 78, Rating.BASICALLY_SATISFIED: 17, Rating.UNSATISFIED: 5}
            )
        actions.rate(
            case_id=case_id,
            actor=None,
            rating=rating,
            note=w.pick(RATING_NOTES[rating]),
            as_reporter=True,
        )
    elif step == "request_extension":
        actions.request_approval(
            case_id=case_id,
            actor=_lead(w, case),
            kind=ApprovalKind.EXTENSION,
            note=w.pick(EXTENSION_NOTES),
            extra=int(w.rng.integers(2, 6)),
        )
    elif step == "request_suspension":
        actions.request_approval(
            case_id=case_id,
            actor=_lead(w, case),
            kind=ApprovalKind.SUSPENSION,
            note=w.pick(SUSPEND_NOTES),
        )
    elif step == "approve_suspension":
        actions.approve_suspension(case_id=case_id, actor=desk)
    elif step == "merge":
        if master is None:
            actions.reject(case_id=case_id, actor=desk, note=REJECT_NOTES[1])
        else:
            actions.merge(
                case_id=case_id, actor=desk, master_id=master.pk, note="同一问题重复反映，合并办理"
            )
    else:
        raise DemoError(f"unknown demo step {step}")


def _lead(w: _World, case: Case) -> User:
    if case.lead_worker_id:
        return _grid_worker(w, case.grid)
    department = Department.objects.select_related("unit").get(pk=int(case.lead_department_id or 0))
    return _handler(w, department)


def seed_demo_cases(
    *, count: int = 300, seed: int = DEMO_SEED, stdout: Writer | None = None
) -> int:
    """Create the demo cases once (idempotent: returns 0 when they exist)."""
    if Case.objects.filter(idempotency_key__startswith=KEY_PREFIX).exists():
        return 0
    if not OrgUnit.objects.filter(code=DEMO_GRID_CODE).exists():
        raise DemoError("请先创建演示辖区 (seed the demo district first)", field="district")
    # Whole minutes: the same seed on the same day gives the same cases.
    now = timezone.now().replace(second=0, microsecond=0)
    # The outbox is delivered when this transaction commits (when the block is left).
    with _quiet_task_log(), transaction.atomic():
        w = _load_world(seed, now)
        plans = _plans(w, count)
        open_cases: list[int] = []
        statuses: dict[str, int] = {}
        for index, plan in enumerate(plans):
            case = _run(w, index, plan, open_cases)
            statuses[case.status] = statuses.get(case.status, 0) + 1
    if stdout is not None:
        summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        stdout.write(
            f"  cases: {len(plans)} created ({summary}); {w.made_handlers} department handlers; "
            f"{Notification.objects.count()} in-app notifications\n"
        )
    return len(plans)
