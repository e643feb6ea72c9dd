"""The administrator's form for a year's holiday schedule, typed as lines of dates."""

import re
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from wangge.core.errors import DomainError
from wangge.workcalendar.actions import check_year_schedule
from wangge.workcalendar.models import CalendarYear, DayKind

# "2027-01-01 元旦", "2027-01-01..2027-01-03 元旦" (also "~", "～", "至", "—" between the dates).
_LINE = re.compile(
    r"^(?P<first>\d{4}-\d{1,2}-\d{1,2})"
    r"(?:\s*(?:\.\.|~|～|至|—|–)\s*(?P<last>\d{4}-\d{1,2}-\d{1,2}))?"
    r"(?:\s+(?P<name>.+))?$"
)
MAX_RANGE_DAYS = 31


def parse_day_lines(text: str) -> list[tuple[date, str]]:
    """One date or date range per line, optionally followed by the holiday's name."""
    days: list[tuple[date, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        try:
            if match is None:
                raise ValueError(line)
            first = _parse_date(match["first"])
            last = _parse_date(match["last"]) if match["last"] else first
        except ValueError:
            raise ValidationError(
                _(
                    "第 %(n)d 行无法识别：“%(line)s”，请写成 2027-01-01 元旦 或 "
                    "2027-01-01..2027-01-03 元旦 (line %(n)d: expected a date or a date range)"
                )
                % {"n": number, "line": line}
            ) from None
        if not 0 <= (last - first).days <= MAX_RANGE_DAYS:
            raise ValidationError(
                _("第 %(n)d 行的日期范围不正确 (line %(n)d: the range is reversed or too long)")
                % {"n": number}
            )
        name = (match["name"] or "").strip()
        day = first
        while day <= last:
            days.append((day, name))
            day += timedelta(days=1)
    return days


def _parse_date(text: str) -> date:
    year, month, day = (int(part) for part in text.split("-"))
    return date(year, month, day)


def format_day_lines(days: list[tuple[date, str]]) -> str:
    """The inverse of parse_day_lines, merging consecutive days of the same name into ranges."""
    lines: list[str] = []
    run: list[tuple[date, str]] = []
    for day, name in [*sorted(days), (date.max, "\0")]:
        if run and (name != run[-1][1] or day - run[-1][0] != timedelta(days=1)):
            first, last = run[0][0], run[-1][0]
            span = first.isoformat() if first == last else f"{first}..{last}"
            lines.append(f"{span} {run[0][1]}".strip())
            run = []
        run.append((day, name))
    return "\n".join(lines)


class CalendarYearForm(forms.ModelForm):
    holidays_text = forms.CharField(
        label=_("放假日期"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "每行一个日期或日期范围，后接节日名称，例如 2027-01-01..2027-01-03 元旦；"
            "包括放假期间的周六、周日"
        ),
    )
    makeup_text = forms.CharField(
        label=_("调休上班日期"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("每行一个周六或周日，后接对应节日，例如 2027-02-07 春节"),
    )

    class Meta:
        model = CalendarYear
        fields = ["year", "published", "note"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            days = list(self.instance.days.values_list("date", "kind", "name"))
            self.fields["holidays_text"].initial = format_day_lines(
                [(d, n) for d, k, n in days if k == DayKind.HOLIDAY]
            )
            self.fields["makeup_text"].initial = format_day_lines(
                [(d, n) for d, k, n in days if k == DayKind.MAKEUP_WORKDAY]
            )
        self.schedule: Any = None

    def clean_holidays_text(self) -> list[tuple[date, str]]:
        return parse_day_lines(self.cleaned_data.get("holidays_text") or "")

    def clean_makeup_text(self) -> list[tuple[date, str]]:
        return parse_day_lines(self.cleaned_data.get("makeup_text") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        year = data.get("year") or self.instance.year
        if year is None or self.errors:
            return data
        try:
            self.schedule = check_year_schedule(
                year=year,
                holidays=data.get("holidays_text", []),
                makeup_workdays=data.get("makeup_text", []),
                published=bool(data.get("published")),
            )
        except DomainError as exc:
            target = {"holidays": "holidays_text", "makeup_workdays": "makeup_text"}.get(
                exc.field or "", exc.field
            )
            self.add_error(target if target in self.fields else None, exc.message)
        return data
