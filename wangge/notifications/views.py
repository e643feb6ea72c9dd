"""The in-app notification pages: the list, opening one (marks it read), marking all read."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from wangge.core.decorators import form_target
from wangge.notifications import actions, selectors

PAGE_SIZE = 50


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.notification_list(user=request.user)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    before = request.GET.get("before", "")
    if before.isdigit():
        rows = rows.filter(pk__lt=int(before))
    items = list(rows.order_by("-id")[: PAGE_SIZE + 1])
    context: dict[str, Any] = {
        "items": items[:PAGE_SIZE],
        "next_before": items[PAGE_SIZE - 1].pk if len(items) > PAGE_SIZE else None,
        "unread_only": unread_only,
        "unread": selectors.unread_count(user=request.user),
    }
    return render(request, "notifications/list.html", context)


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link; opening it marks it read."""
    item = selectors.notification_list(user=request.user).filter(pk=pk).first()
    if item is None:
        raise Http404("notification not found")
    actions.mark_read(user=request.user, notification_ids=[item.pk])
    if item.url and url_has_allowed_host_and_scheme(
        item.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(item.url)
    return redirect("notifications:list")


@require_GET
def unread_badge(request: HttpRequest) -> HttpResponse:
    """The top bar's unread count, fetched by htmx after the page loads and every minute (so a
    page costs no query for it, and a new dispatch shows without reloading)."""
    if not request.user.is_authenticated:
        # No redirect to the login page: htmx would put that page inside the badge.
        return HttpResponse(status=204)
    response = render(
        request,
        "notifications/_badge.html",
        {"unread": selectors.unread_count(user=request.user)},
    )
    response["Cache-Control"] = "private, no-store"
    return response


@form_target()
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
    actions.mark_read(user=request.user, notification_ids=ids or None)
    return redirect("notifications:list")
