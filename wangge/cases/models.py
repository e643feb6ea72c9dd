"""Cases (事件/诉求/工单), their categories, timeline, photos and approval requests.

The status only changes through wangge.cases.actions, which follows the table in
wangge.cases.workflow; every change writes a CaseEvent in the same transaction.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Least
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from wangge.territory.models import DepartmentKind
from wangge.workcalendar.deadlines import LimitUnit, SlaStatus

__all__ = ["LimitUnit", "SlaStatus"]


class Status(models.TextChoices):
    REPORTED = "reported", _("待受理")
    ACCEPTED = "accepted", _("待分拨")
    DISPATCHED = "dispatched", _("待签收")
    IN_PROGRESS = "in_progress", _("处置中")
    HANDLED = "handled", _("待核查")
    CLOSED = "closed", _("已办结")
    REJECTED = "rejected", _("不予受理")
    MERGED = "merged", _("已合并")
    SUSPENDED = "suspended", _("已挂起")


OPEN_STATUSES = frozenset(
    {
        Status.REPORTED,
        Status.ACCEPTED,
        Status.DISPATCHED,
        Status.IN_PROGRESS,
        Status.HANDLED,
        Status.SUSPENDED,
    }
)
# The same statuses in a fixed order: a query must repeat a partial index's condition exactly
# for the database to use it (case_open_position).
OPEN_STATUS_LIST = sorted(str(s) for s in OPEN_STATUSES)
# Open cases nobody has signed for yet: their response deadline is still running.
UNSIGNED_STATUS_LIST = sorted(str(s) for s in (Status.REPORTED, Status.ACCEPTED, Status.DISPATCHED))


def clock_start() -> Least:
    """When a case's clock first matters to the dashboard: the earlier of "due soon from" and
    the resolution deadline. A case due soon or overdue at `now` has clock_start <= now (or
    <= paused_at, which is in the past), so its counts read only the cases on the clock
    (index case_clock_start), not the whole open backlog."""
    return Least("due_soon_at", "resolution_due_at")


class Priority(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    EMERGENCY = "emergency", _("特急")


class Source(models.TextChoices):
    RESIDENT = "resident", _("群众上报")
    GRID_PATROL = "grid_patrol", _("网格员巡查")
    BUILDING_HEAD = "building_head", _("楼栋长上报")
    HOTLINE = "hotline", _("12345热线")
    INSPECTION = "inspection", _("督查检查")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class Outcome(models.TextChoices):
    SOLVED = "solved", _("已解决")
    EXPLAINED = "explained", _("已解释说明")
    UNSOLVABLE = "unsolvable", _("暂无法解决")


class Category(models.Model):
    """Two levels: a class (大类, parent empty) and its sub-classes (小类). Cases use sub-classes."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(
        _("英文名称"), max_length=80, blank=True, help_text=_("英文页面显示；空则显示中文名称")
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("大类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subcategories",
    )
    icon = models.CharField(_("图标"), max_length=8, blank=True)
    default_department_kind = models.CharField(
        _("默认办理部门"), max_length=20, choices=DepartmentKind.choices, blank=True
    )
    priority = models.CharField(
        _("默认紧急程度"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    response_limit_hours = models.PositiveIntegerField(_("响应时限（小时）"), default=24)
    resolution_limit = models.PositiveIntegerField(_("办结时限"), default=7)
    resolution_unit = models.CharField(
        _("办结时限单位"), max_length=12, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS
    )
    due_soon_fraction = models.DecimalField(
        _("即将超时比例"), max_digits=3, decimal_places=2, default=0.2
    )
    due_soon_min_hours = models.PositiveIntegerField(_("即将超时最少提前（小时）"), default=24)
    questions = models.JSONField(
        _("附加问题"),
        default=list,
        blank=True,
        help_text=_(
            '列表，每项如 {"key": "floor", "label": "楼层", "label_en": "Floor", "type": "number", '
            '"required": true}；type 可为 text、number、boolean、date、choice（需 choices 列表）；'
            "label_en 可省略，英文页面显示；number 可加 min、max（数字）和 integer（true：只收整数）"
        ),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("事件分类")
        verbose_name_plural = _("事件分类")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return (
            f"{self.parent.label} / {self.label}" if self.parent_id and self.parent else self.label
        )

    @property
    def label(self) -> str:
        """The name in the reader's language (the English name on English pages, if set)."""
        return category_label(self.name, self.name_en)


def category_label(name: str, name_en: str | None) -> str:
    """A category's name in the active language, from its two stored names."""
    if name_en and (translation.get_language() or "").startswith("en"):
        return name_en
    return name


class PriorityPolicy(models.Model):
    """Limits that override a category's for urgent and emergency cases (DOMAIN.md §3)."""

    priority = models.CharField(_("紧急程度"), max_length=10, choices=Priority.choices, unique=True)
    response_limit_hours = models.PositiveIntegerField(_("响应时限（小时）"), null=True, blank=True)
    resolution_limit_hours = models.PositiveIntegerField(
        _("办结时限（小时）"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("紧急程度时限")
        verbose_name_plural = _("紧急程度时限")

    def __str__(self) -> str:
        return self.get_priority_display()


class Case(models.Model):
    tracking_code = models.CharField(_("查询码"), max_length=12)
    title = models.CharField(_("标题"), max_length=100)
    description = models.TextField(_("描述"), max_length=2000, blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("分类"),
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,  # case_category_keyset leads with it
    )
    answers = models.JSONField(_("附加信息"), default=dict, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    grid = models.ForeignKey(
        "territory.OrgUnit",
        verbose_name=_("所属网格"),
        on_delete=models.PROTECT,
        related_name="cases",
    )
    # The grid's code, copied so that scope filters need no join (codes never change).
    grid_code = models.CharField(max_length=18, editable=False)
    handling_unit = models.ForeignKey(
        "territory.OrgUnit",
        verbose_name=_("受理层级"),
        on_delete=models.PROTECT,
        related_name="handled_cases",
        help_text=_("负责受理和分拨的单位；上报（吹哨）后上移一级"),
    )
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    priority = models.CharField(
        _("紧急程度"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.REPORTED
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报人账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_name = models.CharField(_("联系人"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    is_anonymous = models.BooleanField(_("匿名"), default=False)
    external_ref = models.CharField(_("外部编号"), max_length=64, blank=True)

    lead_department = models.ForeignKey(
        "territory.Department",
        verbose_name=_("主办部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead_cases",
        db_index=False,  # case_department_status leads with it
    )
    lead_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("主办网格员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead_cases",
        db_index=False,  # case_lead_worker: only the cases that have one
    )
    co_departments = models.ManyToManyField(
        "territory.Department", verbose_name=_("协办部门"), blank=True, related_name="co_cases"
    )

    response_limit_hours = models.PositiveIntegerField(_("响应时限（小时）"))
    resolution_limit = models.PositiveIntegerField(_("办结时限"))
    resolution_unit = models.CharField(_("时限单位"), max_length=12, choices=LimitUnit.choices)
    clock_started_at = models.DateTimeField(_("计时起点"), help_text=_("上报时间；重办时重新起算"))
    extension_days = models.PositiveIntegerField(_("已批准延期（工作日）"), default=0)
    response_due_at = models.DateTimeField(_("响应截止"))
    resolution_due_at = models.DateTimeField(_("办结截止"))
    due_soon_at = models.DateTimeField(_("即将超时起点"))
    calendar_warning = models.CharField(_("日历提示"), max_length=200, blank=True)
    paused_at = models.DateTimeField(_("挂起时间"), null=True, blank=True)
    pauses = models.JSONField(_("挂起记录"), default=list, blank=True)

    accepted_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    result = models.TextField(_("处置结果"), blank=True)
    outcome = models.CharField(_("办理结果"), max_length=12, choices=Outcome.choices, blank=True)
    rating = models.CharField(_("评价"), max_length=20, choices=Rating.choices, blank=True)
    rating_note = models.CharField(_("评价说明"), max_length=500, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    return_count = models.PositiveSmallIntegerField(_("退单次数"), default=0)
    master = models.ForeignKey(
        "self",
        verbose_name=_("合并到"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        db_index=False,  # case_master: only merged cases
    )
    warned_due_soon = models.BooleanField(default=False)
    warned_overdue = models.BooleanField(default=False)

    version = models.PositiveIntegerField(_("版本"), default=1)
    # NULL, not "": cases without a key must not collide on the unique constraint.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上报时间"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["grid_code", "status"], name="case_scope_status"),
            models.Index(fields=["status", "resolution_due_at"], name="case_status_due"),
            models.Index(fields=["lead_department", "status"], name="case_department_status"),
            models.Index(fields=["-created_at", "-id"], name="case_keyset"),
            # The case list's keyset order within one grid (the map's links, a grid worker's
            # list) and within one status in a territory (queues: bounded by the backlog).
            models.Index(fields=["grid_code", "-created_at", "-id"], name="case_grid_keyset"),
            models.Index(
                fields=["status", "grid_code", "-created_at", "-id"], name="case_status_keyset"
            ),
            # Residents' duplicate check: open cases of one category inside a small lon/lat box.
            # Partial, so closed cases (the bulk of the table) leave it.
            models.Index(
                fields=["category", "lat", "lon"],
                name="case_open_position",
                condition=models.Q(status__in=OPEN_STATUS_LIST),
            ),
            # A category's cases newest first: the list filtered by a class walks one such range
            # per sub-category and merges them (selectors.case_page); also the FK's index.
            models.Index(fields=["category", "-created_at", "-id"], name="case_category_keyset"),
            # The command centre's 即将超时 / 已超时 / late-unsigned counts read every open case of
            # a scope: from this index alone (an index-only scan of the open cases, a few
            # megabytes), not from case rows scattered over a table of millions (PostgreSQL;
            # elsewhere the INCLUDE columns are left out).
            models.Index(
                fields=["grid_code"],
                name="case_open_clock",
                include=[
                    "id",
                    "lead_department",
                    "category",
                    "source",
                    "status",
                    "paused_at",
                    "signed_at",
                    "resolution_due_at",
                    "due_soon_at",
                    "response_due_at",
                    "created_at",
                ],
                condition=models.Q(status__in=OPEN_STATUS_LIST),
            ),
            # 即将超时 / 已超时 counted from the open cases on the clock only (clock_start <= now):
            # at a city's pace most of the open backlog is not yet due soon (PostgreSQL reads
            # this index alone; the INCLUDE columns are what the counts group and filter by).
            models.Index(
                clock_start(),
                name="case_clock_start",
                include=[
                    "grid_code",
                    "lead_department",
                    "category",
                    "source",
                    "status",
                    "paused_at",
                    "resolution_due_at",
                    "due_soon_at",
                    "created_at",
                ],
                condition=models.Q(status__in=OPEN_STATUS_LIST),
            ),
            # Unsigned cases past their response deadline (the 响应率's late responses).
            models.Index(
                fields=["response_due_at"],
                name="case_late_unsigned",
                include=["grid_code", "lead_department", "category", "source", "created_at"],
                condition=models.Q(
                    status__in=UNSIGNED_STATUS_LIST, signed_at__isnull=True, paused_at__isnull=True
                ),
            ),
            # Foreign keys that most cases leave empty (a grid worker as lead, a master case):
            # indexed where set only, so intake and the bulk load write no entry for the empty
            # ones. `lead_worker_id = x` still uses it (the condition follows from the equality).
            models.Index(
                fields=["lead_worker"],
                name="case_lead_worker",
                condition=models.Q(lead_worker__isnull=False),
            ),
            models.Index(
                fields=["master"], name="case_master", condition=models.Q(master__isnull=False)
            ),
        ]
        # Constraints rather than unique=True: PostgreSQL then keeps one index per key, without
        # the LIKE twin Django adds for unique text columns (every index costs on intake); the
        # idempotency key's only for the cases that carry one.
        constraints = [
            models.UniqueConstraint(fields=["tracking_code"], name="case_unique_tracking_code"),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                name="case_unique_idempotency_key",
                condition=models.Q(idempotency_key__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseEvent(models.Model):
    """One line of a case's timeline: immutable, written in the transaction of the change."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=24)
    from_status = models.CharField(_("原状态"), max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=12, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("操作人名称"), max_length=100, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    is_public = models.BooleanField(_("向群众公开"), default=True)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="caseevent_case_time")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_status}→{self.to_status}"

    def get_action_label(self) -> str:
        from wangge.cases.workflow import TIMELINE_LABELS

        return str(TIMELINE_LABELS.get(self.action, self.action))


class CasePhoto(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos"
    )
    image = models.FileField(_("图片"), upload_to="cases/%Y/%m/")
    thumbnail = models.FileField(_("缩略图"), upload_to="cases/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    is_public = models.BooleanField(_("向群众公开"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("照片")
        verbose_name_plural = _("照片")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.image.name or ""


class ApprovalKind(models.TextChoices):
    SUSPENSION = "suspension", _("挂起申请")
    EXTENSION = "extension", _("延期申请")


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    DENIED = "denied", _("未批准")


class CaseApproval(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="approvals")
    kind = models.CharField(_("类型"), max_length=12, choices=ApprovalKind.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    reason = models.TextField(_("理由"))
    extra = models.PositiveIntegerField(_("延期时长"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("审批")
        verbose_name_plural = _("审批")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=models.Q(status="pending"),
                name="one_pending_approval_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.status}"
