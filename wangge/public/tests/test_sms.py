"""Text messages: a pluggable backend chosen by WANGGE_SMS_BACKEND, delivered through the outbox
(after commit, once, retried on failure)."""

from typing import Any

import pytest

from wangge.cases.tests.helpers import report
from wangge.core.tests.fixtures import World
from wangge.notifications import actions as notify
from wangge.notifications.models import OutboxMessage, OutboxStatus
from wangge.public import sms


def test_the_console_backend_prints_with_the_number_masked(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.WANGGE_SMS_BACKEND = "wangge.public.sms.ConsoleSmsBackend"
    sms.get_backend().send(phone="13911112222", text="您的查询码 ABCD2345", key="k-1")
    out = capsys.readouterr().out
    assert "SMS to 139****2222 [k-1]: 您的查询码 ABCD2345" in out
    assert "13911112222" not in out


def test_the_backend_is_the_configured_class(settings: Any, texts) -> None:
    assert isinstance(sms.get_backend(), sms.LocmemSmsBackend)
    settings.WANGGE_SMS_BACKEND = "wangge.public.sms.ConsoleSmsBackend"
    assert isinstance(sms.get_backend(), sms.ConsoleSmsBackend)


def _enqueue(case_id: int, key: str = "case:1:sms:received") -> OutboxMessage:
    message = notify.enqueue(
        kind="sms", channel="sms", dedupe_key=key, payload={"case_id": case_id, "text": "你好"}
    )
    assert message is not None
    return message


def test_the_channel_reads_the_reporters_number_at_delivery(world: World, texts) -> None:
    case = report(world, reporter_phone="13911112222")
    message = _enqueue(case.pk)
    assert "13911112222" not in str(message.payload)  # no copy of the number in the outbox
    assert notify.deliver(message_id=message.pk) == "sent"
    assert [(t.phone, t.text, t.key) for t in texts] == [
        ("13911112222", "你好", "case:1:sms:received")
    ]
    # Delivered once: a second delivery of the same row sends nothing.
    assert notify.deliver(message_id=message.pk) == "skipped"
    assert len(texts) == 1


def test_a_failing_gateway_is_retried_later(
    world: World, texts, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = report(world)
    message = _enqueue(case.pk)

    def down(self: Any, **kwargs: Any) -> None:
        raise ConnectionError("gateway down")

    monkeypatch.setattr(sms.LocmemSmsBackend, "send", down)
    assert notify.deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert "gateway down" in message.last_error


def test_the_receipt_cuts_a_long_title_with_an_ellipsis(world: World) -> None:
    from wangge.public.actions import receipt_text

    short = report(world, title="路灯不亮")
    assert "“路灯不亮”" in receipt_text(short, link="https://x/r/t/a/")
    long = report(world, title="Streetlight broken near the gate of building 3")
    assert "“Streetlight broken …”" in receipt_text(long, link="https://x/r/t/a/")
