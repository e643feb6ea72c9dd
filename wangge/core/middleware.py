"""The site's outer guards: CORS for the machine interfaces, the request-size cap, rate limits.

CorsMiddleware answers browsers for /api/ and /open311/ only, and only for the origins listed in
WANGGE_CORS_ALLOWED_ORIGINS. RequestGuardMiddleware refuses bodies over WANGGE_MAX_REQUEST_BYTES
before anything reads them, counts /api/ calls without a valid token per client address, turns
a RateLimited raised by any view into 429 + Retry-After, and gives the API JSON 404s and 405s.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

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


# Set on the request by wangge.api.TokenAuth once it has counted the call.
COUNTED = "_wangge_rate_counted"


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
        if isinstance(exception, ratelimit.RateLimited):
            return too_many_requests(request, retry_after=exception.retry_after)
        return None

    @staticmethod
    def _count_address(request: HttpRequest) -> HttpResponse | None:
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

    @staticmethod
    def _json_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Django's own 404 (DEBUG) and ninja's empty 405 in the API's error body."""
        if response.status_code == 404:
            return api_error(404, code="not_found", message="不存在或不在您的范围内 (not found)")
        allow = response.get("Allow", "")
        json_response = api_error(
            405,
            code="method_not_allowed",
            message=f"此地址不支持 {request.method} 方法 (method not allowed; use {allow})",
        )
        json_response["Allow"] = allow
        return json_response
