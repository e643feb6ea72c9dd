"""The admin configures categories (questions validated) and shows cases read-only."""

from django.urls import reverse
from django.utils import translation

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


def test_a_due_soon_share_outside_0_to_1_is_refused_in_the_readers_language(
    world: World, client
) -> None:
    login_as(client, world.users["superuser"])
    url = reverse("admin:cases_category_add")
    with translation.override(translation.get_language()):
        chinese = client.post(url, _category_form(due_soon_fraction="1.5")).content.decode()
        english = client.post(
            url, _category_form(due_soon_fraction="1.5"), HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
    assert "即将超时比例须在 0 和 1 之间，例如 0.2" in chinese
    assert "must be between 0 and 1" not in chinese
    assert "The due-soon share must be between 0 and 1, for example 0.2." in english
    assert "即将超时比例" not in english
    assert not Category.objects.filter(code="noise_night").exists()


def test_optional_selects_offer_their_blank_choice_in_the_readers_language(
    world: World, client
) -> None:
    login_as(client, world.users["superuser"])
    url = reverse("admin:cases_category_add")
    with translation.override(translation.get_language()):
        chinese = client.get(url).content.decode()
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="" selected>- 请选择 -</option>' in chinese
    assert '<option value="" selected>- Select an option -</option>' in english
    assert "Select an option" not in chinese


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


def test_the_login_attempts_admin_speaks_chinese(world: World, client) -> None:
    """django-axes ships no Chinese catalogue; ours supplies its words (core/django_gaps.py)."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(
        username="13900000001", ip_address="10.0.0.7", user_agent="test", failures_since_start=2
    )
    login_as(client, world.users["superuser"])
    with translation.override(translation.get_language()):
        page = client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
        index = client.get(reverse("admin:index")).content.decode()
    assert "登录尝试" in page and "IP 地址" in page
    assert "access attempt" not in page.lower() and "IP Address" not in page
    assert "登录记录" in index and "登录失败" in index


def test_the_admin_is_named_for_wangge_in_the_readers_language(world: World, client) -> None:
    login_as(client, world.users["superuser"])
    with translation.override(translation.get_language()):
        chinese = client.get(reverse("admin:index")).content.decode()
        english = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "网格治理平台 管理后台" in chinese and "Django" not in chinese
    assert "Wangge administration" in english and "Django" not in english


def test_the_task_queue_admin_speaks_chinese(world: World, client) -> None:
    """django-tasks-db writes its app name and two columns as plain English and ships no
    catalogue: core.apps.TasksDbConfig, core.task_admin and core/django_gaps.py translate them."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    result = DBTaskResult.objects.create(
        task_path="wangge.notifications.tasks.deliver_due_outbox",
        args_kwargs={"args": [], "kwargs": {}},
        backend_name="default",
        queue_name="default",
        run_after=get_date_max(),
        traceback="Traceback: boom",
        exception_class_path="builtins.ValueError",
    )
    login_as(client, world.users["superuser"])
    changelist = reverse("admin:django_tasks_database_dbtaskresult_changelist")
    change = reverse("admin:django_tasks_database_dbtaskresult_change", args=[result.pk])
    with translation.override(translation.get_language()):
        index = client.get(reverse("admin:index")).content.decode()
        page = client.get(changelist).content.decode()
        detail = client.get(change).content.decode()
        english = client.get(changelist, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "后台任务" in index and "Tasks Database Backend" not in index
    for header in ("任务", "状态", "入队时间", "优先级", "队列"):
        assert header in page
    for english_word in ("Task name", "Enqueued at", "Queue name", "Task Results"):
        assert english_word not in page
    assert "错误详情" in detail and "计划执行时间" in detail and "异常类型" in detail
    assert "Traceback:" in detail  # the value itself is not translated
    assert "Background tasks" in english and "Task" in english and "后台任务" not in english
