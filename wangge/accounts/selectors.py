"""Reads about people and memberships."""

from typing import Any

from django.db.models import QuerySet

from wangge.accounts.models import Membership


def membership_list(*, user: Any) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("unit", "department__unit")
        .order_by("role", "unit__code")
    )
