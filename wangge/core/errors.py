"""Domain errors: raised by actions, shown to people with the field and what to do."""

from typing import Any


class DomainError(Exception):
    """An action refused. `field` names the input at fault (or None), `code` is stable for APIs."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "message": self.message}


class ValidationFailed(DomainError):
    http_status = 422

    def __init__(self, errors: list[DomainError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, field=first.field, code=first.code)


class PermissionDenied(DomainError):
    code = "forbidden"
    http_status = 403


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class NotAuthenticated(DomainError):
    """The caller's credentials turned out not to be valid (an API token revoked, its user
    deactivated) after the request was let in."""

    code = "unauthenticated"
    http_status = 401
