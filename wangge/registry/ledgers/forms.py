"""Forms of the ledger pages: they parse input; the ledger modules validate the rest."""

from django import forms
from django.utils.translation import gettext_lazy as _

KIND_CHOICES = [
    ("all", _("住户、居民和企业")),
    ("households", _("住户")),
    ("residents", _("居民")),
    ("enterprises", _("企业")),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("台账文件 (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label=_("导出内容"), choices=KIND_CHOICES, initial="all")
    reason = forms.CharField(
        label=_("导出完整号码的事由"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：报送区民政局低保复核名单")}),
    )

    def kinds(self) -> tuple[str, ...]:
        kind = self.cleaned_data.get("kind") or "all"
        return ("households", "residents", "enterprises") if kind == "all" else (kind,)
