"""Reads of cases, always within the user's scope: territory subtrees, the user's departments'
assigned cases, the user's own dispatches and reports. Outside it a case does not exist (404)."""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from wangge.accounts.models import Role
from wangge.accounts.scope import Scope, scope_of
from wangge.cases.models import OPEN_STATUSES, Case, Category, SlaStatus, Status
from wangge.cases.sla import sla_q
from wangge.cases.workflow import DESK
from wangge.core.errors import DomainError


def _codes_with(scope: Scope, roles: frozenset[str] | set[str]) -> list[str]:
    return [code for code, held in scope.roles_by_code.items() if held & roles]


def _prefix_q(lookup: str, codes: list[str] | tuple[str, ...]) -> Q:
    if not codes:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{lookup}__startswith": c}) for c in codes))


def scope_q(user: Any) -> Q:
    scope = scope_of(user)
    if scope.is_superuser:
        return Q()
    q = _prefix_q("grid_code", scope.unit_codes)
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


def case_get(*, user: Any, pk: int) -> Case:
    case = (
        case_list(user=user)
        .select_related(
            "category__parent",
            "grid__parent__parent",
            "handling_unit",
            "lead_department",
            "lead_worker",
            "master",
        )
        .prefetch_related("co_departments", "approvals", "photos")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise Http404("case not found")
    return case


def case_events(*, case: Case, public_only: bool = False) -> QuerySet[Any]:
    events = case.events.select_related("actor").prefetch_related("photos")
    return events.filter(is_public=True) if public_only else events


# --- queues (我的待办) ----------------------------------------------------------------------


QUEUES: list[tuple[str, str]] = [
    ("reported", "待受理"),
    ("accepted", "待分拨"),
    ("dispatched", "待签收"),
    ("in_progress", "处置中"),
    ("handled", "待核查"),
    ("due_soon", "即将超时"),
    ("overdue", "已超时"),
]


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
        verify = _prefix_q("grid_code", _codes_with(scope, DESK | {Role.GRID_WORKER}))
    if queue in (Status.REPORTED, Status.ACCEPTED):
        return desk & Q(status=queue)
    if queue in (Status.DISPATCHED, Status.IN_PROGRESS):
        return lead & Q(status=queue)
    if queue == Status.HANDLED:
        return verify & Q(status=queue)
    if queue in (SlaStatus.DUE_SOON, SlaStatus.OVERDUE):
        return (desk | lead | verify) & sla_q(queue, now)
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
                    raise DomainError(f"状态 {part} 无效 (unknown status)", field="status")
                if part:
                    filters.status.append(part)
        filters.sla = one("sla")
        if filters.sla and filters.sla not in SlaStatus.values:
            raise DomainError(f"超时状态 {filters.sla} 无效 (unknown sla)", field="sla")
        filters.category = one("category")
        filters.unit = one("unit")
        if filters.unit and not filters.unit.isdigit():
            raise DomainError("辖区编码须为数字 (unit must be a code)", field="unit")
        department = one("department")
        if department:
            if not department.isdigit():
                raise DomainError("部门须为编号 (department must be an id)", field="department")
            filters.department = int(department)
        filters.source = one("source")
        for name in ("date_from", "date_to"):
            raw = one(name)
            if raw:
                try:
                    setattr(filters, name, date.fromisoformat(raw))
                except ValueError:
                    raise DomainError(
                        f"日期格式应为 2026-05-01 ({name} must be YYYY-MM-DD)", field=name
                    ) from None
        filters.text = one("q")[:100]
        filters.queue = one("queue")
        return filters

    def apply(self, qs: QuerySet[Case], *, user: Any) -> QuerySet[Case]:
        if self.status:
            qs = qs.filter(status__in=self.status)
        if self.sla:
            qs = qs.filter(sla_q(self.sla))
        if self.category:
            qs = qs.filter(
                Q(category__code=self.category) | Q(category__parent__code=self.category)
            )
        if self.unit:
            qs = qs.filter(grid_code__startswith=self.unit)
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
        return qs


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
            "分页参数无效，请从第一页重新开始 (invalid cursor)", field="cursor"
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
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk))
    rows = list(
        qs.select_related("category", "grid", "lead_department", "handling_unit").order_by(
            "-created_at", "-id"
        )[: limit + 1]
    )
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1]) if more and items else None)


def category_list() -> QuerySet[Category]:
    return (
        Category.objects.filter(is_active=True)
        .select_related("parent")
        .order_by("sort_order", "code")
    )
