"""Calendars for tests that need no database: the chinesecalendar package's data, pure."""

from datetime import date, datetime
from functools import cache

from wangge.workcalendar.deadlines import CALENDAR_TZ, WorkingCalendar
from wangge.workcalendar.sources import package_schedule, package_years


@cache
def package_calendar() -> WorkingCalendar:
    holidays: dict[date, str] = {}
    makeup: dict[date, str] = {}
    for year in package_years():
        schedule = package_schedule(year)
        assert schedule is not None
        holidays |= schedule.holidays
        makeup |= schedule.makeup_workdays
    return WorkingCalendar(
        holidays=holidays, makeup_workdays=makeup, published_years=package_years()
    )


def at(text: str) -> datetime:
    """'2026-09-30 10:00' in Asia/Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=CALENDAR_TZ)
