"""Text messages to residents through a pluggable backend (setting WANGGE_SMS_BACKEND, a dotted
path to a class with `send(*, phone, text, key)`).

Messages go through the notifications outbox (channel "sms"), so they leave only after the
transaction that wrote them commits, are retried on failure and are sent once. `key` is the
outbox row's dedupe key: a real gateway should pass it on as its idempotency key.

- ConsoleSmsBackend (default): writes the message to stdout and the `wangge.sms` logger.
- LocmemSmsBackend: keeps messages in `wangge.public.sms.outbox` (tests).
"""

import logging
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from wangge.core.validators import mask_mobile

logger = logging.getLogger("wangge.sms")


class SmsBackend(Protocol):
    def send(self, *, phone: str, text: str, key: str) -> None: ...


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    key: str


class ConsoleSmsBackend:
    def send(self, *, phone: str, text: str, key: str) -> None:
        line = f"SMS to {mask_mobile(phone)} [{key}]: {text}"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        logger.info("%s", line)


outbox: list[SmsMessage] = []


class LocmemSmsBackend:
    def send(self, *, phone: str, text: str, key: str) -> None:
        outbox.append(SmsMessage(phone=phone, text=text, key=key))


def get_backend() -> SmsBackend:
    path = getattr(settings, "WANGGE_SMS_BACKEND", "") or "wangge.public.sms.ConsoleSmsBackend"
    backend: SmsBackend = import_string(path)()
    return backend


class SmsChannel:
    """The outbox's "sms" channel. The payload names the case (its reporter's number is read at
    delivery, so no phone number is copied into the outbox) or carries a `phone`."""

    def deliver(self, message: Any) -> None:
        payload: dict[str, Any] = message.payload
        phone = payload.get("phone") or ""
        if not phone and payload.get("case_id"):
            from wangge.cases.models import Case

            phone = (
                Case.objects.filter(pk=payload["case_id"])
                .values_list("reporter_phone", flat=True)
                .first()
                or ""
            )
        if not phone:
            return  # the reporter withdrew the number (anonymised): nothing to send
        get_backend().send(phone=phone, text=payload.get("text", ""), key=message.dedupe_key)
