"""查询进度: by code and the phone's last four digits or by the signed link; one answer for every
wrong guess, rate-limited; the reporter rates a closed case and "not solved" sends it back."""

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import User
from wangge.cases import actions as case_actions
from wangge.cases.models import Case, CaseEvent, Status
from wangge.cases.tests.helpers import case_in, do, report
from wangge.core.tests.fixtures import World
from wangge.notifications.models import Notification
from wangge.public import views
from wangge.public.tests.helpers import jpeg, photo
from wangge.public.tokens import FOLLOWER, REPORTER, make_token


def link(case: Case, role: str = REPORTER) -> str:
    return f"/r/t/{make_token(case_id=case.pk, role=role)}/"


def not_found_message(response: Any) -> str:
    match = re.search(r'data-testid="not-found">([^<]+)<', response.content.decode())
    assert match, "the generic message is shown"
    return match.group(1)


# --- lookup -------------------------------------------------------------------------------------


def test_the_code_and_last_four_digits_open_the_case(world: World, client: Client) -> None:
    case = report(world)  # reporter phone 13911112222
    code = case.tracking_code
    response = client.post(
        "/r/track/", {"code": f" {code[:4].lower()} {code[4:]} ", "digits": "2222"}
    )
    assert response.status_code == 302
    assert response["Location"] == link(case)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert code in page.content.decode()
    assert page["Cache-Control"] == "private, no-store"
    assert page["Referrer-Policy"] == "same-origin"  # the link never leaves the site


def test_every_wrong_guess_gets_the_same_not_found(world: World, client: Client) -> None:
    case = report(world)
    anonymous = report(world, is_anonymous=True)
    answers = [
        client.post("/r/track/", {"code": case.tracking_code, "digits": "1111"}),
        client.post("/r/track/", {"code": "ZZZZZZZZ", "digits": "2222"}),
        client.post("/r/track/", {"code": anonymous.tracking_code, "digits": "0000"}),
    ]
    assert {r.status_code for r in answers} == {404}
    messages = {not_found_message(r) for r in answers}
    assert messages == {"没有找到对应的反映，请核对查询码和手机号后四位"}
    for response in answers:
        assert case.title not in response.content.decode()


def test_missing_or_malformed_inputs_are_named(world: World, client: Client) -> None:
    response = client.post("/r/track/", {"code": "", "digits": "12a4"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "查询码：请填写查询码" in html
    assert "手机号后四位：请填写 4 位数字" in html


def test_guessing_is_rate_limited_per_address(
    world: World, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "TRACK_RATE", (3, 600))
    case = report(world)
    for digits in ("0001", "0002"):
        assert (
            client.post("/r/track/", {"code": case.tracking_code, "digits": digits}).status_code
            == 404
        )
    # A forged link counts against the same budget.
    assert client.get("/r/t/1:forged/").status_code == 404
    response = client.post("/r/track/", {"code": case.tracking_code, "digits": "2222"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    # Another address is not affected.
    other = client.post(
        "/r/track/", {"code": case.tracking_code, "digits": "2222"}, REMOTE_ADDR="10.1.2.3"
    )
    assert other.status_code == 302


def test_right_lookups_do_not_use_up_the_addresses_guesses(
    world: World, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many residents share one mobile network address: only wrong guesses count."""
    monkeypatch.setattr(views, "TRACK_RATE", (2, 600))
    case = report(world)
    for _ in range(5):
        right = client.post("/r/track/", {"code": case.tracking_code, "digits": "2222"})
        assert right.status_code == 302
    for _ in range(2):
        wrong = client.post("/r/track/", {"code": case.tracking_code, "digits": "0001"})
        assert wrong.status_code == 404
    # Used up: now every lookup waits, a right one too.
    blocked = client.post("/r/track/", {"code": case.tracking_code, "digits": "2222"})
    assert blocked.status_code == 429


def test_a_tampered_link_is_not_found(world: World, client: Client) -> None:
    case = report(world)
    token = make_token(case_id=case.pk, role=REPORTER)
    other = report(world)
    forged = token.replace(f"{case.pk}:", f"{other.pk}:", 1)
    assert client.get(f"/r/t/{forged}/").status_code == 404
    assert client.get(f"/r/t/{token}/").status_code == 200


# --- what the page shows -----------------------------------------------------------------------


def test_the_page_says_the_status_plainly_with_the_expected_completion(
    world: World, client: Client
) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    html = client.get(link(case)).content.decode()
    assert 'data-testid="status-label">办理中<' in html
    assert "办理单位正在处理" in html
    assert "承诺办结时间" in html
    assert timezone.localtime(case.resolution_due_at).strftime("%Y-%m-%d %H:%M") in html
    assert "已交由第1街道城管科办理" in html


def rename(user: User, name: str) -> User:
    User.objects.filter(pk=user.pk).update(display_name=name)
    user.refresh_from_db()
    return user


def test_no_staff_names_or_phones_and_no_reporter_phone_on_public_pages(
    world: World, client: Client
) -> None:
    u = world.users
    handler = rename(u["department_handler"], "赵建国")
    dispatcher = rename(u["dispatcher"], "钱调度")
    worker = rename(u["grid_worker"], "孙网格")
    case = report(world, title="东门垃圾", reporter_name="王女士", reporter_phone="13911112222")
    case_actions.accept(case_id=case.pk, actor=dispatcher, note="钱调度已受理 13700001111")
    case_actions.dispatch(case_id=case.pk, actor=dispatcher, department=world.department)
    case_actions.sign(case_id=case.pk, actor=handler)
    case_actions.handle(
        case_id=case.pk,
        actor=handler,
        result="赵建国已带人清运完毕，有问题请打 13800138000 或 010-65123456，或找孙网格",
        photos=[jpeg()],
    )
    case_actions.verify(case_id=case.pk, actor=dispatcher, passed=True, note="钱调度核查")
    by_worker = report(world, reporter_phone="13922223333")
    do(world, by_worker, "accept")
    case_actions.dispatch(case_id=by_worker.pk, actor=dispatcher, worker=worker)
    assert CaseEvent.objects.filter(actor_label="赵建国").exists()

    pages = [
        client.get(link(case)),
        client.get(link(case, FOLLOWER)),
        client.get(link(by_worker)),
        client.get(link(by_worker, FOLLOWER)),
    ]
    staff = [handler, dispatcher, worker]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        for person in staff:
            assert person.display_name not in html
            assert person.mobile not in html
        for number in ("13800138000", "65123456", "13700001111", "13911112222", "13922223333"):
            assert number not in html
    reporter_view = pages[0].content.decode()
    assert "工作人员已带人清运完毕" in reporter_view  # the result, with names and numbers hidden
    assert "已交由网格员办理" in pages[2].content.decode()
    # A stranger following the case does not see the reporter's name either.
    assert "王女士" not in pages[1].content.decode()


def test_a_merged_case_shows_the_master_without_its_reporter(world: World, client: Client) -> None:
    mine = report(world, reporter_name="李先生", reporter_phone="13933334444")
    master = report(
        world, reporter_name="周阿姨", reporter_phone="13944445555", title="东门垃圾周阿姨"
    )
    case_actions.merge(case_id=mine.pk, actor=world.users["dispatcher"], master_id=master.pk)
    do(world, master, "accept")
    do(world, master, "dispatch")
    html = client.get(link(mine)).content.decode()
    assert 'data-status="dispatched"' in html
    assert "合并办理" in html
    assert "周阿姨" not in html and "13944445555" not in html


def test_the_public_page_reads_each_timeline_once(world: World, client: Client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    mine = report(world)
    master = report(world)
    case_actions.merge(case_id=mine.pk, actor=world.users["dispatcher"], master_id=master.pk)
    do(world, master, "accept")
    client.get(link(mine))  # sessions, rate-limit counters
    with CaptureQueriesContext(connection) as queries:
        assert client.get(link(mine)).status_code == 200
    timelines = [q["sql"] for q in queries.captured_queries if 'FROM "cases_caseevent"' in q["sql"]]
    # One read per case shown (the merged case and its master): the actors' names to hide and
    # the public entries come from the same rows.
    assert len(timelines) == 2


# --- rating ---------------------------------------------------------------------------------------


def test_not_solved_sends_the_case_back_to_its_handler(
    world: World, client: Client, django_capture_on_commit_callbacks
) -> None:
    case = case_in(world, Status.CLOSED)
    page = client.get(link(case)).content.decode()
    assert "问题解决了吗？" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{link(case)}rate/",
            {
                "solved": "no",
                "rating": "unsatisfied",
                "note": "垃圾又堆起来了",
                "version": case.version,
            },
        )
    assert response.status_code == 303
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    assert case.lead_department == world.department  # back with the same handler
    assert case.reopen_count == 1
    assert list(case.events.values_list("action", flat=True))[-2:] == ["rate", "reopen"]
    assert Notification.objects.filter(
        recipient=world.users["department_handler"], kind="reopened"
    ).exists()
    html = client.get(link(case)).content.decode()
    assert 'data-testid="status-label">办理中<' in html
    assert "已按群众反馈重新交办理单位处理" in html
    assert "垃圾又堆起来了" in html
    assert "问题解决了吗？" not in html  # nothing to rate until it closes again


def test_a_satisfied_rating_keeps_the_case_closed(world: World, client: Client) -> None:
    case = case_in(world, Status.CLOSED)
    response = client.post(
        f"{link(case)}rate/", {"solved": "yes", "rating": "satisfied", "version": case.version}
    )
    assert response.status_code == 303
    case.refresh_from_db()
    assert (case.status, case.rating) == (Status.CLOSED, "satisfied")
    html = client.get(link(case)).content.decode()
    assert "您的评价" in html and "满意" in html
    # Rating again (a second tap, a second tab) is refused with a message, not a 500.
    again = client.post(
        f"{link(case)}rate/",
        {"solved": "no", "rating": "unsatisfied", "version": case.version, "note": "还是很脏"},
    )
    assert again.status_code == 409
    page = again.content.decode()
    assert 'data-testid="form-errors">' in page  # the refusal is shown, not hidden
    assert "您刚写的意见没有保存：还是很脏" in page  # and what was typed is not lost
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_a_second_not_solved_after_the_one_reopen_is_recorded_without_reopening(
    world: World, client: Client
) -> None:
    case = case_in(world, Status.CLOSED)
    first = client.get(link(case)).content.decode()
    assert "重新交给办理单位处理（限一次）" in first and "reopen-used" not in first
    client.post(f"{link(case)}rate/", {"solved": "no", "rating": "unsatisfied"})
    for action in ("handle", "verify_pass"):
        do(world, case, action)
    # The form no longer promises a reopen it will not do, and says what happens instead.
    second = client.get(link(case)).content.decode()
    assert "重新交给办理单位处理（限一次）" not in second
    assert 'data-testid="reopen-used"' in second and "再次反映" in second
    response = client.post(f"{link(case)}rate/", {"solved": "no", "rating": "unsatisfied"})
    assert response.status_code == 303
    case.refresh_from_db()
    assert (case.status, case.rating, case.reopen_count) == (Status.CLOSED, "unsatisfied", 1)


@pytest.mark.parametrize(
    ("status", "words"),
    [(Status.REJECTED, "不予受理，无需评价"), (Status.MERGED, "无需单独评价")],
)
def test_a_case_that_will_never_close_does_not_promise_a_rating(
    world: World, client: Client, status: str, words: str
) -> None:
    case = case_in(world, status)
    html = client.get(link(case)).content.decode()
    assert words in html and "办结后可以在这里评价" not in html


def test_a_rejected_case_does_not_show_the_steps_it_never_took(
    world: World, client: Client
) -> None:
    stepper = re.compile(r'<ol class="stepper"[^>]*>(.*?)</ol>', re.S)
    html = client.get(link(case_in(world, Status.REJECTED))).content.decode()
    steps = re.findall(r'<li class="([^"]*)">([^<]*)</li>', stepper.search(html).group(1))  # type: ignore[union-attr]
    assert steps == [("done", "提交"), ("current", "不予受理")]
    html = client.get(link(case_in(world, Status.CLOSED))).content.decode()
    steps = re.findall(r'<li class="[^"]*">([^<]*)</li>', stepper.search(html).group(1))  # type: ignore[union-attr]
    assert steps == ["提交", "受理", "办理", "办结"]


def test_a_follower_is_not_told_it_was_their_report(world: World, client: Client) -> None:
    case = report(world)
    own = client.get(link(case)).content.decode()
    theirs = client.get(link(case, FOLLOWER)).content.decode()
    assert "您反映的问题已收到" in own
    assert "您反映的问题已收到" not in theirs and "这个问题已收到" in theirs


def test_rating_errors_are_named(world: World, client: Client) -> None:
    case = case_in(world, Status.CLOSED)
    response = client.post(f"{link(case)}rate/", {"note": "x" * 501})
    assert response.status_code == 422
    html = response.content.decode()
    assert "是否解决：请选择问题是否已解决" in html
    assert "满意度：请选择满意度" in html
    assert "意见：意见不能超过 500 字" in html


def test_the_rating_address_opened_again_goes_back_to_the_case(
    world: World, client: Client
) -> None:
    """A rating error is shown at .../rate/: a reload or a language switch there asks for it
    with GET, which was a bare 405."""
    case = case_in(world, Status.CLOSED)
    response = client.get(f"{link(case)}rate/")
    assert response.status_code == 302
    assert response["Location"] == link(case)


def test_only_the_reporters_link_may_rate(world: World, client: Client) -> None:
    case = case_in(world, Status.CLOSED)
    response = client.post(
        f"{link(case, FOLLOWER)}rate/", {"solved": "no", "rating": "unsatisfied"}
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_a_rating_on_a_stale_page_is_told_to_reload(world: World, client: Client) -> None:
    case = case_in(world, Status.CLOSED)
    stale = case.version
    do(world, case, "reopen")
    response = client.post(
        f"{link(case)}rate/", {"solved": "yes", "rating": "satisfied", "version": stale}
    )
    assert response.status_code == 409


# --- photos ---------------------------------------------------------------------------------------


def test_photos_are_served_only_when_public_and_of_the_tracked_case(
    world: World, client: Client
) -> None:
    case = report(world, photos=[photo()])
    other = report(world, photos=[photo()])
    do(world, case, "accept")
    do(world, case, "dispatch")
    do(world, case, "sign")
    case_actions.handle(
        case_id=case.pk,
        actor=world.users["department_handler"],
        result="已清运",
        photos=[jpeg()],
        public_photos=False,
    )
    own = case.photos.get(is_public=True)
    private = case.photos.get(is_public=False)
    others = other.photos.get()
    base = link(case)
    full = client.get(f"{base}photos/{own.pk}/full/")
    assert full.status_code == 200
    assert full["Content-Type"] == "image/jpeg"
    assert client.get(f"{base}photos/{own.pk}/thumb/").status_code == 200
    assert client.get(f"{base}photos/{private.pk}/full/").status_code == 404
    assert client.get(f"{base}photos/{others.pk}/full/").status_code == 404
    assert client.get(f"{base}photos/{own.pk}/huge/").status_code == 404
    # A follower sees no one's report photos.
    assert client.get(f"{link(case, FOLLOWER)}photos/{own.pk}/full/").status_code == 404
    html = client.get(base).content.decode()
    assert f"photos/{own.pk}/thumb/" in html
    assert f"photos/{private.pk}/" not in html
