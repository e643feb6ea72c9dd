"""`{% staff_nav %}`: the top bar's case links and the notification link (its unread badge is
loaded by htmx from notifications:badge, so that no page pays a query for it)."""

from typing import Any

from django import template

from wangge.accounts.models import Role
from wangge.accounts.scope import Scope, scope_of
from wangge.registry.selectors import READ_ROLES as REGISTRY_READ_ROLES

register = template.Library()

STAFF_ROLES = frozenset(Role.values) - {Role.RESIDENT, Role.VOLUNTEER}
FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.BUILDING_HEAD})


def _signed_in_scope(context: Any) -> Scope | None:
    """The scope of the page's signed-in user (None for a visitor)."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return None
    return scope_of(user)


@register.inclusion_tag("cases/_nav.html", takes_context=True)
def staff_nav(context: Any) -> dict[str, Any]:
    scope = _signed_in_scope(context)
    if scope is None or not (scope.is_superuser or scope.roles & STAFF_ROLES):
        return {"show": False}
    path = context["request"].path
    if path.startswith("/cases/todo/"):
        current = "todo"
    elif path.startswith("/cases/report/"):
        current = "report"
    elif path.startswith("/cases/"):
        current = "cases"
    elif path.startswith("/notifications/"):
        current = "notifications"
    elif path.startswith("/registry/"):
        current = "registry"
    else:
        current = ""
    return {
        "show": True,
        "current": current,
        "can_report": scope.is_superuser or bool(scope.roles & FIELD_ROLES),
        "can_registry": scope.is_superuser or bool(scope.roles & REGISTRY_READ_ROLES),
    }


@register.simple_tag(takes_context=True)
def has_territory(context: Any) -> bool:
    """Whether the signed-in user has a territory to browse (residents and volunteers have
    none: their way in is 随手拍 and 查询进度)."""
    scope = _signed_in_scope(context)
    return scope is not None and (scope.is_superuser or bool(scope.territory_codes))
