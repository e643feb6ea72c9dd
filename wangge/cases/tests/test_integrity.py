"""Concurrency and integrity: two people acting on one case at once, idempotent intake under a
burst of retries, and failures that must leave nothing half-written."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from wangge.cases import actions
from wangge.cases.actions import IllegalTransition, StaleCase
from wangge.cases.models import Case, CaseEvent, CasePhoto, Status
from wangge.cases.tests.helpers import case_in, report
from wangge.core.errors import Conflict, DomainError
from wangge.core.tests.fixtures import World
from wangge.notifications.models import Notification, OutboxMessage

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


# Threads need real transactions and row locks: PostgreSQL, with committed data that every
# thread's own connection can see (and the seeded categories restored afterwards).
def threads_on_postgres(test: Callable[..., None]) -> Callable[..., None]:
    for mark in (
        pytest.mark.postgres_only,
        pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks"),
        pytest.mark.django_db(transaction=True, serialized_rollback=True),
    ):
        test = mark(test)
    return test


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same instant in its own thread; each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # the outcome under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


@pytest.fixture
def slow_timeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the row lock a little longer while the timeline entry is written, so that the other
    thread is certainly waiting on the lock rather than arriving after the first commit."""
    real = actions._event

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "_event", slow)


@threads_on_postgres
@pytest.mark.parametrize(
    "second",
    ["reject", "accept"],
)
@pytest.mark.usefixtures("slow_timeline")
def test_two_dispatchers_acting_at_once_one_wins_and_the_other_is_told_to_reload(
    world: World, second: str
) -> None:
    case = report(world)
    version = case.version
    desk = world.users["dispatcher"]
    other = world.users["street_staff"]

    def accept() -> Case:
        return actions.accept(case_id=case.pk, actor=desk, expected_version=version)

    def then() -> Case:
        if second == "reject":
            return actions.reject(
                case_id=case.pk, actor=other, note="不属于受理范围", expected_version=version
            )
        return actions.accept(case_id=case.pk, actor=other, expected_version=version)

    started = time.monotonic()
    results = run_together([accept, then])
    elapsed = time.monotonic() - started

    winners = [r for r in results if isinstance(r, Case)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], StaleCase)
    assert losers[0].field == "version"
    # The loser waited for the winner's lock: the two really overlapped.
    assert elapsed >= 0.3
    case.refresh_from_db()
    assert case.version == version + 1
    assert case.status == winners[0].status
    assert list(case.events.values_list("action", flat=True)) == [
        "report",
        "accept" if winners[0].status == Status.ACCEPTED else "reject",
    ]


@threads_on_postgres
@pytest.mark.usefixtures("slow_timeline")
def test_without_a_version_the_second_of_two_accepts_is_an_illegal_transition(
    world: World,
) -> None:
    case = report(world)
    desk, other = world.users["dispatcher"], world.users["street_staff"]
    results = run_together(
        [
            lambda: actions.accept(case_id=case.pk, actor=desk),
            lambda: actions.accept(case_id=case.pk, actor=other),
        ]
    )
    assert sum(isinstance(r, Case) for r in results) == 1
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(losers) == 1 and isinstance(losers[0], IllegalTransition)
    assert isinstance(losers[0], Conflict)
    assert CaseEvent.objects.filter(case=case, action="accept").count() == 1


@threads_on_postgres
def test_a_handler_and_a_dispatcher_racing_on_a_dispatched_case_leave_one_timeline_entry(
    world: World,
) -> None:
    case = case_in(world, Status.DISPATCHED)
    master = report(world, title="主案件")
    version = case.version
    handler, desk = world.users["department_handler"], world.users["dispatcher"]
    results = run_together(
        [
            lambda: actions.sign(case_id=case.pk, actor=handler, expected_version=version),
            lambda: actions.merge(
                case_id=case.pk, actor=desk, master_id=master.pk, expected_version=version
            ),
        ]
    )
    assert sum(isinstance(r, Case) for r in results) == 1
    assert sum(isinstance(r, StaleCase) for r in results) == 1, results
    case.refresh_from_db()
    assert case.version == version + 1
    assert case.events.filter(action__in=["sign", "merge"]).count() == 1


@threads_on_postgres
def test_twenty_retries_with_one_idempotency_key_make_one_case(world: World) -> None:
    worker = world.users["grid_worker"]
    results = run_together(
        [lambda: report(world, actor=worker, idempotency_key="patrol-7f3a-0001") for _ in range(20)]
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert len({r.pk for r in results}) == 1
    assert Case.objects.filter(idempotency_key="patrol-7f3a-0001").count() == 1
    assert CaseEvent.objects.filter(case_id=results[0].pk).count() == 1


# --- no half-written case (any database) ----------------------------------------------------


class Boom(Exception):
    pass


def test_a_failure_while_writing_the_timeline_leaves_the_case_unchanged(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = case_in(world, Status.ACCEPTED)
    before = Case.objects.values().get(pk=case.pk)

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise Boom

    monkeypatch.setattr(actions, "_event", fail)
    with pytest.raises(Boom):
        actions.dispatch(
            case_id=case.pk, actor=world.users["dispatcher"], department=world.department
        )
    assert Case.objects.values().get(pk=case.pk) == before
    assert list(case.events.values_list("action", flat=True)) == ["report", "accept"]
    assert not OutboxMessage.objects.exists()


def test_a_failure_after_the_outbox_write_rolls_the_outbox_back_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = case_in(world, Status.ACCEPTED)
    before = Case.objects.values().get(pk=case.pk)
    real = actions.notify.enqueue

    def enqueue_then_fail(**kwargs: Any) -> Any:
        real(**kwargs)
        assert OutboxMessage.objects.count() == 1  # written, inside the transaction
        raise Boom

    monkeypatch.setattr(actions.notify, "enqueue", enqueue_then_fail)
    with pytest.raises(Boom):
        actions.dispatch(
            case_id=case.pk, actor=world.users["dispatcher"], department=world.department
        )
    assert Case.objects.values().get(pk=case.pk) == before
    assert not case.co_departments.exists()
    assert case.events.count() == 2
    assert not OutboxMessage.objects.exists()
    assert not Notification.objects.exists()


def test_a_failure_while_storing_a_report_leaves_no_row_and_no_photo_file(
    world: World, monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any
) -> None:
    import wangge.dashboard.actions as stats
    from wangge.cases.tests.test_photos import image_bytes

    settings.MEDIA_ROOT = tmp_path

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise Boom

    # The dashboard's counting is the last part of the write (on PostgreSQL its statements are
    # built just before the one statement runs; elsewhere it runs after the case is inserted).
    monkeypatch.setattr(stats, "case_flags", fail)
    with pytest.raises(Boom):
        report(world, title="带照片的上报", photos=[image_bytes("JPEG")])
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()
    assert not CasePhoto.objects.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_bad_photo_in_handling_leaves_the_case_in_progress(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    before = Case.objects.values().get(pk=case.pk)
    with pytest.raises(DomainError) as refused:
        actions.handle(
            case_id=case.pk,
            actor=world.users["department_handler"],
            result="已处理",
            photos=[b"not an image at all"],
        )
    assert refused.value.field == "photos"
    assert Case.objects.values().get(pk=case.pk) == before
    assert case.events.count() == 4
    assert not CasePhoto.objects.exists()


def test_a_failed_rating_reopen_keeps_the_rating_unwritten(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rating 不满意 reopens in the same transaction: if the reopen fails, nothing is kept."""
    case = case_in(world, Status.CLOSED)
    before = Case.objects.values().get(pk=case.pk)

    def fail(**kwargs: Any) -> Any:
        raise Boom

    monkeypatch.setattr(actions, "reopen", fail)
    with pytest.raises(Boom):
        actions.rate(case_id=case.pk, actor=None, rating="unsatisfied", as_reporter=True)
    assert Case.objects.values().get(pk=case.pk) == before
    assert not case.events.filter(action="rate").exists()
    assert not OutboxMessage.objects.filter(kind="rated").exists()
