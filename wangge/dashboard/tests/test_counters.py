"""The rollups kept in each transition equal a from-scratch recount, whatever happened."""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wangge.cases import actions
from wangge.cases.models import Case, Rating, Source, Status
from wangge.cases.tests.helpers import category, do, report
from wangge.cases.workflow import TRANSITIONS, allowed_from
from wangge.core.errors import DomainError
from wangge.core.tests.fixtures import World
from wangge.dashboard import actions as stats
from wangge.dashboard.counters import case_flags, case_key, drift
from wangge.dashboard.models import CaseMark, CaseRollup, CaseRollupSlice

GRIDS = ["110101001001001", "110101001001002", "110101002002002"]
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_current_timezone())


@contextmanager
def clock(moment: datetime) -> Iterator[None]:
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def marks_match() -> bool:
    for case in Case.objects.all():
        mark = CaseMark.objects.get(case_id=case.pk)
        key = (mark.day, mark.grid_code, mark.category_id, mark.department_id, mark.source)
        if key != case_key(case) or mark.flags != case_flags(case):
            return False
    return True


step = st.one_of(
    st.tuples(
        st.just("report"),
        st.sampled_from(GRIDS),
        st.sampled_from([Source.RESIDENT, Source.HOTLINE, Source.GRID_PATROL]),
        st.sampled_from(["exposed_garbage", "pipe_burst"]),
    ),
    st.tuples(st.just("on_spot"), st.just(GRIDS[0])),
    st.tuples(
        st.just("act"),
        st.integers(min_value=0, max_value=20),
        st.integers(min_value=0, max_value=20),
        st.sampled_from(list(Rating.values)),
    ),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=24 * 12)),
)


def _run(world: World, steps: list[tuple[Any, ...]]) -> None:
    now = START
    cases: list[Case] = []
    for s in steps:
        kind = s[0]
        with clock(now):
            if kind == "report":
                _k, grid, source, code = s
                cases.append(report(world, grid=grid, source=source, category=category(code)))
            elif kind == "on_spot":
                cases.append(
                    report(
                        world,
                        grid=s[1],
                        actor=world.users["grid_worker"],
                        source=Source.GRID_PATROL,
                        resolve_on_spot=True,
                        result="当场清理",
                    )
                )
            elif kind == "act" and cases:
                _k, index, choice, rating = s
                case = cases[index % len(cases)]
                case.refresh_from_db()
                # Mostly legal moves, so that cases get deep into the loop.
                allowed = allowed_from(case.status) or sorted(TRANSITIONS)
                with suppress(DomainError):
                    do(world, case, allowed[choice % len(allowed)], rating=rating)
            elif kind == "wait":
                now += timedelta(hours=s[1])


@pytest.mark.django_db
@settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=60))
def test_it_keeps_counters_equal_to_a_recount_after_any_transitions(
    world: World, steps: list[tuple[Any, ...]]
) -> None:
    with transaction.atomic():
        _run(world, steps)
        event(f"statuses {sorted(set(Case.objects.values_list('status', flat=True)))}")
        assert drift() == {}
        assert marks_match()
        transaction.set_rollback(True)


def test_it_counts_one_case_through_the_whole_loop(world: World) -> None:
    case = report(world)
    for action in ["accept", "dispatch", "sign", "handle", "verify_pass"]:
        case = do(world, case, action)
    do(world, case, "rate", rating=Rating.BASICALLY_SATISFIED)
    row = CaseRollup.objects.get(department_id=world.department.pk)
    assert (row.total, row.open, row.closed, row.solved, row.rated) == (1, 0, 1, 1, 1)
    assert row.basically_satisfied == 1 and row.responded_on_time == 1
    # The case left its undispatched row: that row now counts nothing.
    empty = CaseRollup.objects.get(department_id=0)
    assert empty.total == 0 and empty.open == 0


def test_it_rebuilds_broken_counters_with_recount(world: World) -> None:
    case = report(world)
    do(world, case, "accept")
    CaseRollup.objects.update(open=99, total=7)
    CaseMark.objects.all().delete()
    assert drift() != {}
    rows, cases = stats.recount()
    assert (rows, cases) == (1, 1)
    assert drift() == {} and marks_match()
    do(world, Case.objects.get(pk=case.pk), "reject")
    assert drift() == {}
    assert CaseRollup.objects.get().rejected == 1
    CaseRollupSlice.objects.filter(kind="source").update(total=3)
    assert [key[:2] for key in drift()] == [("slice", "source")]
    stats.recount()
    assert drift() == {} and CaseRollupSlice.objects.filter(total=1).count() == 4


def test_a_failed_transition_leaves_the_counters_alone(world: World) -> None:
    case = report(world)
    before = list(CaseRollup.objects.values())
    with pytest.raises(DomainError):
        actions.sign(case_id=case.pk, actor=world.users["department_handler"])
    assert list(CaseRollup.objects.values()) == before
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_recount_stats_command_repairs_and_checks(world: World) -> None:
    from io import StringIO

    from django.core.management import call_command

    report(world)
    CaseRollup.objects.update(total=5)
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("recount_stats", "--check", stdout=out)
    assert "1 rollup rows differ" in out.getvalue()
    call_command("recount_stats", stdout=out)
    assert "rebuilt 1 rollup rows from 1 cases" in out.getvalue()
    call_command("recount_stats", "--check", stdout=out)
    assert CaseRollup.objects.get().total == 1


def _slices() -> dict[tuple[Any, ...], tuple[int, int, int]]:
    return {
        (r.kind, r.start, r.community_code, r.category_id, r.source): (r.total, r.open, r.closed)
        for r in CaseRollupSlice.objects.all()
        if r.total
    }


def test_a_case_is_counted_in_its_category_source_and_day_slices(world: World) -> None:
    with clock(START):
        case = report(world, source=Source.HOTLINE, category=category("pipe_burst"))
    month, day, community = START.date().replace(day=1), START.date(), GRIDS[0][:12]
    pipe = category("pipe_burst").pk
    assert _slices() == {
        ("category_year", month.replace(month=1), community, pipe, ""): (1, 1, 0),
        ("category", month, community, pipe, ""): (1, 1, 0),
        ("source", month, community, 0, "hotline"): (1, 1, 0),
        ("day", day, community, 0, ""): (1, 1, 0),
    }
    for action in ["accept", "dispatch", "sign", "handle", "verify_pass"]:
        case = do(world, case, action)
    assert set(_slices().values()) == {(1, 0, 1)}
    assert drift() == {}


def test_the_migration_fills_the_slices_from_the_day_rows(world: World) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("wangge.dashboard.migrations.0004_rollup_slices")
    for code, source in [("pipe_burst", Source.HOTLINE), ("exposed_garbage", Source.RESIDENT)]:
        report(world, source=source, category=category(code))
    do(world, report(world, grid=GRIDS[2]), "reject")
    CaseRollupSlice.objects.all().delete()
    assert drift() != {}
    migration.fill_slices(apps, None)
    assert drift() == {}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="one statement per transition on PostgreSQL"
)
def test_a_transition_writes_all_its_rollup_rows_in_one_statement(world: World) -> None:
    from django.test.utils import CaptureQueriesContext

    case = do(world, report(world), "accept")
    with CaptureQueriesContext(connection) as queries:
        do(world, case, "dispatch")  # moves the case to its department's rows: 3 grains × 2
    rollup_writes = [q["sql"] for q in queries.captured_queries if "ON CONFLICT" in q["sql"]]
    assert len(rollup_writes) == 1
    assert "dashboard_caserollupslice" in rollup_writes[0]
    assert drift() == {}


def test_intake_locks_slice_rows_in_the_order_a_transition_does(world: World) -> None:
    # Intake and a transition of another case in the same community and category touch the
    # same slice rows: both must take their locks in one order, or they can deadlock.
    from wangge.dashboard.counters import counts_of
    from wangge.dashboard.models import COUNTERS

    case = report(world)
    key = case_key(case)
    intake = [p for sql, p in stats.new_case_statements(case=case, new_case="c")]
    intake_keys = [tuple(intake[2][i : i + 5]) for i in range(0, 20, 5)]
    (transition,) = [
        p for sql, p in stats._statements({key: counts_of(case_flags(case))}) if "slice" in sql
    ]
    width = 5 + len(COUNTERS)
    transition_keys = [tuple(transition[i : i + 5]) for i in range(0, len(transition), width)]

    def plain(keys: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
        return [tuple(str(v) for v in k) for k in keys]

    assert plain(intake_keys) == plain(transition_keys)
    assert [k[0] for k in intake_keys] == sorted(k[0] for k in intake_keys)
