from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["unit", "department"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "display_name", "masked_mobile", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "mobile"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("网格信息"), {"fields": ("display_name", "mobile", "public_phone")}),
    )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "unit", "department", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__display_name", "unit__code", "unit__name"]
    raw_id_fields = ["user", "unit", "department"]
