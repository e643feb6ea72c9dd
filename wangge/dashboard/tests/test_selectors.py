"""Counters, rates and breakdowns read from the rollups, within the user's scope."""

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from wangge.cases import actions
from wangge.cases.models import Case, Rating, SlaStatus, Source, Status
from wangge.cases.tests.helpers import case_in, category, do, report
from wangge.core.tests.fixtures import World
from wangge.dashboard import selectors
from wangge.dashboard.models import CaseRollup, CaseRollupSlice

OTHER_STREET_GRID = "110101002002002"


def _closed_and_rated(world: World, rating: str, **kwargs: Any) -> Case:
    case = case_in(world, Status.CLOSED, **kwargs)
    return do(world, case, "rate", rating=rating)


def test_it_counts_the_seed_platforms_counters(world: World) -> None:
    _closed_and_rated(world, Rating.SATISFIED)
    _closed_and_rated(world, Rating.BASICALLY_SATISFIED)
    master = case_in(world, Status.IN_PROGRESS)
    case_in(world, Status.REJECTED)
    duplicate = report(world)
    actions.merge(case_id=duplicate.pk, actor=world.users["dispatcher"], master_id=master.pk)
    result = selectors.summary(user=world.users["dispatcher"])
    assert result["counters"] == {
        "total": 5,
        "closed": 2,
        "open": 1,
        "today": 5,
        "due_soon": 0,
        "overdue": 0,
        "rejected": 1,
        "merged": 1,
    }
    # Every case received is closed, open, rejected or merged (the monthly report adds up).
    counters = result["counters"]
    assert counters["total"] == sum(counters[k] for k in ("closed", "open", "rejected", "merged"))
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


def test_the_clock_reads_the_cases_on_it_and_agrees_with_each_cases_sla_status(
    world: World,
) -> None:
    from wangge.cases.sla import sla_status

    now = timezone.now()
    h = timedelta(hours=1)
    # (status, due soon from, resolution deadline, paused at, signed, response deadline)
    shapes = [
        (Status.IN_PROGRESS, now + 2 * h, now + 4 * h, None, True, now - h),  # normal
        (Status.IN_PROGRESS, now - h, now + h, None, True, now - h),  # due soon
        (Status.HANDLED, now - 3 * h, now - h, None, True, now - h),  # overdue
        (
            Status.SUSPENDED,
            now - 3 * h,
            now + 5 * h,
            now - 2 * h,
            True,
            now - h,
        ),  # paused, due soon
        (Status.SUSPENDED, now - h, now + h, now - 2 * h, True, now - h),  # paused before: normal
        (Status.SUSPENDED, now - 5 * h, now - 4 * h, now - 2 * h, True, now - h),  # paused, late
        # A "due soon from" after the deadline (an edited category): overdue all the same.
        (Status.IN_PROGRESS, now + 2 * h, now - h, None, True, now - h),
        (Status.DISPATCHED, now + 2 * h, now + 4 * h, None, False, now - h),  # unsigned, late
        (Status.DISPATCHED, now + 2 * h, now + 4 * h, None, False, now + h),  # unsigned, in time
        (Status.REPORTED, now - h, now + h, None, False, now - 2 * h),  # due soon and unsigned
    ]
    for status, due_soon, due, paused, signed, response in shapes:
        case = report(world)
        Case.objects.filter(pk=case.pk).update(
            status=status,
            due_soon_at=due_soon,
            resolution_due_at=due,
            paused_at=paused,
            signed_at=now - 2 * h if signed else None,
            response_due_at=response,
        )
    cases = list(Case.objects.all())
    statuses = [sla_status(c, now) for c in cases]
    sums = selectors.summary(user=world.users["dispatcher"], now=now)["sums"]
    assert (
        (sums["due_soon"], sums["overdue"])
        == (
            statuses.count(SlaStatus.DUE_SOON),
            statuses.count(SlaStatus.OVERDUE),
        )
        == (3, 3)
    )
    late_unsigned = [
        c for c in cases if c.signed_at is None and c.paused_at is None and c.response_due_at < now
    ]
    assert sums["late_unsigned"] == len(late_unsigned) == 2
    # The dashboard's grouped read counts the same.
    data = selectors.dashboard_data(user=world.users["dispatcher"], now=now)
    assert {k: data["sums"][k] for k in selectors.CLOCK_COUNTS} == {
        k: sums[k] for k in selectors.CLOCK_COUNTS
    }


def test_a_case_paused_after_the_dashboards_now_is_counted_as_it_stood_when_paused(
    world: World,
) -> None:
    # A report or a poll computed for `now` while a case is suspended a moment later: the case
    # keeps the status it had when paused (sla_status), though its clock started after `now`.
    from wangge.cases.sla import sla_status

    present = timezone.now()
    now = present - timedelta(hours=1)
    case = report(world)
    Case.objects.filter(pk=case.pk).update(
        status=Status.SUSPENDED,
        due_soon_at=present - timedelta(minutes=30),
        resolution_due_at=present + timedelta(hours=5),
        paused_at=present - timedelta(minutes=10),
        signed_at=now - timedelta(hours=1),
    )
    case.refresh_from_db()
    assert sla_status(case, now) == SlaStatus.DUE_SOON
    sums = selectors.summary(user=world.users["dispatcher"], now=now)["sums"]
    assert (sums["due_soon"], sums["overdue"]) == (1, 0)


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
    # One closed case is not enough to be ranked (WANGGE_RANKING_MIN_CLOSED, 3 by default).
    assert data["rankings"]["streets"]["red"] == []
    assert data["rankings"]["units_label"] == "街道"


def test_the_units_ranked_are_those_one_level_below_the_users_own(
    world: World, settings: Any
) -> None:
    """A community's staff saw their community's cases ranked under their street's name."""
    settings.WANGGE_RANKING_MIN_CLOSED = 1
    case_in(world, Status.CLOSED)
    district = selectors.dashboard_data(user=world.users["dispatcher"])["rankings"]
    community = selectors.dashboard_data(user=world.users["community_staff"])["rankings"]
    assert district["units_label"] == "街道"
    assert [r["key"] for r in district["streets"]["red"]] == ["110101001"]
    assert community["units_label"] == "网格"
    assert [len(r["key"]) for r in community["streets"]["red"]] == [15]


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


def data_queries(run: Any) -> list[str]:
    """The statements `run()` sends that read data: not the savepoints and planner settings
    around the open-case counts (core.sql.open_case_scan, PostgreSQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run()
    return [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SELECT current_setting"))
        and not q["sql"].startswith("SELECT set_config")
    ]


def test_the_summary_reads_rollups_not_cases(world: World) -> None:
    for _ in range(3):
        case_in(world, Status.IN_PROGRESS)
    user = world.users["dispatcher"]
    selectors.summary(user=user)  # warm the user's scope
    # Whole months from the month grain, today's intake from the day slices, the clock from
    # the cases on the clock: four small queries whatever the number of cases.
    queries = data_queries(lambda: selectors.summary(user=user))
    assert len(queries) <= 4
    # The case table is read only where the clock runs: cases whose clock_start has passed
    # (LEAST on PostgreSQL, MIN on SQLite) and unsigned ones past their response deadline,
    # never the whole open backlog.
    case_reads = [q for q in queries if '"cases_case"' in q]
    assert len(case_reads) == 2
    assert any(("LEAST(" in q or "MIN(" in q) for q in case_reads)
    assert any('"response_due_at" <' in q for q in case_reads)


def test_rankings_put_each_row_on_one_list_best_first() -> None:
    def row(key: str, score: float | None, closed: int = 3) -> selectors.Row:
        return selectors.Row(key, key, None, {"total": 1, "closed": closed}, {"composite": score})

    rows = [row("a", 0.5), row("b", 0.9), row("c", None), row("d", 0.7)]
    ranks = selectors.rankings(rows, size=5)
    assert [r["key"] for r in ranks["red"]] == ["b", "d"]
    assert [r["key"] for r in ranks["black"]] == ["a"]
    assert selectors.rankings([row("a", 0.5)])["black"] == []
    # Nobody is worst with the best score.
    tied = selectors.rankings([row("a", 100.0), row("b", 100.0), row("c", 100.0), row("d", 80.0)])
    assert [r["key"] for r in tied["red"]] == ["a", "b"]
    assert [r["key"] for r in tied["black"]] == ["d"]
    assert selectors.rankings([row("a", 100.0), row("b", 100.0)])["black"] == []
    # Nothing closed yet (a score from the response rate of one open case): not ranked.
    few = selectors.rankings([row("a", 90.0), row("b", 100.0, closed=2), row("c", 0.0, closed=0)])
    assert [r["key"] for r in few["red"]] == ["a"] and few["black"] == []
    assert [
        r["key"] for r in selectors.rankings([row("b", 100.0, closed=2)], min_closed=2)["red"]
    ] == ["b"]
    # Equal scores are never split between the lists, also below the top.
    split = selectors.rankings([row("a", 90.0), row("b", 80.0), row("c", 80.0), row("d", 70.0)])
    assert [r["key"] for r in split["red"]] == ["a", "b"]
    assert [r["key"] for r in split["black"]] == ["d"]


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
        # The summary takes its edge days from the day slices (communities, not grids): the
        # same numbers, and no day × grid row when the range has whole months.
        sliced = selectors.rollup_parts(user=user, period=period, today=today, day_slices=True)
        assert sum(p.rows.aggregate(n=Sum("total"))["n"] or 0 for p in sliced) == cases.count()
        if whole is not None:
            assert all(p.rows.model is not CaseRollup for p in sliced), (date_from, date_to)
        summary = selectors.summary(user=user, date_from=date_from, date_to=date_to)
        assert summary["counters"]["total"] == cases.count(), (date_from, date_to)
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


def _history(world: World) -> None:
    """Cases on both sides of month boundaries, of two classes and three sources, one closed."""
    tz = timezone.get_current_timezone()
    days = [date(2026, 8, 15), date(2026, 9, 1), date(2026, 9, 30), date(2026, 10, 10)]
    sources = [Source.RESIDENT, Source.HOTLINE, Source.GRID_PATROL]
    codes = ["exposed_garbage", "pipe_burst"]
    n = 0
    for i, d in enumerate(days):
        for _ in range(i + 1):
            n += 1
            report(
                world,
                grid=OTHER_STREET_GRID if n % 4 == 0 else "110101001001001",
                created_at=datetime.combine(d, time(10), tzinfo=tz),
                source=sources[n % 3],
                category=category(codes[n % 2]),
            )
    case = Case.objects.order_by("pk").first()
    assert case is not None
    for action in ["accept", "dispatch", "sign", "handle", "verify_pass"]:
        case = do(world, case, action)


def _cases(date_from: date | None, date_to: date | None, scope_code: str = "") -> Any:
    tz = timezone.get_current_timezone()
    cases = Case.objects.filter(grid_code__startswith=scope_code)
    if date_from:
        cases = cases.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        cases = cases.filter(created_at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    return cases


PERIODS = [
    (None, None),
    (date(2026, 1, 1), None),
    (date(2025, 1, 1), date(2025, 12, 31)),
    (date(2025, 7, 1), date(2026, 9, 30)),
    (date(2026, 9, 1), date(2026, 9, 30)),
    (date(2026, 8, 20), date(2026, 10, 5)),
    (date(2026, 9, 15), None),
    (None, date(2026, 10, 31)),
    (date(2026, 9, 2), date(2026, 9, 29)),
]


@pytest.mark.parametrize("scope_code", ["", "110101001"])
def test_category_source_and_trend_from_slices_equal_the_cases(
    world: World, scope_code: str
) -> None:
    _history(world)
    user = world.users["dispatcher"]
    now = datetime(2026, 11, 24, 9, tzinfo=timezone.get_current_timezone())
    for date_from, date_to in PERIODS:
        period = selectors.Period(scope_code, None, date_from, date_to)
        cases = _cases(date_from, date_to, scope_code)
        by_source = {
            r.key: (r.sums["total"], r.sums["closed"])
            for r in selectors.by_source(user=user, period=period, now=now)
        }
        expected_sources = {
            s: (
                cases.filter(source=s).count(),
                cases.filter(source=s, status=Status.CLOSED).count(),
            )
            for s in set(cases.values_list("source", flat=True))
        }
        assert by_source == expected_sources, (date_from, date_to)
        by_category = {
            r.key: r.sums["total"] for r in selectors.by_category(user=user, period=period, now=now)
        }
        expected_classes: dict[str, int] = {}
        for case in cases.select_related("category__parent"):
            top = case.category.parent or case.category
            expected_classes[top.code] = expected_classes.get(top.code, 0) + 1
        assert by_category == expected_classes, (date_from, date_to)
        trend = selectors.trend(user=user, period=period, unit="day", now=now)
        by_day = {row["day"]: row["total"] for row in trend if row["total"]}
        expected_days: dict[str, int] = {}
        for created in cases.values_list("created_at", flat=True):
            day = timezone.localdate(created).isoformat()
            expected_days[day] = expected_days.get(day, 0) + 1
        if date_from:  # the trend of an open-ended period shows its last 30 days only
            assert by_day == expected_days, (date_from, date_to)
        # By month: whole months from the monthly slices, the days before them from days.
        trend = selectors.trend(user=user, period=period, unit="month", now=now)
        by_month = {row["day"]: row["total"] for row in trend if row["total"]}
        expected_months: dict[str, int] = {}
        for day, n in expected_days.items():
            month = day[:8] + "01"
            expected_months[month] = expected_months.get(month, 0) + n
        assert by_month == expected_months, (date_from, date_to)
        # Whole months come from the slices, the edges from the day rows.
        parts = selectors.rollup_parts(
            user=user, period=period, today=now.date(), slice_kind="source"
        )
        whole = selectors.whole_months(date_from, date_to, now.date())
        assert any(p.rows.model is CaseRollupSlice for p in parts) == (whole is not None)
        # … and whole years of the breakdown by category from the yearly slices.
        parts = selectors.rollup_parts(
            user=user, period=period, today=now.date(), slice_kind="category"
        )
        yearly = [p for p in parts if "category_year" in str(p.rows.query)]
        assert bool(yearly) == (selectors.whole_years(date_from, date_to, now.date()) is not None)


def test_slices_do_not_serve_a_department_or_a_grid(world: World) -> None:
    _history(world)
    now = datetime(2026, 11, 24, 9, tzinfo=timezone.get_current_timezone())
    handler, worker = world.users["department_handler"], world.users["grid_worker"]
    for user, period in [
        (handler, selectors.Period()),
        (worker, selectors.Period()),
        (world.users["dispatcher"], selectors.Period(department_id=world.department.pk)),
    ]:
        parts = selectors.rollup_parts(user=user, period=period, slice_kind="category")
        assert [p.rows.model for p in parts] == [CaseRollup]
    led = {
        r.key: r.sums["total"]
        for r in selectors.by_source(user=handler, period=selectors.Period(), now=now)
    }
    assert led == {Case.objects.get(lead_department=world.department).source: 1}


@pytest.mark.parametrize("role", ["dispatcher", "street_staff", "community_staff", "grid_worker"])
def test_the_whole_dashboard_equals_its_parts_read_one_by_one(world: World, role: str) -> None:
    """dashboard_data reads the counters and the clock once and sums them many ways: the same
    numbers as each selector reading its own."""
    _history(world)
    case_in(world, Status.IN_PROGRESS)
    user = world.users[role]
    for now in [timezone.now(), timezone.now() + timedelta(days=40)]:  # later: overdue cases
        data = selectors.dashboard_data(user=user, now=now)
        root = selectors.root_unit(user=user)
        period = selectors.Period()
        length = selectors.child_length(root)
        alone = selectors.summary(user=user, now=now)
        assert data["sums"] == alone["sums"] and data["counters"] == alone["counters"]
        assert data["rates"] == alone["rates"]
        assert data["by_unit"] == [
            r.as_dict() for r in selectors.by_unit(user=user, period=period, length=length, now=now)
        ]
        assert data["by_department"] == [
            r.as_dict() for r in selectors.by_department(user=user, period=period, now=now)
        ]
        assert data["by_category"] == [
            r.as_dict() for r in selectors.by_category(user=user, period=period, now=now)
        ]
        assert data["by_source"] == [
            r.as_dict() for r in selectors.by_source(user=user, period=period, now=now)
        ]
    assert data["counters"]["overdue"] >= 1


def test_the_whole_dashboard_reads_no_day_rows_for_whole_months(world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _history(world)
    user = world.users["dispatcher"]
    selectors.dashboard_data(user=user)  # warm the user's scope
    with CaptureQueriesContext(connection) as queries:
        selectors.dashboard_data(user=user)
    day_rows = [q["sql"] for q in queries.captured_queries if '"dashboard_caserollup"' in q["sql"]]
    assert day_rows == []  # today's intake (今日办件) too comes from the day slices
    open_cases = [q["sql"] for q in queries.captured_queries if '"cases_case"' in q["sql"]]
    # 即将超时 / 已超时 counted once for every panel: the cases on the clock and the unsigned
    # ones past their response deadline.
    assert len(open_cases) == 2
    # The territory, the clock (two reads), the counters per (street, department), today's
    # intake, names of streets, departments and classes, the category slices (whole years),
    # the source slices, the trend.
    assert len(data_queries(lambda: selectors.dashboard_data(user=user))) <= 11


def test_whole_years_are_those_wholly_inside_the_period() -> None:
    today = date(2026, 11, 24)
    assert selectors.whole_years(None, None, today) == (None, date(2026, 1, 1))
    assert selectors.whole_years(date(2025, 1, 1), date(2025, 12, 31), today) == (
        date(2025, 1, 1),
        date(2025, 1, 1),
    )
    # Reaching today covers the current year: nothing is received later.
    assert selectors.whole_years(date(2026, 1, 1), today, today) == (
        date(2026, 1, 1),
        date(2026, 1, 1),
    )
    assert selectors.whole_years(date(2025, 1, 2), date(2026, 10, 31), today) is None
    assert selectors.whole_years(None, date(2026, 10, 31), today) == (None, date(2025, 1, 1))
