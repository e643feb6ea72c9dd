"""Delivery channels. In-app writes rows in our database (exactly once with the outbox row);
external channels (SMS) are pluggable backends given the outbox key for idempotency."""

from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from wangge.notifications.models import Notification, OutboxMessage


class Channel(Protocol):
    def deliver(self, message: OutboxMessage) -> None: ...


class InAppChannel:
    def deliver(self, message: OutboxMessage) -> None:
        payload: dict[str, Any] = message.payload
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=recipient_id,
                    kind=message.kind,
                    title=payload.get("title", ""),
                    title_parts=payload.get("title_parts") or {},
                    body=payload.get("body", ""),
                    url=payload.get("url", ""),
                    outbox=message,
                )
                for recipient_id in sorted(set(payload.get("recipients", [])))
            ],
            ignore_conflicts=True,
        )


class ConsoleSmsChannel:
    """The default SMS backend: writes the text to the log instead of sending it."""

    def deliver(self, message: OutboxMessage) -> None:
        import logging

        payload = message.payload
        logging.getLogger("wangge.sms").info(
            "SMS to %s [%s]: %s",
            payload.get("phone_masked", ""),
            message.dedupe_key,
            payload.get("text", ""),
        )


def channel_for(name: str) -> Channel:
    backends: dict[str, str] = getattr(settings, "WANGGE_NOTIFICATION_CHANNELS", {})
    path = backends.get(name) or {
        "in_app": "wangge.notifications.channels.InAppChannel",
        "sms": "wangge.notifications.channels.ConsoleSmsChannel",
    }.get(name)
    if path is None:
        raise LookupError(f"no notification channel named {name!r}")
    channel: Channel = import_string(path)()
    return channel
