"""Error responses in the format of the part of the site a request is for.

/api/ answers {"errors": [{"field", "code", "message"}]} (the staff API's body), /open311/ answers
GeoReport v2 errors ([{"code", "description"}], XML when the path ends in .xml) and every other
path an HTML page. Messages are in the request's language (decision 0010); `code` is what a
machine reads.
"""

import json
from typing import Any, Literal
from xml.sax.saxutils import escape

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

Area = Literal["api", "open311", "page"]


def area_of(request: HttpRequest) -> Area:
    path = request.path_info
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/open311/"):
        return "open311"
    return "page"


def private[R: HttpResponseBase](response: R) -> R:
    """A response with personal data: never kept by a shared cache or the browser's back
    cache."""
    add_never_cache_headers(response)
    response["Cache-Control"] = "private, no-store"
    return response


def api_error(status: int, *, code: str, message: str, field: str | None = None) -> HttpResponse:
    body = {"errors": [{"field": field, "code": code, "message": message}]}
    return HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def open311_error(request: HttpRequest, status: int, *, description: str) -> HttpResponse:
    if request.path_info.endswith(".xml"):
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f"<errors><error><code>{status}</code>"
            f"<description>{escape(description)}</description></error></errors>"
        )
        return HttpResponse(xml, status=status, content_type="text/xml; charset=utf-8")
    body = [{"code": status, "description": description}]
    return HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def error_response(
    request: HttpRequest,
    status: int,
    *,
    code: str,
    message: str,
    template: str,
    field: str | None = None,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """`status` for this request: the API body, the Open311 body or the HTML `template`."""
    area = area_of(request)
    if area == "api":
        return api_error(status, code=code, message=message, field=field)
    if area == "open311":
        return open311_error(request, status, description=message)
    return render(request, template, context, status=status)


def too_many_requests(request: HttpRequest, *, retry_after: int) -> HttpResponse:
    response = error_response(
        request,
        429,
        code="rate_limited",
        message=_("请求过于频繁，请 %(n)d 秒后再试 (too many requests; retry after %(n)d s)")
        % {"n": retry_after},
        template="429.html",
        context={"retry_after": retry_after},
    )
    response["Retry-After"] = str(retry_after)
    return response


def too_large(request: HttpRequest) -> HttpResponse:
    return error_response(
        request,
        413,
        code="too_large",
        message=_("请求内容过大 (request body too large)"),
        template="413.html",
    )
