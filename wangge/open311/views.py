"""Open311 GeoReport v2 endpoints under /open311/v2/, each in .json and .xml.

Views parse, check the key, the rate limit and the jurisdiction, then call a selector or
action; every refusal is answered in the spec's error format: 400 bad input (naming the
parameter), 403 missing or invalid api_key, 404 unknown resource or jurisdiction, 429 too many
requests (with Retry-After).
"""

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from wangge.core import ratelimit
from wangge.core.errors import DomainError, PermissionDenied
from wangge.open311 import actions, params, render, selectors
from wangge.open311.models import Open311ApiKey

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this API last changed (discovery's changeset).
CHANGESET = "2026-11-23T00:00:00+08:00"
ANONYMOUS_BUCKET = "open311-ip"
KEY_BUCKET = "open311"

View = Callable[..., HttpResponse]


def _param(request: HttpRequest, name: str) -> str:
    value = request.POST.get(name) if request.method == "POST" else None
    if value is None:
        value = request.GET.get(name)
    return (value or "").strip()


def _anonymous_limit(request: HttpRequest) -> None:
    ratelimit.hit(
        bucket=ANONYMOUS_BUCKET,
        key=ratelimit.client_ip(request) or "unknown",
        limit=settings.WANGGE_OPEN311_ANONYMOUS_PER_MINUTE,
        window_seconds=60,
    )


def _authenticate(request: HttpRequest) -> Open311ApiKey | None:
    """The key sent as api_key (form or query string), counted against its own limit; without
    one the caller's address is counted. A key that is sent must be valid."""
    raw = _param(request, "api_key")
    if not raw:
        _anonymous_limit(request)
        return None
    key = selectors.key_for(raw)
    if key is None:
        _anonymous_limit(request)
        raise PermissionDenied(
            _("api_key 无效或已停用，请向系统管理员申请 (invalid api_key)"), field="api_key"
        )
    ratelimit.hit(
        bucket=KEY_BUCKET, key=str(key.pk), limit=key.rate_limit_per_minute, window_seconds=60
    )
    actions.note_key_used(key=key)
    return key


def _check_text(request: HttpRequest) -> None:
    """A NUL character can be stored nowhere (PostgreSQL refuses it): name the parameter."""
    for query in (request.GET, request.POST if request.method == "POST" else {}):
        for name, values in query.lists() if hasattr(query, "lists") else ():
            if "\x00" in name or any("\x00" in value for value in values):
                raise DomainError(
                    _("参数中不能含有 NUL 字符 (NUL characters are not allowed)"),
                    field=name.replace("\x00", ""),
                )


def _describe(error: DomainError) -> str:
    return f"{error.field}: {error.message}" if error.field else error.message


def endpoint(*methods: str) -> Callable[[View], View]:
    """Wrap an Open311 view: method check, key, rate limit, jurisdiction, error format."""
    allowed = methods or ("GET",)

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                return render.errors_response(
                    fmt,
                    405,
                    [_("不支持 %(method)s 方法 (method not allowed)") % {"method": request.method}],
                    headers={"Allow": ", ".join(allowed)},
                )
            try:
                _check_text(request)
                key = _authenticate(request)
                selectors.check_jurisdiction(_param(request, "jurisdiction_id"))
                return view(request, fmt=fmt, key=key, **kwargs)
            except ratelimit.RateLimited as exc:
                return render.errors_response(
                    fmt,
                    429,
                    [
                        _("请求过于频繁，请 %(s)d 秒后重试 (too many requests)")
                        % {"s": exc.retry_after}
                    ],
                    headers={"Retry-After": str(exc.retry_after)},
                )
            except DomainError as exc:
                status = exc.http_status if exc.http_status in (403, 404) else 400
                errors = getattr(exc, "errors", None) or [exc]
                return render.errors_response(fmt, status, [_describe(e) for e in errors])

        return wrapper

    return decorate


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("open311:index"))


def _media_base(request: HttpRequest) -> str:
    return _base_url(request) + "media/"


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("open311:discovery", kwargs={"fmt": "json"}))


@endpoint()
def discovery(request: HttpRequest, *, fmt: str, key: Open311ApiKey | None) -> HttpResponse:
    data = {
        "changeset": CHANGESET,
        "contact": settings.WANGGE_OPEN311_CONTACT or _("请联系本区城市运行指挥中心"),
        "key_service": _("API 密钥由系统管理员在“系统配置 → Open311 密钥”中签发"),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": _base_url(request).rstrip("/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render.respond(fmt, "discovery", data)


@endpoint()
def service_list(request: HttpRequest, *, fmt: str, key: Open311ApiKey | None) -> HttpResponse:
    return render.respond(fmt, "services", [render.service_out(c) for c in selectors.services()])


@endpoint()
def service_definition(
    request: HttpRequest, *, fmt: str, key: Open311ApiKey | None, code: str
) -> HttpResponse:
    category = selectors.service_get(code)
    return render.respond(fmt, "service_definition", render.definition_out(category))


@endpoint("GET", "POST")
def requests(request: HttpRequest, *, fmt: str, key: Open311ApiKey | None) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt=fmt, key=key)
    filters = params.parse_filters(request.GET, now=timezone.now())
    cases = selectors.request_list(
        key=key,
        ids=filters.ids,
        service_codes=filters.service_codes,
        start=filters.start,
        end=filters.end,
        statuses=filters.statuses,
    )
    notes = _param(request, "extensions").lower() == "true"
    media = _media_base(request)
    data = [render.request_out(c, media_base=media, notes=notes) for c in cases]
    return render.respond(fmt, "service_requests", data)


def _post_request(request: HttpRequest, *, fmt: str, key: Open311ApiKey | None) -> HttpResponse:
    if key is None:
        raise PermissionDenied(
            _("提交诉求需要 api_key，请向系统管理员申请 (api_key is required)"), field="api_key"
        )
    new = params.parse_new_request(request.POST)
    category = selectors.service_get(new.service_code)
    case = actions.file_request(key=key, request=new, category=category)
    notice = _("已受理登记，查询码 %(code)s；%(limits)s") % {
        "code": case.tracking_code,
        "limits": render.limits_text(case),
    }
    data = [
        {
            "service_request_id": str(case.pk),
            "service_notice": notice,
            "account_id": new.account_id or None,
        }
    ]
    return render.respond(fmt, "service_requests", data)


@endpoint()
def request_detail(
    request: HttpRequest, *, fmt: str, key: Open311ApiKey | None, pk: str
) -> HttpResponse:
    case = selectors.request_get(key=key, pk=int(pk))
    notes = _param(request, "extensions").lower() == "true"
    data = [render.request_out(case, media_base=_media_base(request), notes=notes)]
    return render.respond(fmt, "service_requests", data)


@endpoint()
def token(request: HttpRequest, *, fmt: str, key: Open311ApiKey | None, token: str) -> HttpResponse:
    pk = selectors.request_id_for_token(token)
    return render.respond(
        fmt, "service_requests", [{"service_request_id": str(pk), "token": token}]
    )


@endpoint()
def service_request_updates(
    request: HttpRequest, *, fmt: str, key: Open311ApiKey | None
) -> HttpResponse:
    start, end = params.parse_range(request.GET, now=timezone.now())
    media = _media_base(request)
    events = selectors.updates(key=key, start=start, end=end)
    data = [render.update_out(e, media_base=media) for e in events]
    return render.respond(fmt, "service_requests_updates", data)


def media(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A public photo of a public request (what media_url points at)."""
    try:
        _anonymous_limit(request)
    except ratelimit.RateLimited as exc:
        return HttpResponse(
            status=429, headers={"Retry-After": str(exc.retry_after)}, content_type="text/plain"
        )
    photo = selectors.public_photo(pk=pk)
    response = FileResponse(photo.image.open("rb"))
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    fmt = "json" if rest.endswith(".json") else "xml"
    if not rest.endswith((".json", ".xml")) and "." in rest.rsplit("/", 1)[-1]:
        message = _("只支持 .xml 和 .json 格式 (only .xml and .json are supported)")
    else:
        message = _("没有这个接口：%(path)s (no such resource)") % {"path": rest}
    return render.errors_response(fmt, 404, [message])
