"""The public grid card (挂牌公示): open to all, phone numbers masked outside the grid's scope."""

import pytest
from django.urls import reverse

from wangge.accounts.models import Role
from wangge.accounts.tests.factories import UserFactory, member
from wangge.core.tests.fixtures import World, login_as

GRID = "110101001001001"


def card(client, code: str = GRID):
    return client.get(reverse("territory:grid_card", args=[code]))


@pytest.fixture
def second_worker(world: World):
    user = UserFactory(username="second_worker", display_name="李网格")
    member(user, Role.GRID_WORKER, unit=world.unit(GRID))
    return user


def test_anonymous_visitors_see_only_masked_numbers(world: World, client, second_worker) -> None:
    response = card(client)
    html = response.content.decode()
    assert response.status_code == 200
    for user in (world.users["grid_worker"], second_worker, world.users["building_head"]):
        assert user.mobile not in html
        assert user.masked_mobile in html
        assert str(user) in html
    assert "tel:" not in html
    assert "手机号已部分隐藏" in html


def test_a_published_work_number_is_shown_in_full_to_everyone(
    world: World, client, second_worker
) -> None:
    worker = world.users["grid_worker"]
    worker.public_phone = "010-65123456-801"
    worker.save(update_fields=["public_phone"])
    html = card(client).content.decode()
    # The work number, tap to call (the extension after a pause); the mobile stays hidden.
    assert 'href="tel:01065123456,801">010-65123456-801<' in html
    assert worker.mobile not in html and worker.masked_mobile not in html
    # The colleague without one keeps a masked mobile, and the note says why.
    assert second_worker.masked_mobile in html and second_worker.mobile not in html
    assert "未公示工作电话的手机号已部分隐藏" in html


def test_the_privacy_note_does_not_claim_masking_when_every_number_is_published(
    world: World, client
) -> None:
    for name, number in (("grid_worker", "010-65123456"), ("building_head", "13800001111")):
        world.users[name].public_phone = number
        world.users[name].save(update_fields=["public_phone"])
    html = card(client).content.decode()
    assert "已部分隐藏" not in html
    assert "以上为公示的工作电话" in html
    assert 'href="tel:13800001111"' in html


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("13812345678", True),
        ("010-65123456", True),
        ("01065123456", True),
        ("0755-8765432", True),
        ("010-65123456-801", True),
        ("400-810-1234", True),
        ("65123456", False),  # no area code: not callable from another city
        ("12345", False),
        ("010 6512 3456", False),
        ("tel:010-65123456", False),
    ],
)
def test_a_work_number_must_be_callable(number: str, valid: bool) -> None:
    from django.core.exceptions import ValidationError

    from wangge.core.validators import validate_public_phone

    if valid:
        validate_public_phone(number)
    else:
        with pytest.raises(ValidationError, match="带区号的固定电话"):
            validate_public_phone(number)


def test_the_card_shows_the_street_community_code_and_buildings(world: World, client) -> None:
    html = card(client).content.decode()
    assert 'data-testid="street">第1街道<' in html
    assert 'data-testid="community">第1街道第1社区<' in html
    assert GRID in html
    assert "第1街道第1社区第1网格1号楼" in html
    # The boundary travels with the page for the small map (no login needed to fetch it).
    assert 'id="grid-map-data"' in html
    assert '"type": "Polygon"' in html


@pytest.mark.parametrize(
    "username", ["grid_worker", "community_staff", "street_staff", "dispatcher", "superuser"]
)
def test_staff_whose_scope_covers_the_grid_see_full_numbers(
    world: World, client, username: str
) -> None:
    login_as(client, world.users[username])
    html = card(client).content.decode()
    for user in (world.users["grid_worker"], world.users["building_head"]):
        assert f'href="tel:{user.mobile}"' in html
        assert user.masked_mobile not in html


def test_a_department_handler_serving_the_area_sees_full_numbers(world: World, client) -> None:
    login_as(client, world.users["department_handler"])
    assert world.users["grid_worker"].mobile in card(client).content.decode()


@pytest.mark.parametrize("username", ["resident", "volunteer", "nobody"])
def test_logged_in_users_without_scope_see_masked_numbers(
    world: World, client, username: str
) -> None:
    login_as(client, world.users[username])
    html = card(client).content.decode()
    assert world.users["grid_worker"].mobile not in html
    assert world.users["building_head"].mobile not in html


def test_staff_of_another_street_see_masked_numbers(world: World, client) -> None:
    other = UserFactory(username="other_street")
    member(other, Role.STREET_STAFF, unit=world.unit("110101002"))
    login_as(client, other)
    html = card(client).content.decode()
    assert world.users["grid_worker"].mobile not in html
    assert world.users["grid_worker"].masked_mobile in html


def test_a_grid_without_workers_or_buildings_says_so(world: World, client) -> None:
    html = card(client, "110101002001001").content.decode()
    assert "暂未配备网格员" in html
    assert "暂无楼栋" in html


@pytest.mark.parametrize("code", ["110101", "110101001", "110101001001", "110101001001009", "abc"])
def test_a_non_grid_or_unknown_code_is_404(world: World, client, code: str) -> None:
    response = card(client, code)
    assert response.status_code == 404
    assert "找不到页面" in response.content.decode()


def test_the_card_is_never_cached_by_a_shared_cache(world: World, client) -> None:
    assert "private" in card(client)["Cache-Control"]


def test_the_card_query_count_does_not_grow_with_buildings(
    world: World, client, django_assert_max_num_queries, second_worker
) -> None:
    from wangge.territory.tests.test_views import add_grids_and_buildings

    add_grids_and_buildings(world, 6)
    with django_assert_max_num_queries(4):
        card(client, "110101001001003")
    login_as(client, world.users["community_staff"])
    with django_assert_max_num_queries(8):
        card(client)
