"""Forms of the staff pages: they parse input; the actions validate the domain rules."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Category, Outcome, Rating
from wangge.cases.photos import MAX_PER_CASE


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            # No `capture`: the phone then offers both the camera and the gallery.
            MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_PER_CASE:
            raise forms.ValidationError(_("最多上传 9 张照片"))
        return [super(MultipleImageField, self).clean(f, initial) for f in files]


class PatrolReportForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("问题类别"),
        queryset=Category.objects.filter(is_active=True, parent__isnull=False).select_related(
            "parent"
        ),
        empty_label=_("请选择"),
    )
    title = forms.CharField(
        label=_("一句话描述"),
        max_length=100,
        error_messages={
            "required": _("请用一句话说明是什么问题 (say in a line what the problem is)")
        },
    )
    description = forms.CharField(
        label=_("补充说明"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    lon = forms.FloatField(widget=forms.HiddenInput, required=False)
    lat = forms.FloatField(widget=forms.HiddenInput, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    photos = MultipleImageField(label=_("照片"))
    resolve_on_spot = forms.BooleanField(label=_("已现场处置（即报即办）"), required=False)
    result = forms.CharField(label=_("处置结果"), max_length=2000, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class ActForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(
        label=_("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    department = forms.IntegerField(required=False)
    worker = forms.IntegerField(required=False)
    co_departments = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=[])
    result = forms.CharField(max_length=2000, required=False)
    outcome = forms.ChoiceField(choices=Outcome.choices, required=False)
    rating = forms.ChoiceField(choices=Rating.choices, required=False)
    solved = forms.BooleanField(required=False)
    extra = forms.IntegerField(required=False, min_value=1, max_value=60)
    master = forms.CharField(required=False, max_length=12)
    photos = MultipleImageField(label=_("照片"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Values are checked by the action; any id may be submitted here.
        self.fields["co_departments"].valid_value = lambda value: True  # type: ignore[attr-defined]
