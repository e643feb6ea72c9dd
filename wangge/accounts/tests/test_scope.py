"""The role × object matrix: who sees which unit, building and page; everything else is 404."""

import pytest
from django.urls import reverse

from wangge.accounts.scope import scope_of
from wangge.core.tests.fixtures import World, login_as
from wangge.territory import selectors

# Unit codes each user must see (and only these, among the probes below).
PROBES = [
    "110101",  # district
    "110101001",  # street 1
    "110101002",  # street 2
    "110101001001",  # community 1.1
    "110101001002",  # community 1.2
    "110101001001001",  # grid 1.1.1
    "110101001001002",  # grid 1.1.2
    "110101002002002",  # grid 2.2.2
]
VISIBLE = {
    "grid_worker": {"110101001001001"},
    "building_head": {"110101001001001"},
    "community_staff": {"110101001001", "110101001001001", "110101001001002"},
    "street_staff": {
        "110101001",
        "110101001001",
        "110101001002",
        "110101001001001",
        "110101001001002",
    },
    "dispatcher": set(PROBES),
    # The handler's department serves community 1.1 only.
    "department_handler": {"110101001001", "110101001001001", "110101001001002"},
    "leader": {
        "110101001",
        "110101001001",
        "110101001002",
        "110101001001001",
        "110101001001002",
    },
    "admin": set(PROBES),
    "resident": set(),
    "volunteer": set(),
    "nobody": set(),
    "superuser": set(PROBES),
}


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_it_shows_each_role_exactly_its_subtree(world: World, username: str) -> None:
    user = world.users[username]
    seen = set(
        selectors.unit_list(user=user).filter(code__in=PROBES).values_list("code", flat=True)
    )
    assert seen == VISIBLE[username]


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_unit_pages_are_404_outside_scope(world: World, client, username: str) -> None:
    login_as(client, world.users[username])
    for code in PROBES:
        response = client.get(reverse("territory:unit", args=[code]))
        expected = 200 if code in VISIBLE[username] else 404
        assert response.status_code == expected, (username, code)


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_buildings_follow_the_same_scope(world: World, username: str) -> None:
    user = world.users[username]
    seen = {b.grid.code for b in selectors.building_list(user=user)}
    assert seen == {code for code in world.buildings if code in VISIBLE[username]}
    for code, building in world.buildings.items():
        if code not in VISIBLE[username]:
            with pytest.raises(Exception, match="not found"):
                selectors.building_get(user=user, pk=building.pk)


def test_leader_is_read_only(world: World) -> None:
    scope = scope_of(world.users["leader"])
    assert scope.sees_code("110101001001001")
    assert not scope.can_act_on_code("110101001001001")
    assert scope_of(world.users["street_staff"]).can_act_on_code("110101001001001")


def test_anonymous_users_are_sent_to_login(world: World, client) -> None:
    response = client.get(reverse("territory:unit", args=["110101"]))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_nested_memberships_collapse_to_the_outer_subtree(world: World) -> None:
    from wangge.accounts.tests.factories import member

    user = world.users["community_staff"]
    member(user, "street_staff", unit=world.unit("110101001"))
    user = type(user).objects.get(pk=user.pk)
    assert scope_of(user).unit_codes == ("110101001",)
