"""The home page: the user's roles, units and what their scope holds."""

import pytest
from django.urls import reverse

from wangge.accounts.models import Role
from wangge.accounts.tests.factories import member
from wangge.core.tests.fixtures import World, login_as
from wangge.territory import selectors


def home(client, user):
    login_as(client, user)
    response = client.get(reverse("core:home"))
    assert response.status_code == 200
    return response


def stats(response) -> dict[str, dict[str, int]]:
    return {s.unit.code: s.counts for s in response.context["summaries"]}


def test_a_grid_worker_sees_the_role_the_grid_and_its_card(world: World, client) -> None:
    response = home(client, world.users["grid_worker"])
    html = response.content.decode()
    assert "网格员" in html
    assert "第1街道第1社区第1网格" in html
    assert reverse("territory:grid_card", args=["110101001001001"]) in html
    assert stats(response) == {"110101001001001": {"building": 1}}


def test_street_staff_see_the_counts_of_their_street(world: World, client) -> None:
    response = home(client, world.users["street_staff"])
    assert "街道工作人员" in response.content.decode()
    assert stats(response) == {"110101001": {"community": 2, "grid": 4, "building": 1}}


def test_a_dispatcher_sees_the_whole_district(world: World, client) -> None:
    response = home(client, world.users["dispatcher"])
    assert "指挥中心调度员" in response.content.decode()
    assert stats(response) == {"110101": {"street": 2, "community": 4, "grid": 8, "building": 2}}


def test_a_department_handler_sees_the_department_and_its_area(world: World, client) -> None:
    response = home(client, world.users["department_handler"])
    html = response.content.decode()
    assert "部门办理人" in html
    assert "第1街道城管科" in html
    assert stats(response) == {"110101001001": {"grid": 2, "building": 1}}


def test_a_superuser_sees_every_root(world: World, client) -> None:
    response = home(client, world.users["superuser"])
    assert "超级管理员" in response.content.decode()
    assert list(stats(response)) == ["110101"]


def test_a_user_without_roles_is_told_whom_to_ask(world: World, client) -> None:
    response = home(client, world.users["nobody"])
    assert "您还没有任何角色授权" in response.content.decode()
    assert stats(response) == {}


def test_a_resident_has_no_territory(world: World, client) -> None:
    response = home(client, world.users["resident"])
    body = response.content.decode()
    assert "居民/群众" in body
    assert stats(response) == {}
    # Their way in: 随手拍 and 查询进度, not a territory browser they may not open.
    assert 'data-testid="entry-report"' in body and 'data-testid="entry-track"' in body
    assert reverse("territory:browser") not in body
    assert "工作人员登录" not in body  # signed in already


def test_staff_get_the_territory_link_and_no_public_entry(world: World, client) -> None:
    body = home(client, world.users["grid_worker"]).content.decode()
    assert reverse("territory:browser") in body
    assert 'data-testid="entry-report"' not in body


@pytest.mark.parametrize("username", ["grid_worker", "street_staff", "dispatcher", "superuser"])
def test_summaries_agree_with_the_per_unit_counts(world: World, username: str) -> None:
    user = world.users[username]
    roots = selectors.scope_roots(user=user)
    for summary in selectors.scope_summaries(user=user, roots=roots):
        expected = selectors.subtree_counts(user=user, unit=summary.unit)
        assert summary.counts == expected


def test_the_home_query_count_does_not_grow_with_roots(
    world: World, client, django_assert_max_num_queries
) -> None:
    user = world.users["grid_worker"]
    for code, unit in world.units.items():
        if unit.level == "grid" and code != "110101001001001":
            member(user, Role.GRID_WORKER, unit=unit)
    member(user, Role.COMMUNITY_STAFF, unit=world.unit("110101002001"))
    login_as(client, user)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("core:home"))
    # Community 2.1 holds two of the grids: they fold into it.
    assert len(response.context["summaries"]) == 7
