"""The home page (the user's scope at a glance), health check and error pages."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from wangge.accounts.scope import scope_of
from wangge.accounts.selectors import membership_list
from wangge.territory import selectors as territory

HOME_ROOTS = 20


@login_required
def home(request: HttpRequest) -> HttpResponse:
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


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: the page must render even when the database is down.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)
