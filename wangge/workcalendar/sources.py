"""Reading holiday schedules published elsewhere: the `chinesecalendar` package (2004 onwards)."""

from dataclasses import dataclass, field
from datetime import date

import chinese_calendar
from chinese_calendar.constants import Holiday

# The package names holidays in English; the calendar shows the Chinese names.
CHINESE_NAMES: dict[str, str] = {holiday.value: holiday.chinese for holiday in Holiday}


@dataclass
class YearSchedule:
    """One year's exceptions to Monday–Friday, each date with the holiday it belongs to."""

    year: int
    holidays: dict[date, str] = field(default_factory=dict)
    makeup_workdays: dict[date, str] = field(default_factory=dict)


def package_years() -> range:
    """The years the installed chinesecalendar knows (2004–2026 for version 1.11)."""
    known = chinese_calendar.holidays.keys()
    return range(min(known).year, max(known).year + 1)


def package_schedule(year: int) -> YearSchedule | None:
    """The package's schedule for `year`, or None when the package does not know that year."""
    if year not in package_years():
        return None
    schedule = YearSchedule(year=year)
    for day, name in chinese_calendar.holidays.items():
        if day.year == year:
            schedule.holidays[day] = CHINESE_NAMES.get(name, name)
    for day, name in chinese_calendar.workdays.items():
        if day.year == year:
            schedule.makeup_workdays[day] = CHINESE_NAMES.get(name, name)
    return schedule
