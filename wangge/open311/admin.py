"""Open311 keys are issued and edited here; saving goes through the actions, and a new key's
secret is shown once, in the confirmation message."""

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from wangge.open311 import actions
from wangge.open311.models import Open311ApiKey


@admin.register(Open311ApiKey)
class Open311ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "user",
        "source",
        "rate_limit_per_minute",
        "is_active",
        "created_at",
        "last_used_at",
    ]
    list_filter = ["is_active", "source"]
    search_fields = ["name", "prefix"]
    fields = [
        "name",
        "user",
        "source",
        "rate_limit_per_minute",
        "is_active",
        "prefix",
        "created_at",
        "last_used_at",
    ]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    raw_id_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: Open311ApiKey, form: Any, change: bool) -> None:
        data = form.cleaned_data
        values = {
            "name": data["name"],
            "user": data["user"],
            "source": data["source"],
            "rate_limit_per_minute": data["rate_limit_per_minute"],
            "is_active": data["is_active"],
        }
        # The form has validated these already (the actions check them again).
        if change:
            actions.update_key(key=obj, **values)
            return
        key, raw = actions.issue_key(**values)
        obj.pk = key.pk
        obj.key_hash, obj.prefix, obj.created_at = key.key_hash, key.prefix, key.created_at
        messages.warning(
            request,
            _("新密钥（只显示这一次，请立即复制保存）：%(key)s") % {"key": raw},
        )
