"""The working calendar (工作日历): each year's published holiday schedule, kept in the database.

Only exceptions to Monday–Friday are stored: statutory holidays (放假, including the weekend days
inside a holiday period, so that they carry a name) and make-up working days (调休上班). A year
counts as known only when its `CalendarYear` row is published; any other year falls back to
Monday–Friday and the deadline arithmetic says so (DOMAIN.md §4). Writes go through actions.py.
"""

import uuid

from django.db import connection, models
from django.utils.translation import gettext_lazy as _


class ScheduleSource(models.TextChoices):
    CHINESECALENDAR = "chinesecalendar", _("chinesecalendar 软件包")
    ADMIN = "admin", _("管理员录入")


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("放假")
    MAKEUP_WORKDAY = "makeup_workday", _("调休上班")


class CalendarYear(models.Model):
    """One year's schedule as published by the State Council (usually in the November before)."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    published = models.BooleanField(
        _("已发布"),
        default=True,
        help_text=_("未发布的年份按周一至周五计算，期限计算会给出提示"),
    )
    source = models.CharField(
        _("来源"), max_length=20, choices=ScheduleSource.choices, default=ScheduleSource.ADMIN
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("年度节假日安排")
        verbose_name_plural = _("年度节假日安排")

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A date that differs from Monday–Friday, declared by one year's schedule.

    The declaring year is usually the date's year, but a notice may reach into the neighbouring
    December or January (a make-up day on 2011-12-31 for New Year 2012).
    """

    schedule = models.ForeignKey(
        CalendarYear,
        verbose_name=_("所属年度安排"),
        on_delete=models.CASCADE,
        related_name="days",
    )
    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=DayKind.choices)
    name = models.CharField(_("节日名称"), max_length=60, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("节假日/调休日")
        verbose_name_plural = _("节假日/调休日")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name} {self.get_kind_display()}".strip()


class CalendarState(models.Model):
    """One row: a token that changes whenever the calendar changes.

    Each process caches the calendar keyed by this token. A random token rather than a counter,
    so that a rolled-back edit can never reproduce a revision another process has cached.
    """

    revision = models.CharField(max_length=32, default="")

    class Meta:
        verbose_name = _("日历版本")

    def __str__(self) -> str:
        return f"calendar {self.revision}"

    @staticmethod
    def new_revision() -> str:
        return uuid.uuid4().hex

    @classmethod
    def current_revision(cls) -> str:
        # Asked on every deadline computation (case intake): plain SQL, no ORM query building.
        with connection.cursor() as cursor:
            cursor.execute("SELECT revision FROM workcalendar_calendarstate WHERE id = 1")
            row = cursor.fetchone()
        return str(row[0] or "") if row else ""
