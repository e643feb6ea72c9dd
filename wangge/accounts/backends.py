"""Log in with a mainland mobile number, or a username (kept for administrators)."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from wangge.accounts.models import User


class MobileOrUsernameBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        identifier = username.strip()
        user = User.objects.filter(mobile=identifier).first() if identifier.isdigit() else None
        if user is None:
            user = User.objects.filter(username=identifier).first()
        if user is None:
            # Spend the same time as a real check, so a missing account is not told apart.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
