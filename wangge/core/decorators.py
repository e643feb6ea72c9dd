"""Views that a form posts to."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

View = Callable[..., HttpResponse]


def _page_before(request: HttpRequest) -> str:
    """The page the form was on (the Referer, on this site, not the sign-in page), or home."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        path = parts.path
        # Not the sign-in page, not this URL (a page rendered at its own POST address would
        # redirect to itself forever), and a path, not "//host/…" (another site).
        if (
            path.startswith("/")
            and not path.startswith(("//", "/\\"))
            and path not in (resolve_url("accounts:login"), request.path)
        ):
            return path + (f"?{parts.query}" if parts.query else "")
    return resolve_url("core:home")


def form_target(back: Callable[..., str] | None = None) -> Callable[[View], View]:
    """A signed-in person's POST-only view (`login_required` + `require_POST`), except where
    those two fail people: signed out meanwhile (an expired session), the sign-in page sends
    them back to the page the form was on — `back(request, *args, **kwargs)`, or the Referer —
    not to this URL, which a browser can only GET afterwards (an empty 405 page); and a GET
    here (a reload, a bookmark) goes to that page too."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and request.method == "POST":
                return view(request, *args, **kwargs)
            target = back(request, *args, **kwargs) if back else _page_before(request)
            if not request.user.is_authenticated:
                if request.method == "POST":
                    session_expired(request)
                return redirect_to_login(target)
            return redirect(target)

        return wrapped

    return decorate


def session_expired(request: HttpRequest) -> None:
    """Tell a person whose form arrived signed out that it was not saved (the sign-in page
    shows it), instead of a sign-in page that says nothing and a form that comes back empty."""
    messages.warning(
        request,
        _(
            "登录已过期，刚才提交的内容没有保存。请登录后重新填写提交 "
            "(your session expired: what you sent was not saved; sign in and send it again)"
        ),
    )


def login_required_telling(view: View) -> View:
    """`login_required` for a page with a form: a POST that arrives signed out is told that
    nothing was saved (see `session_expired`) on its way to the sign-in page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.method == "POST":
            session_expired(request)
        return redirect_to_login(request.get_full_path())

    return wrapped
