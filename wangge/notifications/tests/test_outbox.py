"""The transactional outbox: written with the change, delivered after commit, retried on
failure, delivered once, dead after too many attempts; and the in-app notifications it makes."""

import threading
import time
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from wangge.cases import actions as case_actions
from wangge.cases.models import Case, Rating, Status
from wangge.cases.tests.helpers import case_in, do
from wangge.core.tests.fixtures import World
from wangge.notifications import actions, tasks
from wangge.notifications.channels import InAppChannel
from wangge.notifications.models import Notification, OutboxMessage, OutboxStatus

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


class Boom(Exception):
    pass


class FlakyChannel:
    """In-app delivery that fails `failures` times first, optionally slowly."""

    failures: ClassVar[int] = 0
    delay: ClassVar[float] = 0.0
    attempts: ClassVar[int] = 0

    def deliver(self, message: OutboxMessage) -> None:
        type(self).attempts += 1
        if self.delay:
            time.sleep(self.delay)
        if type(self).failures > 0:
            type(self).failures -= 1
            raise RuntimeError("SMS gateway timed out")
        InAppChannel().deliver(message)


@pytest.fixture
def flaky(settings: Any) -> type[FlakyChannel]:
    settings.WANGGE_NOTIFICATION_CHANNELS = {
        "in_app": f"{__name__}.FlakyChannel",
    }
    FlakyChannel.failures = 0
    FlakyChannel.delay = 0.0
    FlakyChannel.attempts = 0
    return FlakyChannel


def dispatch(world: World, case: Case) -> Case:
    return do(world, case, "dispatch")


def names(notifications: Any) -> set[str]:
    return {n.recipient.username for n in notifications}


# --- written with the change ------------------------------------------------------------------


def test_a_dispatch_writes_one_outbox_row_and_delivers_only_after_commit(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    case = case_in(world, Status.ACCEPTED)
    with django_capture_on_commit_callbacks() as callbacks:
        dispatch(world, case)
        message = OutboxMessage.objects.get()
        assert message.status == OutboxStatus.PENDING
        assert message.kind == "dispatched"
        assert message.payload["recipients"] == [world.users["department_handler"].pk]
        assert message.payload["case_id"] == case.pk
    # Nothing is delivered before the transaction commits.
    assert len(callbacks) == 1
    assert not Notification.objects.exists()


def test_a_rolled_back_dispatch_leaves_no_outbox_row_and_sends_nothing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    case = case_in(world, Status.ACCEPTED)
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        dispatch(world, case)
        assert OutboxMessage.objects.count() == 1
        raise Boom
    assert callbacks == []
    assert not OutboxMessage.objects.exists()
    assert Case.objects.get(pk=case.pk).status == Status.ACCEPTED


def test_after_commit_the_lead_departments_handlers_get_an_in_app_notification(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    case = case_in(world, Status.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(world, case)
    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.SENT
    assert message.attempts == 1 and message.delivered_at is not None
    note = Notification.objects.get()
    assert note.recipient == world.users["department_handler"]
    assert note.kind == "dispatched"
    assert note.title == f"新派单：{case.title}"
    assert note.url == f"/cases/{case.pk}/"
    assert note.read_at is None


def test_notifications_are_written_in_the_sites_language_whoever_acts(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import translation

    case = case_in(world, Status.ACCEPTED)
    # A dispatcher whose pages are in English: the handlers still read Chinese.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        dispatch(world, case)
    assert Notification.objects.get().title == f"新派单：{case.title}"


def test_each_reader_reads_a_notification_in_their_language(
    world: World, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import translation

    from wangge.core.tests.fixtures import login_as

    case = case_in(world, Status.ACCEPTED)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        dispatch(world, case)  # sent by someone reading English: stored in Chinese
    note = Notification.objects.get()
    assert note.display_title == f"新派单：{case.title}"
    with translation.override("en"):
        assert note.display_title == f"New assignment: {case.title}"
    login_as(client, world.users["department_handler"])
    with translation.override(translation.get_language()):  # the request switches it
        page = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"New assignment: {case.title}" in page and "新派单：" not in page
    # Parts that no longer fit the message (an edited translation, say): the stored title.
    note.title_parts = {"msgid": "新派单：%(t)s", "params": {}}
    assert note.display_title == f"新派单：{case.title}"


def test_a_ratings_label_in_a_title_is_translated_too(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import translation

    with django_capture_on_commit_callbacks(execute=True):
        _rated(world)
    note = Notification.objects.get(kind="rated")
    assert note.display_title == "群众评价：满意"
    with translation.override("en"):
        assert note.display_title == "Resident's rating: Satisfied"


def test_enqueueing_the_same_key_twice_writes_one_row(world: World) -> None:
    first = actions.enqueue(kind="rated", dedupe_key="k-1", payload={"recipients": []})
    again = actions.enqueue(kind="rated", dedupe_key="k-1", payload={"recipients": []})
    assert first is not None and again is None
    assert OutboxMessage.objects.count() == 1


# --- retried, delivered once, dead after too many attempts -----------------------------------


def test_a_failed_delivery_is_retried_after_its_back_off_and_delivered_once(
    world: World, flaky: type[FlakyChannel], django_capture_on_commit_callbacks: Any
) -> None:
    flaky.failures = 1
    case = case_in(world, Status.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(world, case)
    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert "SMS gateway timed out" in message.last_error
    assert message.next_attempt_at > timezone.now()
    assert not Notification.objects.exists()

    # Not yet: the back-off has not passed.
    assert actions.deliver_due()["sent"] == 0
    later = message.next_attempt_at + timedelta(seconds=1)
    assert actions.deliver_due(now=later) == {"sent": 1, "failed": 0, "skipped": 0}
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 2
    assert names(Notification.objects.all()) == {"department_handler"}

    # Delivering again, directly or by the periodic job, sends nothing more.
    assert actions.deliver(message_id=message.pk) == "skipped"
    assert actions.deliver_due(now=later + timedelta(days=1))["sent"] == 0
    assert Notification.objects.count() == 1
    assert flaky.attempts == 2


def test_back_off_grows_with_each_failure(
    world: World, flaky: type[FlakyChannel], django_capture_on_commit_callbacks: Any
) -> None:
    flaky.failures = 3
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(world, case_in(world, Status.ACCEPTED))
    message = OutboxMessage.objects.get()
    waits = []
    for _ in range(2):
        before = timezone.now()
        actions.deliver(message_id=message.pk)
        message.refresh_from_db()
        waits.append(message.next_attempt_at - before)
    assert waits[1] > waits[0] > timedelta(seconds=10)


def test_a_message_that_keeps_failing_is_dead_after_max_attempts(
    world: World, flaky: type[FlakyChannel], django_capture_on_commit_callbacks: Any
) -> None:
    flaky.failures = 1000
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(world, case_in(world, Status.ACCEPTED))
    message = OutboxMessage.objects.get()
    for _ in range(actions.MAX_ATTEMPTS - 1):
        assert actions.deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD
    assert message.attempts == actions.MAX_ATTEMPTS
    assert actions.deliver(message_id=message.pk) == "skipped"
    assert actions.deliver_due(now=timezone.now() + timedelta(days=30))["failed"] == 0
    assert flaky.attempts == actions.MAX_ATTEMPTS
    assert not Notification.objects.exists()


def test_a_message_whose_task_could_not_be_queued_is_not_lost(
    world: World, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    class QueueDown:
        def enqueue(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("task queue unavailable")

    monkeypatch.setattr(tasks, "deliver_outbox_message", QueueDown())
    case = case_in(world, Status.ACCEPTED)
    with django_capture_on_commit_callbacks() as callbacks:
        dispatch(world, case)
        # Registered as robust: a failure there cannot turn the committed change into an error.
        _savepoints, _func, robust = connection.run_on_commit[-1]
        assert robust is True
    with pytest.raises(ConnectionError):
        callbacks[0]()
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED
    assert OutboxMessage.objects.get().status == OutboxStatus.PENDING
    assert actions.deliver_due()["sent"] == 1
    assert names(Notification.objects.all()) == {"department_handler"}


def test_the_delivery_task_and_the_retry_task_call_the_actions(world: World) -> None:
    message = actions.enqueue(
        kind="rated",
        dedupe_key="task-1",
        payload={"recipients": [world.users["dispatcher"].pk], "title": "t"},
    )
    assert message is not None
    result = tasks.deliver_outbox_message.enqueue(message.pk)
    assert result.return_value == "sent"
    assert tasks.deliver_due_outbox.enqueue().return_value == {
        "sent": 0,
        "failed": 0,
        "skipped": 0,
    }
    assert Notification.objects.get().recipient == world.users["dispatcher"]


@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_delivering_one_message_at_once_send_it_once(
    world: World, flaky: type[FlakyChannel]
) -> None:
    flaky.failures = 1
    case = case_in(world, Status.ACCEPTED)
    dispatch(world, case)  # committed: the immediate backend tried once and failed
    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.PENDING
    flaky.delay = 0.3  # hold the row lock while the other worker arrives
    barrier = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(actions.deliver(message_id=message.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["sent", "skipped"]
    assert Notification.objects.filter(outbox=message).count() == 1
    assert flaky.attempts == 2  # the failed first try and one delivery, never a third


# --- the in-app notifications of the case loop ------------------------------------------------


def _dispatched(world: World) -> Case:
    return dispatch(world, case_in(world, Status.ACCEPTED))


def _returned(world: World) -> Case:
    return do(world, case_in(world, Status.DISPATCHED), "return")


def _reopened(world: World) -> Case:
    return do(world, case_in(world, Status.CLOSED), "reopen")


def _rated(world: World) -> Case:
    return do(world, case_in(world, Status.CLOSED), "rate", rating=Rating.SATISFIED)


def _escalated(world: World) -> Case:
    return do(world, case_in(world, Status.ACCEPTED), "escalate")


def _handled(world: World) -> Case:
    return do(world, case_in(world, Status.IN_PROGRESS), "handle")


def _due_soon(world: World) -> Case:
    case = case_in(world, Status.IN_PROGRESS)
    case_actions.scan_deadlines(now=case.due_soon_at + timedelta(minutes=1))
    return case


def _overdue(world: World) -> Case:
    case = case_in(world, Status.IN_PROGRESS)
    case_actions.scan_deadlines(now=case.resolution_due_at + timedelta(minutes=1))
    return case


def _overdue_unaccepted(world: World) -> Case:
    case = case_in(world, Status.REPORTED)
    case_actions.scan_deadlines(now=case.resolution_due_at + timedelta(minutes=1))
    return case


DESK_OF_COMMUNITY_1 = {"community_staff", "street_staff", "dispatcher"}
DESK_OF_STREET_1 = {"street_staff", "dispatcher"}


@pytest.mark.parametrize(
    ("make", "kind", "recipients", "title"),
    [
        (_dispatched, "dispatched", {"department_handler"}, "新派单："),
        (_returned, "returned", DESK_OF_COMMUNITY_1, "退单："),
        (_reopened, "reopened", {"department_handler"}, "重办："),
        (_rated, "rated", {"department_handler"}, "群众评价：满意"),
        (_escalated, "escalated", DESK_OF_STREET_1, "上报（吹哨）："),
        # Its own community's desk verifies it (the desks above only where it has none).
        (_handled, "to_verify", {"community_staff"}, "待核查："),
        (_due_soon, "due_soon", {"department_handler"}, "即将超时："),
        (_overdue, "overdue", {"department_handler"}, "已超时："),
        (_overdue_unaccepted, "overdue", DESK_OF_COMMUNITY_1, "已超时："),
    ],
)
def test_the_case_loop_notifies_whoever_must_act(
    world: World,
    django_capture_on_commit_callbacks: Any,
    make: Any,
    kind: str,
    recipients: set[str],
    title: str,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = make(world)
    sent = Notification.objects.filter(kind=kind).select_related("recipient")
    assert names(sent) == recipients
    assert all(n.title.startswith(title) for n in sent), [n.title for n in sent]
    assert all(n.url == f"/cases/{case.pk}/" for n in sent)
    assert OutboxMessage.objects.filter(kind=kind, status=OutboxStatus.SENT).count() == 1
