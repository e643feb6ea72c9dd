"""Forms of the registry pages: they parse input; the actions validate the domain rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.registry.models import Tenure


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("查看事由"),
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("如：办理残疾人补贴需核对身份证号")}),
    )


class ChangeForm(forms.Form):
    note = forms.CharField(
        label=_("变化说明"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("如：602 室租户已搬走")}),
    )
    tenure = forms.ChoiceField(
        label=_("产权"), choices=[("", _("不变")), *Tenure.choices], required=False
    )
    floor_area_m2 = forms.DecimalField(
        label=_("建筑面积 (m²)"), max_digits=8, decimal_places=2, required=False
    )
