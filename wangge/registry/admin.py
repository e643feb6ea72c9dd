"""Read-only admin views of the registry: writes go through the actions and the pages, and only
masked identifiers are ever shown here (the ciphertext and digest columns are left out)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from wangge.registry.models import (
    AccessAudit,
    Enterprise,
    EnterpriseNeed,
    Household,
    Resident,
    ResidentTag,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TagInline(admin.TabularInline):
    model = ResidentTag
    extra = 0
    fields = readonly_fields = ("group", "disability_level", "subsidy_type", "note")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "sex",
        "id_number_masked",
        "mobile_masked",
        "residence_type",
        "household",
    ]
    list_filter = ["residence_type", "political_status", "tags__group"]
    search_fields = ["name"]
    list_select_related = ["household__unit__building"]
    fields = readonly_fields = (
        "household",
        "name",
        "sex",
        "birth_date",
        "id_number_masked",
        "mobile_masked",
        "ethnicity",
        "political_status",
        "residence_type",
        "relation_to_head",
    )
    inlines = [TagInline]


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "tenure", "floor_area_m2", "last_verified_at"]
    list_select_related = ["unit__building"]
    search_fields = ["building__address", "room"]


@admin.register(Enterprise)
class EnterpriseAdmin(ReadOnlyAdmin):
    list_display = ["name", "credit_code", "contact_name", "contact_mobile_masked", "building"]
    search_fields = ["name", "credit_code"]
    exclude = ["contact_mobile_encrypted", "contact_mobile_digest"]


@admin.register(EnterpriseNeed)
class EnterpriseNeedAdmin(ReadOnlyAdmin):
    list_display = ["title", "enterprise", "status", "created_at"]
    list_filter = ["status"]


@admin.register(AccessAudit)
class AccessAuditAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user_label", "action", "object_label", "fields", "reason"]
    list_filter = ["action"]
    search_fields = ["user_label", "object_label", "reason"]
    date_hierarchy = "created_at"
