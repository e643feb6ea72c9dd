"""The staff JSON API under /api/v1/ (django-ninja; OpenAPI at /api/v1/openapi.json).

Every error body is {"errors": [{"field": …, "code": …, "message": …}]}.
"""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from wangge.accounts.actions import hash_token
from wangge.accounts.models import ApiToken
from wangge.core.errors import DomainError, ValidationFailed


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


api = NinjaAPI(
    title="Wangge staff API",
    version="1",
    description="网格化基层治理平台 staff API: cases, categories, point → grid.",
    auth=TokenAuth(),
    urls_namespace="api-v1",
)


def _errors(request: HttpRequest, status: int, errors: list[dict[str, Any]]) -> HttpResponse:
    return api.create_response(request, {"errors": errors}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, ValidationFailed):
        return _errors(request, exc.http_status, [e.as_dict() for e in exc.errors])
    return _errors(request, exc.http_status, [exc.as_dict()])


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [
            str(part)
            for part in err.get("loc", [])
            if part not in ("body", "query", "path", "payload")
        ]
        errors.append(
            {
                "field": ".".join(loc) or None,
                "code": err.get("type", "invalid"),
                "message": err.get("msg", ""),
            }
        )
    return _errors(request, 422, errors)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _errors(
        request,
        404,
        [{"field": None, "code": "not_found", "message": "不存在或不在您的范围内 (not found)"}],
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _errors(
        request,
        401,
        [
            {
                "field": "Authorization",
                "code": "unauthenticated",
                "message": "请提供有效的令牌：Authorization: Bearer <token> (missing or invalid token)",
            }
        ],
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _errors(
        request, exc.status_code, [{"field": None, "code": "error", "message": str(exc)}]
    )


def register_routers() -> None:
    from wangge.cases.api import router as cases_router
    from wangge.territory.api import router as territory_router

    api.add_router("/", territory_router)
    api.add_router("/", cases_router)


register_routers()
