"""In-app notifications and the transactional outbox they are delivered through."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    DISPATCHED = "dispatched", _("新派单")
    DUE_SOON = "due_soon", _("即将超时")
    OVERDUE = "overdue", _("已超时")
    RETURNED = "returned", _("退单")
    REOPENED = "reopened", _("重办")
    RATED = "rated", _("评价")
    ESCALATED = "escalated", pgettext_lazy("a notification's kind", "上报")
    APPROVAL = "approval", _("待审批")
    DECIDED = "decided", _("审批结果")
    VERIFY_FAILED = "verify_failed", _("核查未通过")
    TO_VERIFY = "to_verify", _("待核查")
    SMS = "sms", _("短信")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    DEAD = "dead", _("发送失败")


class OutboxMessage(models.Model):
    """Written in the same transaction as the change it announces; delivered after commit.

    `dedupe_key` makes enqueueing idempotent; a row is delivered while holding its lock and marked
    sent in the same transaction as the in-app notifications it creates, so it is never sent twice.
    """

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("渠道"), max_length=20, default="in_app")
    payload = models.JSONField(_("内容"), default=dict)
    dedupe_key = models.CharField(max_length=120, unique=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    next_attempt_at = models.DateTimeField(_("下次尝试"), db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.dedupe_key} ({self.status})"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    # In the site's language, as sent; `title_parts` lets each reader read it in theirs.
    title = models.CharField(_("标题"), max_length=200)
    # {"msgid": the untranslated title, "params": its values, "translate": the params that are
    # messages too (a rating's label)}; empty for titles that are plain text.
    title_parts = models.JSONField(_("标题（原文）"), default=dict, blank=True)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    outbox = models.ForeignKey(OutboxMessage, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["outbox", "recipient"], name="notification_once_per_outbox_recipient"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        """The title in the reader's language (the stored one if its parts are missing or no
        longer fit the translation)."""
        parts = self.title_parts or {}
        msgid = parts.get("msgid")
        if not isinstance(msgid, str) or not msgid:
            return self.title
        params = parts.get("params") or {}
        translate = set(parts.get("translate") or [])
        try:
            values = {k: gettext(str(v)) if k in translate else str(v) for k, v in params.items()}
            return gettext(msgid) % values
        except (KeyError, ValueError, TypeError):
            return self.title
