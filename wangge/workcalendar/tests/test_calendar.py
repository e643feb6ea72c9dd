"""The calendar in the database: seeded from chinesecalendar, edited by an administrator."""

from datetime import date, timedelta
from io import StringIO
from typing import Any

import chinese_calendar
import pytest
from django.core.management import call_command

from wangge.accounts.tests.factories import UserFactory
from wangge.core.errors import DomainError
from wangge.core.tests.fixtures import login_as
from wangge.workcalendar import actions
from wangge.workcalendar.deadlines import LimitUnit, deadline
from wangge.workcalendar.models import CalendarDay, CalendarState, CalendarYear, DayKind
from wangge.workcalendar.selectors import working_calendar
from wangge.workcalendar.tests.calendars import at

pytestmark = pytest.mark.django_db

NEW_YEAR_2027 = [(date(2027, 1, d), "元旦") for d in (1, 2, 3)]


def days(start: str, end: str) -> list[date]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def forget_2027() -> None:
    # chinesecalendar 1.11 does not know 2027; a later version might, and seed it.
    actions.delete_year_schedule(year=2027)


def test_every_fresh_database_has_2004_to_2026_published() -> None:
    years = set(CalendarYear.objects.filter(published=True).values_list("year", flat=True))
    assert set(range(2004, 2027)) <= years
    assert CalendarState.current_revision()


def test_the_2026_holidays_are_seeded_with_their_names() -> None:
    expected = {
        "元旦": days("2026-01-01", "2026-01-03"),
        "春节": days("2026-02-15", "2026-02-23"),
        "清明": days("2026-04-04", "2026-04-06"),
        "劳动节": days("2026-05-01", "2026-05-05"),
        "端午": days("2026-06-19", "2026-06-21"),
        "中秋": days("2026-09-25", "2026-09-27"),
        "国庆节": days("2026-10-01", "2026-10-07"),
    }
    stored = CalendarDay.objects.filter(schedule__year=2026, kind=DayKind.HOLIDAY)
    by_name: dict[str, list[date]] = {}
    for row in stored:
        by_name.setdefault(row.name, []).append(row.date)
    assert by_name == expected


def test_the_2026_makeup_working_days_are_seeded() -> None:
    stored = CalendarDay.objects.filter(schedule__year=2026, kind=DayKind.MAKEUP_WORKDAY)
    expected = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28)]
    expected += [date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
    assert [row.date for row in stored] == expected
    assert [row.date.strftime("%a") for row in stored] == ["Sun", "Sat", "Sat", "Sat", "Sun", "Sat"]


def test_the_stored_calendar_agrees_with_chinesecalendar_on_every_day_2004_to_2026() -> None:
    calendar = working_calendar()
    day = date(2004, 1, 1)
    disagreements = []
    while day <= date(2026, 12, 31):
        if calendar.is_workday(day) != chinese_calendar.is_workday(day):
            disagreements.append(day)
        day += timedelta(days=1)
    assert disagreements == []


def test_a_deadline_into_2027_falls_back_to_monday_to_friday_and_says_so() -> None:
    forget_2027()
    # Mon 2026-12-28 10:00 + 7 working days: 12-29, 12-30, 12-31, 2027-01-01 (Fri, unknown year:
    # counted), 01-04, 01-05, 01-06.
    result = deadline(at("2026-12-28 10:00"), 7, LimitUnit.WORKING_DAYS)
    assert result.due_at == at("2027-01-06 10:00")
    assert [w.year for w in result.warnings] == [2027]
    assert "2027 年节假日安排尚未发布，按周一至周五计算" in str(result.warnings[0])


def test_entering_the_2027_schedule_moves_the_deadline_and_removes_the_warning() -> None:
    forget_2027()
    before = deadline(at("2026-12-28 10:00"), 7, LimitUnit.WORKING_DAYS)

    actions.set_year_schedule(year=2027, holidays=NEW_YEAR_2027, note="国办发明电〔2026〕")

    after = deadline(at("2026-12-28 10:00"), 7, LimitUnit.WORKING_DAYS)
    assert before.due_at == at("2027-01-06 10:00")
    # 2027-01-01 is now a holiday: 12-29, 12-30, 12-31, 01-04, 01-05, 01-06, 01-07.
    assert after.due_at == at("2027-01-07 10:00")
    assert after.warnings == ()


def test_an_unpublished_draft_still_falls_back() -> None:
    forget_2027()
    actions.set_year_schedule(year=2027, holidays=NEW_YEAR_2027, published=False)
    result = deadline(at("2026-12-28 10:00"), 7, LimitUnit.WORKING_DAYS)
    assert result.due_at == at("2027-01-06 10:00")
    assert result.estimated


def test_the_cached_calendar_is_reused_until_an_edit(django_assert_num_queries: Any) -> None:
    first = working_calendar()
    with django_assert_num_queries(1):
        assert working_calendar() is first
    actions.set_year_schedule(year=2030, holidays=[date(2030, 1, 1)])
    rebuilt = working_calendar()
    assert rebuilt is not first
    assert not rebuilt.is_workday(date(2030, 1, 1))


def test_saving_an_identical_schedule_keeps_the_revision() -> None:
    actions.set_year_schedule(year=2030, holidays=[(date(2030, 1, 1), "元旦")])
    revision = CalendarState.current_revision()
    actions.set_year_schedule(year=2030, holidays={date(2030, 1, 1): "元旦"})
    assert CalendarState.current_revision() == revision


def test_deleting_a_year_makes_it_fall_back() -> None:
    actions.delete_year_schedule(year=2026)
    calendar = working_calendar()
    assert calendar.is_workday(date(2026, 10, 8))
    assert calendar.is_workday(date(2026, 10, 1))  # a Thursday, no longer known as 国庆节
    assert not calendar.is_published(2026)


@pytest.mark.parametrize(
    ("holidays", "makeup", "field", "words"),
    [
        ([], [], "holidays", "请填写 2027 年的放假日期"),
        ([date(2027, 1, 1)], [date(2027, 1, 4)], "makeup_workdays", "不是周六或周日"),
        ([date(2027, 1, 2)], [date(2027, 1, 2)], "makeup_workdays", "不能既放假又调休上班"),
        ([date(2027, 6, 1), date(2028, 3, 1)], [], "holidays", "不在 2027 年安排的范围内"),
        ([date(2027, 1, 1)], [date(2026, 10, 10)], "makeup_workdays", "不在 2027 年安排的范围内"),
    ],
)
def test_it_rejects_a_schedule_that_cannot_be_right(
    holidays: list[date], makeup: list[date], field: str, words: str
) -> None:
    forget_2027()
    with pytest.raises(DomainError) as excinfo:
        actions.set_year_schedule(year=2027, holidays=holidays, makeup_workdays=makeup)
    assert excinfo.value.field == field
    assert words in excinfo.value.message
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_a_notice_may_reach_into_the_neighbouring_december() -> None:
    actions.set_year_schedule(
        year=2030, holidays=[date(2030, 1, 1)], makeup_workdays=[(date(2029, 12, 29), "元旦")]
    )
    assert working_calendar().is_workday(date(2029, 12, 29))  # a Saturday


def test_a_date_belongs_to_one_years_notice_only() -> None:
    actions.set_year_schedule(
        year=2030, holidays=[date(2030, 1, 1)], makeup_workdays=[date(2029, 12, 29)]
    )
    with pytest.raises(DomainError) as excinfo:
        actions.set_year_schedule(
            year=2029, holidays=[date(2029, 1, 1)], makeup_workdays=[date(2029, 12, 29)]
        )
    assert excinfo.value.field == "makeup_workdays"
    assert "已由 2030 年的安排规定" in excinfo.value.message


def test_sync_calendar_is_idempotent_and_keeps_admin_edits() -> None:
    out = StringIO()
    call_command("sync_calendar", stdout=out)
    assert "unchanged 2004–2026 (23)" in out.getvalue()

    actions.set_year_schedule(year=2026, holidays=[date(2026, 1, 1)], note="test edit")
    revision = CalendarState.current_revision()
    out = StringIO()
    call_command("sync_calendar", "--to", "2027", stdout=out)
    assert "kept admin edits 2026" in out.getvalue()
    assert "not in chinesecalendar 2027" in out.getvalue()
    assert CalendarState.current_revision() == revision
    assert CalendarDay.objects.filter(schedule__year=2026).count() == 1

    call_command("sync_calendar", "--from", "2026", "--overwrite-admin", stdout=StringIO())
    assert CalendarDay.objects.filter(schedule__year=2026).count() == 33 + 6
    assert CalendarYear.objects.get(year=2026).source == "chinesecalendar"


def test_seeding_an_empty_database_restores_everything() -> None:
    CalendarYear.objects.all().delete()
    CalendarState.objects.all().delete()
    report = actions.seed_from_chinesecalendar()
    assert report.created == list(range(2004, 2027))
    assert CalendarDay.objects.count() == len(chinese_calendar.holidays) + len(
        chinese_calendar.workdays
    )
    assert CalendarState.current_revision()


@pytest.fixture
def admin_client_(client: Any, fast_passwords: None) -> Any:
    login_as(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def test_an_administrator_enters_next_years_schedule_in_the_admin(admin_client_: Any) -> None:
    forget_2027()
    response = admin_client_.post(
        "/admin/workcalendar/calendaryear/add/",
        {
            "year": "2027",
            "published": "on",
            "note": "国务院办公厅通知",
            "holidays_text": "2027-01-01..2027-01-03 元旦\n2027-02-06~2027-02-12 春节",
            "makeup_text": "2027-02-14 春节",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = CalendarYear.objects.get(year=2027)
    assert stored.source == "admin"
    assert stored.days.filter(kind=DayKind.HOLIDAY).count() == 10
    assert deadline(at("2026-12-28 10:00"), 7, LimitUnit.WORKING_DAYS).warnings == ()

    page = admin_client_.get(f"/admin/workcalendar/calendaryear/{stored.pk}/change/")
    assert "2027-01-01..2027-01-03 元旦" in page.content.decode()


def test_the_admin_form_names_the_line_it_cannot_read(admin_client_: Any) -> None:
    forget_2027()
    response = admin_client_.post(
        "/admin/workcalendar/calendaryear/add/",
        {"year": "2027", "published": "on", "holidays_text": "2027-01-01 元旦\n1月2日 元旦"},
    )
    assert response.status_code == 200
    assert "第 2 行无法识别" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_admin_form_shows_a_makeup_day_on_a_weekday_as_an_error(admin_client_: Any) -> None:
    forget_2027()
    response = admin_client_.post(
        "/admin/workcalendar/calendaryear/add/",
        {
            "year": "2027",
            "published": "on",
            "holidays_text": "2027-01-01",
            "makeup_text": "2027-01-05",
        },
    )
    assert response.status_code == 200
    assert "不是周六或周日" in response.content.decode()


def test_deleting_a_year_in_the_admin_changes_the_revision(admin_client_: Any) -> None:
    actions.set_year_schedule(year=2030, holidays=[date(2030, 1, 1)])
    revision = CalendarState.current_revision()
    row = CalendarYear.objects.get(year=2030)
    response = admin_client_.post(
        f"/admin/workcalendar/calendaryear/{row.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert CalendarState.current_revision() != revision
    assert not working_calendar().is_published(2030)


def test_the_admin_lists_years_and_days(admin_client_: Any) -> None:
    years = admin_client_.get("/admin/workcalendar/calendaryear/")
    assert years.status_code == 200
    assert "2026" in years.content.decode()
    listed = admin_client_.get("/admin/workcalendar/calendarday/?schedule__year=2026")
    assert listed.status_code == 200
    assert "国庆节" in listed.content.decode()
    assert admin_client_.get("/admin/workcalendar/calendarday/add/").status_code == 403


def test_an_administrator_corrects_a_year_in_the_admin(admin_client_: Any) -> None:
    row = actions.set_year_schedule(year=2030, holidays=[date(2030, 1, 1)])
    response = admin_client_.post(
        f"/admin/workcalendar/calendaryear/{row.pk}/change/",
        {"published": "on", "note": "更正", "holidays_text": "2030-01-01..2030-01-02 元旦"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    calendar = working_calendar()
    assert not calendar.is_workday(date(2030, 1, 2))  # a Wednesday, now a holiday
    assert calendar.day_name(date(2030, 1, 2)) == "元旦"
