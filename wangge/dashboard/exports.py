"""The files behind the export buttons: the case ledger (Excel) and the monthly report (PDF).

Both read through the requester's scope (`cases.selectors.case_list`, `dashboard.selectors`).
The ledger streams rows into an openpyxl write-only workbook in keyset batches, so memory stays
flat whatever the number of cases; the report is HTML with server-drawn SVG charts, printed by
WeasyPrint with a CJK font.
"""

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from wangge.accounts.models import User
from wangge.cases.models import OPEN_STATUSES, Category, Priority, Rating, Source, Status
from wangge.cases.selectors import CaseFilters, case_list
from wangge.core.validators import mask_mobile
from wangge.dashboard import selectors
from wangge.territory.models import Department, OrgUnit

BATCH = 2000
LEDGER_FIELDS = (
    "pk",
    "tracking_code",
    "title",
    "status",
    "category_id",
    "source",
    "priority",
    "grid_code",
    "address",
    "reporter_name",
    "reporter_phone",
    "lead_department_id",
    "created_at",
    "accepted_at",
    "dispatched_at",
    "signed_at",
    "closed_at",
    "resolution_due_at",
    "due_soon_at",
    "paused_at",
    "outcome",
    "rating",
    "lead_worker_id",
)


def ledger_headers() -> list[str]:
    return [
        _("查询码"),
        _("标题"),
        _("状态"),
        _("大类"),
        _("小类"),
        _("来源"),
        _("紧急程度"),
        _("街道"),
        _("社区"),
        _("网格"),
        _("地址"),
        _("联系人"),
        _("联系电话"),
        _("主办"),
        _("上报时间"),
        _("受理时间"),
        _("分拨时间"),
        _("签收时间"),
        _("办结时间"),
        _("办结时限"),
        _("时限状态"),
        _("办理结果"),
        _("评价"),
    ]


def ledger_queryset(*, user: Any, params: dict[str, Any]) -> Any:
    filters = CaseFilters.from_params(params)
    return filters.apply(case_list(user=user), user=user)


def _batches(qs: Any) -> Iterator[list[tuple[Any, ...]]]:
    """The rows newest first, BATCH at a time, by keyset (never OFFSET, never all at once)."""
    last: tuple[datetime, int] | None = None
    while True:
        page = qs.order_by("-created_at", "-id")
        if last is not None:
            page = page.filter(Q(created_at__lt=last[0]) | Q(created_at=last[0], pk__lt=last[1]))
        rows = list(page.values_list(*LEDGER_FIELDS)[:BATCH])
        if not rows:
            return
        yield rows
        last = (rows[-1][12], rows[-1][0])
        if len(rows) < BATCH:
            return


class _Names:
    """Labels of the ids and codes in the rows, loaded as they first appear."""

    def __init__(self) -> None:
        self.categories = {
            c.pk: (c.parent.label if c.parent else c.label, c.label)
            for c in Category.objects.select_related("parent")
        }
        self.departments: dict[int, str] = {}
        self.workers: dict[int, str] = {}
        self.units: dict[str, str] = {}

    def load(self, rows: list[tuple[Any, ...]]) -> None:
        departments = {r[11] for r in rows if r[11] and r[11] not in self.departments}
        if departments:
            self.departments.update(
                Department.objects.filter(pk__in=departments).values_list("pk", "name")
            )
        workers = {r[22] for r in rows if r[22] and r[22] not in self.workers}
        if workers:
            self.workers.update(
                (pk, display_name or username)
                for pk, display_name, username in User.objects.filter(pk__in=workers).values_list(
                    "pk", "display_name", "username"
                )
            )
        codes: set[str] = set()
        for r in rows:
            grid = r[7]
            codes.update(c for c in (grid[:9], grid[:12], grid) if c not in self.units)
        if codes:
            self.units.update(OrgUnit.objects.filter(code__in=codes).values_list("code", "name"))
            self.units.update({c: c for c in codes if c not in self.units})


def _local(value: datetime | None) -> datetime | None:
    # Excel has no time zones: local wall-clock time, without tzinfo.
    return timezone.localtime(value).replace(tzinfo=None) if value else None


# Deadline states of the ledger, translated once per export (gettext_noop marks them).
ON_TIME, LATE, OVERDUE, DUE_SOON, NORMAL = (
    gettext_noop("按期办结"),
    gettext_noop("超期办结"),
    gettext_noop("已超时"),
    gettext_noop("即将超时"),
    gettext_noop("正常"),
)


def _deadline_state(row: tuple[Any, ...], now: datetime) -> str:
    status, closed, due, soon, paused = row[3], row[16], row[17], row[18], row[19]
    if status == Status.CLOSED:
        return ON_TIME if closed and closed <= due else LATE
    if status not in OPEN_STATUSES:
        return ""
    at = paused or now
    if due < at:
        return OVERDUE
    if soon <= at:
        return DUE_SOON
    return NORMAL


@dataclass(frozen=True)
class _Labels:
    """The Chinese (or English) labels of the coded columns, translated once per export."""

    statuses: dict[str, str]
    sources: dict[str, str]
    priorities: dict[str, str]
    ratings: dict[str, str]
    outcomes: dict[str, str]

    @classmethod
    def now(cls) -> "_Labels":
        def plain(choices: Any) -> dict[str, str]:
            return {k: str(v) for k, v in choices}

        return cls(
            plain(Status.choices),
            plain(Source.choices),
            plain(Priority.choices),
            plain(Rating.choices),
            {"solved": _("已解决"), "explained": _("已解释说明"), "unsolvable": _("暂无法解决")},
        )


def ledger_row(
    row: tuple[Any, ...], names: _Names, now: datetime, labels: _Labels | None = None
) -> list[Any]:
    labels = labels or _Labels.now()
    parent, child = names.categories.get(row[4], ("", ""))
    grid = row[7]
    return [
        row[1],
        row[2],
        labels.statuses.get(row[3], row[3]),
        parent,
        child,
        labels.sources.get(row[5], row[5]),
        labels.priorities.get(row[6], row[6]),
        names.units.get(grid[:9], ""),
        names.units.get(grid[:12], ""),
        names.units.get(grid, grid),
        row[8],
        row[9],
        mask_mobile(row[10]),  # PIPL: the ledger never carries a full phone number
        _lead(row, names),
        _local(row[12]),
        _local(row[13]),
        _local(row[14]),
        _local(row[15]),
        _local(row[16]),
        _local(row[17]),
        _deadline_state(row, now),
        labels.outcomes.get(row[20], ""),
        labels.ratings.get(row[21], "") if row[21] else "",
    ]


def _lead(row: tuple[Any, ...], names: _Names) -> str:
    """The lead: a department by name, or a grid worker by name and role (as the case shows)."""
    if row[11]:
        return names.departments.get(row[11], "")
    if row[22]:
        return _("%(name)s（网格员）") % {"name": names.workers.get(row[22], "")}
    return ""


def write_ledger(*, qs: Any, path: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write the cases of `qs` to an .xlsx file at `path`; returns the number of rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("案件台账"))
    widths = [12, 36, 10, 10, 14, 12, 8, 14, 16, 18, 30, 10, 14, 22] + [18] * 6 + [10, 12, 10]
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in ledger_headers():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    names = _Names()
    labels = _Labels.now()
    states = {key: _(key) for key in (ON_TIME, LATE, OVERDUE, DUE_SOON, NORMAL)}
    now = timezone.now()
    done = 0
    for rows in _batches(qs):
        names.load(rows)
        for r in rows:
            line = ledger_row(r, names, now, labels)
            line[20] = states.get(line[20], line[20])
            sheet.append(line)
        done += len(rows)
        if progress is not None:
            progress(done)
    workbook.save(str(path))
    return done


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


# --- the monthly report -----------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    first: date

    @property
    def last(self) -> date:
        return self.first.replace(day=calendar.monthrange(self.first.year, self.first.month)[1])

    @classmethod
    def parse(cls, raw: str) -> "Month":
        from wangge.core.errors import DomainError

        try:
            year, month = (int(p) for p in raw.split("-"))
            return cls(date(year, month, 1))
        except (ValueError, TypeError):
            raise DomainError(
                _("月份格式应为 2026-05 (month must be YYYY-MM)"), field="month"
            ) from None


def _svg_bars(
    values: list[tuple[str, int, int]],
    *,
    width: int = 680,
    height: int = 200,
    labels_every: int = 1,
) -> str:
    """Received (and closed) per day as an SVG column chart."""
    top = max([v for _l, v, _c in values] + [1])
    n = max(len(values), 1)
    left, bottom, inner_h = 34, 22, height - 34
    step = (width - left - 6) / n
    bar = max(step * 0.38, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart">'
    ]
    for k in range(5):
        y = height - bottom - inner_h * k / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="9">'
            f"{round(top * k / 4)}</text>"
        )
    for i, (label, received, closed) in enumerate(values):
        x = left + i * step
        h1 = inner_h * received / top
        h2 = inner_h * closed / top
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{height - bottom - h1:.1f}" width="{bar:.1f}" '
            f'height="{h1:.1f}" fill="#2a6ebb"/>'
            f'<rect x="{x + 1 + bar:.1f}" y="{height - bottom - h2:.1f}" width="{bar:.1f}" '
            f'height="{h2:.1f}" fill="#7fbf7b"/>'
        )
        if i % labels_every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                f'font-size="9">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _text_width(text: str, size: float = 11) -> float:
    """About how wide `text` is drawn at `size` px: a CJK character is square, Latin narrower."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _fit_label(text: str, room: float, size: float = 11) -> str:
    """`text` cut from its start (the sub-category at its end stays) to fit `room` px."""
    if _text_width(text, size) <= room:
        return text
    while text and _text_width("…" + text, size) > room:
        text = text[1:]
    return "…" + text


def _svg_hbars(values: list[tuple[str, int]], *, width: int = 680, row: int = 22) -> str:
    """A horizontal bar per label (top categories), the count at the end of each bar. The label
    column is as wide as the longest label (English ones are longer), at most half the chart;
    a label longer than that loses its start, not its end."""
    top = max([v for _l, v in values] + [1])
    height = row * max(len(values), 1) + 6
    longest = max([_text_width(label) for label, _v in values] + [0])
    label_w = int(min(max(190, longest + 12), width / 2))
    values = [(_fit_label(label, label_w - 6), v) for label, v in values]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart">'
    ]
    for i, (label, value) in enumerate(values):
        y = 3 + i * row
        w = (width - label_w - 60) * value / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row * 0.65:.1f}" text-anchor="end" font-size="11">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="#e07b39"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + row * 0.65:.1f}" font-size="11">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def report_context(
    *, user: Any, month: Month, scope_code: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    now = now or timezone.now()
    root = selectors.root_unit(user=user, scope_code=scope_code)
    period = selectors.Period(scope_code or "", None, month.first, month.last)
    length = selectors.child_length(root)
    clock, base = selectors.shared_reads(user=user, period=period, length=length, now=now)
    head = selectors.summary(
        user=user,
        scope_code=scope_code,
        date_from=month.first,
        date_to=month.last,
        now=now,
        base=base,
        clock=clock,
    )
    units = selectors.by_unit(
        user=user, period=period, length=length, now=now, base=base, clock=clock
    )
    departments = selectors.by_department(user=user, period=period, now=now, base=base, clock=clock)
    categories = selectors.by_category(user=user, period=period, now=now, clock=clock)
    subcategories = _top_subcategories(user=user, period=period)
    days = selectors.trend(user=user, period=period, unit="day", now=now)
    rate_rows = [
        (_("响应率"), _pct(head["rates"]["response"])),
        (_("解决率"), _pct(head["rates"]["resolution"])),
        (_("满意率"), _pct(head["rates"]["satisfaction"])),
        (_("按期办结率"), _pct(head["rates"]["on_time"])),
        (_("退单率"), _pct(head["rates"]["return"])),
        (_("重办率"), _pct(head["rates"]["reopen"])),
        (
            _("综合得分"),
            "—"
            if head["rates"]["composite"] is None
            else f"{head['rates']['composite'] * 100:.1f}",
        ),
    ]
    return {
        "title": _("%(unit)s %(year)d年%(month)d月 办件月报")
        % {
            "unit": selectors.owner_name(user, root),
            "year": month.first.year,
            "month": month.first.month,
        },
        "month": month,
        "generated_at": timezone.localtime(now),
        "counters": head["counters"],
        "rates": rate_rows,
        "units": [r.as_dict() for r in units],
        "departments": [r.as_dict() for r in departments[:15]],
        "categories": [r.as_dict() for r in categories],
        "rankings": {
            "departments": selectors.rankings(departments),
            "units": selectors.rankings(units),
        },
        "trend_svg": _svg_bars(
            [(d["day"][8:], d["total"], d["closed"]) for d in days], labels_every=2
        ),
        "categories_svg": _svg_hbars([(label, n) for label, n in subcategories[:10]]),
        "top_subcategories": subcategories[:10],
    }


def _top_subcategories(*, user: Any, period: Any) -> list[tuple[str, int]]:
    from django.db.models import Sum

    rows = (
        selectors.rollups(user=user, period=period)
        .order_by()
        .values("category_id")
        .annotate(n=Sum("total"))
        .order_by("-n")[:10]
    )
    names = {
        c.pk: str(c)
        for c in Category.objects.select_related("parent").filter(
            pk__in=[r["category_id"] for r in rows]
        )
    }
    return [(names.get(r["category_id"], str(r["category_id"])), int(r["n"] or 0)) for r in rows]


def render_report(context: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    html = render_to_string("dashboard/report.html", context)
    return bytes(HTML(string=html).write_pdf())
