"""Residents' writes: a report from the public form (through cases.actions.create_case) with its
receipt by text message, and the reporter's rating (cases.actions.rate)."""

import re
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from wangge.cases import actions as case_actions
from wangge.cases.matching import place_of_address
from wangge.cases.models import Case, Category, Source
from wangge.core.validators import MOBILE_RE, mask_mobile
from wangge.notifications import actions as notify

KEY_PREFIX = "resident:"
_KEY_RE = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)


def idempotency_key(client_key: str) -> str | None:
    """The stored key for a key made by the resident's page (a UUID), in the residents' own
    namespace so that it can never match a key of another channel. Anything else: None."""
    client_key = (client_key or "").strip()
    if not _KEY_RE.fullmatch(client_key):
        return None
    return KEY_PREFIX + uuid.UUID(client_key).hex


def receipt_text(case: Case, *, link: str) -> str:
    """The receipt a reporter can copy or is texted: with a phone, the code and the phone's
    last digits find the case again; without one, the code is a number to quote."""
    text = (
        _("【网格】您反映的“%(title)s”已收到，查询码 %(code)s。查看办理进度：%(link)s")
        if case.reporter_phone
        else _("【网格】您反映的“%(title)s”已收到，事件编号 %(code)s。查看办理进度：%(link)s")
    )
    return text % {
        # A text message is short: a long title is cut, and says so.
        "title": case.title if len(case.title) <= 20 else case.title[:19] + "…",
        "code": case.tracking_code,
        "link": link,
    }


def submit_report(
    *,
    category: Category,
    description: str,
    lon: float | None,
    lat: float | None,
    address: str = "",
    photos: Sequence[Any] = (),
    reporter_name: str = "",
    reporter_phone: str = "",
    is_anonymous: bool = False,
    client_key: str = "",
    link_for: Any = None,
    answers: dict[str, Any] | None = None,
) -> Case:
    """Take in a resident's report. The same `client_key` always gives the same case, however
    often and however concurrently it is sent; the receipt is texted once, after commit.

    `link_for(case)` returns the tracking link put into the text message.
    """
    key = idempotency_key(client_key)
    grid = None
    if (lon is None or lat is None) and address.strip():
        replayed = Case.objects.filter(idempotency_key=key).first() if key else None
        if replayed is not None:
            return replayed  # a retry: the case the first call made, wherever it was placed
        place = place_of_address(address)
        lon, lat, grid = place.lon, place.lat, place.grid
    with transaction.atomic():
        case = case_actions.create_case(
            actor=None,
            category=category,
            title=case_actions.title_from(description),
            description=description,
            lon=lon,
            lat=lat,
            grid=grid,
            address=address,
            source=Source.RESIDENT,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            is_anonymous=is_anonymous,
            photos=photos,
            answers=answers,
            idempotency_key=key,
        )
        phone = case.reporter_phone
        if phone and MOBILE_RE.match(phone) and link_for is not None:
            # One receipt per case: a retry finds the row by its key and sends nothing more.
            notify.enqueue(
                kind="sms",
                channel="sms",
                dedupe_key=f"case:{case.pk}:sms:received",
                payload={
                    "case_id": case.pk,
                    "phone_masked": mask_mobile(phone),
                    "text": receipt_text(case, link=link_for(case)),
                },
            )
    return case


def rate_as_reporter(
    *, case_id: int, solved: bool, rating: str, note: str = "", expected_version: int | None
) -> Case:
    """The reporter's rating from the tracking page: 未解决 or 不满意 sends the case back to
    its handler once (cases.actions.rate reopens it)."""
    return case_actions.rate(
        case_id=case_id,
        actor=None,
        rating=rating,
        note=note,
        solved=solved,
        as_reporter=True,
        expected_version=expected_version,
    )
