"""Writes for notifications: enqueue into the outbox (inside the caller's transaction) and deliver."""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from wangge.notifications.channels import channel_for
from wangge.notifications.models import Notification, OutboxMessage, OutboxStatus

MAX_ATTEMPTS = 8


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 10 * 2 ** max(0, attempts - 1)))


def enqueue(
    *,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    channel: str = "in_app",
) -> OutboxMessage | None:
    """Write an outbox row in the current transaction; deliver it after commit.

    Enqueueing the same `dedupe_key` twice writes one row. Returns None for a duplicate.
    """
    message, created = OutboxMessage.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "kind": kind,
            "channel": channel,
            "payload": payload,
            "next_attempt_at": timezone.now(),
        },
    )
    if not created:
        return None
    from wangge.notifications.tasks import deliver_outbox_message

    message_id = message.pk
    # robust: if the task cannot be enqueued (the queue is down), the committed change stands and
    # the row stays pending for deliver_due; nothing is lost.
    transaction.on_commit(lambda: deliver_outbox_message.enqueue(message_id), robust=True)
    return message


def deliver(*, message_id: int) -> str:
    """Deliver one outbox row: idempotent, and a failure is recorded for a later retry."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != OutboxStatus.PENDING:
            return "skipped"
        now = timezone.now()
        try:
            with transaction.atomic():
                channel_for(message.channel).deliver(message)
        except Exception as exc:  # any channel failure is retried later
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.next_attempt_at = now + _backoff(message.attempts)
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxStatus.DEAD
            message.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
            return "failed"
        message.attempts += 1
        message.status = OutboxStatus.SENT
        message.delivered_at = now
        message.save(update_fields=["attempts", "status", "delivered_at"])
        return "sent"


def deliver_due(*, limit: int = 500, now: datetime | None = None) -> dict[str, int]:
    """Retry every pending message whose time has come (run periodically)."""
    due = list(
        OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=now or timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {"sent": 0, "failed": 0, "skipped": 0}
    for pk in due:
        counts[deliver(message_id=pk)] += 1
    return counts


def mark_read(*, user: Any, notification_ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())
