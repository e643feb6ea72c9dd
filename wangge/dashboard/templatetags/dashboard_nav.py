"""`{% dashboard_link %}`: the top bar's link to the command centre, for those who may see it."""

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from wangge.dashboard.selectors import may_view

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard_link(context: Any) -> SafeString | str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not may_view(user):
        return ""
    current = ' aria-current="page"' if request.path.startswith("/dashboard/") else ""
    return format_html(
        '<a href="{}"{}>{}</a>', reverse("dashboard:index"), SafeString(current), _("指挥中心")
    )
