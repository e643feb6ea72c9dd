"""随手拍: a resident with no account reports a problem; bad input is named and kept; a retry
makes no second case; the receipt is texted once, after commit."""

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from wangge.cases.models import Case, CasePhoto, Source, Status
from wangge.core.tests.fixtures import World
from wangge.notifications.models import OutboxMessage
from wangge.public import actions
from wangge.public.tests.helpers import jpeg, photo, submission

TRACK_URL = re.compile(r"^/r/t/(?P<token>[^/]+)/\?new=1$")


def post(client: Client, data: dict[str, Any], **extra: Any) -> Any:
    return client.post("/r/", data, **extra)


def test_the_report_page_opens_without_logging_in(world: World, client: Client) -> None:
    response = client.get("/r/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="key"' in html and re.search(r'name="key" value="[0-9a-f-]{36}"', html)
    assert "暴露垃圾" in html  # every active sub-category can be chosen
    assert "echarts" not in html


def test_a_report_becomes_a_resident_case_and_shows_its_tracking_page(
    world: World, client: Client, texts, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, {**submission(world), "photos": [photo()]})
    assert response.status_code == 303
    assert TRACK_URL.match(response["Location"])
    case = Case.objects.get()
    assert case.source == Source.RESIDENT
    assert case.status == Status.REPORTED
    assert case.title == "小区东门口垃圾堆了三天没人清运"
    assert case.description.startswith("小区东门口垃圾堆了三天没人清运\n")
    assert (case.reporter_name, case.reporter_phone) == ("王女士", "13911112222")
    assert case.reporter is None
    assert case.idempotency_key.startswith(actions.KEY_PREFIX)
    assert case.grid.code == "110101001001001"
    assert case.photos.count() == 1

    page = client.get(response["Location"])
    html = page.content.decode()
    assert case.tracking_code in html
    assert "提交成功" in html
    assert "13911112222" not in html  # the reporter's phone is never echoed

    assert len(texts) == 1
    assert texts[0].phone == "13911112222"
    assert case.tracking_code in texts[0].text
    assert "http://testserver/r/t/" in texts[0].text
    assert texts[0].key == f"case:{case.pk}:sms:received"


def test_the_receipt_is_sent_only_after_the_commit(
    world: World, client: Client, texts, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post(client, submission(world))
    # Written to the outbox inside the transaction, sent only when it commits.
    assert OutboxMessage.objects.filter(channel="sms").count() == 1
    assert texts == []
    for callback in callbacks:
        callback()
    assert len(texts) == 1


def test_a_retry_with_the_same_key_makes_no_second_case_and_no_second_text(
    world: World, client: Client, texts, django_capture_on_commit_callbacks
) -> None:
    data = submission(world)
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, {**data, "photos": [photo()]})
        second = post(client, {**data, "photos": [photo()]})
        third = post(client, {**data, "description": "改了描述再点一次"})
    assert first["Location"] == second["Location"] == third["Location"]
    assert Case.objects.count() == 1
    assert CasePhoto.objects.count() == 1
    assert len(texts) == 1


def test_keys_from_the_page_live_in_their_own_namespace(world: World) -> None:
    key = "0b0f4a4e-8a1c-4c8e-9a70-2c1f4b7a9e01"
    assert actions.idempotency_key(key) == "resident:0b0f4a4e8a1c4c8e9a702c1f4b7a9e01"
    assert actions.idempotency_key(key.replace("-", "")) == actions.idempotency_key(key)
    # Not a UUID (e.g. another channel's key): no idempotency rather than someone else's case.
    assert actions.idempotency_key("patrol-7f3a-0001") is None
    assert actions.idempotency_key("") is None


def test_a_key_of_another_channel_does_not_return_that_channels_case(
    world: World, client: Client
) -> None:
    from wangge.cases.tests.helpers import report

    other = report(world, idempotency_key="phone-42-0001")
    response = post(client, submission(world, key="phone-42-0001"))
    assert response.status_code == 303
    mine = Case.objects.exclude(pk=other.pk).get()
    assert mine.source == Source.RESIDENT


def test_anonymous_reports_keep_no_name_or_phone_and_send_no_text(
    world: World, client: Client, texts, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, submission(world, anonymous="on"))
    assert response.status_code == 303
    case = Case.objects.get()
    assert (case.reporter_name, case.reporter_phone, case.is_anonymous) == ("", "", True)
    assert texts == []
    page = client.get(response["Location"]).content.decode()
    assert "请保存下面的链接" in page


def _errors(response: Any) -> dict[str, str]:
    html = response.content.decode()
    return dict(
        re.findall(r'<p class="field-error" data-for="(\w+)" role="alert">([^<]+)</p>', html)
    )


def test_every_missing_field_is_named_and_what_was_typed_is_kept(
    world: World, client: Client
) -> None:
    data = submission(world, category="", description="", lon="", lat="")
    data.update({"address": "和平里3号楼", "name": "李先生", "phone": "13800001234"})
    response = post(client, data)
    assert response.status_code == 422
    errors = _errors(response)
    assert errors["category"] == "问题类别：请选择问题类别"
    assert errors["description"] == "问题描述：请简单描述遇到的问题"
    # At once, not on a later submit: no point, and an address that names no known place.
    assert errors["address"].startswith("详细地址：没有找到这个地址")
    assert "location" not in errors
    assert Case.objects.count() == 0
    html = response.content.decode()
    # Everything typed is still there, including the same idempotency key.
    assert 'value="和平里3号楼"' in html
    assert 'value="李先生"' in html
    assert 'value="13800001234"' in html
    assert f'value="{data["key"]}"' in html
    assert "请修改以下内容后再提交" in html


def test_a_report_without_a_location_is_refused_naming_the_location(
    world: World, client: Client
) -> None:
    response = post(client, submission(world, lon="", lat="", address=""))
    assert response.status_code == 422
    assert _errors(response)["location"] == "位置：请在地图上选择位置，或写明详细地址（小区和楼号）"
    assert 'value="小区东门口垃圾堆了三天没人清运' in response.content.decode() or (
        "小区东门口垃圾堆了三天没人清运" in response.content.decode()
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"phone": "12345"}, "phone", "请填写 11 位手机号码，或留空"),
        ({"lon": "116.9", "lat": "39.1"}, "location", "不在本区任何网格内"),
        ({"lon": "abc"}, "location", "位置坐标无效"),
        ({"lat": "95"}, "location", "位置"),
        ({"description": "长" * 2001}, "description", "不能超过 2000 字"),
        ({"category": "999999"}, "category", "请重新选择"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(
    world: World, client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    response = post(client, submission(world, **overrides))
    assert response.status_code == 422
    errors = _errors(response)
    assert message in errors[field]
    assert not re.search(r"[A-Za-z]{3,}", errors[field]), "a Chinese page speaks Chinese only"
    assert Case.objects.count() == 0


def test_an_english_page_names_the_field_in_english_only(world: World, client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override(translation.get_language()):
        response = post(client, submission(world, phone="12345", lon="abc", description=""))
    assert response.status_code == 422
    errors = _errors(response)
    assert set(errors) == {"phone", "location", "description"}
    for message in errors.values():
        assert not re.search(r"[\u4e00-\u9fff\uff00-\uffef]", message), message
        assert ": " in message  # the label, an English colon, the message
    assert "11-digit mobile number" in errors["phone"]
    assert Case.objects.count() == 0


def test_a_file_that_is_not_a_picture_is_refused_and_nothing_is_written(
    world: World, client: Client
) -> None:
    bad = photo("virus.jpg", b"MZ\x90\x00 not an image")
    response = post(client, {**submission(world), "photos": [photo(), bad]})
    assert response.status_code == 422
    assert "照片：第 2 张照片（virus.jpg）：文件不是有效的图片" in _errors(response)["photos"]
    assert "photos-dropped" in response.content.decode()  # the browser drops chosen files
    assert Case.objects.count() == 0
    assert CasePhoto.objects.count() == 0


def test_more_than_nine_photos_are_refused(world: World, client: Client) -> None:
    small = jpeg((40, 30))
    response = post(
        client, {**submission(world), "photos": [photo(f"{i}.jpg", small) for i in range(10)]}
    )
    assert response.status_code == 422
    assert "最多 9 张" in _errors(response)["photos"]


def test_a_category_with_questions_asks_them_and_names_what_is_missing(
    world: World, client: Client
) -> None:
    from wangge.cases.models import Category

    utilities = Category.objects.get(code="utilities")
    response = post(client, submission(world, category=str(utilities.pk)))
    assert response.status_code == 422
    assert not Case.objects.exists()
    html = response.content.decode()
    assert re.search(r'<li data-field="answers.utility">请回答“类型”', html)  # the summary
    assert re.search(r'data-for="answers.utility"[^>]*>请回答“类型”', html)  # at the question
    assert f'data-questions-for="{utilities.pk}" data-testid="questions-utilities">' in html
    assert "“水电气热”还需要了解" in html  # the questions say which category asks them

    response = post(
        client,
        submission(world, category=str(utilities.pk), **{f"answer-{utilities.pk}-utility": "水"}),
    )
    assert response.status_code == 303
    assert Case.objects.get().answers == {"utility": "水"}


def test_the_form_keeps_djangos_csrf_protection(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/r/", {"description": "x"})
    assert response.status_code == 403
    assert Case.objects.count() == 0
    # Not Django's bare "CSRF verification failed" page: what happened and what to do, and a
    # header the page's script recognises to fetch a fresh token and send again.
    assert response["X-Wangge-Error"] == "csrf"
    html = response.content.decode()
    assert "页面已过期" in html
    assert 'href="/r/"' in html


def test_too_many_reports_from_one_address_get_429(
    world: World, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wangge.public import views

    monkeypatch.setattr(views, "REPORT_RATE", (2, 3600))
    for _ in range(2):
        assert post(client, submission(world)).status_code == 303
    response = post(client, submission(world, description="路灯不亮，晚上很黑"))
    assert response.status_code == 429
    assert response["Retry-After"]
    assert Case.objects.count() == 2
    # The form comes back with what was typed, and says when to send it.
    html = response.content.decode()
    assert "路灯不亮，晚上很黑" in html and 'value="王女士"' in html
    assert "分钟后再提交" in html
    # Nothing on it is wrong: no call to correct anything.
    assert "请修改以下内容" not in html


def test_the_home_page_offers_anonymous_visitors_the_way_in(world: World, client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/r/"' in html and "随手拍" in html
    assert 'href="/r/track/"' in html and "查询进度" in html
    assert "我的角色与辖区" not in html


def test_the_home_page_still_shows_staff_their_scope(world: World, client: Client) -> None:
    from wangge.core.tests.fixtures import login_as

    login_as(client, world.users["dispatcher"])
    html = client.get("/").content.decode()
    assert "我的角色与辖区" in html
    assert 'data-testid="public-entry"' not in html


def test_an_anonymous_receipt_does_not_offer_a_lookup_it_cannot_use(
    world: World, client: Client
) -> None:
    """The lookup page asks for the code and the phone's last four digits: without a phone the
    code is a number to quote on the telephone, and the link is the way back."""
    response = post(client, submission(world, anonymous="on", name="", phone=""))
    assert response.status_code == 303
    receipt = client.get(response["Location"]).content.decode()
    assert "事件编号" in receipt and "您的查询码" not in receipt
    assert "请保存下面的链接" in receipt
    named = post(client, submission(world))
    assert "您的查询码" in client.get(named["Location"]).content.decode()


def test_a_text_with_a_nul_character_is_refused_saying_what_to_do(
    world: World, client: Client
) -> None:
    response = post(client, submission(world, description="路灯\x00坏了"))
    assert response.status_code == 422 and not Case.objects.exists()
    html = response.content.decode()
    assert "问题描述：含有无法保存的空字符（NUL），请删除后再提交" in html
    assert "路灯" in html  # what was typed comes back


def test_without_a_point_a_known_address_places_the_report(world: World, client: Client) -> None:
    """No map without JavaScript: the address is enough when it names a building (or a
    community), as an Open311 address_string does."""
    building = world.buildings["110101002002002"]
    data = submission(world, lon=None, lat=None, address=f"{building.address}东侧")
    response = post(client, data)
    assert response.status_code == 303, _errors(response)
    case = Case.objects.get()
    assert case.grid == building.grid and (case.lon, case.lat) == (building.lon, building.lat)
    assert case.address == f"{building.address}东侧"
    # A retry with the same key is the same case.
    assert post(client, data).status_code == 303 and Case.objects.count() == 1


def test_without_a_point_an_unknown_address_is_refused_by_its_field(
    world: World, client: Client
) -> None:
    response = post(client, submission(world, lon=None, lat=None, address="火星基地"))
    assert response.status_code == 422 and not Case.objects.exists()
    assert _errors(response)["address"].startswith("详细地址：没有找到这个地址")
    assert "火星基地" in response.content.decode()


def test_the_map_and_the_gps_button_wait_for_javascript(world: World, client: Client) -> None:
    html = client.get("/r/").content.decode()
    assert re.search(r'<button[^>]*id="use-gps"[^>]*hidden', html)
    assert re.search(r'<div[^>]*id="pick-map"[^>]*hidden', html)
    assert "请在下面写明详细地址（小区和楼号）" in html


def test_a_nul_character_in_a_text_answer_is_refused_not_a_500(
    world: World, client: Client
) -> None:
    from wangge.cases.models import Category

    utilities = Category.objects.get(code="utilities")
    utilities.questions = [
        *utilities.questions,
        {"key": "where", "label": "具体位置", "type": "text", "required": False},
    ]
    utilities.save(update_fields=["questions"])
    data = submission(world, category=str(utilities.pk))
    data[f"answer-{utilities.pk}-utility"] = "水"
    data[f"answer-{utilities.pk}-where"] = "东门\x00口"
    response = post(client, data)
    assert response.status_code == 422 and not Case.objects.exists()
    assert "具体位置：含有无法保存的空字符（NUL），请删除后再提交" in response.content.decode()


def test_the_answers_are_named_with_the_other_problems_at_once(
    world: World, client: Client
) -> None:
    from wangge.cases.models import Category

    utilities = Category.objects.get(code="utilities")
    data = submission(world, category=str(utilities.pk), description="")
    data[f"answer-{utilities.pk}-households"] = "0"
    response = post(client, data)
    assert response.status_code == 422
    errors = _errors(response)
    assert errors["description"] == "问题描述：请简单描述遇到的问题"
    html = response.content.decode()
    assert "请回答“类型”" in html and "影响户数：不能小于 1" in html


def test_a_bad_point_and_no_address_name_the_location_not_the_address(
    world: World, client: Client
) -> None:
    response = post(client, submission(world, lon="", lat="abc", address=""))
    assert response.status_code == 422
    errors = _errors(response)
    assert "location" in errors and "address" not in errors
