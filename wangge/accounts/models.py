"""Users, roles and memberships: access is always role × unit subtree (DOMAIN.md §2)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.validators import mask_mobile, validate_mobile, validate_public_phone


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")
    BUILDING_HEAD = "building_head", _("楼栋长")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    STREET_STAFF = "street_staff", _("街道工作人员")
    DISPATCHER = "dispatcher", _("指挥中心调度员")
    DEPARTMENT_HANDLER = "department_handler", _("部门办理人")
    LEADER = "leader", _("领导")
    ADMIN = "admin", _("系统管理员")
    RESIDENT = "resident", _("居民/群众")
    VOLUNTEER = "volunteer", _("志愿者")


# Roles whose scope is a territory subtree; a membership of these names a unit.
UNIT_ROLES = frozenset(
    {
        Role.GRID_WORKER,
        Role.BUILDING_HEAD,
        Role.COMMUNITY_STAFF,
        Role.STREET_STAFF,
        Role.DISPATCHER,
        Role.LEADER,
        Role.ADMIN,
    }
)
READ_ONLY_ROLES = frozenset({Role.LEADER})


class User(AbstractUser):
    mobile = models.CharField(
        _("手机号"),
        max_length=11,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_mobile],
        help_text=_("用于登录的 11 位手机号"),
    )
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    # The login mobile is personal information: public cards mask it. A grid worker's or
    # building head's work number is meant to be called, and is shown in full to everyone.
    public_phone = models.CharField(
        _("公示电话"),
        max_length=20,
        blank=True,
        validators=[validate_public_phone],
        help_text=_("在网格公示牌上向所有人完整显示的工作电话；留空则只显示部分隐藏的手机号"),
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.mobile)


class Membership(models.Model):
    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("角色"), max_length=24, choices=Role.choices)
    unit = models.ForeignKey(
        "territory.OrgUnit",
        verbose_name=_("辖区单元"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    department = models.ForeignKey(
        "territory.Department",
        verbose_name=_("职能部门"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "unit"],
                condition=models.Q(unit__isnull=False),
                name="membership_unique_role_unit",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "department"],
                condition=models.Q(department__isnull=False),
                name="membership_unique_role_department",
            ),
            models.CheckConstraint(
                name="membership_target_matches_role",
                violation_error_message=_(
                    "部门办理人须选择部门，群众和志愿者不选单元或部门，其他角色须选择单元 "
                    "(a department handler needs a department; residents and volunteers neither; "
                    "every other role a unit)"
                ),
                condition=(
                    models.Q(role="department_handler", department__isnull=False, unit__isnull=True)
                    | models.Q(
                        role__in=["resident", "volunteer"],
                        department__isnull=True,
                        unit__isnull=True,
                    )
                    | (
                        models.Q(unit__isnull=False, department__isnull=True)
                        & ~models.Q(role__in=["department_handler", "resident", "volunteer"])
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        target = self.unit or self.department or ""
        return f"{self.user} · {self.get_role_display()} · {target}"


class ApiToken(models.Model):
    """A staff API token; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
