"""Rollups of cases for the dashboard: counters kept in the transaction of every case change.

`CaseRollup` holds, per (day received, grid, sub-category, lead department, source), how many of
the cases received that day are now in each state or have each property (closed, rated 满意, …).
A summary for any territory prefix, department and period is a SUM over these rows, never a scan
of the case table. `CaseMark` remembers what each case currently contributes to the rollups, so
that a change is applied as "minus the old contribution, plus the new one" without having to
know what the change was. `CaseRollupMonth` sums the same counters per month and community for
long periods, and `CaseRollupSlice` per month or day and community by category, by source
and in total, for the breakdowns and the trend. `Export` is a file generated in the background
for one person.
See docs/decisions/0004-dashboard-rollups.md.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

# Every per-case 0/1 property that the rollups count, in a fixed order: bit i of CaseMark.flags.
COUNTERS: tuple[str, ...] = (
    "total",  # 累计办件: every case received
    "open",  # 正在办理: status in OPEN_STATUSES
    "closed",  # 办结: status closed
    "rejected",  # 不予受理
    "merged",  # 已合并
    "solved",  # closed with outcome "solved" (解决率 numerator)
    "closed_on_time",  # closed no later than the resolution deadline (按期办结率 numerator)
    "responded",  # signed (签收), the response
    "responded_on_time",  # signed no later than the response deadline (响应率 numerator)
    "dispatched",  # dispatched at least once (退单率 denominator)
    "returned",  # returned (退单) at least once
    "ever_closed",  # closed now or reopened after a closure (重办率 denominator)
    "reopened",  # reopened (重办) at least once
    "rated",  # 已评价
    "satisfied",  # 满意
    "basically_satisfied",  # 基本满意
    "unsatisfied",  # 不满意
)


class Counters(models.Model):
    """The counter columns shared by both grains of rollups (one per name in COUNTERS)."""

    total = models.IntegerField(default=0)
    open = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    merged = models.IntegerField(default=0)
    solved = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    responded = models.IntegerField(default=0)
    responded_on_time = models.IntegerField(default=0)
    dispatched = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)
    ever_closed = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basically_satisfied = models.IntegerField(default=0)
    unsatisfied = models.IntegerField(default=0)

    class Meta:
        abstract = True


class CaseRollup(Counters):
    day = models.DateField(_("受理日期"))
    grid_code = models.CharField(_("网格编码"), max_length=18)
    category_id = models.BigIntegerField(_("分类"))
    # 0 when the case has no lead department (not dispatched, or led by a grid worker): a real
    # value rather than NULL so that the unique key (and INSERT … ON CONFLICT) matches it.
    department_id = models.BigIntegerField(_("主办部门"), default=0)
    source = models.CharField(_("来源"), max_length=16)

    class Meta:
        verbose_name = _("办件统计")
        verbose_name_plural = _("办件统计")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "grid_code", "category_id", "department_id", "source"],
                name="caserollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["grid_code", "day"], name="caserollup_grid_day"),
            models.Index(fields=["department_id", "day"], name="caserollup_department_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.grid_code} {self.category_id} {self.department_id} {self.source}"


class CaseRollupMonth(Counters):
    """The same counters per (month received, community, lead department): what district- and
    street-wide summaries of whole months read, so that their cost does not grow with the
    number of cases. At city scale the day × grid × category × department × source grain has
    about one row per case; this one has at most months × communities × departments rows
    (some thousands a year), whatever the number of cases."""

    month = models.DateField(_("受理月份"))  # the first day of the month
    community_code = models.CharField(_("社区编码"), max_length=12)
    department_id = models.BigIntegerField(_("主办部门"), default=0)

    class Meta:
        verbose_name = _("办件月统计")
        verbose_name_plural = _("办件月统计")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "community_code", "department_id"],
                name="caserollupmonth_key",
            )
        ]
        indexes = [
            models.Index(fields=["community_code", "month"], name="caserollupmonth_unit_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.community_code} {self.department_id}"


class SliceKind(models.TextChoices):
    CATEGORY_YEAR = "category_year", _("按年·社区·分类")
    CATEGORY = "category", _("按月·社区·分类")
    SOURCE = "source", _("按月·社区·来源")
    DAY = "day", _("按日·社区")


class CaseRollupSlice(Counters):
    """The same counters cut narrow ways, for the dashboard's breakdowns and trend: per (year or
    month, community, sub-category), per (month, community, source) and per (day, community).
    Each kind is bounded by time × communities × a small set, whatever the number of cases, so
    the breakdowns by category and by source and the daily trend do not read the day × grid
    rows (about one per case at a city's pace). One table so that a case change adds its four
    rows with one multi-row upsert; the columns a kind does not cut by hold 0 / "".
    See docs/decisions/0004-dashboard-rollups.md."""

    kind = models.CharField(_("切片"), max_length=16, choices=SliceKind.choices)
    start = models.DateField(_("起始日期"))  # the first day of the year, month or the day
    community_code = models.CharField(_("社区编码"), max_length=12)
    category_id = models.BigIntegerField(_("分类"), default=0)
    source = models.CharField(_("来源"), max_length=16, default="")

    class Meta:
        verbose_name = _("办件切片统计")
        verbose_name_plural = _("办件切片统计")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "start", "community_code", "category_id", "source"],
                name="caserollupslice_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.start} {self.community_code} {self.category_id} {self.source}"


class CaseMark(models.Model):
    """What one case currently adds to the rollups: its key and its flags (bits of COUNTERS)."""

    case = models.OneToOneField(
        "cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    grid_code = models.CharField(max_length=18)
    category_id = models.BigIntegerField()
    department_id = models.BigIntegerField(default=0)
    source = models.CharField(max_length=16)
    flags = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("办件统计标记")
        verbose_name_plural = _("办件统计标记")

    def __str__(self) -> str:
        return f"{self.case_id} {self.flags:b}"


class ExportKind(models.TextChoices):
    CASES_XLSX = "cases_xlsx", _("案件台账 Excel")
    MONTHLY_PDF = "monthly_pdf", _("月度报告 PDF")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class Export(models.Model):
    """A file generated in the background for one person (the case ledger, a monthly report),
    with the progress the page polls. Only the person who asked may see or download it."""

    kind = models.CharField(_("类型"), max_length=16, choices=ExportKind.choices)
    requested_by = models.ForeignKey(
        "accounts.User", verbose_name=_("申请人"), on_delete=models.CASCADE, related_name="+"
    )
    params = models.JSONField(_("条件"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_done = models.PositiveIntegerField(_("已完成行数"), default=0)
    file = models.FileField(_("文件"), upload_to="exports/%Y/%m/", blank=True)
    filename = models.CharField(_("文件名"), max_length=200, blank=True)
    error = models.TextField(_("错误"), blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导出")
        verbose_name_plural = _("导出")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_user_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} {self.status}"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return int(self.rows_done * 100 / self.rows_total) if self.rows_total else 0

    @property
    def finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)
