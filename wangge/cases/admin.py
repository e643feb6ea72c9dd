"""Admin: categories and priority limits are configured here; cases and their timelines are
read-only (they change only through the case actions)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from wangge.cases.models import Case, CaseEvent, Category, PriorityPolicy
from wangge.cases.questions import check_questions
from wangge.core.errors import DomainError


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = [
            "code",
            "name",
            "name_en",
            "parent",
            "icon",
            "default_department_kind",
            "priority",
            "response_limit_hours",
            "resolution_limit",
            "resolution_unit",
            "due_soon_fraction",
            "due_soon_min_hours",
            "questions",
            "is_active",
            "sort_order",
        ]

    def clean_questions(self) -> Any:
        questions = self.cleaned_data.get("questions") or []
        try:
            return check_questions(questions)
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        parent = data.get("parent")
        if parent is not None and parent.parent_id is not None:
            raise ValidationError(
                {"parent": _("只能有两级分类：请选择一个大类作为上级 (two levels only)")}
            )
        fraction = data.get("due_soon_fraction")
        if fraction is not None and not (0 < fraction < 1):
            raise ValidationError(
                {
                    "due_soon_fraction": _(
                        "即将超时比例须在 0 和 1 之间，例如 0.2 (must be between 0 and 1, e.g. 0.2)"
                    )
                }
            )
        return data


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = [
        "name",
        "name_en",
        "code",
        "parent",
        "default_department_kind",
        "priority",
        "response_limit_hours",
        "resolution_limit",
        "resolution_unit",
        "is_active",
        "sort_order",
    ]
    list_filter = ["parent", "priority", "resolution_unit", "is_active"]
    search_fields = ["name", "name_en", "code"]
    list_editable = ["is_active", "sort_order"]


@admin.register(PriorityPolicy)
class PriorityPolicyAdmin(admin.ModelAdmin):
    list_display = ["priority", "response_limit_hours", "resolution_limit_hours"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    fields = ("created_at", "action", "from_status", "to_status", "actor_label", "note")
    readonly_fields = ("created_at", "action", "from_status", "to_status", "actor_label", "note")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = [
        "tracking_code",
        "title",
        "status",
        "category",
        "grid",
        "created_at",
        "resolution_due_at",
    ]
    list_filter = ["status", "source", "priority"]
    search_fields = ["tracking_code", "title"]
    date_hierarchy = "created_at"
    list_select_related = ["category", "grid"]
    inlines = [CaseEventInline]
    exclude = ["reporter_phone"]
