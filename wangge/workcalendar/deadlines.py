"""Deadline arithmetic: time limits in clock hours or working days, pauses, and SLA status.

Semantics (DOMAIN.md §3 and §4), the same everywhere in Wangge:

* Every datetime is timezone-aware; naive ones raise ValueError. Arithmetic happens in
  Asia/Shanghai (the calendar's legal zone, whatever TIME_ZONE says) and results come back in
  that zone. Shanghai has had no daylight saving since 1991, so a day is always 24 h.
* An hour limit counts clock hours: 24 h from Friday 10:00 is Saturday 10:00.
* A working-day limit counts working time: the clock runs only on working days (Monday–Friday,
  minus statutory holidays, plus make-up working days 调休上班), 24 h per working day, and
  N working days are due when the clock has run N × 24 h. So:
  - received at 10:00 on a working day → due at 10:00 on the N-th working day after it;
  - received on a non-working day → the clock starts at 00:00 of the next working day and the case
    is due at the end (24:00) of the N-th working day counting that day as the first;
  - when the clock completes exactly at the end of a working day, `due_at` is that day's 24:00,
    stored as the next day's 00:00; `Deadline.due_date` names the working day it belongs to,
    which is what a page should show ("10月9日 24:00", not "10月10日 00:00").
  Because the clock is continuous, add_working_days(add_working_days(t, a), b) ==
  add_working_days(t, a + b) for every t, a and b.
* Paused time (挂起) does not count: the deadline is the instant at which the *unpaused* time on
  the limit's clock reaches the limit. An hour limit moves out by the whole pause; a working-day
  limit moves out by the working time inside the pause (a pause over a weekend moves nothing).
  A pause that begins after the deadline passed does not move it.
* A year whose holiday schedule is not published is counted Monday–Friday, and every result that
  relied on such a year carries a CalendarWarning saying so; nothing raises for an unknown year.
* SLA status: `overdue` once now is past the deadline, `due_soon` when the remaining unpaused time
  (on the limit's clock) is under DUE_SOON_FRACTION of the limit or under DUE_SOON_WINDOW,
  whichever moment comes later, otherwise `normal`. For a working-day limit both are measured in
  working time, so 24 h is one working day: a case due Monday 10:00 is due soon from Friday 10:00.
  `due_soon_at` gives the instant the status turns, for storing beside the deadline. While a case
  is paused its status is frozen at the moment the pause began.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

CALENDAR_TZ = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
ZERO = timedelta(0)
# A run of non-working days longer than this means a broken schedule, not a long holiday.
MAX_NON_WORKING_RUN = 60


class LimitUnit(models.TextChoices):
    HOURS = "hours", _("小时")
    WORKING_DAYS = "working_days", _("工作日")


class SlaStatus(models.TextChoices):
    NORMAL = "normal", _("正常")
    DUE_SOON = "due_soon", _("即将超时")
    OVERDUE = "overdue", _("已超时")


class LimitKind(models.TextChoices):
    """The default classes of resolution limit used by 12345 hotlines (DOMAIN.md §3)."""

    EMERGENCY = "emergency", _("紧急（危及生命财产安全）")
    UTILITIES = "utilities", _("水电气热")
    GENERAL = "general", _("一般")
    COMPLEX = "complex", _("复杂")


@dataclass(frozen=True)
class TimeLimit:
    value: int
    unit: LimitUnit

    def __str__(self) -> str:
        return f"{self.value} {self.unit.label}"


# DOMAIN.md §3 defaults, in one place. Configurable per category and priority by the cases app,
# which should ship these as the initial values.
DEFAULT_RESOLUTION_LIMITS: dict[LimitKind, TimeLimit] = {
    LimitKind.EMERGENCY: TimeLimit(2, LimitUnit.HOURS),
    LimitKind.UTILITIES: TimeLimit(24, LimitUnit.HOURS),
    LimitKind.GENERAL: TimeLimit(7, LimitUnit.WORKING_DAYS),
    LimitKind.COMPLEX: TimeLimit(15, LimitUnit.WORKING_DAYS),
}
RESPONSE_LIMIT_URGENT = TimeLimit(2, LimitUnit.HOURS)
RESPONSE_LIMIT_NORMAL = TimeLimit(24, LimitUnit.HOURS)
DUE_SOON_FRACTION = 0.2
DUE_SOON_WINDOW = timedelta(hours=24)


UNPUBLISHED = gettext_noop(
    "%(year)d 年节假日安排尚未发布，按周一至周五计算 "
    "(the %(year)d holiday schedule is not published yet; counted Monday to Friday)"
)


@dataclass(frozen=True)
class CalendarWarning:
    """A result relied on a year whose holiday schedule is not in the calendar."""

    year: int
    code: str = "calendar_unpublished"

    @property
    def message(self) -> str:
        """In the reader's language."""
        return _(UNPUBLISHED) % {"year": self.year}

    def __str__(self) -> str:
        """Both languages, as a case stores it (`Case.calendar_warning`): whoever's action
        computed the deadline, each reader sees their own part (`core.bilingual.in_language`)."""
        return UNPUBLISHED % {"year": self.year}


@dataclass(frozen=True)
class Deadline:
    due_at: datetime
    warnings: tuple[CalendarWarning, ...] = ()

    @property
    def estimated(self) -> bool:
        """True when part of the count fell back to Monday–Friday."""
        return bool(self.warnings)

    @property
    def due_date(self) -> date:
        """The day the deadline belongs to: a deadline at 00:00 is the end of the day before."""
        return day_of(self.due_at)


Pause = tuple[datetime, datetime | None]
Elapsed = Callable[[datetime, datetime], timedelta]
Shift = Callable[[datetime, timedelta], datetime]


def local(value: datetime) -> datetime:
    """`value` in Asia/Shanghai; refuses naive datetimes."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: deadlines need aware datetimes")
    return value.astimezone(CALENDAR_TZ)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CALENDAR_TZ)


def day_of(instant: datetime) -> date:
    """The calendar day an instant closes: 00:00 belongs to the day before (its 24:00)."""
    moment = local(instant)
    if moment.time() == time(0):
        return moment.date() - DAY
    return moment.date()


def merge_pauses(
    pauses: Iterable[Pause],
) -> tuple[list[tuple[datetime, datetime]], datetime | None]:
    """Closed pauses sorted and merged (in local time), and the start of an open pause if any."""
    closed: list[tuple[datetime, datetime]] = []
    open_start: datetime | None = None
    for start, end in pauses:
        begin = local(start)
        if end is None:
            open_start = begin if open_start is None else min(open_start, begin)
            continue
        finish = local(end)
        if finish < begin:
            raise ValueError(f"pause ends before it starts: {begin.isoformat()} > {finish}")
        closed.append((begin, finish))
    closed.sort()
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in closed:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    if open_start is not None:
        # Time after an open pause began is paused whatever the closed pauses say.
        merged = [(b, min(f, open_start)) for b, f in merged if b < open_start]
    return merged, open_start


def due_soon_threshold(limit: timedelta, fraction: float, window: timedelta) -> timedelta:
    """Remaining time under which a case is due soon.

    "Under 20 % of the limit or under 24 h left, whichever is later" (DOMAIN.md §3): of the two
    moments, due − 20 % × limit and due − 24 h, the later one, i.e. the smaller remaining time.
    A 7-working-day case turns due soon 24 h before its deadline, a 2 h case 24 min before.
    """
    return min(limit * fraction, window)


class WorkingCalendar:
    """The statutory working calendar, immutable; build one with selectors.working_calendar()."""

    def __init__(
        self,
        *,
        holidays: Mapping[date, str] | Iterable[date] = (),
        makeup_workdays: Mapping[date, str] | Iterable[date] = (),
        published_years: Iterable[int] = (),
        revision: str = "",
    ):
        self.holidays: dict[date, str] = _named(holidays)
        self.makeup_workdays: dict[date, str] = _named(makeup_workdays)
        self.published_years = frozenset(published_years)
        self.revision = revision

    def __repr__(self) -> str:
        years = sorted(self.published_years)
        span = f"{years[0]}–{years[-1]}" if years else "none"
        return f"<WorkingCalendar years={span} revision={self.revision or '-'}>"

    # Days ---------------------------------------------------------------------------------

    def is_published(self, year: int) -> bool:
        return year in self.published_years

    def is_workday(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = local(day).date()
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def day_name(self, day: date) -> str:
        """The holiday a day belongs to (or is a make-up day for), '' for an ordinary day."""
        return self.holidays.get(day) or self.makeup_workdays.get(day) or ""

    def next_workday(self, day: date) -> date:
        """The first working day strictly after `day`."""
        for _step in range(MAX_NON_WORKING_RUN + 1):
            day += DAY
            if self.is_workday(day):
                return day
        raise ValueError(f"no working day within {MAX_NON_WORKING_RUN} days after {day}")

    def previous_workday(self, day: date) -> date:
        """The last working day strictly before `day`."""
        for _step in range(MAX_NON_WORKING_RUN + 1):
            day -= DAY
            if self.is_workday(day):
                return day
        raise ValueError(f"no working day within {MAX_NON_WORKING_RUN} days before {day}")

    def warnings_for(self, first: date, last: date) -> tuple[CalendarWarning, ...]:
        years = range(min(first, last).year, max(first, last).year + 1)
        return tuple(CalendarWarning(year) for year in years if year not in self.published_years)

    # Working-time clock ---------------------------------------------------------------------

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end): the part of the interval on working days."""
        begin, finish = local(start), local(end)
        total = ZERO
        day = begin.date()
        while midnight(day) < finish:
            lo, hi = max(begin, midnight(day)), min(finish, midnight(day + DAY))
            if hi > lo and self.is_workday(day):
                total += hi - lo
            day += DAY
        return total

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which `duration` of working time has passed since `start`."""
        if duration < ZERO:
            raise ValueError("duration must not be negative")
        moment = local(start)
        if duration == ZERO:
            return moment
        remaining = duration
        day = moment.date()
        if self.is_workday(day):
            left_today = midnight(day + DAY) - moment
            if remaining <= left_today:
                return moment + remaining
            remaining -= left_today
        while True:
            day = self.next_workday(day)
            if remaining <= DAY:
                return midnight(day) + remaining
            remaining -= DAY

    def subtract_working_time(self, end: datetime, duration: timedelta) -> datetime:
        """The latest instant from which `duration` of working time remains until `end`."""
        if duration < ZERO:
            raise ValueError("duration must not be negative")
        moment = local(end)
        if duration == ZERO:
            return moment
        remaining = duration
        day = moment.date()
        if self.is_workday(day):
            before = moment - midnight(day)
            if remaining <= before:
                return moment - remaining
            remaining -= before
        while True:
            day = self.previous_workday(day)
            if remaining <= DAY:
                return midnight(day + DAY) - remaining
            remaining -= DAY

    def add_working_days(
        self, start: datetime, n: int
    ) -> tuple[datetime, tuple[CalendarWarning, ...]]:
        """`n` working days after `start` (see the module docstring), with calendar warnings."""
        if n < 0:
            raise ValueError("n must not be negative")
        due = self.add_working_time(start, n * DAY)
        return due, self.warnings_for(local(start).date(), day_of(due) if n else due.date())

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """Clock hours: the calendar plays no part."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        return local(start) + timedelta(hours=hours)

    # Limits with pauses ---------------------------------------------------------------------

    def _clock(self, unit: str) -> tuple[Elapsed, Shift, Shift]:
        """(elapsed, advance, retreat) on the limit's clock."""
        if unit == LimitUnit.HOURS:
            return (lambda a, b: max(b - a, ZERO)), (lambda a, d: a + d), (lambda b, d: b - d)
        if unit == LimitUnit.WORKING_DAYS:
            return self.working_time_between, self.add_working_time, self.subtract_working_time
        raise ValueError(f"unknown limit unit {unit!r}: expected 'hours' or 'working_days'")

    def active_time(
        self, start: datetime, end: datetime, pauses: Sequence[Pause] = (), *, unit: str
    ) -> timedelta:
        """Time on the limit's clock in [start, end) outside every pause."""
        elapsed = self._clock(unit)[0]
        begin, finish = local(start), local(end)
        if finish <= begin:
            return ZERO
        merged, open_start = merge_pauses(pauses)
        if open_start is not None:
            finish = min(finish, max(open_start, begin))
        total = elapsed(begin, finish)
        for p_start, p_end in merged:
            lo, hi = max(begin, p_start), min(finish, p_end)
            if hi > lo:
                total -= elapsed(lo, hi)
        return total

    def deadline(
        self,
        start: datetime,
        limit_value: float,
        limit_unit: str,
        pauses: Sequence[Pause] = (),
    ) -> Deadline:
        """When a limit started at `start` runs out, with closed pauses not counted.

        An open pause (end None) makes the deadline unknowable: compute it on resume.
        """
        if limit_value < 0:
            raise ValueError("limit_value must not be negative")
        if limit_unit == LimitUnit.WORKING_DAYS and limit_value != int(limit_value):
            raise ValueError("a working-day limit must be a whole number of days")
        elapsed, advance, _retreat = self._clock(limit_unit)
        merged, open_start = merge_pauses(pauses)
        if open_start is not None:
            raise ValueError("an open pause has no end yet: compute the deadline when it ends")
        limit = (
            timedelta(hours=limit_value)
            if limit_unit == LimitUnit.HOURS
            else int(limit_value) * DAY
        )
        moment, remaining = local(start), limit
        due: datetime | None = None
        for p_start, p_end in merged:
            if p_end <= moment:
                continue
            if p_start > moment:
                available = elapsed(moment, p_start)
                if remaining <= available:
                    due = advance(moment, remaining)
                    break
                remaining -= available
            moment = max(moment, p_end)
        if due is None:
            due = advance(moment, remaining)
        warnings: tuple[CalendarWarning, ...] = ()
        if limit_unit == LimitUnit.WORKING_DAYS:
            last = day_of(due) if due > local(start) else due.date()
            warnings = self.warnings_for(local(start).date(), last)
        return Deadline(due_at=due, warnings=warnings)

    def due_soon_at(
        self,
        started_at: datetime,
        due_at: datetime,
        pauses: Sequence[Pause] = (),
        *,
        limit_unit: str = LimitUnit.HOURS,
        due_soon_fraction: float = DUE_SOON_FRACTION,
        due_soon_window: timedelta = DUE_SOON_WINDOW,
        limit: timedelta | None = None,
    ) -> datetime:
        """The instant after which a running case is due soon (sla_status agrees with it).

        Stored beside the deadline it lets a database filter find due-soon cases with
        `due_soon_at < now <= due_at`. Only closed pauses count; recompute on resume.
        `limit`: the active time from start to due when the caller knows it (the limit that
        `deadline` was given, with no extension); else it is measured.
        """
        elapsed, _advance, retreat = self._clock(limit_unit)
        merged, open_start = merge_pauses(pauses)
        if open_start is not None:
            raise ValueError("an open pause has no end yet: compute when it ends")
        begin, moment = local(started_at), local(due_at)
        closed: list[Pause] = list(merged)
        if limit is None:
            limit = self.active_time(begin, moment, closed, unit=limit_unit)
        remaining = due_soon_threshold(limit, due_soon_fraction, due_soon_window)
        if remaining <= ZERO:
            return moment
        for p_start, p_end in reversed(merged):
            if p_start >= moment:
                continue
            if p_end < moment:
                available = elapsed(p_end, moment)
                if remaining <= available:
                    return max(begin, retreat(moment, remaining))
                remaining -= available
            moment = min(moment, p_start)
        return max(begin, retreat(moment, remaining))

    def sla_status(
        self,
        now: datetime,
        started_at: datetime,
        due_at: datetime,
        pauses: Sequence[Pause] = (),
        *,
        limit_unit: str = LimitUnit.HOURS,
        due_soon_fraction: float = DUE_SOON_FRACTION,
        due_soon_window: timedelta = DUE_SOON_WINDOW,
    ) -> SlaStatus:
        """normal / due_soon / overdue for an open case (see the module docstring)."""
        moment = local(now)
        merged, open_start = merge_pauses(pauses)
        if open_start is not None and open_start <= moment:
            # Paused: the clock stopped when the pause began, and so did the status.
            moment = open_start
        if moment > local(due_at):
            return SlaStatus.OVERDUE
        closed: list[Pause] = list(merged)
        limit = self.active_time(started_at, due_at, closed, unit=limit_unit)
        remaining = self.active_time(
            max(moment, local(started_at)), due_at, closed, unit=limit_unit
        )
        if remaining < due_soon_threshold(limit, due_soon_fraction, due_soon_window):
            return SlaStatus.DUE_SOON
        return SlaStatus.NORMAL


def _named(days: Mapping[date, str] | Iterable[date]) -> dict[date, str]:
    if isinstance(days, Mapping):
        return {day: str(name) for day, name in days.items()}
    return dict.fromkeys(days, "")


# Module-level entry points for the cases app: the calendar comes from the database (cached per
# process) unless one is passed in.


def _calendar(calendar: WorkingCalendar | None) -> WorkingCalendar:
    if calendar is not None:
        return calendar
    from wangge.workcalendar.selectors import working_calendar

    return working_calendar()


def deadline(
    start: datetime,
    limit_value: float,
    limit_unit: str,
    pauses: Sequence[Pause] = (),
    *,
    calendar: WorkingCalendar | None = None,
) -> Deadline:
    """WorkingCalendar.deadline on the current calendar. Hour limits never touch the database."""
    if limit_unit == LimitUnit.HOURS and calendar is None:
        calendar = HOURS_ONLY
    return _calendar(calendar).deadline(start, limit_value, limit_unit, pauses)


def sla_status(
    now: datetime,
    started_at: datetime,
    due_at: datetime,
    pauses: Sequence[Pause] = (),
    *,
    limit_unit: str = LimitUnit.HOURS,
    due_soon_fraction: float = DUE_SOON_FRACTION,
    due_soon_window: timedelta = DUE_SOON_WINDOW,
    calendar: WorkingCalendar | None = None,
) -> SlaStatus:
    """WorkingCalendar.sla_status on the current calendar."""
    if limit_unit == LimitUnit.HOURS and calendar is None:
        calendar = HOURS_ONLY
    return _calendar(calendar).sla_status(
        now,
        started_at,
        due_at,
        pauses,
        limit_unit=limit_unit,
        due_soon_fraction=due_soon_fraction,
        due_soon_window=due_soon_window,
    )


def due_soon_at(
    started_at: datetime,
    due_at: datetime,
    pauses: Sequence[Pause] = (),
    *,
    limit_unit: str = LimitUnit.HOURS,
    due_soon_fraction: float = DUE_SOON_FRACTION,
    due_soon_window: timedelta = DUE_SOON_WINDOW,
    calendar: WorkingCalendar | None = None,
    limit: timedelta | None = None,
) -> datetime:
    """WorkingCalendar.due_soon_at on the current calendar."""
    if limit_unit == LimitUnit.HOURS and calendar is None:
        calendar = HOURS_ONLY
    return _calendar(calendar).due_soon_at(
        started_at,
        due_at,
        pauses,
        limit_unit=limit_unit,
        due_soon_fraction=due_soon_fraction,
        due_soon_window=due_soon_window,
        limit=limit,
    )


# Clock-hour arithmetic needs no holidays; this spares hour limits a database round trip.
HOURS_ONLY = WorkingCalendar()
