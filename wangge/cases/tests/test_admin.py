"""The admin configures categories (questions validated) and shows cases read-only."""

from django.urls import reverse

from wangge.cases.models import Category
from wangge.cases.tests.helpers import report
from wangge.core.tests.fixtures import World, login_as


def _category_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": "noise_night",
        "name": "夜间噪音",
        "parent": Category.objects.get(code="environment").pk,
        "icon": "🔊",
        "default_department_kind": "city_management",
        "priority": "normal",
        "response_limit_hours": 24,
        "resolution_limit": 3,
        "resolution_unit": "working_days",
        "due_soon_fraction": "0.2",
        "due_soon_min_hours": 24,
        "questions": '[{"key": "hour", "label": "发生时间", "type": "number", "required": true}]',
        "is_active": "on",
        "sort_order": 450,
    }
    data.update(overrides)
    return data


def test_an_admin_adds_a_category_with_questions(world: World, client) -> None:
    login_as(client, world.users["superuser"])
    response = client.post(reverse("admin:cases_category_add"), _category_form())
    assert response.status_code == 302
    assert Category.objects.get(code="noise_night").questions[0]["key"] == "hour"


def test_bad_questions_are_refused_with_the_reason(world: World, client) -> None:
    login_as(client, world.users["superuser"])
    response = client.post(
        reverse("admin:cases_category_add"),
        _category_form(questions='[{"key": "hour", "label": "x", "type": "colour"}]'),
    )
    assert response.status_code == 200
    assert "问题类型须为" in response.content.decode()
    assert not Category.objects.filter(code="noise_night").exists()


def test_a_third_level_is_refused(world: World, client) -> None:
    login_as(client, world.users["superuser"])
    sub = Category.objects.get(code="exposed_garbage")
    response = client.post(reverse("admin:cases_category_add"), _category_form(parent=sub.pk))
    assert "只能有两级分类" in response.content.decode()


def test_cases_are_read_only_in_the_admin(world: World, client) -> None:
    case = report(world)
    login_as(client, world.users["superuser"])
    page = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert page.status_code == 200
    assert case.title in page.content.decode()
    response = client.post(reverse("admin:cases_case_change", args=[case.pk]), {"title": "改过"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.title != "改过"
