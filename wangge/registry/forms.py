"""Forms of the registry pages: they parse input; the actions validate the domain rules."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Category
from wangge.registry.models import (
    PoliticalStatus,
    Relation,
    ResidenceType,
    Sex,
    Tenure,
    VisitPurpose,
)


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


class VisitForm(forms.Form):
    purpose = forms.ChoiceField(label=_("走访事由"), choices=VisitPurpose.choices)
    findings = forms.CharField(
        label=_("发现情况"),
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("如：楼道堆放杂物，老人行动不便")}
        ),
    )
    needs = forms.CharField(
        label=_("群众诉求"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("如：希望帮助清理楼道")}),
    )


class VisitCaseForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("问题类别"),
        queryset=Category.objects.filter(is_active=True, parent__isnull=False),
        empty_label=_("请选择"),
    )
    title = forms.CharField(label=_("一句话描述"), max_length=100)


def date_picker() -> forms.DateInput:
    """A browser date picker: its value must be ISO (2004-07-15) whatever the language, or the
    browser shows the box empty (Chinese formats dates 2004/07/15) and a save loses the date."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ResidentForm(forms.Form):
    """Editing a resident: identifiers are never prefilled (pages show them masked only); an
    empty box keeps the stored number."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    sex = forms.ChoiceField(label=_("性别"), choices=Sex.choices)
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=date_picker())
    id_number = forms.CharField(
        label=_("身份证号"),
        # Room for a pasted number with spaces ("110101 19900215 108X"); the action strips them
        # and checks the 18 characters.
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    mobile = forms.CharField(
        label=_("手机号"),
        max_length=11,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    clear_mobile = forms.BooleanField(label=_("删除手机号"), required=False)
    ethnicity = forms.CharField(label=_("民族"), max_length=20)
    political_status = forms.ChoiceField(label=_("政治面貌"), choices=PoliticalStatus.choices)
    residence_type = forms.ChoiceField(label=_("人口类型"), choices=ResidenceType.choices)
    relation_to_head = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    note = forms.CharField(label=_("修改说明"), max_length=500, required=False)


class NewResidentForm(ResidentForm):
    """Registering a new resident: the same fields, without the edit's 删除手机号."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["clear_mobile"]
        self.fields["note"].label = _("登记说明")


class HouseholdForm(forms.Form):
    """A new household in a building: the unit is one of the building's."""

    unit = forms.TypedChoiceField(label=_("单元"), coerce=int)
    room = forms.CharField(label=_("房号"), max_length=20)
    tenure = forms.ChoiceField(label=_("产权"), choices=Tenure.choices)
    floor_area_m2 = forms.CharField(
        label=_("建筑面积 (m²)"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    move_in_date = forms.DateField(label=_("入住日期"), required=False, widget=date_picker())

    def __init__(self, *args: Any, unit_count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [  # type: ignore[attr-defined]
            (n, _("%(n)d单元") % {"n": n}) for n in range(1, max(unit_count, 1) + 1)
        ]


class MoveForm(forms.Form):
    to_household = forms.IntegerField(label=_("迁入户"), widget=forms.Select)
    relation_to_head = forms.ChoiceField(label=_("在新户中与户主关系"), choices=Relation.choices)
    moved_out_on = forms.DateField(label=_("迁出日期"), widget=date_picker())
    moved_in_on = forms.DateField(label=_("迁入日期"), widget=date_picker())
    note = forms.CharField(label=_("说明"), max_length=500, required=False)
