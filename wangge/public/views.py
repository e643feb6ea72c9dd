"""Residents' pages (no login): report a problem (随手拍), follow its progress, rate it, and the
public map. Views parse and delegate; what the public may see is decided in present.py."""

import hmac
import json
import uuid
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_cookie

from wangge.cases import selectors as case_selectors
from wangge.cases.models import Case, Category
from wangge.cases.photos import MAX_PER_CASE
from wangge.cases.questions import (
    answer_errors,
    answers_from_form,
    form_answer_errors,
    form_questions,
)
from wangge.core import ratelimit
from wangge.core.errors import Conflict, DomainError
from wangge.core.responses import private
from wangge.public import actions, selectors
from wangge.public.forms import ACTION_FIELDS, LABELS, LookupForm, RateForm, ReportForm
from wangge.public.present import photo_visible, public_case, public_title, status_label
from wangge.public.tokens import FOLLOWER, REPORTER, Access, make_token, read_token

# (requests, seconds) per client address.
REPORT_RATE = (30, 3600)
TRACK_RATE = (10, 600)
NEARBY_RATE = (120, 600)
NEARBY_RADIUS_M = 250


def _limit(request: HttpRequest, bucket: str, rate: tuple[int, int], *, count: bool = True) -> None:
    """Count this request against its address (`count=False`: only refuse once the limit is
    used up)."""
    limit = ratelimit.hit if count else ratelimit.check
    limit(bucket=bucket, key=ratelimit.client_ip(request), limit=rate[0], window_seconds=rate[1])


def track_path(case: Case, role: str = REPORTER) -> str:
    return reverse("public:track", args=[make_token(case_id=case.pk, role=role)])


def _labelled(errors: dict[str, str]) -> list[dict[str, str]]:
    # An extra question's message names the question itself ("请回答“类型”").
    return [
        {"field": field, "label": str(LABELS.get(field, "")), "message": message}
        for field, message in errors.items()
    ]


def _form_errors(form: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    for field, messages_ in form.errors.items():
        key = {"lon": "location", "lat": "location", "__all__": "location"}.get(field, field)
        errors.setdefault(key, str(messages_[0]))
    return errors


# --- 随手拍 -----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    retry_after: int | None = None
    if request.method == "POST":
        form = ReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                _limit(request, "report", REPORT_RATE)
            except ratelimit.RateLimited as exc:
                # Refused, but what was typed stays on the page to send later.
                retry_after = exc.retry_after
                errors["form"] = _(
                    "这个网络提交得太频繁，请 %(minutes)d 分钟后再提交；您填写的内容已保留 "
                    "(too many reports from this network: send again in %(minutes)d minutes)"
                ) % {"minutes": max(1, -(-exc.retry_after // 60))}
        if form.is_valid() and retry_after is None:
            data = form.cleaned_data
            try:
                case = actions.submit_report(
                    category=data["category"],
                    description=data["description"],
                    lon=data.get("lon"),
                    lat=data.get("lat"),
                    address=data["address"],
                    photos=data["photos"],
                    reporter_name=data["name"],
                    reporter_phone=data["phone"],
                    is_anonymous=data["anonymous"],
                    client_key=data["key"],
                    link_for=lambda c: request.build_absolute_uri(track_path(c)),
                    answers=answers_from_form(data["category"], request.POST),
                )
            except DomainError as exc:
                answered = answer_errors(exc)
                for key, message in answered.items():
                    errors[f"answers.{key}"] = message
                if not answered:
                    field = ACTION_FIELDS.get(exc.field or "", exc.field or "")
                    errors[field] = exc.message
            else:
                response = redirect(track_path(case) + "?new=1")
                response.status_code = 303  # see the result with GET, whatever the retry does
                return response
        elif retry_after is None:
            errors = _form_errors(form)
            chosen = form.cleaned_data.get("category")
            if chosen is not None:
                for problem in form_answer_errors(chosen, request.POST):
                    errors.setdefault(problem.field or "answers", problem.message)
        if actions.idempotency_key(str(form["key"].value() or "")) is None:
            # No usable key came back: the corrected form gets one, so its retries are safe.
            data = request.POST.copy()
            data["key"] = str(uuid.uuid4())
            form.data = data
    else:
        form = ReportForm(initial={"key": str(uuid.uuid4())})
    popular, groups = selectors.report_categories()
    center = selectors.district_center()
    selected = str(form["category"].value() or "")
    blocks = form_questions(
        [c for _group, items in groups for c in items],
        selected=selected,
        data=request.POST if request.method == "POST" else None,
        errors={k.removeprefix("answers."): m for k, m in errors.items()},
    )
    context = {
        "form": form,
        "question_blocks": blocks,
        "errors": _labelled(errors),
        "error_fields": set(errors),
        "field_errors": errors,
        "popular": popular[:8],
        "groups": groups,
        "selected": selected,
        "max_photos": MAX_PER_CASE,
        "photos_dropped": bool(errors and request.FILES),
        "center": f"{center[0]},{center[1]}" if center else "",
    }
    if retry_after is not None:
        # Nothing to correct: only when to send again.
        context["notice_only"] = True
        refused = render(request, "public/report.html", context, status=429)
        refused["Retry-After"] = str(retry_after)
        return refused
    return render(request, "public/report.html", context, status=422 if errors else 200)


@require_GET
def nearby(request: HttpRequest) -> JsonResponse:
    """Open cases of the chosen category within 250 m: "是不是这件事？"."""
    _limit(request, "nearby", NEARBY_RATE)
    try:
        category_id = int(request.GET.get("category", ""))
        lon = float(request.GET.get("lon", ""))
        lat = float(request.GET.get("lat", ""))
    except ValueError:
        return JsonResponse(
            {"errors": [{"field": "location", "message": _("请选择类别和位置 (choose both)")}]},
            status=400,
        )
    category = Category.objects.filter(pk=category_id, is_active=True).first()
    if category is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return JsonResponse({"cases": []})
    if category.pk in case_selectors.private_category_ids():
        # A neighbour's dispute is nobody else's business: no "是不是这件事" for these.
        response = JsonResponse({"cases": [], "radius_m": NEARBY_RADIUS_M})
        response["Cache-Control"] = "no-store"
        return response
    found = case_selectors.nearby_open_cases(
        category=category, lon=lon, lat=lat, radius_m=NEARBY_RADIUS_M
    )
    cases = [
        {
            "title": public_title(item.case),
            "category": item.case.category.label,
            "status": status_label(item.case),
            "distance_m": int(round(item.distance_m / 10) * 10),
            "reported": timezone.localdate(item.case.created_at).isoformat(),
            "url": track_path(item.case, FOLLOWER),
        }
        for item in found
    ]
    response = JsonResponse({"cases": cases, "radius_m": NEARBY_RADIUS_M})
    response["Cache-Control"] = "no-store"
    return response


# --- 查询进度 ---------------------------------------------------------------------------------


NOT_FOUND = gettext_lazy(
    "没有找到对应的反映，请核对查询码和手机号后四位 (no match for this code and digits)"
)


def _digits_match(case: Case, digits: str) -> bool:
    phone = "".join(ch for ch in case.reporter_phone if ch.isdigit())
    return len(phone) >= 4 and hmac.compare_digest(phone[-4:], digits)


@never_cache
@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    not_found = False
    if request.method == "POST":
        # Only wrong guesses count (many residents share a mobile network's address), but once
        # they are used up every lookup waits, a right one too.
        _limit(request, "track", TRACK_RATE, count=False)
        form = LookupForm(request.POST)
        if form.is_valid():
            case = case_selectors.tracked_case(tracking_code=form.cleaned_data["code"])
            if case is not None and _digits_match(case, form.cleaned_data["digits"]):
                return redirect(track_path(case))
            _limit(request, "track", TRACK_RATE)
            not_found = True
        else:
            errors = _form_errors(form)
    else:
        form = LookupForm()
    context = {
        "form": form,
        "errors": _labelled(errors),
        "field_errors": errors,
        "not_found": not_found,
        "not_found_message": NOT_FOUND,
    }
    status = 404 if not_found else 422 if errors else 200
    return render(request, "public/lookup.html", context, status=status)


def _access(request: HttpRequest, token: str) -> tuple[Access, Case]:
    access = read_token(token)
    case = case_selectors.tracked_case_by_id(pk=access.case_id) if access else None
    if access is None or case is None:
        # A guessed link counts like a wrong code.
        _limit(request, "track", TRACK_RATE)
        raise Http404("no such tracking link")
    return access, case


def _track_context(request: HttpRequest, token: str, access: Access, case: Case) -> dict[str, Any]:
    view = public_case(case, access=access)
    link = request.build_absolute_uri(reverse("public:track", args=[token]))
    return {
        "view": view,
        "token": token,
        "link": link,
        "new": access.is_reporter and request.GET.get("new") == "1",
        "sms_text": actions.receipt_text(case, link=link) if access.is_reporter else "",
        "has_phone": bool(case.reporter_phone) and access.is_reporter,
        "rate_form": RateForm(initial={"version": case.version}),
        "errors": [],
        "field_errors": {},
    }


def _private(response: HttpResponse) -> HttpResponse:
    private(response)
    # The link is the key: the site-wide Referrer-Policy (same-origin) keeps it from other
    # sites; no-referrer would make Chromium send "Origin: null" and fail the CSRF check.
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def track(request: HttpRequest, token: str) -> HttpResponse:
    access, case = _access(request, token)
    return _private(
        render(request, "public/track.html", _track_context(request, token, access, case))
    )


@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    access, case = _access(request, token)
    if request.method == "GET":
        # The address an error page was shown at, reloaded or opened in another language.
        return redirect("public:track", token=token)
    if not access.is_reporter:
        raise Http404("only the reporter rates")
    form = RateForm(request.POST)
    errors: dict[str, str] = {}
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            rated = actions.rate_as_reporter(
                case_id=case.pk,
                solved=data["solved"],
                rating=data["rating"],
                note=data["note"],
                expected_version=data.get("version"),
            )
        except DomainError as exc:
            errors[exc.field if exc.field in LABELS else "action"] = exc.message
            status = 409 if isinstance(exc, Conflict) else 422
        else:
            if rated.is_open:
                messages.success(request, _("已收到您的评价，问题已重新交给办理单位处理。"))
            else:
                messages.success(request, _("感谢您的评价！"))
            response = redirect("public:track", token=token)
            response.status_code = 303
            return response
    else:
        errors = _form_errors(form)
    context = _track_context(
        request, token, access, case_selectors.tracked_case_by_id(pk=case.pk) or case
    )
    context.update({"rate_form": form, "errors": _labelled(errors), "field_errors": errors})
    return _private(render(request, "public/track.html", context, status=status))


@require_GET
def photo(request: HttpRequest, token: str, pk: int, size: str) -> FileResponse:
    """A public photo of the case this link is for (or of the case it was merged into)."""
    if size not in ("full", "thumb"):
        raise Http404("photo not found")
    access, case = _access(request, token)
    case_ids = [case.pk] + ([case.master_id] if case.master_id else [])
    row = case_selectors.public_photo_get(case_ids=case_ids, pk=pk)
    if not photo_visible(row, case=case, access=access):
        raise Http404("photo not found")
    file = row.image if size == "full" else row.thumbnail
    response = FileResponse(file.open("rb"), content_type="image/jpeg" if size == "thumb" else None)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- 公开地图 ---------------------------------------------------------------------------------


@require_GET
def public_map(request: HttpRequest) -> HttpResponse:
    center = selectors.district_center()
    return render(
        request,
        "public/map.html",
        {
            "classes": selectors.map_classes(),
            "center": f"{center[0]},{center[1]}" if center else "",
            "closed_days": selectors.MAP_CLOSED_DAYS,
        },
    )


@require_GET
@cache_control(public=True, max_age=60)
# Its words follow the language, which may come from the language cookie: a cache keeps one
# copy per cookie, not the other language's for a minute.
@vary_on_cookie
def map_geojson(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "").strip()
    if category and not category.replace("_", "").isalnum():
        category = ""
    data = selectors.map_features(category=category[:40])
    return HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        content_type="application/geo+json",
    )


@require_GET
@cache_control(public=True, max_age=3600)
def streets_geojson(request: HttpRequest) -> HttpResponse:
    return HttpResponse(selectors.street_outlines(), content_type="application/geo+json")
