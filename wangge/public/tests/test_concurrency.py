"""A hundred identical submissions at once (a double tap, a flaky network retrying, an impatient
resident) make exactly one case, one set of photos and one text message. PostgreSQL only."""

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from wangge.cases.models import Case, CaseEvent, CasePhoto
from wangge.cases.tests.test_integrity import run_together, threads_on_postgres
from wangge.core.tests.fixtures import World
from wangge.notifications.models import OutboxMessage
from wangge.public import views
from wangge.public.tests.helpers import jpeg, photo, submission

SUBMISSIONS = 100
# PostgreSQL's default max_connections is 100: at most this many threads hold one at a time
# (each submission still races the others inside its window).
CONNECTIONS = 40


@threads_on_postgres
def test_a_hundred_identical_submissions_at_once_make_one_case(
    world: World, texts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "REPORT_RATE", (10 * SUBMISSIONS, 3600))
    data = submission(world)
    image = jpeg((64, 48))
    gate = threading.BoundedSemaphore(CONNECTIONS)

    def send() -> Any:
        with gate:
            try:
                return Client().post("/r/", {**data, "photos": [photo(data=image)]})
            finally:
                connection.close()

    results = run_together([send] * SUBMISSIONS)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert {r.status_code for r in results} == {303}
    assert len({r["Location"] for r in results}) == 1
    case = Case.objects.get()
    assert case.idempotency_key.endswith(data["key"].replace("-", ""))
    assert CaseEvent.objects.filter(case=case).count() == 1
    assert CasePhoto.objects.filter(case=case).count() == 1
    assert OutboxMessage.objects.filter(channel="sms").count() == 1
    assert len(texts) == 1
