"""Logging in: mobile number or username, argon2, lockout after repeated failures."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from wangge.accounts.tests.factories import UserFactory

PASSWORD = "wangge-test-pass"


@pytest.fixture
def user(db):
    return UserFactory(username="zhang", mobile="13912345678")


def login(client, username: str, password: str = PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_it_logs_in_with_a_mobile_number(client, user) -> None:
    response = login(client, "13912345678")
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert client.get(reverse("core:home")).context["user"] == user


def test_it_logs_in_with_a_username(client, user) -> None:
    assert login(client, "zhang").status_code == 302


def test_a_wrong_password_is_refused_with_a_message_in_chinese(client, user) -> None:
    response = login(client, "13912345678", "wrong-password")
    assert response.status_code == 200
    assert "手机号/用户名或密码不正确" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_passwords_are_hashed_with_argon2(user) -> None:
    assert get_user_model().objects.get(pk=user.pk).password.startswith("argon2")


@pytest.mark.django_db
def test_it_locks_out_after_repeated_failures(client, user, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "13912345678", "wrong-password")
    # Even the right password is refused while locked out.
    response = login(client, "13912345678")
    assert response.status_code == 429
    assert "账号已临时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_lockout_page_says_how_long_in_one_language(client, user, settings) -> None:
    """The wait is the configured one (AXES_COOLOFF_MINUTES), not a fixed "15 分钟"."""
    from datetime import timedelta

    from django.utils import translation

    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "13912345678", "wrong-password")
    with translation.override(translation.get_language()):
        chinese = login(client, "13912345678").content.decode()
        english = client.post(
            "/accounts/login/",
            {"username": "13912345678", "password": "x"},
            HTTP_ACCEPT_LANGUAGE="en",
        ).content.decode()
    assert "请 30 分钟后再试" in chinese and "Too many" not in chinese
    assert "30 minutes" in english and "分钟" not in english


def test_the_lockout_does_not_block_another_account(client, user) -> None:
    other = UserFactory(username="li", mobile="13987654321")
    for _ in range(10):
        login(client, "13912345678", "wrong-password")
    response = login(client, other.mobile)
    assert response.status_code == 302


def test_an_unknown_account_gets_the_same_message(client, db) -> None:
    response = login(client, "13800000099", "whatever-pass")
    assert "手机号/用户名或密码不正确" in response.content.decode()


def test_logout_needs_a_post(client, user) -> None:
    login(client, "zhang")
    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session
