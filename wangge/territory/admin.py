"""Admin configuration of units, departments and buildings; saves go through the actions."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from wangge.core.errors import DomainError
from wangge.territory import actions
from wangge.territory.geo import GeometryError, clean_boundary
from wangge.territory.models import Building, Department, OrgUnit


class OrgUnitForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = ["code", "name", "level", "parent", "population", "boundary"]

    def clean_boundary(self) -> Any:
        boundary = self.cleaned_data.get("boundary")
        if isinstance(boundary, str):
            try:
                boundary = json.loads(boundary)
            except ValueError:
                raise ValidationError(
                    _("边界不是合法的 JSON (boundary is not valid JSON)")
                ) from None
        if boundary:
            try:
                clean = clean_boundary(boundary)
            except GeometryError as exc:
                raise ValidationError(str(exc)) from None
            parent = self.instance.parent if self.instance.pk else self.cleaned_data.get("parent")
            # Only a boundary being drawn: an untouched one never blocks a rename.
            if self.instance.pk is None or "boundary" in self.changed_data:
                try:
                    actions.check_within_parent(clean.geometry, parent)
                except DomainError as exc:
                    raise ValidationError(exc.message) from None
        elif self.instance.pk and self.instance.boundary:
            raise ValidationError(
                _(
                    "边界不能清空：网格的边界决定哪些上报归它 "
                    "(the boundary cannot be removed: it decides which reports the unit gets)"
                )
            )
        return boundary

    def clean(self) -> dict[str, Any]:
        """A new unit's code and parent are checked here, as the action will check them, so that
        a wrong one is a message on the form and not an error page."""
        data = super().clean() or {}
        if self.instance.pk is None and data.get("code") and data.get("level"):
            try:
                actions.check_parent(level=data["level"], parent=data.get("parent"))
                actions.check_code(
                    code=data["code"], level=data["level"], parent=data.get("parent")
                )
            except DomainError as exc:
                raise _form_error(self, exc) from None
        return data


def _form_error(form: forms.ModelForm, exc: DomainError) -> ValidationError:
    """An action's refusal as the form's error, on its field when the form has one."""
    if exc.field in form.fields:
        return ValidationError({exc.field: exc.message})
    return ValidationError(exc.message)


class BuildingForm(forms.ModelForm):
    class Meta:
        model = Building
        fields = [
            "name",
            "address",
            "lon",
            "lat",
            "unit_count",
            "floors",
            "household_count",
            "building_head",
        ]

    def clean(self) -> dict[str, Any]:
        """A new building must stand in a grid, at an address its grid does not have yet; one
        that moves must stay in its grid."""
        data = super().clean() or {}
        moved = self.instance.pk is not None and {"lon", "lat"} & set(self.changed_data)
        if (self.instance.pk is None or moved) and None not in (data.get("lon"), data.get("lat")):
            try:
                actions.check_building_place(
                    lon=data["lon"],
                    lat=data["lat"],
                    address=data.get("address", ""),
                    building=self.instance if moved else None,
                )
            except DomainError as exc:
                raise _form_error(self, exc) from None
        return data


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    form = OrgUnitForm
    list_display = ["code", "name", "level", "parent", "area_m2", "updated_at"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
    readonly_fields = ["centroid_lon", "centroid_lat", "area_m2", "bbox"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return [*self.readonly_fields, "code", "level", "parent"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: OrgUnit, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                saved = actions.update_unit(
                    unit=obj,
                    name=data["name"],
                    boundary=data.get("boundary") if "boundary" in form.changed_data else None,
                    population=data.get("population"),
                )
            else:
                saved = actions.create_unit(
                    code=data["code"],
                    name=data["name"],
                    level=data["level"],
                    parent=data.get("parent"),
                    boundary=data.get("boundary") or None,
                    population=data.get("population"),
                )
            obj.pk = saved.pk
        except DomainError as exc:
            messages.error(request, exc.message)
            raise

    # A unit that disappears must leave the point → grid index and the address finder too.
    def delete_model(self, request: HttpRequest, obj: OrgUnit) -> None:
        with transaction.atomic():
            super().delete_model(request, obj)
            actions.bump_boundary_version()
            actions.bump_places_version()

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            actions.bump_boundary_version()
            actions.bump_places_version()


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "phone", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    raw_id_fields = ["unit"]
    filter_horizontal = ["service_areas"]


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    form = BuildingForm
    list_display = ["name", "address", "grid", "floors", "household_count", "building_head"]
    search_fields = ["name", "address", "grid__code"]
    raw_id_fields = ["grid", "building_head"]
    readonly_fields = ["grid"]

    def save_model(self, request: HttpRequest, obj: Building, form: Any, change: bool) -> None:
        if change:
            with transaction.atomic():
                super().save_model(request, obj, form, change)
                if {"name", "address", "lon", "lat"} & set(form.changed_data):
                    actions.bump_places_version()
            return
        data = form.cleaned_data
        saved = actions.create_building(
            name=data["name"],
            address=data["address"],
            lon=data["lon"],
            lat=data["lat"],
            unit_count=data["unit_count"],
            floors=data["floors"],
            household_count=data["household_count"],
            building_head=data.get("building_head"),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Building) -> None:
        with transaction.atomic():
            super().delete_model(request, obj)
            actions.bump_places_version()

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            actions.bump_places_version()
