"""The population and housing registry (人房数据): building → unit → household → resident, special
groups, enterprises in buildings and their needs, the weekly check and the access audit.

ID and mobile numbers never sit in a column in clear: each is stored as an authenticated
ciphertext, a keyed digest for exact lookup, a keyed digest of its last four characters for
search, and its masked form for display (see crypto.py and protection.py).
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.registry import crypto
from wangge.territory.models import Building


class DigestField(models.CharField):
    """A keyed digest (crypto.digest): 22 characters, only ever compared for equality. On
    PostgreSQL the column uses the "C" collation, so comparisons in its index are plain byte
    comparisons rather than the database locale's. Index these columns in Meta.indexes, not
    with db_index: on PostgreSQL db_index adds a second, `varchar_pattern_ops` index for LIKE,
    which a digest never needs and every insert would pay for (docs/decisions/0005)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", crypto.DIGEST_LENGTH)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class Sex(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class PoliticalStatus(models.TextChoices):
    PARTY_MEMBER = "party_member", _("中共党员")
    PROBATIONARY_MEMBER = "probationary_member", _("中共预备党员")
    LEAGUE_MEMBER = "league_member", _("共青团员")
    DEMOCRATIC_PARTY = "democratic_party", _("民主党派")
    MASSES = "masses", _("群众")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("户籍")
    PERMANENT = "permanent", _("常住")
    FLOATING = "floating", _("流动")
    RENTING = "renting", _("租住")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class Tenure(models.TextChoices):
    OWNER = "owner", _("自有")
    TENANT = "tenant", _("租住")
    OTHER = "other", _("其他")


class SpecialGroup(models.TextChoices):
    LIVING_ALONE = "living_alone", _("独居老人")
    EMPTY_NEST = "empty_nest", _("空巢老人")
    DISABLED_ELDERLY = "disabled_elderly", _("失能老人")
    LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")
    DISTRESSED_CHILD = "distressed_child", _("困境儿童")
    DISABILITY = "disability", _("残疾人")
    SUBSISTENCE = "subsistence", _("低保")
    EXTREME_POVERTY = "extreme_poverty", _("特困")
    PREGNANT = "pregnant", _("孕产妇")
    VETERAN = "veteran", _("退役军人")
    KEY_ATTENTION = "key_attention", _("重点关注")


class DisabilityLevel(models.TextChoices):
    LEVEL_1 = "1", _("一级")
    LEVEL_2 = "2", _("二级")
    LEVEL_3 = "3", _("三级")
    LEVEL_4 = "4", _("四级")


class BuildingUnit(models.Model):
    """A unit (单元, one staircase) of a building."""

    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.CASCADE, related_name="units"
    )
    number = models.PositiveSmallIntegerField(_("单元号"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("单元")
        verbose_name_plural = _("单元")
        ordering = ["building_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "number"], name="unit_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.building.name} " + _("%(n)s单元") % {"n": self.number}


class Household(models.Model):
    """A household (户): one dwelling, its tenure and when someone last confirmed its data."""

    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="households"
    )
    unit = models.ForeignKey(
        BuildingUnit, verbose_name=_("单元"), on_delete=models.PROTECT, related_name="households"
    )
    room = models.CharField(_("房号"), max_length=20)
    floor_area_m2 = models.DecimalField(
        _("建筑面积 (m²)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    tenure = models.CharField(_("产权"), max_length=10, choices=Tenure.choices)
    move_in_date = models.DateField(_("入住日期"), null=True, blank=True)
    last_verified_at = models.DateTimeField(_("最近核实"), null=True, blank=True)
    last_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核实人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["building_id", "unit__number", "room"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "room"], name="household_unique_room")
        ]
        indexes = [
            models.Index(fields=["building", "last_verified_at"], name="household_freshness")
        ]

    def __str__(self) -> str:
        """The building's name and the flat, in the reader's language (messages name it)."""
        return f"{self.unit.building.name} {self.unit_room}"

    @property
    def unit_room(self) -> str:
        """A flat as people name it, in the reader's language: 1单元301室, Unit 1, room 301."""
        return _("%(unit)s单元%(room)s室") % {"unit": self.unit.number, "room": self.room}


class Resident(models.Model):
    household = models.ForeignKey(
        Household, verbose_name=_("所在户"), on_delete=models.PROTECT, related_name="residents"
    )
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    sex = models.CharField(_("性别"), max_length=6, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    id_number_encrypted = models.TextField(_("身份证号（密文）"), blank=True, editable=False)
    id_number_digest = DigestField()
    id_number_last4_digest = DigestField()
    id_number_masked = models.CharField(_("身份证号"), max_length=18, blank=True, editable=False)
    mobile_encrypted = models.TextField(_("手机号（密文）"), blank=True, editable=False)
    mobile_digest = DigestField()
    mobile_last4_digest = DigestField()
    mobile_masked = models.CharField(_("手机号"), max_length=11, blank=True, editable=False)
    ethnicity = models.CharField(_("民族"), max_length=20, default="汉族")
    political_status = models.CharField(
        _("政治面貌"),
        max_length=20,
        choices=PoliticalStatus.choices,
        default=PoliticalStatus.MASSES,
    )
    residence_type = models.CharField(_("人口类型"), max_length=12, choices=ResidenceType.choices)
    relation_to_head = models.CharField(_("与户主关系"), max_length=12, choices=Relation.choices)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["household_id", "pk"]
        constraints = [
            # One person, one record: re-registering the same ID number updates instead.
            models.UniqueConstraint(
                fields=["id_number_digest"],
                condition=~models.Q(id_number_digest=""),
                name="resident_unique_id_number",
            )
        ]
        indexes = [
            models.Index(fields=["id_number_last4_digest"], name="resident_id_last4"),
            models.Index(fields=["mobile_digest"], name="resident_mobile"),
            models.Index(fields=["mobile_last4_digest"], name="resident_mobile_last4"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_party_member(self) -> bool:
        return self.political_status in {
            PoliticalStatus.PARTY_MEMBER,
            PoliticalStatus.PROBATIONARY_MEMBER,
        }


class ResidentTag(models.Model):
    """A special-group tag (特殊人群) with its details."""

    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), on_delete=models.CASCADE, related_name="tags"
    )
    group = models.CharField(_("特殊人群"), max_length=20, choices=SpecialGroup.choices)
    # The resident's building (always resident.household.building), so that a tag search within
    # a community's buildings is one index range. Kept by every write that creates a tag or
    # moves a resident (actions, ledger import, demo); tests check it with `tag_drift()`.
    # DO_NOTHING: a tag's resident lives in a household, which protects its building.
    building = models.ForeignKey(
        Building,
        verbose_name=_("楼栋"),
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        editable=False,
    )
    disability_level = models.CharField(
        _("残疾等级"), max_length=2, choices=DisabilityLevel.choices, blank=True
    )
    subsidy_type = models.CharField(_("补贴类型"), max_length=50, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("特殊人群标签")
        verbose_name_plural = _("特殊人群标签")
        ordering = ["group"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "group"], name="tag_unique_group"),
            models.CheckConstraint(
                name="tag_disability_level_only_for_disability",
                condition=models.Q(group="disability") | models.Q(disability_level=""),
            ),
        ]
        # Serves a tag across the district too (its first column); "resident" makes the range
        # index-only.
        indexes = [
            models.Index(fields=["group", "building", "resident"], name="tag_group_building")
        ]

    def __str__(self) -> str:
        return self.get_group_display()


class Enterprise(models.Model):
    """An enterprise in a building (楼宇企业)."""

    building = models.ForeignKey(
        Building, verbose_name=_("所在楼宇"), on_delete=models.PROTECT, related_name="enterprises"
    )
    name = models.CharField(_("企业名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_mobile_encrypted = models.TextField(blank=True, editable=False)
    contact_mobile_digest = DigestField()
    contact_mobile_masked = models.CharField(
        _("联系电话"), max_length=11, blank=True, editable=False
    )
    employee_count = models.PositiveIntegerField(_("从业人数"), default=0)
    has_party_organization = models.BooleanField(_("已建党组织"), default=False)
    has_union = models.BooleanField(_("已建工会"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("楼宇企业")
        verbose_name_plural = _("楼宇企业")
        ordering = ["building_id", "name"]

    def __str__(self) -> str:
        return self.name


class NeedStatus(models.TextChoices):
    OPEN = "open", _("待办")
    IN_PROGRESS = "in_progress", _("办理中")
    RESOLVED = "resolved", _("已解决")
    CLOSED = "closed", _("已关闭")


class EnterpriseNeed(models.Model):
    """One entry of an enterprise's needs list (需求清单)."""

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.CASCADE, related_name="needs"
    )
    title = models.CharField(_("需求"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=NeedStatus.choices, default=NeedStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("企业需求")
        verbose_name_plural = _("企业需求")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class CheckOutcome(models.TextChoices):
    UNCHANGED = "unchanged", _("无变化")
    CHANGED = "changed", _("有变化")


class HouseholdCheck(models.Model):
    """One weekly check of a household by its building head (or grid worker)."""

    household = models.ForeignKey(
        Household, verbose_name=_("户"), on_delete=models.CASCADE, related_name="checks"
    )
    outcome = models.CharField(_("结果"), max_length=10, choices=CheckOutcome.choices)
    note = models.CharField(_("变化说明"), max_length=500, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(_("核实时间"))

    class Meta:
        verbose_name = _("每周核实")
        verbose_name_plural = _("每周核实")
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"{self.household} {self.get_outcome_display()}"


class AccessAction(models.TextChoices):
    REVEAL = "reveal", _("查看完整信息")
    EXPORT = "export", _("导出")


class AccessAudit(models.Model):
    """Who saw a full personal identifier, of whom, why and when (PIPL). Append-only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user_label = models.CharField(_("操作人"), max_length=100)
    action = models.CharField(_("操作"), max_length=10, choices=AccessAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=30)
    object_id = models.PositiveBigIntegerField(_("对象编号"))
    object_label = models.CharField(_("对象"), max_length=100)
    fields = models.CharField(_("字段"), max_length=100)
    # The grid of the record at the time, so that audits are scoped like the records.
    grid_code = models.CharField(_("网格编码"), max_length=18, db_index=True)
    reason = models.CharField(_("事由"), max_length=500)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("个人信息访问记录")
        verbose_name_plural = _("个人信息访问记录")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user_label} {self.get_action_display()} {self.object_label}"


# --- 联户: party members registered at the community linked to households -------------------


class PartyMemberLink(models.Model):
    """A party member registered at the community (双报到) who keeps in touch with a household
    (党员联户). The member is a resident of the community whose political status is party
    member or probationary member; the household is in the same community."""

    MAX_PER_MEMBER = 15
    TARGET_PER_MEMBER = 10

    member = models.ForeignKey(
        Resident, verbose_name=_("联户党员"), on_delete=models.CASCADE, related_name="member_links"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("联系户"), on_delete=models.CASCADE, related_name="party_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("结对时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("党员联户")
        verbose_name_plural = _("党员联户")
        ordering = ["member_id", "household_id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "household"], name="link_unique_pair")
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.household}"


# --- 民情走访 / 敲门行动 ---------------------------------------------------------------------


class VisitPurpose(models.TextChoices):
    ROUTINE = "routine", _("日常走访")
    KNOCK = "knock", _("敲门行动")
    CARE = "care", _("特殊人群关爱")
    POLICY = "policy", _("政策宣传")
    DISPUTE = "dispute", _("矛盾排查")
    SAFETY = "safety", _("安全检查")
    OTHER = "other", _("其他")


class Visit(models.Model):
    """A visit to a household by a grid worker (or building head, or community staff): why,
    what was found and what the household needs; a finding may become a case."""

    household = models.ForeignKey(
        Household, verbose_name=_("走访户"), on_delete=models.PROTECT, related_name="visits"
    )
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("走访人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    visited_at = models.DateTimeField(_("走访时间"))
    purpose = models.CharField(_("走访事由"), max_length=12, choices=VisitPurpose.choices)
    findings = models.TextField(_("发现情况"), blank=True)
    needs = models.TextField(_("群众诉求"), blank=True)
    case = models.OneToOneField(
        "cases.Case",
        verbose_name=_("转办事件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visit",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("民情走访")
        verbose_name_plural = _("民情走访")
        ordering = ["-visited_at", "-pk"]
        indexes = [models.Index(fields=["household", "visited_at"], name="visit_household_time")]

    def __str__(self) -> str:
        return f"{self.household} {self.visited_at:%Y-%m-%d}"


# --- editing and moving residents: the change history -----------------------------------------


class ChangeKind(models.TextChoices):
    NEW = "new", _("新登记")
    EDIT = "edit", _("修改信息")
    MOVE = "move", _("迁移住户")


class ResidentChange(models.Model):
    """One audited change of a resident: which fields changed from what to what (identifiers
    only in masked form), or a move between households with its move-out and move-in dates.
    Append-only; kept (with the resident's name) if the resident is ever deleted."""

    resident = models.ForeignKey(
        Resident,
        verbose_name=_("居民"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="changes",
    )
    resident_label = models.CharField(_("居民"), max_length=100)
    kind = models.CharField(_("类型"), max_length=6, choices=ChangeKind.choices)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    from_household = models.ForeignKey(
        Household,
        verbose_name=_("迁出户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moves_out",
    )
    to_household = models.ForeignKey(
        Household,
        verbose_name=_("迁入户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moves_in",
    )
    moved_out_on = models.DateField(_("迁出日期"), null=True, blank=True)
    moved_in_on = models.DateField(_("迁入日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user_label = models.CharField(_("操作人"), max_length=100)
    # The grid of the resident's household after the change, so changes are scoped like records.
    grid_code = models.CharField(_("网格编码"), max_length=18, db_index=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("居民变更记录")
        verbose_name_plural = _("居民变更记录")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.resident_label} {self.get_kind_display()}"
