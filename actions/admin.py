"""The action plan in the Django admin: its structure is reference data, its content is not.

The technical administrator creates actions and fixes their numbering and sub-lists here. What
an existing action says (the sheet, its budget) changes only through
`actions.services.action_edit_sheet` (the coordinator's sheet page: rules, conflict detection,
author), and its status and progress only through `action_update_status` (history kept), so
those fields are read-only here once the action exists.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from actions.models import (
    PLAN_ORDER,
    Action,
    CarrierChange,
    Funding,
    SheetChange,
    StatusUpdate,
    SubAction,
    SubList,
)
from actions.services import SHEET_FIELDS, action_create, validate_sheet
from clspdr.models import User
from governance.forms import OrganisationMultipleChoiceField
from governance.models import Organisation

_SERVICE_FIELDS = ("status", "progress", "last_update_at", "modified_by", "modified_at")
_BOOKKEEPING = ("version", "created_at")


class SubListInline(admin.StackedInline):
    model = SubList
    extra = 0
    fields = ("position", "title", "intro")
    show_change_link = True


class FundingInline(admin.TabularInline):
    """Shown, not edited: the budget is part of the sheet."""

    model = Funding
    extra = 0
    fields = ("year", "funder", "amount")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Action.contributors has its own through model (ActionContributor), which the admin does not
# edit as a field: the add form offers this one instead, the change form shows it read-only.
_CONTRIBUTORS = "contributing_organisations"


class ActionAddForm(forms.ModelForm):
    """A new action and its first sheet, under the rules of every sheet; archived
    organisations are not offered."""

    contributing_organisations = OrganisationMultipleChoiceField(
        label=_("partenaires contributeurs"),
        queryset=Organisation.objects.active(),
        required=False,
        widget=AutocompleteSelectMultiple(Action._meta.get_field("contributors"), admin.site),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lead = cast(forms.ModelChoiceField, self.fields["lead_organisation"])
        lead.queryset = Organisation.objects.active()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        axis = cleaned.get("axis")
        if axis is None:
            return cleaned
        try:
            validate_sheet(
                {name: cleaned[name] for name in SHEET_FIELDS if name in cleaned},
                strategy=axis.strategy,
                contributors=cleaned.get(_CONTRIBUTORS) or [],
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else _CONTRIBUTORS, messages)
        return cleaned


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    ordering = PLAN_ORDER
    list_display = ("code", "title", "lead_organisation", "status", "progress", "last_update_at")
    list_display_links = ("code", "title")
    list_filter = ("axis__strategy", "axis", "status", "priority", "lead_organisation")
    list_select_related = ("axis", "lead_organisation")
    search_fields = ("title", "description", "number", "lead_organisation__name")
    autocomplete_fields = ("axis", "lead_organisation")
    fieldsets = (
        (_("Place dans la stratégie"), {"fields": ("axis", "number", "position")}),
        (_("Fiche-action"), {"fields": (*SHEET_FIELDS[:3], _CONTRIBUTORS, *SHEET_FIELDS[3:])}),
        (_("Avancement et suivi"), {"fields": (*_SERVICE_FIELDS, *_BOOKKEEPING)}),
    )
    inlines = (SubListInline, FundingInline)

    @admin.display(description=_("numéro"), ordering="number")
    def code(self, obj: Action) -> str:
        return obj.code

    @admin.display(description=_("partenaires contributeurs"))
    def contributing_organisations(self, obj: Action) -> str:
        return ", ".join(o.name for o in obj.contributors.all()) or "—"

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ActionAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:  # a new action: its first sheet is typed here
            return (*_SERVICE_FIELDS, *_BOOKKEEPING)
        return (*SHEET_FIELDS, _CONTRIBUTORS, *_SERVICE_FIELDS, *_BOOKKEEPING)

    def save_model(
        self, request: HttpRequest, obj: Action, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            action_create(
                action=obj,
                by=cast(User, request.user),
                contributors=form.cleaned_data[_CONTRIBUTORS],
            )
            return
        # Only the placement is editable here. Bump the version all the same, so that a sheet
        # or status form opened before this change gets the usual conflict.
        edited = [name for name in form.changed_data if name in ("axis", "number", "position")]
        obj.version = F("version") + 1
        obj.save(update_fields=[*edited, "version"])
        obj.refresh_from_db(fields=["version"])
        if "axis" in edited:  # its history follows it (the per-strategy "latest updates")
            StatusUpdate.objects.filter(action=obj).update(strategy_id=obj.axis.strategy_id)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Status updates are kept forever: an action that has some cannot be deleted.
        if obj is not None and obj.updates.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # would bypass the check above
        return actions


class SubActionInline(admin.TabularInline):
    model = SubAction
    extra = 0
    fields = ("position", "number", "title", "description")


@admin.register(SubList)
class SubListAdmin(admin.ModelAdmin):
    ordering = (
        "-action__axis__strategy__start_year",
        "action__axis__number",
        "action__position",
        "action__number",
        "position",
    )
    list_display = ("title", "action")
    list_select_related = ("action__axis",)
    search_fields = ("title", "action__title")
    autocomplete_fields = ("action",)
    inlines = (SubActionInline,)


@admin.register(CarrierChange)
class CarrierChangeAdmin(admin.ModelAdmin):
    """Changes of an action's carriers, read-only: written by the services, never edited."""

    list_display = ("created_at", "action", "previous_lead", "lead", "author")
    list_select_related = ("action__axis", "author")
    search_fields = ("action__title", "previous_lead", "lead")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SheetChange)
class SheetChangeAdmin(admin.ModelAdmin):
    """Changes of an action's sheet, read-only: written by the services, never edited."""

    list_display = ("created_at", "action", "field", "previous", "value", "author")
    list_select_related = ("action__axis", "author")
    search_fields = ("action__title", "previous", "value")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StatusUpdate)
class StatusUpdateAdmin(admin.ModelAdmin):
    """The history, read-only: it is written by the service and never edited."""

    list_display = ("created_at", "action", "status", "progress", "author", "author_organisation")
    list_filter = ("status", "author_organisation")
    list_select_related = ("action__axis", "author", "author_organisation")
    search_fields = ("action__title", "comment", "author__last_name")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
