"""Fixtures of the residents' tests."""

from typing import Any

import pytest

from wangge.public import sms


@pytest.fixture
def texts(settings: Any) -> list[sms.SmsMessage]:
    """Text messages sent during the test (the locmem backend)."""
    settings.WANGGE_SMS_BACKEND = "wangge.public.sms.LocmemSmsBackend"
    sms.outbox.clear()
    return sms.outbox
