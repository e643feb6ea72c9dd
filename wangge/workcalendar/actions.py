"""All writes to the working calendar: an administrator's yearly schedule and the package seed.

Every change replaces the calendar's revision token in the same transaction, so each process's
cached calendar (selectors.working_calendar) is rebuilt on its next use.

The seeding code also runs inside a data migration, on the historical models that migration
passes in (`apps=`); it therefore sticks to plain ORM calls on the fields of 0001_initial.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.apps import apps as global_apps
from django.db import transaction
from django.utils.translation import gettext as _

from wangge.core.errors import DomainError
from wangge.workcalendar.models import DayKind, ScheduleSource
from wangge.workcalendar.sources import YearSchedule, package_schedule, package_years

# The years a schedule may be entered for; anything else is a typing mistake.
YEAR_RANGE = range(2000, 2101)

DayEntries = Mapping[date, str] | Iterable[date | tuple[date, str]]


@dataclass
class SeedReport:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    kept_admin: list[int] = field(default_factory=list)
    unavailable: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def __str__(self) -> str:
        def span(years: list[int]) -> str:
            if not years:
                return "-"
            return f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]} ({len(years)})"

        return (
            f"created {span(self.created)}; updated {span(self.updated)}; "
            f"unchanged {span(self.unchanged)}; kept admin edits {span(self.kept_admin)}; "
            f"not in chinesecalendar {span(self.unavailable)}"
        )


def _models(apps: Any) -> tuple[Any, Any, Any]:
    registry = apps or global_apps
    return (
        registry.get_model("workcalendar", "CalendarYear"),
        registry.get_model("workcalendar", "CalendarDay"),
        registry.get_model("workcalendar", "CalendarState"),
    )


def bump_calendar_revision(*, apps: Any = None) -> str:
    """Call inside the transaction that changes the calendar."""
    _year, _day, state = _models(apps)
    revision = uuid.uuid4().hex
    state.objects.update_or_create(pk=1, defaults={"revision": revision})
    return revision


def _entries(entries: DayEntries, field_name: str) -> dict[date, str]:
    if isinstance(entries, Mapping):
        items: Iterable[Any] = entries.items()
    else:
        items = entries
    result: dict[date, str] = {}
    for item in items:
        day, name = (item, "") if isinstance(item, date) else item
        if not isinstance(day, date):
            raise DomainError(
                _("日期格式不正确：%(day)s (not a date)") % {"day": repr(day)}, field=field_name
            )
        result[day] = str(name or "").strip()[:60]
    return result


def check_year_schedule(
    *,
    year: int,
    holidays: DayEntries,
    makeup_workdays: DayEntries = (),
    published: bool = True,
    apps: Any = None,
) -> YearSchedule:
    """Validate a schedule as an administrator typed it; returns it normalised."""
    if year not in YEAR_RANGE:
        raise DomainError(
            _("年份须在 %(low)d–%(high)d 之间 (year: %(low)d–%(high)d)")
            % {"low": YEAR_RANGE.start, "high": YEAR_RANGE.stop - 1},
            field="year",
        )
    schedule = YearSchedule(
        year=year,
        holidays=_entries(holidays, "holidays"),
        makeup_workdays=_entries(makeup_workdays, "makeup_workdays"),
    )
    if published and not schedule.holidays:
        raise DomainError(
            _(
                "请填写 %(year)d 年的放假日期，或取消“已发布” "
                "(enter the %(year)d holidays, or leave the year unpublished)"
            )
            % {"year": year},
            field="holidays",
        )
    for field_name, days in (
        ("holidays", schedule.holidays),
        ("makeup_workdays", schedule.makeup_workdays),
    ):
        for day in days:
            if not _belongs_to(day, year):
                raise DomainError(
                    _(
                        "%(day)s 不在 %(year)d 年安排的范围内（本年及相邻的 12 月/1 月） "
                        "(%(day)s is outside the %(year)d schedule)"
                    )
                    % {"day": day.isoformat(), "year": year},
                    field=field_name,
                )
    for day in schedule.makeup_workdays:
        if day.weekday() < 5:
            raise DomainError(
                _(
                    "调休上班日 %(day)s 不是周六或周日 "
                    "(the make-up working day %(day)s must be a Saturday or Sunday)"
                )
                % {"day": day.isoformat()},
                field="makeup_workdays",
            )
        if day in schedule.holidays:
            raise DomainError(
                _(
                    "%(day)s 不能既放假又调休上班 (%(day)s cannot be both a holiday and a make-up day)"
                )
                % {"day": day.isoformat()},
                field="makeup_workdays",
            )
    _year, calendar_day, _state = _models(apps)
    taken = (
        calendar_day.objects.filter(date__in=[*schedule.holidays, *schedule.makeup_workdays])
        .exclude(schedule__year=year)
        .values_list("date", "schedule__year")
        .first()
    )
    if taken:
        raise DomainError(
            _(
                "%(day)s 已由 %(year)d 年的安排规定，请先修改该年 "
                "(%(day)s is already set by the %(year)d schedule)"
            )
            % {"day": taken[0].isoformat(), "year": taken[1]},
            field="holidays" if taken[0] in schedule.holidays else "makeup_workdays",
        )
    return schedule


def _belongs_to(day: date, year: int) -> bool:
    return (
        day.year == year
        or (day.year == year - 1 and day.month == 12)
        or (day.year == year + 1 and day.month == 1)
    )


def _write_schedule(
    schedule: YearSchedule, *, source: str, note: str, published: bool, apps: Any = None
) -> tuple[Any, str]:
    """Make the stored year equal `schedule`. Returns (row, 'created'|'updated'|'unchanged')."""
    calendar_year, calendar_day, _state = _models(apps)
    wanted = {(day, DayKind.HOLIDAY.value, name) for day, name in schedule.holidays.items()}
    wanted |= {
        (day, DayKind.MAKEUP_WORKDAY.value, name) for day, name in schedule.makeup_workdays.items()
    }
    row = calendar_year.objects.select_for_update().filter(year=schedule.year).first()
    if row is None:
        row = calendar_year.objects.create(
            year=schedule.year, published=published, source=source, note=note
        )
        outcome = "created"
        stored: set[tuple[date, str, str]] = set()
    else:
        stored = set(row.days.values_list("date", "kind", "name"))
        same = (row.published, row.source, row.note) == (published, source, note)
        if same and stored == wanted:
            return row, "unchanged"
        row.published, row.source, row.note = published, source, note
        row.save(update_fields=["published", "source", "note", "updated_at"])
        outcome = "updated"
    if stored != wanted:
        row.days.all().delete()
        calendar_day.objects.bulk_create(
            calendar_day(schedule=row, date=day, kind=kind, name=name)
            for day, kind, name in sorted(wanted)
        )
    bump_calendar_revision(apps=apps)
    return row, outcome


@transaction.atomic
def set_year_schedule(
    *,
    year: int,
    holidays: DayEntries,
    makeup_workdays: DayEntries = (),
    note: str = "",
    published: bool = True,
) -> Any:
    """Enter or replace a year's schedule (the State Council's notice, usually in November).

    `holidays` and `makeup_workdays` are dates, (date, name) pairs or a {date: name} mapping;
    holidays include the weekend days inside a holiday period. Returns the CalendarYear.
    """
    schedule = check_year_schedule(
        year=year, holidays=holidays, makeup_workdays=makeup_workdays, published=published
    )
    row, _outcome = _write_schedule(
        schedule, source=ScheduleSource.ADMIN, note=note.strip()[:200], published=published
    )
    return row


@transaction.atomic
def delete_year_schedule(*, year: int) -> None:
    """Forget a year: it falls back to Monday–Friday (with a warning) until entered again."""
    calendar_year, _day, _state = _models(None)
    deleted, _per_model = calendar_year.objects.filter(year=year).delete()
    if deleted:
        bump_calendar_revision()


@transaction.atomic
def seed_from_chinesecalendar(
    *, years: Iterable[int] | None = None, overwrite_admin: bool = False, apps: Any = None
) -> SeedReport:
    """Copy the package's schedules into the database; running it twice changes nothing.

    A year an administrator has edited is kept unless `overwrite_admin`; a year the package does
    not know (2027 with chinesecalendar 1.11) is reported, not guessed.
    """
    calendar_year, calendar_day, state = _models(apps)
    report = SeedReport()
    for year in sorted(set(package_years() if years is None else years)):
        schedule = package_schedule(year)
        if schedule is None:
            report.unavailable.append(year)
            continue
        existing = calendar_year.objects.filter(year=year).values_list("source", flat=True).first()
        if existing == ScheduleSource.ADMIN and not overwrite_admin:
            report.kept_admin.append(year)
            continue
        # A neighbouring year's notice entered by an administrator may already claim a date.
        claimed = set(
            calendar_day.objects.filter(date__in=[*schedule.holidays, *schedule.makeup_workdays])
            .exclude(schedule__year=year)
            .values_list("date", flat=True)
        )
        for day in claimed:
            schedule.holidays.pop(day, None)
            schedule.makeup_workdays.pop(day, None)
        _row, outcome = _write_schedule(
            schedule,
            source=ScheduleSource.CHINESECALENDAR,
            note="",
            published=True,
            apps=apps,
        )
        getattr(report, outcome).append(year)
    if not state.objects.filter(pk=1).exists():
        bump_calendar_revision(apps=apps)
    return report
