"""Reads of cases, always within the user's scope: territory subtrees, the user's departments'
assigned cases, the user's own dispatches and reports. Outside it a case does not exist (404)."""

import base64
import binascii
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.models import Role
from wangge.accounts.scope import Scope, scope_of
from wangge.cases.models import (
    OPEN_STATUS_LIST,
    OPEN_STATUSES,
    ApprovalStatus,
    Case,
    CaseApproval,
    Category,
    SlaStatus,
    Status,
)
from wangge.cases.sla import sla_q
from wangge.cases.workflow import DESK
from wangge.core.errors import DomainError
from wangge.territory.geo import EARTH_RADIUS_M


def _codes_with(scope: Scope, roles: frozenset[str] | set[str]) -> list[str]:
    return [code for code, held in scope.roles_by_code.items() if held & roles]


def _prefix_q(lookup: str, codes: list[str] | tuple[str, ...]) -> Q:
    if not codes:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{lookup}__codeprefix": c}) for c in codes))


def scope_q(user: Any) -> Q:
    scope = scope_of(user)
    if scope.is_superuser:
        return Q()
    q = _prefix_q("grid_code", scope.case_codes)
    if scope.department_ids:
        co = Case.co_departments.through.objects.filter(
            case_id=OuterRef("pk"), department_id__in=scope.department_ids
        )
        q |= Q(lead_department_id__in=scope.department_ids) | Q(Exists(co))
    if getattr(user, "is_authenticated", False):
        q |= Q(lead_worker=user) | Q(reporter=user)
    return q


def case_list(*, user: Any) -> QuerySet[Case]:
    if not getattr(user, "is_authenticated", False):
        return Case.objects.none()
    return Case.objects.filter(scope_q(user))


def _with_detail(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related(
        "category__parent",
        "grid__parent__parent",
        "handling_unit",
        "lead_department",
        "lead_worker",
        "master",
    ).prefetch_related("co_departments", "approvals", "photos")


def case_get(*, user: Any, pk: int) -> Case:
    case = _with_detail(case_list(user=user)).filter(pk=pk).first()
    if case is None:
        raise Http404("case not found")
    return case


def case_get_after_action(*, user: Any, pk: int) -> Case:
    """The case `user` has just acted on. The action may have taken it out of the user's scope
    (a department returning it, a handler escalating it): they still see its result, since the
    last timeline entry is their own."""
    try:
        return case_get(user=user, pk=pk)
    except Http404:
        from wangge.cases.models import CaseEvent

        last_actor = (
            CaseEvent.objects.filter(case_id=pk)
            .order_by("-created_at", "-id")
            .values_list("actor_id", flat=True)
            .first()
        )
        if last_actor is None or last_actor != getattr(user, "pk", None):
            raise
        return _with_detail(Case.objects.filter(pk=pk)).get()


def case_events(*, case: Case, public_only: bool = False) -> QuerySet[Any]:
    events = case.events.select_related("actor").prefetch_related("photos")
    return events.filter(is_public=True) if public_only else events


# --- queues (我的待办) ----------------------------------------------------------------------


# Cases with a suspension or extension request waiting for the desk's decision.
APPROVAL_QUEUE = "approval"

# The to-do queues, in order, each named by its status's or SLA status's own (translated) label.
QUEUES: list[tuple[str, Any]] = [
    *(
        (str(choice.value), choice.label)
        for choice in (
            Status.REPORTED,
            Status.ACCEPTED,
            Status.DISPATCHED,
            Status.IN_PROGRESS,
            Status.HANDLED,
        )
    ),
    (APPROVAL_QUEUE, gettext_lazy("待审批")),
    *((str(choice.value), choice.label) for choice in (SlaStatus.DUE_SOON, SlaStatus.OVERDUE)),
]


QUEUE_KEYS = frozenset(key for key, _label in QUEUES)


def queue_q(user: Any, queue: str, now: datetime | None = None) -> Q:
    """The cases waiting for this user in one to-do queue."""
    scope = scope_of(user)
    if scope.is_superuser:
        desk = Q()
        lead = Q()
        verify = Q()
    else:
        desk = _prefix_q("handling_unit__code", _codes_with(scope, DESK))
        lead = Q(lead_worker=user)
        if scope.department_ids:
            lead |= Q(lead_department_id__in=scope.department_ids)
        # Nobody verifies their own work (actions._verifies_own_work): a grid worker's own
        # handled cases wait for someone else.
        verify = _prefix_q("grid_code", _codes_with(scope, DESK | {Role.GRID_WORKER})) & ~Q(
            lead_worker=user
        )
    if queue in (Status.REPORTED, Status.ACCEPTED):
        return desk & Q(status=queue)
    if queue in (Status.DISPATCHED, Status.IN_PROGRESS):
        return lead & Q(status=queue)
    if queue == Status.HANDLED:
        return verify & Q(status=queue)
    if queue == APPROVAL_QUEUE:
        # The desk of the handling unit decides (workflow: approve_* over handling_unit).
        pending = CaseApproval.objects.filter(case=OuterRef("pk"), status=ApprovalStatus.PENDING)
        return desk & Q(Exists(pending))
    if queue in (SlaStatus.DUE_SOON, SlaStatus.OVERDUE):
        # Late cases that are this user's business: a desk's whole handling unit (it chases the
        # departments and approves their requests), the cases the user leads until handled, and
        # those waiting for the user's check — not every late case of a grid worker's grid,
        # most of which wait for someone else.
        waiting = desk | (lead & ~Q(status=Status.HANDLED)) | (verify & Q(status=Status.HANDLED))
        return waiting & sla_q(queue, now)
    raise DomainError(f"unknown queue {queue!r}", field="queue")


def todo_counts(*, user: Any, now: datetime | None = None) -> dict[str, int]:
    """Counts of every queue in one query."""
    now = now or timezone.now()
    aggregates = {key: Count("pk", filter=queue_q(user, key, now)) for key, _label in QUEUES}
    result: dict[str, int] = (
        case_list(user=user).filter(status__in=OPEN_STATUSES).aggregate(**aggregates)
    )
    return result


# --- filters and keyset pagination ------------------------------------------------------------


# The date filters as a person names them (the case list and the dashboard).
DATE_LABELS = {"date_from": gettext_lazy("起始日期"), "date_to": gettext_lazy("截止日期")}


# The dates a filter may name. Year 1 or 9999 passed the format check and then overflowed the
# time-zone arithmetic (a 500); no case of this platform is older than 2000.
FILTER_DATE_MIN = date(2000, 1, 1)
FILTER_DATE_MAX = date(2099, 12, 31)
# Ids are bigints: a longer number cannot name a row, and overflowed the database driver.
MAX_ID = 2**63 - 1


def parse_filter_date(raw: str, *, field: str) -> date:
    """A filter's date (`date_from` / `date_to`), or a DomainError naming the field."""
    label = DATE_LABELS[field]
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise DomainError(
            _("%(label)s格式应为 2026-05-01 (%(label)s: a date such as 2026-05-01)")
            % {"label": label},
            field=field,
        ) from None
    if not FILTER_DATE_MIN <= value <= FILTER_DATE_MAX:
        raise DomainError(
            _("%(label)s须在 %(min)s 至 %(max)s 之间 (%(label)s: between %(min)s and %(max)s)")
            % {"label": label, "min": FILTER_DATE_MIN, "max": FILTER_DATE_MAX},
            field=field,
        )
    return value


def parse_department_id(raw: str) -> int:
    """A department filter's id (a positive number), or a DomainError naming the field."""
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise DomainError(_("部门须为编号 (department must be an id)"), field="department")
    return int(raw)


def check_date_range(date_from: date | None, date_to: date | None) -> None:
    """A period that ends before it starts selects nothing: say so, not "no cases"."""
    if date_from and date_to and date_to < date_from:
        raise DomainError(
            _(
                "截止日期 %(to)s 早于起始日期 %(from)s，请调换或改正 "
                "(the end date %(to)s is before the start date %(from)s)"
            )
            % {"to": date_to.isoformat(), "from": date_from.isoformat()},
            field="date_to",
        )


@dataclass
class CaseFilters:
    status: list[str] = field(default_factory=list)
    sla: str = ""
    category: str = ""
    unit: str = ""
    department: int | None = None
    source: str = ""
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""
    queue: str = ""
    mine: bool = False
    _category_ids: list[int] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_params(cls, params: Any) -> "CaseFilters":
        """Parse query parameters; a bad value raises DomainError naming the parameter."""

        def one(name: str) -> str:
            value = params.get(name, "")
            return str(value).strip() if value is not None else ""

        filters = cls()
        statuses = (
            params.getlist("status") if hasattr(params, "getlist") else params.get("status") or []
        )
        if isinstance(statuses, str):
            statuses = [statuses]
        for s in statuses:
            for part in str(s).split(","):
                if part and part not in Status.values:
                    raise DomainError(
                        _("状态 %(s)s 无效 (unknown status %(s)s)") % {"s": part}, field="status"
                    )
                if part:
                    filters.status.append(part)
        filters.sla = one("sla")
        if filters.sla and filters.sla not in SlaStatus.values:
            raise DomainError(
                _("超时状态 %(s)s 无效 (unknown sla %(s)s)") % {"s": filters.sla}, field="sla"
            )
        filters.category = one("category")
        filters.unit = one("unit")
        if filters.unit and not filters.unit.isdigit():
            raise DomainError(_("辖区编码须为数字 (unit must be a code)"), field="unit")
        department = one("department")
        if department:
            filters.department = parse_department_id(department)
        filters.source = one("source")
        for name in ("date_from", "date_to"):
            raw = one(name)
            if raw:
                setattr(filters, name, parse_filter_date(raw, field=name))
        check_date_range(filters.date_from, filters.date_to)
        filters.text = one("q")[:100]
        filters.queue = one("queue")
        if filters.queue and filters.queue not in QUEUE_KEYS:
            raise DomainError(
                _("待办类别 %(q)s 无效 (unknown queue %(q)s)") % {"q": filters.queue}, field="queue"
            )
        filters.mine = one("mine") in ("1", "true", "on")
        return filters

    def apply(self, qs: QuerySet[Case], *, user: Any) -> QuerySet[Case]:
        if self.status:
            qs = qs.filter(status__in=self.status)
        if self.sla:
            qs = qs.filter(sla_q(self.sla))
        if self.category:
            ids = self.category_ids()
            qs = qs.filter(category_id__in=ids) if ids else qs.none()
        if self.unit:
            qs = qs.filter(grid_code__codeprefix=self.unit)
        if self.department:
            qs = qs.filter(lead_department_id=self.department)
        if self.source:
            qs = qs.filter(source=self.source)
        tz = timezone.get_current_timezone()
        if self.date_from:
            qs = qs.filter(created_at__gte=datetime.combine(self.date_from, time.min, tzinfo=tz))
        if self.date_to:
            qs = qs.filter(
                created_at__lt=datetime.combine(
                    self.date_to + timedelta(days=1), time.min, tzinfo=tz
                )
            )
        if self.text:
            qs = qs.filter(
                Q(title__icontains=self.text)
                | Q(description__icontains=self.text)
                | Q(tracking_code=self.text.upper())
                | Q(address__icontains=self.text)
            )
        if self.queue:
            qs = qs.filter(queue_q(user, self.queue))
        if self.mine:
            qs = qs.filter(reporter_id=getattr(user, "pk", None))
        return qs

    def category_ids(self) -> list[int]:
        """The chosen category and its sub-categories, resolved first (a lookup in the small
        category table) so that the case query gets a literal list: with a subquery the planner
        cannot estimate how many cases match, and at millions of cases it sorted every case of a
        street instead of walking an index (0.6–1.2 s at 1M cases, docs/performance.md)."""
        if not self.category:
            return []
        if self._category_ids is None:
            self._category_ids = category_ids_under([self.category])
        return self._category_ids

    @property
    def active_count(self) -> int:
        """How many of the folded filters are set (the search, queue and "mine" show anyway)."""
        values = [
            self.status,
            self.sla,
            self.category,
            self.unit,
            self.department,
            self.source,
            self.date_from,
            self.date_to,
        ]
        return sum(1 for v in values if v)


def encode_cursor(case: Case) -> str:
    raw = json.dumps([case.created_at.isoformat(), case.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created), int(pk)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise DomainError(
            _("分页参数无效，请从第一页重新开始 (invalid cursor)"), field="cursor"
        ) from None


@dataclass
class Page:
    items: list[Case]
    next_cursor: str | None


def case_page(*, user: Any, filters: CaseFilters, cursor: str = "", limit: int = 50) -> Page:
    """Newest first, keyset-paginated on (created_at, id): stable and fast on any page."""
    limit = max(1, min(limit, 200))
    qs = filters.apply(case_list(user=user), user=user)
    if cursor:
        created, pk = decode_cursor(cursor)
        # The first condition is implied by the second; it is there for the index: the walk
        # starts at the cursor instead of filtering every newer row (PostgreSQL does not turn
        # the OR into an index bound).
        qs = qs.filter(
            Q(created_at__lte=created),
            Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk),
        )
    ids = filters.category_ids()
    if len(ids) > 1 and connection.features.supports_slicing_ordering_in_compound:
        # A class: the page of each sub-category walks its own newest-first range
        # (case_category_keyset) and PostgreSQL merges them (Merge Append), instead of walking
        # every case newest first and keeping the class's few (0.5 s for a deep page of one
        # street's class at 10M cases, 15 ms this way). Then the rows, by id.
        keys = [
            qs.filter(category_id=pk)
            .order_by("-created_at", "-id")
            .values_list("created_at", "id")[: limit + 1]
            for pk in ids
        ]
        merged = keys[0].union(*keys[1:], all=True).order_by("-created_at", "-id")[: limit + 1]
        qs = Case.objects.filter(pk__in=[pk for _created, pk in merged])
    rows = list(
        qs.select_related("category", "grid", "lead_department", "handling_unit", "lead_worker")
        # The units' boundary GeoJSON is large and no list row shows it.
        .defer("grid__boundary", "handling_unit__boundary")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1]) if more and items else None)


# The total above the case list is counted up to this many cases: counting every case of a broad
# filter at ten million cases reads them all on each page view (3 s for one street's class at 10M;
# 0.5 s for 100,000 of the district's last 30 days). Beyond it the page says "more than …"; the
# dashboard's counters give exact figures.
# Every open status as one `status` parameter of the list (the 在办 links and picker option).
OPEN_PARAM = ",".join(s for s in Status.values if s in OPEN_STATUSES)

TOTAL_CAP = 1_000


@dataclass(frozen=True)
class Total:
    count: int
    capped: bool  # there are more than `count`


def case_total(*, user: Any, filters: CaseFilters, cap: int | None = None) -> Total:
    """How many cases the list's filters select, counted up to `cap` (TOTAL_CAP)."""
    cap = TOTAL_CAP if cap is None else cap
    qs = filters.apply(case_list(user=user), user=user).order_by()
    n = qs[: cap + 1].count()
    return Total(count=min(n, cap), capped=n > cap)


def category_by_code(code: str) -> Category | None:
    """A category by its code, active or not (intake checks that). Categories are public."""
    try:
        return Category.objects.get(code=code)
    except Category.DoesNotExist:
        return None


def category_list() -> QuerySet[Category]:
    return (
        Category.objects.filter(is_active=True)
        .select_related("parent")
        .order_by("sort_order", "code")
    )


def category_ids_under(codes: Iterable[str]) -> list[int]:
    """The ids of these categories and of their sub-categories (active or not), sorted: a
    literal list the planner can estimate, where a join or subquery on the category table
    left it guessing at millions of cases."""
    codes = list(codes)
    return sorted(
        Category.objects.filter(Q(code__in=codes) | Q(parent__code__in=codes)).values_list(
            "pk", flat=True
        )
    )


def category_groups() -> tuple[list[tuple[Category, list[Category]]], list[Category]]:
    """The active sub-categories grouped under their class (classes without one left out), and
    the same sub-categories in one list: what the reporting forms' category pickers show."""
    groups: dict[int, tuple[Category, list[Category]]] = {}
    subs: list[Category] = []
    for category in category_list():
        if category.parent_id is None:
            groups.setdefault(category.pk, (category, []))
        elif category.parent_id in groups:
            groups[category.parent_id][1].append(category)
            subs.append(category)
    return [g for g in groups.values() if g[1]], subs


# --- the pages' choices and overviews ---------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    count: int


def queue_keys_for(*, user: Any) -> list[str]:
    """The to-do queues that the user's roles can have work in, in QUEUES order."""
    scope = scope_of(user)
    desk = scope.is_superuser or bool(scope.roles & DESK)
    lead = scope.is_superuser or bool(scope.department_ids) or Role.GRID_WORKER in scope.roles
    verify = desk or Role.GRID_WORKER in scope.roles
    keys: list[str] = []
    if desk:
        keys += [Status.REPORTED, Status.ACCEPTED]
    if lead:
        keys += [Status.DISPATCHED, Status.IN_PROGRESS]
    if verify:
        keys.append(Status.HANDLED)
    if desk:
        keys.append(APPROVAL_QUEUE)
    if keys:
        keys += [SlaStatus.DUE_SOON, SlaStatus.OVERDUE]
    return [str(k) for k in keys]


def todo_queues(*, user: Any, now: datetime | None = None) -> list[Queue]:
    """The user's applicable queues with their counts (one query)."""
    keys = queue_keys_for(user=user)
    if not keys:
        return []
    counts = todo_counts(user=user, now=now)
    labels = dict(QUEUES)
    return [Queue(key=k, label=str(labels[k]), count=counts.get(k, 0)) for k in keys]


def sla_overview(*, user: Any, now: datetime | None = None) -> dict[str, int]:
    """Open, due-soon and overdue cases in the whole scope (one query): for read-only roles."""
    now = now or timezone.now()
    result: dict[str, int] = case_list(user=user).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        due_soon=Count("pk", filter=sla_q(SlaStatus.DUE_SOON, now)),
        overdue=Count("pk", filter=sla_q(SlaStatus.OVERDUE, now)),
        mine=Count("pk", filter=Q(reporter_id=getattr(user, "pk", None))),
    )
    return result


def urgent_cases(*, user: Any, limit: int = 8, now: datetime | None = None) -> list[Case]:
    """Open cases waiting for this user, the nearest deadline first (overdue ones lead)."""
    keys = [k for k in queue_keys_for(user=user) if k in Status.values]
    if not keys:
        return []
    waiting = reduce(or_, (queue_q(user, k, now) for k in keys))
    return list(
        case_list(user=user)
        .filter(waiting)
        .select_related("category", "grid")
        .order_by("resolution_due_at", "id")[:limit]
    )


def my_reports(*, user: Any, limit: int = 8) -> list[Case]:
    """The latest cases this user reported."""
    return list(
        case_list(user=user)
        .filter(reporter_id=getattr(user, "pk", None))
        .select_related("category", "grid")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class UnitOption:
    code: str
    name: str
    level: str
    indent: str  # full-width spaces, so that a plain <select> shows the tree


# A scope with more grids than this offers streets and communities only (a code still works).
MAX_GRID_OPTIONS = 60


def unit_options(*, user: Any) -> list[UnitOption]:
    """Streets, communities (and grids when few) inside the user's territory, in tree order."""
    from wangge.territory.models import Level, OrgUnit

    scope = scope_of(user)
    if not (scope.is_superuser or scope.unit_codes):
        return []
    units = OrgUnit.objects.filter(scope.code_q("code", scope.unit_codes))
    grid_count = units.filter(level=Level.GRID).count()
    levels = [Level.DISTRICT, Level.STREET, Level.COMMUNITY]
    if grid_count <= MAX_GRID_OPTIONS:
        levels.append(Level.GRID)
    rows = list(
        units.filter(level__in=levels).order_by("code").values_list("code", "name", "level")
    )
    top = min((len(code) for code, _n, _l in rows), default=0)
    options = [
        UnitOption(code, name, level, "\u3000" * ((len(code) - top) // 3))
        for code, name, level in rows
    ]
    return options if len(options) > 1 else []


def department_options(*, user: Any) -> QuerySet[Any]:
    """Departments a user may filter by: those of units in or above the scope, and their own."""
    from wangge.territory.models import Department, ancestor_codes

    scope = scope_of(user)
    departments = Department.objects.filter(is_active=True).select_related("unit")
    if not scope.is_superuser:
        codes = set(scope.unit_codes)
        for code in scope.unit_codes:
            codes.update(ancestor_codes(code))
        departments = departments.filter(
            Q(pk__in=scope.department_ids)
            | Q(unit__code__in=codes)
            | _prefix_q("unit__code", list(scope.unit_codes))
        )
    return departments.order_by("unit__code", "name")


def photo_get(*, user: Any, pk: int) -> Any:
    """A case photo, only for someone who may see its case (404 otherwise)."""
    from wangge.cases.models import CasePhoto

    photo = (
        CasePhoto.objects.filter(pk=pk, case__in=case_list(user=user).values("pk"))
        .only("pk", "image", "thumbnail", "case_id")
        .first()
    )
    if photo is None:
        raise Http404("photo not found")
    return photo


def dispatch_choices(*, case: Case) -> tuple[list[Any], list[Any], int | None]:
    """Departments and grid workers a case may be dispatched to, and the suggested department
    (the category's default kind, nearest to the grid)."""
    from wangge.accounts.models import User
    from wangge.territory.models import Department, ancestor_codes

    codes = [*ancestor_codes(case.grid_code), case.grid_code]
    departments = list(
        Department.objects.filter(unit__code__in=codes, is_active=True)
        .select_related("unit")
        .order_by("unit__code", "name")
    )
    workers = list(
        User.objects.filter(
            memberships__role=Role.GRID_WORKER, memberships__unit__code__in=codes, is_active=True
        )
        .distinct()
        .order_by("display_name", "pk")
    )
    kind = case.category.default_department_kind
    matching = [d for d in departments if d.kind == kind]
    # The nearest unit first: a street's own office before the district bureau.
    matching.sort(key=lambda d: -len(d.unit.code))
    return departments, workers, matching[0].pk if matching else None


# --- public reads (no login): residents' tracking, duplicate check and the public map ---------
# These return cases to people without an account: callers (wangge.public) decide what of them
# may be shown. Nothing here is scoped by a user.


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bbox_around(*, lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) containing every point within `radius_m`: the exact
    spherical bounds, so the box never cuts off a point that the exact distance would keep."""
    angle = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(angle)
    cos_lat = math.cos(math.radians(lat))
    ratio = math.sin(angle) / cos_lat if cos_lat > 1e-9 else 2.0
    dlon = 180.0 if ratio >= 1 else math.degrees(math.asin(ratio))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


@dataclass(frozen=True)
class NearbyCase:
    case: Case
    distance_m: float


NEARBY_CANDIDATES = 400


def nearby_open_cases(
    *, category: Category, lon: float, lat: float, radius_m: float = 250, limit: int = 5
) -> list[NearbyCase]:
    """Open cases of `category` within `radius_m` of the point, nearest first.

    A bounding box on (category, lat, lon) — the partial index case_open_position — finds the
    candidates; the exact great-circle distance then keeps those really inside the circle.
    """
    min_lon, min_lat, max_lon, max_lat = bbox_around(lon=lon, lat=lat, radius_m=radius_m)
    candidates = (
        Case.objects.filter(
            category=category,
            status__in=OPEN_STATUS_LIST,
            lat__gte=min_lat,
            lat__lte=max_lat,
            lon__gte=min_lon,
            lon__lte=max_lon,
        )
        .select_related("category__parent")
        .order_by("-created_at", "-id")[:NEARBY_CANDIDATES]
    )
    found = []
    for case in candidates:
        if case.lon is None or case.lat is None:
            continue
        distance = haversine_m(lon, lat, case.lon, case.lat)
        if distance <= radius_m:
            found.append(NearbyCase(case=case, distance_m=distance))
    found.sort(key=lambda n: (n.distance_m, -n.case.pk))
    return found[:limit]


def _tracked() -> QuerySet[Case]:
    return Case.objects.select_related(
        "category__parent", "lead_department", "lead_worker", "master__category__parent"
    )


def tracked_case(*, tracking_code: str) -> Case | None:
    """The case with this tracking code, or None."""
    return _tracked().filter(tracking_code=tracking_code).first() if tracking_code else None


def tracked_case_by_id(*, pk: int) -> Case | None:
    """The case a signed tracking link names, or None."""
    return _tracked().filter(pk=pk).first()


def timeline(*, case: Case) -> list[Any]:
    """Every timeline entry of the case, oldest first (the public page keeps the public ones
    and reads the others' actors to hide their names)."""
    return list(case.events.order_by("created_at", "id"))


def public_photos(*, case: Case) -> list[Any]:
    """Photos marked public, with the timeline action they were added with."""
    from wangge.cases.models import CasePhoto

    return list(
        CasePhoto.objects.filter(case=case, is_public=True)
        .select_related("event")
        .only("pk", "case_id", "width", "height", "event__action")
        .order_by("created_at", "id")
    )


def public_photo_get(*, case_ids: list[int], pk: int) -> Any:
    """A public photo of one of `case_ids` (404 otherwise)."""
    from wangge.cases.models import CasePhoto

    photo = (
        CasePhoto.objects.filter(pk=pk, case_id__in=case_ids, is_public=True)
        .select_related("event")
        .only("pk", "image", "thumbnail", "case_id", "event__action")
        .first()
    )
    if photo is None:
        raise Http404("photo not found")
    return photo


def private_category_ids() -> list[int]:
    """Categories whose cases are personal matters (disputes, policy questions by default:
    WANGGE_OPEN311_PRIVATE_CATEGORIES) and never appear on a public surface — the Open311
    feed, the residents' map, the "是不是这件事" prompt — with their sub-categories."""
    codes = list(getattr(settings, "WANGGE_OPEN311_PRIVATE_CATEGORIES", []) or [])
    return category_ids_under(codes) if codes else []


def public_map_cases(
    *,
    category_codes: list[str] | None,
    closed_since: datetime,
    limit: int,
) -> list[dict[str, Any]]:
    """Open cases and cases closed since `closed_since`, newest first, at most `limit`, as plain
    rows of non-personal fields (no title, description, reporter or handler)."""
    qs = Case.objects.filter(
        Q(status__in=OPEN_STATUS_LIST) | Q(status=Status.CLOSED, closed_at__gte=closed_since),
        lon__isnull=False,
        lat__isnull=False,
    )
    if private := private_category_ids():
        qs = qs.exclude(category_id__in=private)
    if category_codes:
        qs = qs.filter(category_id__in=category_ids_under(category_codes))
    rows: list[dict[str, Any]] = list(
        qs.order_by("-created_at", "-id").values(  # type: ignore[arg-type]
            "id",
            "lon",
            "lat",
            "status",
            "created_at",
            "closed_at",
            "category__name",
            "category__name_en",
            "category__parent__code",
            "category__parent__name",
            "category__parent__name_en",
            "category__parent__icon",
        )[:limit]
    )
    return rows


def category_usage(*, since: datetime) -> dict[int, int]:
    """How many cases each sub-category received since `since` (the report page's order)."""
    rows = (
        Case.objects.filter(created_at__gte=since)
        .values("category_id")
        .annotate(n=Count("pk"))
        .values_list("category_id", "n")
    )
    return dict(rows)
