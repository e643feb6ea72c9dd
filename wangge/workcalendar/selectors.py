"""Reads of the working calendar: the process's cached WorkingCalendar and schedule listings."""

import threading
from datetime import date
from typing import Any

from django.db.models import QuerySet

from wangge.workcalendar.deadlines import WorkingCalendar
from wangge.workcalendar.models import CalendarDay, CalendarState, CalendarYear, DayKind

_lock = threading.Lock()
_cache: dict[str, Any] = {"revision": None, "calendar": None}


def build_working_calendar(*, revision: str = "") -> WorkingCalendar:
    """The calendar as stored now: days of published schedules only (two queries)."""
    published = CalendarYear.objects.filter(published=True).values_list("year", flat=True)
    holidays: dict[date, str] = {}
    makeup: dict[date, str] = {}
    rows = CalendarDay.objects.filter(schedule__published=True).values_list("date", "kind", "name")
    for day, kind, name in rows:
        (holidays if kind == DayKind.HOLIDAY else makeup)[day] = name
    return WorkingCalendar(
        holidays=holidays,
        makeup_workdays=makeup,
        published_years=list(published),
        revision=revision,
    )


def working_calendar(*, revision: str | None = None) -> WorkingCalendar:
    """The process's calendar, rebuilt when the stored revision moves on (one query if not; none
    when the caller has just read the `revision`)."""
    if revision is None:
        revision = CalendarState.current_revision()
    with _lock:
        if _cache["revision"] != revision or _cache["calendar"] is None:
            _cache["calendar"] = build_working_calendar(revision=revision)
            _cache["revision"] = revision
        calendar: WorkingCalendar = _cache["calendar"]
    return calendar


def cached_revision() -> str | None:
    """The revision of the calendar this process holds (None: none built yet), without asking
    the database: the caller checks it against the stored one (case intake, in its write)."""
    with _lock:
        return None if _cache["calendar"] is None else _cache["revision"]


def year_schedules() -> QuerySet[CalendarYear]:
    """Every stored year, newest first. The calendar is public information: no scope applies."""
    return CalendarYear.objects.order_by("-year")


def year_days(*, year: int) -> QuerySet[CalendarDay]:
    return CalendarDay.objects.filter(schedule__year=year).order_by("date")
