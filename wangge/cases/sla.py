"""Deadlines and SLA status of cases: one implementation used by actions, lists, API and stats.

A case stores response_due_at, resolution_due_at and due_soon_at. While it is suspended the clock
stops: on resume the due times move out by the paused length. SLA status at a moment is then a
comparison that also works in SQL (see `sla_q`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from wangge.cases.models import (
    OPEN_STATUSES,
    Category,
    LimitUnit,
    Priority,
    PriorityPolicy,
    SlaStatus,
    Status,
)
from wangge.workcalendar import deadlines
from wangge.workcalendar.selectors import working_calendar


@dataclass(frozen=True)
class Limits:
    response_hours: int
    resolution: int
    unit: str
    due_soon_fraction: float
    due_soon_min_hours: int


@dataclass(frozen=True)
class Due:
    response_due_at: datetime
    resolution_due_at: datetime
    due_soon_at: datetime
    warning: str


# `limits_for(policy=…)` when the caller has not read the priority's policy.
UNREAD: Any = object()


def limits_for(*, category: Category, priority: str, policy: Any = UNREAD) -> Limits:
    """The category's limits, tightened by the priority's policy (read here unless the caller
    passes the policy it read, or None for none)."""
    response, resolution, unit = (
        category.response_limit_hours,
        category.resolution_limit,
        category.resolution_unit,
    )
    if priority != Priority.NORMAL:
        if policy is UNREAD:
            policy = PriorityPolicy.objects.filter(priority=priority).first()
        if policy is not None:
            if policy.response_limit_hours:
                response = min(response, policy.response_limit_hours)
            if policy.resolution_limit_hours:
                resolution, unit = policy.resolution_limit_hours, LimitUnit.HOURS
    return Limits(
        response_hours=response,
        resolution=resolution,
        unit=unit,
        due_soon_fraction=float(category.due_soon_fraction),
        due_soon_min_hours=category.due_soon_min_hours,
    )


def _limit_time(limits: Limits) -> timedelta:
    """The resolution limit as time on its clock, as `deadlines.deadline` counts it."""
    if limits.unit == LimitUnit.HOURS:
        return timedelta(hours=limits.resolution)
    return int(limits.resolution) * deadlines.DAY


def _pauses(case: Any) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in case.pauses or []]


def compute_due(
    *,
    started_at: datetime,
    limits: Limits,
    pauses: Any = (),
    extension_days: int = 0,
    calendar_revision: str | None = None,
) -> Due:
    """Response and resolution deadlines and the due-soon instant, paused time excluded.
    `calendar_revision`: the working calendar's revision if the caller has just read it."""
    # One calendar for the whole computation: one revision check, and the same calendar for
    # every part even if an administrator edits it meanwhile. Hour limits need none.
    calendar = (
        working_calendar(revision=calendar_revision)
        if limits.unit != LimitUnit.HOURS or extension_days
        else deadlines.HOURS_ONLY
    )
    response = deadlines.deadline(
        started_at, limits.response_hours, LimitUnit.HOURS, pauses, calendar=deadlines.HOURS_ONLY
    )
    resolution = deadlines.deadline(
        started_at, limits.resolution, limits.unit, pauses, calendar=calendar
    )
    warnings = [*response.warnings, *resolution.warnings]
    due_at = resolution.due_at
    if extension_days:
        extended = deadlines.deadline(
            due_at, extension_days, LimitUnit.WORKING_DAYS, calendar=calendar
        )
        warnings += extended.warnings
        due_at = extended.due_at
    due_soon = deadlines.due_soon_at(
        started_at,
        due_at,
        pauses,
        limit_unit=limits.unit,
        due_soon_fraction=limits.due_soon_fraction,
        due_soon_window=timedelta(hours=limits.due_soon_min_hours),
        calendar=calendar,
        # Without pauses or an extension the active time to the deadline is the limit itself
        # (a new case): not measured again day by day.
        limit=None if pauses or extension_days else _limit_time(limits),
    )
    return Due(
        response_due_at=response.due_at,
        resolution_due_at=due_at,
        due_soon_at=due_soon,
        warning="；".join(dict.fromkeys(str(w) for w in warnings)),
    )


def case_limits(case: Any) -> Limits:
    return Limits(
        response_hours=case.response_limit_hours,
        resolution=case.resolution_limit,
        unit=case.resolution_unit,
        due_soon_fraction=float(case.category.due_soon_fraction),
        due_soon_min_hours=case.category.due_soon_min_hours,
    )


def recompute(case: Any) -> list[str]:
    """Set a case's deadlines from its clock start, limits, closed pauses and extensions."""
    due = compute_due(
        started_at=case.clock_started_at,
        limits=case_limits(case),
        pauses=_pauses(case),
        extension_days=case.extension_days,
    )
    case.response_due_at = due.response_due_at
    case.resolution_due_at = due.resolution_due_at
    case.due_soon_at = due.due_soon_at
    case.calendar_warning = due.warning[:200]
    return ["response_due_at", "resolution_due_at", "due_soon_at", "calendar_warning"]


def sla_status(case: Any, now: datetime | None = None) -> str:
    """normal / due_soon / overdue for an open case (closed cases are normal)."""
    if case.status not in OPEN_STATUSES:
        return SlaStatus.NORMAL
    moment = case.paused_at or now or timezone.now()
    if moment > case.resolution_due_at:
        return SlaStatus.OVERDUE
    if moment >= case.due_soon_at:
        return SlaStatus.DUE_SOON
    return SlaStatus.NORMAL


def sla_q(status: str, now: datetime | None = None) -> Q:
    """The same rule as `sla_status`, for filtering open, running cases in the database.

    A suspended case keeps the SLA status it had when paused; it is matched by comparing its due
    times with paused_at instead of now.
    """
    now = now or timezone.now()
    running = Q(paused_at__isnull=True) & ~Q(status=Status.SUSPENDED)
    open_q = Q(status__in=OPEN_STATUSES)
    if status == SlaStatus.OVERDUE:
        return open_q & (
            (running & Q(resolution_due_at__lt=now))
            | (Q(paused_at__isnull=False) & Q(resolution_due_at__lt=F("paused_at")))
        )
    if status == SlaStatus.DUE_SOON:
        return open_q & (
            (running & Q(resolution_due_at__gte=now, due_soon_at__lte=now))
            | (
                Q(paused_at__isnull=False)
                & Q(resolution_due_at__gte=F("paused_at"), due_soon_at__lte=F("paused_at"))
            )
        )
    if status == SlaStatus.NORMAL:
        return ~(sla_q(SlaStatus.OVERDUE, now) | sla_q(SlaStatus.DUE_SOON, now))
    raise ValueError(f"unknown SLA status {status!r}")
