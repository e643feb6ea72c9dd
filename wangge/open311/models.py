"""Open311 API keys: who may file service requests through /open311/v2/, as which Wangge user
and source, and how fast. Only the key's SHA-256 is stored; the key itself is shown once."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Source


class Open311ApiKey(models.Model):
    name = models.CharField(_("名称"), max_length=100, help_text=_("使用该密钥的应用或单位"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("密钥前缀"), max_length=12, editable=False)
    is_active = models.BooleanField(_("启用"), default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("每分钟请求上限"),
        default=60,
        validators=[MinValueValidator(1)],
        help_text=_("该密钥每分钟最多可发的请求数（读和写合计）"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报账号"),
        on_delete=models.PROTECT,
        related_name="open311_keys",
        help_text=_("通过该密钥上报的事件记在这个账号名下"),
    )
    source = models.CharField(
        _("事件来源"), max_length=16, choices=Source.choices, default=Source.RESIDENT
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 密钥")
        verbose_name_plural = _("Open311 密钥")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
