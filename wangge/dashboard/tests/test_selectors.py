"""Counters, rates and breakdowns read from the rollups, within the user's scope."""

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from wangge.cases.models import Case, Rating, Source, Status
from wangge.cases.tests.helpers import case_in, do, report
from wangge.core.tests.fixtures import World
from wangge.dashboard import selectors

OTHER_STREET_GRID = "110101002002002"


def _closed_and_rated(world: World, rating: str, **kwargs: Any) -> Case:
    case = case_in(world, Status.CLOSED, **kwargs)
    return do(world, case, "rate", rating=rating)


def test_it_counts_the_seed_platforms_counters(world: World) -> None:
    _closed_and_rated(world, Rating.SATISFIED)
    _closed_and_rated(world, Rating.BASICALLY_SATISFIED)
    case_in(world, Status.IN_PROGRESS)
    case_in(world, Status.REJECTED)
    result = selectors.summary(user=world.users["dispatcher"])
    assert result["counters"] == {
        "total": 4,
        "closed": 2,
        "open": 1,
        "today": 4,
        "due_soon": 0,
        "overdue": 0,
        "rejected": 1,
    }
    rates = result["rates"]
    assert rates["resolution"] == 1.0
    assert rates["satisfaction"] == pytest.approx((1 + 0.9) / 2)
    assert rates["on_time"] == 1.0
    assert rates["response"] == 1.0
    assert rates["composite"] == pytest.approx(0.1 + 0.5 + 0.4 * 0.95)


def test_it_takes_the_satisfaction_weights_from_settings(world: World, settings: Any) -> None:
    _closed_and_rated(world, Rating.BASICALLY_SATISFIED)
    settings.WANGGE_KPI_BASICALLY_SATISFIED_WEIGHT = 0.5
    settings.WANGGE_KPI_WEIGHTS = {"response": 0, "resolution": 0, "satisfaction": 1}
    rates = selectors.summary(user=world.users["dispatcher"])["rates"]
    assert rates["satisfaction"] == 0.5
    assert rates["composite"] == 0.5


def test_it_counts_overdue_and_due_soon_by_the_clock(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    later = case.resolution_due_at + timedelta(minutes=1)
    assert selectors.summary(user=world.users["dispatcher"], now=later)["counters"]["overdue"] == 1
    soon = case.due_soon_at + timedelta(minutes=1)
    counters = selectors.summary(user=world.users["dispatcher"], now=soon)["counters"]
    assert (counters["due_soon"], counters["overdue"]) == (1, 0)


def test_it_shows_each_user_only_their_subtree(world: World) -> None:
    report(world)
    report(world, grid=OTHER_STREET_GRID)
    assert selectors.summary(user=world.users["dispatcher"])["counters"]["total"] == 2
    assert selectors.summary(user=world.users["street_staff"])["counters"]["total"] == 1
    assert selectors.summary(user=world.users["grid_worker"])["counters"]["total"] == 1
    assert selectors.summary(user=world.users["nobody"])["counters"]["total"] == 0
    # Asking for another street's code gives nothing of it.
    other = selectors.summary(user=world.users["street_staff"], scope_code="110101002")
    assert other["counters"]["total"] == 0


def test_a_department_handler_sees_the_cases_their_department_leads(world: World) -> None:
    case_in(world, Status.IN_PROGRESS)
    report(world, grid=OTHER_STREET_GRID)
    counters = selectors.summary(user=world.users["department_handler"])["counters"]
    assert (counters["total"], counters["open"]) == (1, 1)


def test_it_filters_by_period_department_and_unit(world: World) -> None:
    yesterday = timezone.now() - timedelta(days=1)
    report(world, created_at=yesterday)
    case_in(world, Status.DISPATCHED)
    report(world, grid=OTHER_STREET_GRID, source=Source.HOTLINE)
    user = world.users["dispatcher"]
    today = timezone.localdate()
    assert selectors.summary(user=user, date_from=today)["counters"]["total"] == 2
    assert selectors.summary(user=user, date_to=today - timedelta(days=1))["counters"]["total"] == 1
    assert selectors.summary(user=user)["counters"]["today"] == 2
    by_department = selectors.summary(user=user, department_id=world.department.pk)
    assert by_department["counters"]["total"] == 1
    assert selectors.summary(user=user, scope_code="110101002")["counters"]["total"] == 1


def test_the_breakdowns_add_up_and_link_to_the_cases_behind_them(world: World) -> None:
    case_in(world, Status.CLOSED)
    report(world, grid=OTHER_STREET_GRID, source=Source.HOTLINE)
    data = selectors.dashboard_data(user=world.users["dispatcher"])
    assert data["root"]["code"] == "110101"
    streets = {r["key"]: r["total"] for r in data["by_unit"]}
    assert streets == {"110101001": 1, "110101002": 1}
    assert sum(r["total"] for r in data["by_category"]) == 2
    assert {r["key"]: r["total"] for r in data["by_source"]} == {"resident": 1, "hotline": 1}
    assert sum(r["total"] for r in data["by_department"]) == 2
    assert data["by_unit"][0]["url"] == "/cases/?unit=110101001"
    assert data["links"]["open"].startswith("/cases/?status=reported%2Caccepted")
    assert data["trend"][-1]["total"] == 2 and len(data["trend"]) == 30
    assert data["rankings"]["streets"]["red"][0]["key"] == "110101001"


def test_the_numbers_equal_the_case_list_they_link_to(world: World, client: Any) -> None:
    from wangge.core.tests.fixtures import login_as

    case_in(world, Status.CLOSED)
    case_in(world, Status.IN_PROGRESS)
    report(world, grid=OTHER_STREET_GRID)
    user = world.users["dispatcher"]
    login_as(client, user)
    data = selectors.summary(user=user)
    from django.http import QueryDict

    from wangge.cases.selectors import CaseFilters, case_list

    for key in ("total", "closed", "open", "today"):
        query = QueryDict(data["links"][key].split("?", 1)[1] if "?" in data["links"][key] else "")
        filters = CaseFilters.from_params(query)
        assert filters.apply(case_list(user=user), user=user).count() == data["counters"][key]


def test_the_summary_reads_rollups_not_cases(
    world: World, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        case_in(world, Status.IN_PROGRESS)
    user = world.users["dispatcher"]
    selectors.summary(user=user)  # warm the user's scope
    # Whole months from the month grain, today's intake from the day grain, the clock from
    # the open cases: three small queries whatever the number of cases.
    with django_assert_max_num_queries(3):
        selectors.summary(user=user)


def test_rankings_put_each_row_on_one_list_best_first() -> None:
    def row(key: str, score: float | None) -> selectors.Row:
        return selectors.Row(key, key, None, {"total": 1}, {"composite": score})

    rows = [row("a", 0.5), row("b", 0.9), row("c", None), row("d", 0.7)]
    ranks = selectors.rankings(rows, size=5)
    assert [r["key"] for r in ranks["red"]] == ["b", "d"]
    assert [r["key"] for r in ranks["black"]] == ["a"]
    assert selectors.rankings([row("a", 0.5)])["black"] == []


def test_whole_months_come_from_the_month_grain_and_edges_from_days(world: World) -> None:
    tz = timezone.get_current_timezone()
    days = [date(2026, 8, 15), date(2026, 9, 1), date(2026, 9, 30), date(2026, 10, 10)]
    for i, d in enumerate(days):
        for _ in range(i + 1):
            report(world, created_at=datetime.combine(d, time(10), tzinfo=tz))
    report(world, grid="110101002002002", created_at=datetime.combine(days[2], time(23), tzinfo=tz))
    user = world.users["dispatcher"]
    today = date(2026, 11, 24)
    periods = [
        (None, None),
        (date(2026, 9, 1), date(2026, 9, 30)),
        (date(2026, 8, 20), date(2026, 10, 5)),
        (date(2026, 9, 15), None),
        (None, date(2026, 10, 31)),
        (date(2026, 9, 2), date(2026, 9, 29)),
        (date(2026, 10, 1), today),
    ]
    for date_from, date_to in periods:
        period = selectors.Period("", None, date_from, date_to)
        parts = selectors.rollup_parts(user=user, period=period, today=today)
        from_parts = sum(p.rows.aggregate(n=Sum("total"))["n"] or 0 for p in parts)
        from_days = selectors.rollups(user=user, period=period).aggregate(n=Sum("total"))["n"]
        cases = Case.objects.all()
        if date_from:
            cases = cases.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
        if date_to:
            cases = cases.filter(created_at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
        assert from_parts == (from_days or 0) == cases.count(), (date_from, date_to)
        whole = selectors.whole_months(date_from, date_to, today)
        assert any(p.monthly for p in parts) == (whole is not None)
    # A grid-level scope cannot use the month × community grain.
    assert [
        p.monthly
        for p in selectors.rollup_parts(user=world.users["grid_worker"], period=selectors.Period())
    ] == [False]
    assert selectors.whole_months(date(2026, 9, 2), date(2026, 10, 30), today) is None
    assert selectors.whole_months(date(2026, 9, 1), date(2026, 10, 30), today) == (
        date(2026, 9, 1),
        date(2026, 9, 1),
    )
