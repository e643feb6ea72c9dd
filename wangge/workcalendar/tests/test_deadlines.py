"""Deadline arithmetic on the working calendar: worked examples and properties."""

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wangge.workcalendar import deadlines
from wangge.workcalendar.deadlines import (
    CALENDAR_TZ,
    DAY,
    DEFAULT_RESOLUTION_LIMITS,
    RESPONSE_LIMIT_NORMAL,
    RESPONSE_LIMIT_URGENT,
    LimitKind,
    LimitUnit,
    SlaStatus,
    TimeLimit,
    WorkingCalendar,
)
from wangge.workcalendar.tests.calendars import at, package_calendar

CAL = package_calendar()
WD = LimitUnit.WORKING_DAYS
HOURS = LimitUnit.HOURS
H = timedelta(hours=1)


# Worked examples ---------------------------------------------------------------------------


def test_the_domain_defaults_are_in_one_place() -> None:
    assert {
        LimitKind.EMERGENCY: TimeLimit(2, HOURS),
        LimitKind.UTILITIES: TimeLimit(24, HOURS),
        LimitKind.GENERAL: TimeLimit(7, WD),
        LimitKind.COMPLEX: TimeLimit(15, WD),
    } == DEFAULT_RESOLUTION_LIMITS
    assert (
        TimeLimit(2, HOURS),
        TimeLimit(24, HOURS),
    ) == (RESPONSE_LIMIT_URGENT, RESPONSE_LIMIT_NORMAL)


def test_a_case_before_national_day_counts_the_makeup_saturday() -> None:
    # Wed 2026-09-30 10:00, 7 working days. 10-01..07 are 国庆节; then 10-08 Thu (1), 10-09 Fri (2),
    # 10-10 Sat make-up day (3), 10-12 Mon (4), 10-13 (5), 10-14 (6), 10-15 Thu (7).
    result = CAL.deadline(at("2026-09-30 10:00"), 7, WD)
    assert result.due_at == at("2026-10-15 10:00")
    assert result.warnings == ()
    assert CAL.add_working_days(at("2026-09-30 10:00"), 7) == (at("2026-10-15 10:00"), ())


def test_a_friday_case_is_due_on_the_makeup_saturday() -> None:
    assert CAL.deadline(at("2026-10-09 16:00"), 1, WD).due_at == at("2026-10-10 16:00")


def test_a_case_received_on_a_holiday_starts_counting_on_the_next_working_day() -> None:
    result = CAL.deadline(at("2026-10-03 15:00"), 1, WD)
    # The clock runs through 10-08 (the first working day) and stops at its 24:00.
    assert result.due_at == at("2026-10-09 00:00")
    assert result.due_date == date(2026, 10, 8)


def test_a_case_received_on_saturday_is_due_at_the_end_of_friday() -> None:
    result = CAL.deadline(at("2026-03-07 09:00"), 5, WD)  # a Saturday
    assert result.due_at == at("2026-03-14 00:00")
    assert result.due_date == date(2026, 3, 13)


def test_an_hour_limit_ignores_holidays() -> None:
    assert CAL.deadline(at("2026-10-01 10:00"), 24, HOURS).due_at == at("2026-10-02 10:00")
    assert CAL.add_hours(at("2026-10-01 23:30"), 2) == at("2026-10-02 01:30")


def test_an_hour_limit_needs_no_database() -> None:
    # No django_db mark: touching the database here would raise.
    result = deadlines.deadline(at("2026-10-01 10:00"), 2, HOURS)
    assert result == deadlines.Deadline(at("2026-10-01 12:00"))


def test_it_accepts_any_time_zone_and_answers_in_shanghai() -> None:
    utc = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    due = CAL.deadline(utc, 7, WD).due_at
    assert due == at("2026-10-15 10:00")
    assert due.tzinfo == CALENDAR_TZ


def test_it_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.deadline(datetime(2026, 9, 30, 10, 0), 7, WD)  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        CAL.sla_status(at("2026-09-30 10:00"), datetime(2026, 9, 30), at("2026-10-15 10:00"))  # noqa: DTZ001


def test_a_year_without_a_schedule_falls_back_and_warns() -> None:
    result = CAL.deadline(at("2026-12-28 10:00"), 7, WD)
    assert result.due_at == at("2027-01-06 10:00")
    assert [w.year for w in result.warnings] == [2027]
    assert result.estimated


def test_a_deadline_inside_a_known_year_carries_no_warning_for_the_next() -> None:
    assert CAL.deadline(at("2026-12-21 10:00"), 3, WD).warnings == ()


def test_a_pause_over_a_holiday_moves_a_working_day_deadline_not_at_all() -> None:
    pause = (at("2026-10-01 00:00"), at("2026-10-08 00:00"))
    assert CAL.deadline(at("2026-09-30 10:00"), 7, WD, [pause]).due_at == at("2026-10-15 10:00")


def test_a_pause_moves_a_working_day_deadline_by_the_working_time_inside_it() -> None:
    # Paused Thu 10-08 12:00 to Mon 10-12 12:00: working time inside = 12 h + 24 h (Fri)
    # + 24 h (Sat make-up) + 12 h = 3 working days.
    pause = (at("2026-10-08 12:00"), at("2026-10-12 12:00"))
    result = CAL.deadline(at("2026-09-30 10:00"), 7, WD, [pause])
    assert result.due_at == at("2026-10-20 10:00")


def test_a_pause_moves_an_hour_deadline_by_its_length() -> None:
    pause = (at("2026-10-01 11:00"), at("2026-10-01 11:45"))
    assert CAL.deadline(at("2026-10-01 10:00"), 2, HOURS, [pause]).due_at == at("2026-10-01 12:45")


def test_a_pause_after_the_deadline_does_not_move_it() -> None:
    pause = (at("2026-10-01 13:00"), at("2026-10-01 15:00"))
    assert CAL.deadline(at("2026-10-01 10:00"), 2, HOURS, [pause]).due_at == at("2026-10-01 12:00")


def test_an_open_pause_has_no_deadline_yet() -> None:
    with pytest.raises(ValueError, match="open pause"):
        CAL.deadline(at("2026-10-01 10:00"), 2, HOURS, [(at("2026-10-01 11:00"), None)])


def test_a_seven_day_case_turns_due_soon_one_working_day_before() -> None:
    start, due = at("2026-09-30 10:00"), at("2026-10-15 10:00")
    assert CAL.due_soon_at(start, due, limit_unit=WD) == at("2026-10-14 10:00")
    assert CAL.sla_status(at("2026-10-14 09:59"), start, due, limit_unit=WD) == SlaStatus.NORMAL
    assert CAL.sla_status(at("2026-10-14 10:01"), start, due, limit_unit=WD) == SlaStatus.DUE_SOON
    assert CAL.sla_status(at("2026-10-15 10:00"), start, due, limit_unit=WD) == SlaStatus.DUE_SOON
    assert CAL.sla_status(at("2026-10-15 10:01"), start, due, limit_unit=WD) == SlaStatus.OVERDUE


def test_a_case_due_on_monday_is_due_soon_on_friday_afternoon() -> None:
    start, due = at("2026-03-04 10:00"), at("2026-03-16 10:00")  # 7 working days
    assert CAL.sla_status(at("2026-03-13 15:00"), start, due, limit_unit=WD) == SlaStatus.DUE_SOON


def test_a_two_hour_case_is_due_soon_in_its_last_24_minutes() -> None:
    start, due = at("2026-10-01 10:00"), at("2026-10-01 12:00")
    assert CAL.due_soon_at(start, due) == at("2026-10-01 11:36")
    assert CAL.sla_status(at("2026-10-01 10:00"), start, due) == SlaStatus.NORMAL
    assert CAL.sla_status(at("2026-10-01 11:40"), start, due) == SlaStatus.DUE_SOON


def test_a_paused_case_keeps_the_status_it_had_when_paused() -> None:
    start, due = at("2026-10-01 10:00"), at("2026-10-01 12:00")
    paused = [(at("2026-10-01 11:00"), None)]
    assert CAL.sla_status(at("2026-10-09 00:00"), start, due, paused) == SlaStatus.NORMAL
    late = [(at("2026-10-01 11:50"), None)]
    assert CAL.sla_status(at("2026-10-09 00:00"), start, due, late) == SlaStatus.DUE_SOON


# Properties ----------------------------------------------------------------------------------

# 2025–2027 crosses a known year into one without a schedule.
starts = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(2027, 6, 30),  # noqa: DTZ001
    timezones=st.just(CALENDAR_TZ),
)
known_starts = st.datetimes(
    min_value=datetime(2004, 1, 1),  # noqa: DTZ001
    max_value=datetime(2026, 10, 31),  # noqa: DTZ001
    timezones=st.just(CALENDAR_TZ),
)
day_counts = st.integers(min_value=0, max_value=40)


@given(start=starts, n=day_counts, more=st.integers(min_value=1, max_value=10))
def test_more_working_days_never_end_earlier(start: datetime, n: int, more: int) -> None:
    assert CAL.add_working_days(start, n)[0] < CAL.add_working_days(start, n + more)[0]


@given(s1=starts, s2=starts, n=day_counts)
def test_a_later_start_never_ends_earlier(s1: datetime, s2: datetime, n: int) -> None:
    first, second = sorted([s1, s2])
    assert CAL.add_working_days(first, n)[0] <= CAL.add_working_days(second, n)[0]


@given(start=starts, n=st.integers(min_value=1, max_value=40))
def test_a_deadline_always_falls_on_a_working_day(start: datetime, n: int) -> None:
    result = CAL.deadline(start, n, WD)
    assert CAL.is_workday(result.due_date)
    assert CAL.working_time_between(start, result.due_at) == n * DAY


@given(start=known_starts, n=st.integers(min_value=1, max_value=30))
def test_it_agrees_with_chinesecalendars_own_find_workday(start: datetime, n: int) -> None:
    assume(chinese_calendar.is_workday(start.date()) and start.time() != datetime.min.time())
    due = CAL.add_working_days(start, n)[0]
    # An independent implementation: skips its holidays, counts its make-up days.
    assert due.date() == chinese_calendar.find_workday(n, start.date())
    assert due.timetz() == start.timetz()


@given(start=starts, a=day_counts, b=day_counts)
def test_adding_in_two_steps_equals_adding_at_once(start: datetime, a: int, b: int) -> None:
    once, _w = CAL.add_working_days(start, a + b)
    first, _w = CAL.add_working_days(start, a)
    assert CAL.add_working_days(first, b)[0] == once


@given(start=starts, n=st.integers(min_value=1, max_value=40))
def test_the_fallback_warning_names_exactly_the_unknown_years_touched(
    start: datetime, n: int
) -> None:
    result = CAL.deadline(start, n, WD)
    touched = range(start.year, result.due_date.year + 1)
    assert [w.year for w in result.warnings] == [y for y in touched if y >= 2027]


@st.composite
def pauses_within(
    draw: st.DrawFn, start: datetime, limit: timedelta
) -> list[tuple[datetime, datetime]]:
    """Disjoint pauses, each beginning while the clock still runs (before the limit is used)."""
    offsets = draw(
        st.lists(st.integers(0, int(limit.total_seconds()) - 1), max_size=4, unique=True)
    )
    lengths = draw(
        st.lists(st.integers(0, 5 * 86400), min_size=len(offsets), max_size=len(offsets))
    )
    pauses, moment, used = [], start, 0
    for offset, length in zip(sorted(offsets), lengths, strict=True):
        moment += timedelta(seconds=offset - used)
        used = offset
        pauses.append((moment, moment + timedelta(seconds=length)))
        moment += timedelta(seconds=length)
    return pauses


@given(data=st.data(), start=starts, hours=st.integers(min_value=1, max_value=400))
def test_paused_time_is_added_to_an_hour_limit(
    data: st.DataObject, start: datetime, hours: int
) -> None:
    pauses = data.draw(pauses_within(start, timedelta(hours=hours)))
    plain = CAL.deadline(start, hours, HOURS).due_at
    paused = CAL.deadline(start, hours, HOURS, pauses).due_at
    assert paused - plain == sum((end - begin for begin, end in pauses), timedelta(0))


@given(data=st.data(), start=starts, n=st.integers(min_value=1, max_value=20))
def test_paused_time_does_not_count_towards_a_working_day_limit(
    data: st.DataObject, start: datetime, n: int
) -> None:
    raw = data.draw(st.lists(st.tuples(starts, st.integers(0, 10 * 86400)), max_size=4))
    pauses = [(begin, begin + timedelta(seconds=length)) for begin, length in raw]
    plain = CAL.deadline(start, n, WD).due_at
    paused = CAL.deadline(start, n, WD, pauses).due_at
    assert paused >= plain
    assert CAL.active_time(start, paused, pauses, unit=WD) == n * DAY


@settings(max_examples=200)
@given(
    start=starts,
    n=st.integers(min_value=1, max_value=20),
    unit=st.sampled_from([HOURS, WD]),
    offset=st.integers(min_value=-86400, max_value=40 * 86400),
)
def test_sla_status_follows_the_deadline(start: datetime, n: int, unit: str, offset: int) -> None:
    due = CAL.deadline(start, n, unit).due_at
    now = start + timedelta(seconds=offset)
    status = CAL.sla_status(now, start, due, limit_unit=unit)
    soon = CAL.due_soon_at(start, due, limit_unit=unit)
    assert (status == SlaStatus.OVERDUE) == (now > due)
    assert (status == SlaStatus.DUE_SOON) == (soon < now <= due)
    assert start <= soon <= due


@given(
    start=starts,
    n=st.integers(min_value=1, max_value=20),
    unit=st.sampled_from([HOURS, WD]),
    a=st.integers(min_value=0, max_value=40 * 86400),
    b=st.integers(min_value=0, max_value=40 * 86400),
)
def test_sla_status_only_gets_worse_as_time_passes(
    start: datetime, n: int, unit: str, a: int, b: int
) -> None:
    order = [SlaStatus.NORMAL, SlaStatus.DUE_SOON, SlaStatus.OVERDUE]
    due = CAL.deadline(start, n, unit).due_at
    earlier, later = sorted([start + timedelta(seconds=a), start + timedelta(seconds=b)])
    before = CAL.sla_status(earlier, start, due, limit_unit=unit)
    after = CAL.sla_status(later, start, due, limit_unit=unit)
    assert order.index(before) <= order.index(after)


@given(
    data=st.data(),
    start=starts,
    n=st.integers(min_value=1, max_value=20),
    unit=st.sampled_from([HOURS, WD]),
)
def test_due_soon_at_agrees_with_sla_status_after_pauses(
    data: st.DataObject, start: datetime, n: int, unit: str
) -> None:
    limit = n * (H if unit == HOURS else DAY)
    pauses = data.draw(pauses_within(start, limit))
    due = CAL.deadline(start, n, unit, pauses).due_at
    soon = CAL.due_soon_at(start, due, pauses, limit_unit=unit)
    now = data.draw(
        st.datetimes(
            min_value=start.replace(tzinfo=None),
            max_value=(due + DAY).astimezone(CALENDAR_TZ).replace(tzinfo=None),
            timezones=st.just(CALENDAR_TZ),
        )
    )
    status = CAL.sla_status(now, start, due, pauses, limit_unit=unit)
    assert (status == SlaStatus.DUE_SOON) == (soon < now <= due)


@given(start=starts, n=st.integers(min_value=1, max_value=20), wait=st.integers(0, 30 * 86400))
def test_an_open_pause_freezes_the_status(start: datetime, n: int, wait: int) -> None:
    due = CAL.deadline(start, n, WD).due_at
    pause_start = start + timedelta(seconds=wait)
    frozen = CAL.sla_status(pause_start, start, due, limit_unit=WD)
    later = pause_start + timedelta(days=100)
    assert CAL.sla_status(later, start, due, [(pause_start, None)], limit_unit=WD) == frozen


def test_an_empty_calendar_is_monday_to_friday_everywhere() -> None:
    plain = WorkingCalendar()
    assert plain.is_workday(date(2026, 10, 1))  # a Thursday
    assert not plain.is_workday(date(2026, 10, 10))  # a Saturday
    assert [w.year for w in plain.deadline(at("2026-09-30 10:00"), 7, WD).warnings] == [2026]


@settings(max_examples=300)
@given(
    start=starts,
    n=st.integers(min_value=0, max_value=30),
    unit=st.sampled_from([HOURS, WD]),
    fraction=st.sampled_from([0.1, 0.2, 0.5]),
    window=st.integers(min_value=0, max_value=72),
)
def test_the_limit_given_is_the_active_time_it_would_measure(
    start: datetime, n: int, unit: str, fraction: float, window: int
) -> None:
    """A new case's due-soon instant is computed with its limit as the active time to the
    deadline (cases.sla.compute_due): the same instant as measuring it day by day."""
    due = CAL.deadline(start, n, unit).due_at
    limit = timedelta(hours=n) if unit == HOURS else n * DAY
    options = {
        "limit_unit": unit,
        "due_soon_fraction": fraction,
        "due_soon_window": timedelta(hours=window),
    }
    assert CAL.active_time(start, due, unit=unit) == limit
    assert CAL.due_soon_at(start, due, limit=limit, **options) == CAL.due_soon_at(
        start, due, **options
    )
