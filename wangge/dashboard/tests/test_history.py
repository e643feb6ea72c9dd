"""`seed_cases`: bulk history that the rest of the system takes for real cases."""

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from wangge.cases import sla
from wangge.cases.demo_texts import REPORTS
from wangge.cases.models import OPEN_STATUSES, Case, CaseEvent, LimitUnit, Source, Status
from wangge.core.errors import DomainError
from wangge.core.tests.fixtures import World, login_as
from wangge.dashboard import selectors
from wangge.dashboard.counters import case_flags, drift
from wangge.dashboard.history import DAY, HOUR, US, _Deadlines, seed_cases, tracking_codes
from wangge.dashboard.models import CaseMark, CaseRollup
from wangge.workcalendar import deadlines


@pytest.fixture
def seeded(world: World) -> World:
    out = io.StringIO()
    call_command("seed_cases", "--count", "1200", "--days", "20", "--seed", "7", stdout=out)
    assert "cases/s" in out.getvalue()
    return world


def test_the_counters_equal_a_recount_after_seeding(seeded: World) -> None:
    assert Case.objects.count() == 1200
    assert drift() == {}
    out = io.StringIO()
    call_command("recount_stats", "--check", stdout=out)  # exits 1 on any difference
    assert "0 rollup rows differ" in out.getvalue()
    # Marks agree with the per-case rules of the incremental path too.
    sample = list(Case.objects.order_by("?")[:200])
    marks = dict(CaseMark.objects.filter(case__in=sample).values_list("case_id", "flags"))
    assert all(marks[c.pk] == case_flags(c) for c in sample)


def test_the_history_spreads_over_states_grids_and_categories(seeded: World) -> None:
    statuses = dict(Case.objects.values_list("status").annotate(n=Count("pk")))
    assert statuses[Status.CLOSED] > 600  # most of a 20-day history is done
    for status in (Status.IN_PROGRESS, Status.REJECTED, Status.HANDLED, Status.REPORTED):
        assert statuses.get(status, 0) > 0, status
    assert Case.objects.values("grid_code").distinct().count() == 2  # the grids with buildings
    assert Case.objects.values("category").distinct().count() > 20
    assert Case.objects.filter(lead_department__isnull=False).exists()
    # Recent cases are open, old ones closed: open cases are younger on average.
    open_age = Case.objects.filter(status__in=OPEN_STATUSES).count()
    assert 0 < open_age < 600


def test_every_case_has_its_timeline(seeded: World) -> None:
    events = CaseEvent.objects.values("case_id").annotate(n=Count("pk"))
    per_case = {r["case_id"]: r["n"] for r in events}
    versions = dict(Case.objects.values_list("pk", "version"))
    assert per_case == versions  # one entry per step, and the version counts them
    assert CaseEvent.objects.filter(action="report").count() == 1200
    closed = Case.objects.filter(status=Status.CLOSED, accepted_at__isnull=False)
    assert CaseEvent.objects.filter(action="verify_pass").count() == closed.count()
    # The last entry of each case ends in its current status (rating keeps it closed).
    for case in Case.objects.order_by("?")[:100]:
        last = case.events.order_by("created_at", "id").last()
        assert last is not None and last.to_status == case.status, case.pk
        times = [e.created_at for e in case.events.order_by("created_at", "id")]
        assert times[0] == case.created_at and times == sorted(times)
        assert all(t <= timezone.now() for t in times)


def test_deadlines_are_the_working_calendars(seeded: World) -> None:
    for case in Case.objects.select_related("category").order_by("?")[:400]:
        limits = sla.limits_for(category=case.category, priority=case.priority)
        due = sla.compute_due(started_at=case.created_at, limits=limits)
        assert case.response_due_at == due.response_due_at
        assert case.resolution_due_at == due.resolution_due_at
        assert case.due_soon_at == due.due_soon_at
        assert case.response_due_at > case.created_at
        assert case.resolution_due_at > case.created_at


def test_seeded_cases_show_on_the_pages(seeded: World, client: Any) -> None:
    login_as(client, seeded.users["dispatcher"])
    assert client.get("/cases/").status_code == 200
    for status in (Status.CLOSED, Status.IN_PROGRESS, Status.REJECTED, Status.SUSPENDED):
        case = Case.objects.filter(status=status).first()
        if case is None:
            continue
        response = client.get(f"/cases/{case.pk}/")
        assert response.status_code == 200
        assert case.tracking_code in response.content.decode()
    summary = selectors.summary(user=seeded.users["dispatcher"])
    assert summary["counters"]["total"] == 1200
    assert summary["counters"]["closed"] == Case.objects.filter(status=Status.CLOSED).count()


def test_a_second_run_adds_to_the_first(seeded: World) -> None:
    result = seed_cases(count=500, days=5, seed=8, chunk=300)  # two chunks
    assert result.cases == 500 and Case.objects.count() == 1700
    assert drift() == {}
    assert Case.objects.values("tracking_code").distinct().count() == 1700
    total = Case.objects.aggregate(n=Sum("version"))["n"]
    assert CaseEvent.objects.count() == total


def test_it_refuses_nonsense_counts(world: World) -> None:
    for count, chunk, field in ((0, 100, "count"), (5, 0, "chunk")):
        with pytest.raises(DomainError) as error:
            seed_cases(count=count, chunk=chunk)
        assert error.value.field == field
    assert not Case.objects.exists()


def test_the_command_can_leave_out_timelines(world: World) -> None:
    out = io.StringIO()
    call_command("seed_cases", "--count", "300", "--days", "5", "--no-timeline", stdout=out)
    assert "added 300 cases and 0 timeline entries" in out.getvalue()
    assert Case.objects.count() == 300 and not CaseEvent.objects.exists()
    assert drift() == {}


def test_texts_names_and_numbers_are_filled_in(seeded: World) -> None:
    for case in Case.objects.select_related("category").order_by("?")[:200]:
        road = case.address.split(" ")[0]
        templates = REPORTS.get(case.category.code) or [(case.category.name, "")]
        titles = {t.format(place=case.address, road=road)[:100] for t, _d in templates}
        assert case.title in titles, case.pk
        assert "{" not in case.description and case.address
        if case.is_anonymous:
            assert case.reporter_name == "" and case.reporter_phone == ""
        else:
            assert case.reporter_name
        assert case.reporter_phone == "" or re.fullmatch(r"1[3-9]\d{9}", case.reporter_phone)
        assert case.external_ref in ("", f"12345-{case.pk}")
        assert (case.external_ref != "") == (case.source == Source.HOTLINE)


def test_tracking_codes_are_distinct_for_distinct_ids() -> None:
    ids = np.arange(1, 200_001, dtype=np.int64)
    codes = tracking_codes(ids)
    assert len(set(codes)) == len(codes) and all(len(c) == 8 for c in codes)


# Limits of every shape the vectorised table must agree with `sla.compute_due` on: working days
# (long, one, none), clock hours, a due-soon fraction above and below the window, no window.
LIMIT_SHAPES = [
    sla.Limits(24, 7, LimitUnit.WORKING_DAYS, 0.2, 24),
    sla.Limits(24, 15, LimitUnit.WORKING_DAYS, 0.2, 24),
    sla.Limits(2, 1, LimitUnit.WORKING_DAYS, 0.5, 0),
    sla.Limits(24, 0, LimitUnit.WORKING_DAYS, 0.2, 24),
    sla.Limits(2, 2, LimitUnit.HOURS, 0.2, 24),
    sla.Limits(24, 24, LimitUnit.HOURS, 0.0, 24),
    sla.Limits(24, 72, LimitUnit.HOURS, 0.25, 10),
]


def test_the_deadline_table_agrees_with_compute_due_across_holidays_and_years(
    world: World,
) -> None:
    # From before the 2026 Spring Festival to the end of 2026, so that deadlines cross
    # weekends, holidays, make-up working days and reach 2027 (no published schedule yet).
    start = datetime(2026, 1, 20, tzinfo=deadlines.CALENDAR_TZ)
    end = datetime(2026, 12, 31, 23, 0, tzinfo=deadlines.CALENDAR_TZ)
    table = _Deadlines(start, end, LIMIT_SHAPES)
    rng = np.random.default_rng(5)
    lo, hi = int(start.timestamp() * US), int(end.timestamp() * US)
    random = rng.integers(lo, hi, 1500)
    # Instants on the hour and at midnight too: the edges of the working-time clock.
    hours = lo + rng.integers(0, (hi - lo) // HOUR, 500) * HOUR
    midnights = lo + 16 * HOUR + rng.integers(0, (hi - lo) // DAY, 300) * DAY
    created = np.concatenate([random, hours, midnights])
    category = rng.integers(0, len(LIMIT_SHAPES), len(created))
    response, resolution, soon, warning = table(created, category)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    warned = 0
    for i in range(len(created)):
        at = epoch + timedelta(microseconds=int(created[i]))
        due = sla.compute_due(started_at=at, limits=LIMIT_SHAPES[category[i]])
        got = [epoch + timedelta(microseconds=int(x[i])) for x in (response, resolution, soon)]
        assert got == [due.response_due_at, due.resolution_due_at, due.due_soon_at], (at, i)
        assert table.warnings[warning[i]] == due.warning[:200], at
        warned += bool(due.warning)
    assert warned > 0  # the end of the year reached 2027


def test_a_large_load_rebuilds_the_indexes_it_dropped(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("indexes are dropped and rebuilt on PostgreSQL only")

    def indexes() -> set[tuple[str, ...]]:
        # (A partial index's predicate is re-printed differently after a rebuild: compare
        # names, columns, uniqueness and whether there is a predicate.)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexrelid::regclass::text, indkey::text, indisunique::text, "
                "(indpred IS NOT NULL)::text FROM pg_index "
                "WHERE indrelid IN ('cases_case'::regclass, 'cases_caseevent'::regclass, "
                "'dashboard_casemark'::regclass, 'dashboard_caserollup'::regclass)"
            )
            return set(cursor.fetchall())

    before = indexes()
    result = seed_cases(count=800, days=10, seed=3, defer_indexes=True)
    assert result.cases == 800 and indexes() == before
    assert drift() == {}
    # A second such load rewrites the day rollups whole: the stored rows carried over, the new
    # cases added, every key once.
    seed_cases(count=900, days=12, seed=4, defer_indexes=True)
    assert indexes() == before
    assert drift() == {}
    row = CaseRollup.objects.order_by("pk").first()
    assert row is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseRollup.objects.create(
            day=row.day,
            grid_code=row.grid_code,
            category_id=row.category_id,
            department_id=row.department_id,
            source=row.source,
        )
    assert CaseEvent.objects.count() == Case.objects.aggregate(n=Sum("version"))["n"]
    # The unique constraints are back and enforced.
    first, second = Case.objects.order_by("pk")[:2]
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=second.pk).update(tracking_code=first.tracking_code)
