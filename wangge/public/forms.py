"""The residents' forms. Every message names what to fix, in Chinese with the English after it;
the domain rules themselves are checked by the actions."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.cases.matching import address_problem
from wangge.cases.models import Category, Rating
from wangge.cases.photos import MAX_PER_CASE
from wangge.core.validators import MOBILE_RE

# What each input is called on the page: errors start with it.
LABELS: dict[str, Any] = {
    "category": _("问题类别"),
    "description": _("问题描述"),
    "location": _("位置"),
    "address": _("详细地址"),
    "photos": _("照片"),
    "name": _("称呼"),
    "phone": _("手机号"),
    "code": _("查询码"),
    "digits": _("手机号后四位"),
    "solved": _("是否解决"),
    "rating": _("满意度"),
    "note": _("意见"),
    "version": _("页面"),
    "status": _("办理状态"),
    "action": _("评价"),
}
# Fields of cases.actions.create_case and where they are on the residents' form.
ACTION_FIELDS = {"title": "description", "reporter_phone": "phone", "reporter_name": "name"}


class PhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to MAX_PER_CASE files; their content is checked by wangge.cases.photos."""

    widget = PhotoInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.update({"accept": "image/jpeg,image/png,image/webp"})

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_PER_CASE:
            raise forms.ValidationError(
                _("最多 %(n)d 张，请删去多余的照片 (at most %(n)d photos)") % {"n": MAX_PER_CASE}
            )
        for f in files:
            if not getattr(f, "size", 0):
                raise forms.ValidationError(
                    _("照片“%(name)s”是空文件，请重新选择 (empty file)") % {"name": f.name}
                )
        return files


BAD_POSITION = dict.fromkeys(
    ("invalid", "min_value", "max_value"), _("位置坐标无效，请重新选择 (invalid location)")
)


def _required(message: Any) -> dict[str, Any]:
    return {"required": message}


class ReportForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(is_active=True, parent__isnull=False),
        error_messages={
            "required": _("请选择问题类别 (choose a category)"),
            "invalid_choice": _("该类别已停用，请重新选择 (choose another category)"),
        },
    )
    description = forms.CharField(
        max_length=2000,
        error_messages={
            **_required(_("请简单描述遇到的问题 (describe the problem)")),
            "max_length": _("问题描述不能超过 2000 字 (at most 2000 characters)"),
        },
    )
    address = forms.CharField(
        max_length=200,
        required=False,
        error_messages={"max_length": _("详细地址不能超过 200 字 (at most 200 characters)")},
    )
    lon = forms.FloatField(
        required=False,
        min_value=-180,
        max_value=180,
        error_messages=BAD_POSITION,
    )
    lat = forms.FloatField(
        required=False,
        min_value=-90,
        max_value=90,
        error_messages=BAD_POSITION,
    )
    photos = PhotosField()
    name = forms.CharField(
        max_length=50,
        required=False,
        error_messages={"max_length": _("称呼不能超过 50 字 (at most 50 characters)")},
    )
    phone = forms.CharField(
        max_length=20,
        required=False,
        error_messages={"max_length": _("请填写 11 位手机号码 (enter an 11-digit mobile number)")},
    )
    anonymous = forms.BooleanField(required=False)
    key = forms.CharField(max_length=64, required=False)

    def clean(self) -> dict[str, Any]:
        """The location is named with the other missing fields, not on a later submit. Without
        a point (no map: JavaScript off, or the reporter did not pick one) the address is
        enough: the report is placed by it (public.actions.submit_report)."""
        data = super().clean() or {}
        unplaced = data.get("lon") is None or data.get("lat") is None
        if (
            unplaced
            and not (data.get("address") or "").strip()
            and "lon" not in self.errors
            and "lat" not in self.errors
            and "address" not in self.errors
        ):
            self.add_error(
                None,
                _(
                    "请在地图上选择位置，或写明详细地址（小区和楼号） "
                    "(pick the place on the map, or write the address)"
                ),
            )
        elif (
            unplaced
            and (data.get("address") or "").strip()
            and not {"address", "lon", "lat"} & set(self.errors)
        ):
            # Named now with any other problem, not on a later submit.
            problem = address_problem(data.get("address") or "")
            if problem is not None:
                self.add_error("address", problem.message)
        return data

    def clean_phone(self) -> str:
        phone = "".join(ch for ch in self.cleaned_data.get("phone", "") if not ch.isspace())
        phone = phone.replace("-", "")
        if phone and not MOBILE_RE.match(phone):
            raise forms.ValidationError(
                _(
                    "请填写 11 位手机号码，或留空 (enter an 11-digit mobile number or leave it empty)"
                )
            )
        return phone


class LookupForm(forms.Form):
    code = forms.CharField(
        max_length=20,
        error_messages={
            **_required(_("请填写查询码 (enter the tracking code)")),
            "max_length": _("查询码是 8 位字母和数字 (the code has 8 characters)"),
        },
    )
    digits = forms.CharField(
        max_length=4,
        min_length=4,
        error_messages={
            **_required(_("请填写上报时所留手机号的后四位 (enter the last 4 digits)")),
            "max_length": _("请填写 4 位数字 (enter 4 digits)"),
            "min_length": _("请填写 4 位数字 (enter 4 digits)"),
        },
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        return "".join(ch for ch in code.upper() if ch.isalnum())

    def clean_digits(self) -> str:
        digits: str = self.cleaned_data["digits"].strip()
        if not digits.isdigit():
            raise forms.ValidationError(_("请填写 4 位数字 (enter 4 digits)"))
        return digits


class RateForm(forms.Form):
    solved = forms.TypedChoiceField(
        choices=[("yes", _("已解决")), ("no", _("未解决"))],
        coerce=lambda v: v == "yes",
        error_messages={
            "required": _("请选择问题是否已解决 (tell us whether it was solved)"),
            "invalid_choice": _("请选择问题是否已解决 (tell us whether it was solved)"),
        },
    )
    rating = forms.ChoiceField(
        choices=Rating.choices,
        error_messages={
            "required": _("请选择满意度 (choose a rating)"),
            "invalid_choice": _("请选择满意度 (choose a rating)"),
        },
    )
    note = forms.CharField(
        max_length=500,
        required=False,
        error_messages={"max_length": _("意见不能超过 500 字 (at most 500 characters)")},
    )
    version = forms.IntegerField(required=False)
