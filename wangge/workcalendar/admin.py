"""Admin for the working calendar: an administrator enters next year's schedule here.

Saves and deletes go through the actions, which replace the calendar's revision so every
process picks the change up.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from wangge.workcalendar import actions
from wangge.workcalendar.forms import CalendarYearForm
from wangge.workcalendar.models import CalendarDay, CalendarYear


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    form = CalendarYearForm
    list_display = ["year", "published", "source", "holiday_count", "makeup_count", "updated_at"]
    list_filter = ["published", "source"]
    fields = ["year", "published", "note", "holidays_text", "makeup_text", "source", "day_list"]
    readonly_fields = ["source", "day_list"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return [*self.readonly_fields, "year"]
        return self.readonly_fields

    @admin.display(description=_("放假天数"))
    def holiday_count(self, obj: CalendarYear) -> int:
        return obj.days.filter(kind="holiday").count()

    @admin.display(description=_("调休上班天数"))
    def makeup_count(self, obj: CalendarYear) -> int:
        return obj.days.filter(kind="makeup_workday").count()

    @admin.display(description=_("已保存的日期"))
    def day_list(self, obj: CalendarYear) -> str:
        if not obj.pk:
            return "-"
        return format_html_join(
            "",
            "<div>{} {} {}</div>",
            ((d.date.isoformat(), d.name, d.get_kind_display()) for d in obj.days.all()),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CalendarYear]:
        return super().get_queryset(request).prefetch_related("days")

    def save_model(self, request: HttpRequest, obj: CalendarYear, form: Any, change: bool) -> None:
        schedule = form.schedule
        saved = actions.set_year_schedule(
            year=schedule.year,
            holidays=schedule.holidays,
            makeup_workdays=schedule.makeup_workdays,
            note=form.cleaned_data.get("note", ""),
            published=form.cleaned_data.get("published", False),
        )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # No many-to-many fields or inlines; the action wrote everything.
        return

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # A year's days go with it; they are not deletable one by one, which must not block this.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(str(CalendarDay._meta.verbose_name))
        return deleted, model_count, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: CalendarYear) -> None:
        actions.delete_year_schedule(year=obj.year)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarYear]) -> None:
        for year in list(queryset.values_list("year", flat=True)):
            actions.delete_year_schedule(year=year)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Read-only list of every stored exception; edit a year's schedule instead."""

    list_display = ["date", "weekday", "kind", "name", "schedule"]
    list_filter = ["kind", "schedule__year"]
    search_fields = ["name"]
    date_hierarchy = "date"
    list_select_related = ["schedule"]

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return str(WEEKDAYS_ABBR[obj.date.weekday()])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
