"""The staff JSON API under /api/v1/ (django-ninja; OpenAPI at /api/v1/openapi.json).

Every error body is {"errors": [{"field": …, "code": …, "message": …}]}. Status codes:
400 the body is not JSON, 401 no valid token, 403 not allowed for you, 404 not found or outside
your scope, 409 the case changed since you read it or the move is not possible in its state,
413 the body is too large, 422 an input is invalid (the field says which), 429 too many calls
(wait the Retry-After header's seconds; limits are per token, and per address without a token).
"""

import re
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from wangge.apiauth import TokenAuth, check_token
from wangge.core import ratelimit
from wangge.core.errors import Conflict, DomainError, NotAuthenticated, PermissionDenied
from wangge.core.middleware import count_api_address
from wangge.core.responses import too_many_requests


class Utf8JSONRenderer(JSONRenderer):
    """Chinese text as UTF-8 rather than \\u escapes: half the bytes and readable."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="Wangge staff API",
    version="1",
    description="网格化基层治理平台 staff API: cases, categories, point → grid.\n\n"
    + (__doc__ or "").split("\n\n", 1)[1],
    auth=TokenAuth(),
    renderer=Utf8JSONRenderer(),
    urls_namespace="api-v1",
)


def _errors(
    request: HttpRequest,
    status: int,
    errors: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    if status != 401 and not check_token(request):
        # A cached token found revoked (or its user deactivated) on the way out: nothing but
        # the 401 it would have had before the cache.
        return _refused_token(request)
    response = api.create_response(request, {"errors": errors}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _status(exc: DomainError) -> int:
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, Conflict):
        return 409
    if exc.code == "not_found" and exc.field == "case":
        return 404
    # Every other refusal names an input that is wrong: the request was understood.
    return 422


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, NotAuthenticated):
        check_token(request)  # forgets the cached token
        return _refused_token(request)
    errors = getattr(exc, "errors", None) or [exc]
    return _errors(request, _status(exc), [e.as_dict() for e in errors])


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
                "message": validation_message(err),
            }
        )
    return _errors(request, 422, errors)


# pydantic's error types, in the reader's language when one is shown (translated per use).
SCHEMA_MESSAGES = {
    "missing": gettext_noop("请填写此项 (this field is required)"),
    "string_type": gettext_noop("须为文字 (must be a string)"),
    "string_too_long": gettext_noop("不能超过 %(limit)s 个字 (at most %(limit)s characters)"),
    "string_too_short": gettext_noop("至少 %(limit)s 个字 (at least %(limit)s characters)"),
    "too_long": gettext_noop("最多 %(limit)s 项 (at most %(limit)s items)"),
    "too_short": gettext_noop("至少 %(limit)s 项 (at least %(limit)s items)"),
    "int_parsing": gettext_noop("须为整数 (must be a whole number)"),
    "int_type": gettext_noop("须为整数 (must be a whole number)"),
    "int_from_float": gettext_noop("须为整数 (must be a whole number)"),
    "float_parsing": gettext_noop("须为数字 (must be a number)"),
    "float_type": gettext_noop("须为数字 (must be a number)"),
    "finite_number": gettext_noop("须为数字 (must be a number)"),
    "bool_parsing": gettext_noop("须为 true 或 false (must be true or false)"),
    "bool_type": gettext_noop("须为 true 或 false (must be true or false)"),
    "less_than_equal": gettext_noop("不能大于 %(limit)s (at most %(limit)s)"),
    "less_than": gettext_noop("须小于 %(limit)s (less than %(limit)s)"),
    "greater_than_equal": gettext_noop("不能小于 %(limit)s (at least %(limit)s)"),
    "greater_than": gettext_noop("须大于 %(limit)s (more than %(limit)s)"),
    "list_type": gettext_noop("须为列表 (must be a list)"),
    "dict_type": gettext_noop("须为对象 (must be an object)"),
    "model_type": gettext_noop("须为对象 (must be an object)"),
    "model_attributes_type": gettext_noop("须为对象 (must be an object)"),
    "datetime_parsing": gettext_noop(
        "须为时间，如 2026-05-01T09:30:00+08:00 (must be a date and time)"
    ),
    "datetime_type": gettext_noop(
        "须为时间，如 2026-05-01T09:30:00+08:00 (must be a date and time)"
    ),
    "datetime_from_date_parsing": gettext_noop(
        "须为时间，如 2026-05-01T09:30:00+08:00 (must be a date and time)"
    ),
    "date_parsing": gettext_noop("须为日期，如 2026-05-01 (must be a date)"),
    "date_from_datetime_parsing": gettext_noop("须为日期，如 2026-05-01 (must be a date)"),
    "date_type": gettext_noop("须为日期，如 2026-05-01 (must be a date)"),
    "literal_error": gettext_noop("须为以下之一：%(expected)s (must be one of: %(expected)s)"),
    "enum": gettext_noop("须为以下之一：%(expected)s (must be one of: %(expected)s)"),
    "extra_forbidden": gettext_noop("不接受此项 (unknown field)"),
    "json_invalid": gettext_noop("不是有效的 JSON (not valid JSON)"),
    "value_error": gettext_noop("含有不允许的字符，如空字符 (contains a character not allowed)"),
}


def validation_message(err: dict[str, Any]) -> str:
    """The schema's refusal in the request's language: pydantic writes its own in English."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    limit = next(
        (ctx[k] for k in ("max_length", "min_length", "le", "ge", "lt", "gt") if k in ctx), ""
    )
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)  # "180", not "180.0"
    message = SCHEMA_MESSAGES.get(kind)
    if message is None:
        return _("格式不正确 (invalid value)")
    message = _(message)
    # pydantic lists the choices in English ("'a', 'b' or 'c'"): the values, in the list's words.
    expected = str(ctx.get("expected", ""))
    values = re.findall(r"'([^']*)'", expected)
    if values:
        expected = _("、").join(values)
    return message % {"limit": limit, "expected": expected}


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _errors(
        request,
        404,
        [{"field": None, "code": "not_found", "message": _("不存在或不在您的范围内 (not found)")}],
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _unauthenticated(request)


def _unauthenticated(request: HttpRequest) -> HttpResponse:
    return _errors(
        request,
        401,
        [
            {
                "field": "Authorization",
                "code": "unauthenticated",
                "message": _(
                    "请提供有效的令牌：Authorization: Bearer <token> (missing or invalid token)"
                ),
            }
        ],
        headers={"WWW-Authenticate": "Bearer"},
    )


def _refused_token(request: HttpRequest) -> HttpResponse:
    """401 for a cached token found no longer valid; it counts against its address too, as
    TokenAuth counts a token that is not valid."""
    return count_api_address(request) or _unauthenticated(request)


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _errors(
        request,
        413,
        [
            {
                "field": None,
                "code": "too_large",
                "message": _("请求内容过大 (request body too large)"),
            }
        ],
    )


@api.exception_handler(ratelimit.RateLimited)
def on_rate_limited(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    if not check_token(request):
        return _refused_token(request)
    return too_many_requests(request, retry_after=exc.retry_after)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        # ninja's only 400: a body it cannot read as JSON (its text is English, with the parser's
        # position).
        message = _("请求内容不是有效的 JSON (the request body is not valid JSON)")
        return _errors(request, 400, [{"field": None, "code": "bad_request", "message": message}])
    return _errors(
        request, exc.status_code, [{"field": None, "code": "error", "message": str(exc)}]
    )


def register_routers() -> None:
    from wangge.cases.api import router as cases_router
    from wangge.territory.api import router as territory_router

    api.add_router("/", territory_router)
    api.add_router("/", cases_router)


register_routers()
