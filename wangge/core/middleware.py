"""The site's outer guards: CORS for the machine interfaces, the request-size cap, rate limits,
and the short way through for token-authenticated API calls.

CorsMiddleware answers browsers for /api/ and /open311/ only, and only for the origins listed in
WANGGE_CORS_ALLOWED_ORIGINS. RequestGuardMiddleware refuses bodies over WANGGE_MAX_REQUEST_BYTES
before anything reads them, counts /api/ calls without a valid token per client address, turns
a RateLimited raised by any view into 429 + Retry-After, and gives the API JSON 404s and 405s.
BearerApiMiddleware sends /api/ calls that carry a bearer token straight to their view, past
the browser-session middlewares (docs/decisions/0008-api-middleware.md).
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from wangge.core import ratelimit
from wangge.core.responses import api_error, area_of, too_large, too_many_requests

Handler = Callable[[HttpRequest], HttpResponse]

CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Accept, Accept-Language"
CORS_EXPOSE = "Retry-After, WWW-Authenticate"
CORS_MAX_AGE = "600"


class CorsMiddleware:
    """Cross-origin access to /api/ and /open311/ for the configured origins; never credentials.

    The API authenticates with bearer tokens, not cookies, so Access-Control-Allow-Credentials
    is never sent (and "*" therefore never comes with credentials).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        allowed: list[str] = settings.WANGGE_CORS_ALLOWED_ORIGINS
        if not allowed or area_of(request) == "page":
            return self.get_response(request)
        origin = request.headers.get("Origin", "")
        allow_origin = "*" if "*" in allowed else (origin if origin in allowed else "")
        preflight = (
            request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        )
        if preflight and allow_origin and origin:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = CORS_METHODS
            response["Access-Control-Allow-Headers"] = CORS_HEADERS
            response["Access-Control-Max-Age"] = CORS_MAX_AGE
        else:
            response = self.get_response(request)
            if allow_origin and origin:
                response["Access-Control-Expose-Headers"] = CORS_EXPOSE
        if allow_origin and origin:
            response["Access-Control-Allow-Origin"] = allow_origin
        if "*" not in allowed:
            # The answer depends on the Origin header: a shared cache must keep them apart.
            patch_vary_headers(response, ["Origin"])
        return response


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _bearer(request: HttpRequest) -> bool:
    """Whether the API's TokenAuth will look at this request's token (and count it)."""
    value = request.META.get("HTTP_AUTHORIZATION", "")
    return value.split(" ")[0].lower() == "bearer"


# Set on the request by wangge.apiauth.TokenAuth once it has counted the call.
COUNTED = "_wangge_rate_counted"


def count_api_address(request: HttpRequest) -> HttpResponse | None:
    """Count an API call without a valid token against its address: the 429 once over
    WANGGE_API_RATE_PER_IP a minute, else None."""
    try:
        ratelimit.hit(
            bucket="api-ip",
            key=ratelimit.client_ip(request),
            limit=settings.WANGGE_API_RATE_PER_IP,
            window_seconds=60,
        )
    except ratelimit.RateLimited as exc:
        return too_many_requests(request, retry_after=exc.retry_after)
    return None


class RequestGuardMiddleware:
    """Size cap, per-address limit for API calls without a valid token, 429s, JSON 404/405 in
    the API."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Checked on the declared length, before a byte is read (multipart files are not
        # covered by DATA_UPLOAD_MAX_MEMORY_SIZE).
        if _content_length(request) > settings.WANGGE_MAX_REQUEST_BYTES:
            return too_large(request)
        if area_of(request) != "api":
            return self.get_response(request)
        # One counter per API call: per token in TokenAuth, per address here otherwise.
        bearer = _bearer(request)
        if not bearer and (refused := self._count_address(request)):
            return refused
        response = self.get_response(request)
        if bearer and not getattr(request, COUNTED, False):
            # A token sent to an operation that takes none (the schema, an unknown path): the
            # work is done, but the call still counts against the address.
            response = self._count_address(request) or response
        if response.status_code in (404, 405) and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return self._json_error(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return _rate_limited(request, exception)

    @staticmethod
    def _count_address(request: HttpRequest) -> HttpResponse | None:
        return count_api_address(request)

    @staticmethod
    def _json_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Django's own 404 (DEBUG) and ninja's empty 405 in the API's error body."""
        if response.status_code == 404:
            return api_error(404, code="not_found", message=_("不存在或不在您的范围内 (not found)"))
        allow = response.get("Allow", "")
        json_response = api_error(
            405,
            code="method_not_allowed",
            message=_(
                "此地址不支持 %(method)s 方法，可用：%(allow)s (method not allowed; use %(allow)s)"
            )
            % {"method": request.method, "allow": allow},
        )
        json_response["Allow"] = allow
        return json_response


def _rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse | None:
    if isinstance(exception, ratelimit.RateLimited):
        return too_many_requests(request, retry_after=exception.retry_after)
    return None


# What a JSON answer needs: it loads nothing and is never framed (the pages' policy, with its
# per-response nonce, is for HTML).
API_CSP = "default-src 'none'; frame-ancestors 'none'"


class _Views(BaseHandler):
    """URL resolution and the view, with no middleware around them (Django's innermost step),
    errors turned into responses as Django does (handler404, handler500), a RateLimited into
    429 as RequestGuardMiddleware does."""

    def __init__(self) -> None:
        super().__init__()
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = [_rate_limited]
        view: Any = self._get_response  # type: ignore[attr-defined]
        self._chain: Any = convert_exception_to_response(view)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self._chain(request)
        return response


class BearerApiMiddleware:
    """An /api/ call that sends a bearer token goes straight to its view: the middlewares after
    this one (sessions, CSRF, the session user, messages, clickjacking, CSP nonces, django-axes)
    serve browser pages and cookie logins (about 0.15 ms of a 2.3 ms intake).

    Why this is safe (docs/decisions/0008-api-middleware.md): the API authenticates with bearer
    tokens only (wangge.apiauth.TokenAuth), never the session cookie, so neither the session, the
    session user nor CSRF (ninja exempts its views; a cookie-less credential cannot be forged
    cross-site) applies; django-axes only watches password logins; API views add no messages.
    The answer still gets X-Frame-Options and a Content-Security-Policy, a fixed strict one.
    Calls without a bearer token (a browser's cookies, the schema page) take the full stack.
    Placed after RequestGuardMiddleware, LocaleMiddleware and CommonMiddleware, which every
    API call still passes (size cap and rate limits, the error messages' language).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.views = _Views()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _bearer(request) or area_of(request) != "api":
            return self.get_response(request)
        # Until TokenAuth sets the token's user: never a session's.
        request.user = AnonymousUser()
        response = self.views(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", API_CSP)
        return response
