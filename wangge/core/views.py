"""The home page (the user's scope at a glance), health check and error pages."""

from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wangge.accounts.scope import scope_of
from wangge.accounts.selectors import membership_list
from wangge.core.responses import area_of, error_response, too_large
from wangge.territory import selectors as territory

HOME_ROOTS = 20


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # Residents have no account: their way in is 随手拍 and 查询进度 (wangge.public).
        return render(request, "core/home.html")
    roots = territory.scope_roots(user=request.user)
    context: dict[str, Any] = {
        "memberships": membership_list(user=request.user),
        "summaries": territory.scope_summaries(user=request.user, roots=roots[:HOME_ROOTS]),
        "more_roots": max(0, len(roots) - HOME_ROOTS),
        "scope": scope_of(request.user),
    }
    return render(request, "core/home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return too_large(request)
    return error_response(
        request,
        400,
        code="bad_request",
        message=_("请求无法解析 (bad request)"),
        template="400.html",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request,
        404,
        code="not_found",
        message=_("不存在或不在您的范围内 (not found)"),
        template="404.html",
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request,
        403,
        code="forbidden",
        message=_("无权执行此操作 (permission denied)"),
        template="403.html",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form posted without a valid token (the page stayed open past the
    cookie's life, a phone browser dropped the cookie, cookies are off). The page says what to do;
    the header lets a page's script fetch a fresh token and send again without losing the input."""
    response = error_response(
        request,
        403,
        code="csrf_failed",
        message=_(
            "安全校验失败：页面已过期或浏览器禁用了 Cookie，请刷新页面后重试 "
            "(security check failed: the page expired or cookies are off; reload and try again)"
        ),
        template="403_csrf.html",
    )
    response["X-Wangge-Error"] = "csrf"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    if area_of(request) != "page":
        return error_response(
            request,
            500,
            code="server_error",
            message=_("服务器内部错误，已记录 (internal server error; it has been logged)"),
            template="500.html",
        )
    # No context processors: the page must render even when the database is down.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)
