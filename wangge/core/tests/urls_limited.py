"""The site's URLs plus views that raise RateLimited, to test how each area answers it."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from wangge import urls as site
from wangge.core.ratelimit import RateLimited


def limited(request: HttpRequest, rest: str = "") -> HttpResponse:
    raise RateLimited(bucket="test", retry_after=42)


handler400 = site.handler400
handler403 = site.handler403
handler404 = site.handler404
handler500 = site.handler500

urlpatterns = [
    path("limited/", limited),
    path("api/limited/", limited),
    path("open311/<path:rest>", limited),
    *site.urlpatterns,
]
