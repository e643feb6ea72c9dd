"""Deadline warnings: scan_deadlines warns once about cases that became due soon or overdue."""

import io
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from wangge.cases import actions
from wangge.cases.models import Case, CaseEvent, Status
from wangge.cases.tasks import scan_deadlines_task
from wangge.cases.tests.helpers import case_in, do, report
from wangge.core.tests.fixtures import World
from wangge.notifications.models import OutboxMessage

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
MINUTE = timedelta(minutes=1)


def warnings_of(case: Case) -> list[tuple[str, str]]:
    return list(
        CaseEvent.objects.filter(case=case, action__in=["due_soon", "overdue"]).values_list(
            "action", "to_status"
        )
    )


def test_a_case_becoming_due_soon_is_warned_once(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    moment = case.due_soon_at + MINUTE
    assert moment < case.resolution_due_at
    assert actions.scan_deadlines(now=case.due_soon_at - MINUTE) == {"due_soon": 0, "overdue": 0}
    assert actions.scan_deadlines(now=moment) == {"due_soon": 1, "overdue": 0}
    assert actions.scan_deadlines(now=moment + MINUTE) == {"due_soon": 0, "overdue": 0}
    assert warnings_of(case) == [("due_soon", Status.IN_PROGRESS)]
    case.refresh_from_db()
    assert case.warned_due_soon and not case.warned_overdue
    assert OutboxMessage.objects.filter(kind="due_soon").count() == 1


def test_the_warning_is_a_private_system_entry_that_does_not_touch_the_version(
    world: World,
) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    actions.scan_deadlines(now=case.due_soon_at + MINUTE)
    event = CaseEvent.objects.get(case=case, action="due_soon")
    assert event.is_public is False
    assert event.actor is None and event.actor_label == "系统"
    assert event.get_action_label() == "即将超时提醒"
    assert event.from_status == event.to_status == Status.IN_PROGRESS
    # Someone who loaded the case before the warning can still act on what they saw.
    refreshed = Case.objects.get(pk=case.pk)
    assert refreshed.version == case.version
    actions.handle(
        case_id=case.pk,
        actor=world.users["department_handler"],
        result="已处理",
        expected_version=case.version,
    )


def test_an_overdue_case_is_warned_again_once(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    actions.scan_deadlines(now=case.due_soon_at + MINUTE)
    late = case.resolution_due_at + MINUTE
    assert actions.scan_deadlines(now=late) == {"due_soon": 0, "overdue": 1}
    assert actions.scan_deadlines(now=late + timedelta(days=3)) == {"due_soon": 0, "overdue": 0}
    assert [a for a, _s in warnings_of(case)] == ["due_soon", "overdue"]


def test_a_case_found_already_late_gets_only_the_overdue_warning(world: World) -> None:
    case = case_in(world, Status.ACCEPTED)
    assert actions.scan_deadlines(now=case.resolution_due_at + MINUTE) == {
        "due_soon": 0,
        "overdue": 1,
    }
    case.refresh_from_db()
    assert case.warned_due_soon and case.warned_overdue
    assert [a for a, _s in warnings_of(case)] == ["overdue"]


@pytest.mark.parametrize("status", [Status.CLOSED, Status.REJECTED, Status.SUSPENDED])
def test_closed_rejected_and_suspended_cases_are_not_warned(world: World, status: str) -> None:
    case = case_in(world, status)
    assert actions.scan_deadlines(now=case.resolution_due_at + timedelta(days=30)) == {
        "due_soon": 0,
        "overdue": 0,
    }
    assert warnings_of(case) == []


def test_an_approved_extension_lets_the_warnings_come_again(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    actions.scan_deadlines(now=case.due_soon_at + MINUTE)
    do(world, case, "request_extension")
    case = do(world, case, "approve_extension")
    assert not case.warned_due_soon
    assert actions.scan_deadlines(now=case.due_soon_at - MINUTE)["due_soon"] == 0
    assert actions.scan_deadlines(now=case.due_soon_at + MINUTE)["due_soon"] == 1
    assert [a for a, _s in warnings_of(case)] == ["due_soon", "due_soon"]


def test_a_resumed_case_with_its_deadline_moved_out_can_be_warned_again(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    case.refresh_from_db()
    Case.objects.filter(pk=case.pk).update(warned_due_soon=True)
    for action in ("request_suspension", "approve_suspension", "resume"):
        case = do(world, case, action)
    case.refresh_from_db()
    # Resumed long before its (recomputed) due-soon instant: the old warning no longer stands.
    assert not case.warned_due_soon


def test_the_handler_is_warned_while_handling_and_the_desk_before_dispatch(
    world: World,
) -> None:
    handling = case_in(world, Status.IN_PROGRESS)
    waiting = report(world)
    actions.scan_deadlines(now=max(handling.resolution_due_at, waiting.resolution_due_at) + MINUTE)
    to_handler = OutboxMessage.objects.get(kind="overdue", payload__case_id=handling.pk)
    to_desk = OutboxMessage.objects.get(kind="overdue", payload__case_id=waiting.pk)
    assert to_handler.payload["recipients"] == [world.users["department_handler"].pk]
    desk = {world.users[n].pk for n in ("community_staff", "street_staff", "dispatcher")}
    assert set(to_desk.payload["recipients"]) == desk


def test_the_command_and_the_task_run_the_scan(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    Case.objects.filter(pk=case.pk).update(
        due_soon_at=case.created_at - 2 * MINUTE, resolution_due_at=case.created_at - MINUTE
    )
    out = io.StringIO()
    call_command("scan_deadlines", stdout=out)
    assert out.getvalue().strip() == "due soon 0, overdue 1"
    assert scan_deadlines_task.enqueue().return_value == {"due_soon": 0, "overdue": 0}
    assert [a for a, _s in warnings_of(case)] == ["overdue"]


@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_scans_at_once_warn_once(world: World) -> None:
    cases = [case_in(world, Status.IN_PROGRESS) for _ in range(5)]
    moment = max(c.resolution_due_at for c in cases) + MINUTE
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def scan() -> None:
        try:
            barrier.wait()
            results.append(actions.scan_deadlines(now=moment))
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r["overdue"] for r in results) == 5
    assert CaseEvent.objects.filter(action="overdue").count() == 5
    assert OutboxMessage.objects.filter(kind="overdue").count() == 5
