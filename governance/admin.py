"""Governance reference data in the Django admin.

Cell memberships are not managed here (docs/security.md, "Separation of duties"): who sits in a
confidential cell is the coordinator's decision, taken in the product. The membership pages and
the body page's inline neither show, create nor change a membership of a confidential body, a
body's kind is fixed once created (else the plenary could become a cell), and nobody enrols
themselves. Ordinary bodies' memberships stay manageable here until the product has its screen.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from governance.models import BODY_ORDER, CONFIDENTIAL_KINDS, Body, Membership, Organisation
from governance.services import organisation_archive, organisation_unarchive


class ArchivedListFilter(admin.SimpleListFilter):
    title = _("état")
    parameter_name = "archivee"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("non", "Active"), ("oui", "Archivée")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("non", "oui"):
            return queryset.filter(archived_at__isnull=self.value() == "non")
        return queryset


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Organisations that carry actions or represent people cannot be deleted (PROTECT: the
    admin shows its "cannot delete" page, the bulk delete too): they are archived instead."""

    list_display = ("name", "short_name", "kind", "archived")
    list_filter = (ArchivedListFilter, "kind")
    search_fields = ("name", "short_name")
    readonly_fields = ("archived_at",)
    actions = ("archive", "unarchive")

    @admin.display(description=_("archivée"), boolean=True, ordering="archived_at")
    def archived(self, obj: Organisation) -> bool:
        return obj.is_archived

    @admin.action(description=_("Archiver"), permissions=["change"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Organisation]) -> None:
        done = organisation_archive(organisations=queryset)
        for organisation in done:
            self.log_change(request, organisation, "Archivée")
        self.message_user(
            request,
            f"{_organisations(len(done), 'archivée')}. Une organisation archivée n'est plus "
            "proposée pour de nouvelles actions ni pour de nouveaux comptes ; ses référents "
            "gardent leurs droits sur les actions qu'elle porte encore.",
            messages.SUCCESS,
        )

    @admin.action(description=_("Désarchiver"), permissions=["change"])
    def unarchive(self, request: HttpRequest, queryset: QuerySet[Organisation]) -> None:
        done = organisation_unarchive(organisations=queryset)
        for organisation in done:
            self.log_change(request, organisation, "Désarchivée")
        self.message_user(request, f"{_organisations(len(done), 'désarchivée')}.", messages.SUCCESS)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Organisation], search_term: str
    ) -> tuple[QuerySet[Organisation], bool]:
        # The pickers of other forms (a new account's organisation, a new action's carriers)
        # search through here: they no longer offer archived organisations. A value already
        # chosen is shown by the form itself, so an existing choice stays valid.
        if getattr(request.resolver_match, "url_name", None) == "autocomplete":
            queryset = queryset.filter(archived_at__isnull=True)
        return super().get_search_results(request, queryset, search_term)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        to_delete, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if not protected:
            return to_delete, counts, perms_needed, protected
        # The page refuses: name what protects the organisation (the actions it leads are
        # listed as protected too, not as a missing delete permission) and what to do instead.
        self.message_user(
            request,
            "Une organisation qui porte des actions ou que des personnes représentent ne peut "
            "pas être supprimée : archivez-la plutôt (action « Archiver » de la liste des "
            "organisations).",
            messages.WARNING,
        )
        return to_delete, counts, set(), protected


def _organisations(n: int, participle: str) -> str:
    plural = "s" if n > 1 else ""
    return f"{n} organisation{plural} {participle}{plural}"


class _OrdinaryMemberships:
    """What MembershipAdmin and the body page's inline share: the memberships in reach, and
    the bodies and people a membership may name."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        queryset: QuerySet[Membership] = super().get_queryset(request)  # type: ignore[misc]
        return queryset.exclude(body__kind__in=CONFIDENTIAL_KINDS).exclude(user=_me(request))

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.name == "body":
            kwargs["queryset"] = Body.objects.exclude(kind__in=CONFIDENTIAL_KINDS).order_by(
                *BODY_ORDER
            )
        elif db_field.name == "user":
            kwargs["queryset"] = get_user_model()._default_manager.exclude(pk=_me(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


def _me(request: HttpRequest) -> int:
    # The admin's views are for signed-in staff only: there is always someone.
    return cast(int, request.user.pk)


class MembershipInline(_OrdinaryMemberships, admin.TabularInline):
    model = Membership
    extra = 0
    ordering = ("user__last_name",)
    autocomplete_fields = ("user",)
    fields = ("user", "role", "start_date", "end_date")


@admin.register(Body)
class BodyAdmin(admin.ModelAdmin):
    ordering = BODY_ORDER
    list_display = ("name", "kind", "cadence", "axis", "strategy")
    list_filter = ("kind", "cadence", "strategy")
    list_select_related = ("axis", "strategy")
    search_fields = ("name", "description")
    autocomplete_fields = ("axis",)
    inlines = (MembershipInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if obj is None else (*fields, "kind")

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # A new body has no kind yet to trust: its members are added once it exists.
        if obj is None or obj.is_confidential:
            return []
        return super().get_inline_instances(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a cell deletes its memberships with it.
        if obj is not None and obj.is_confidential and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Membership)
class MembershipAdmin(_OrdinaryMemberships, admin.ModelAdmin):
    ordering = (
        "-body__strategy__start_year",
        "body__axis__number",
        "body__kind",
        "user__last_name",
    )
    list_display = ("user", "body", "role", "start_date", "end_date")
    list_filter = ("body__kind", "body", "role")
    list_select_related = ("user", "body")
    search_fields = ("user__username", "user__first_name", "user__last_name", "body__name")
    autocomplete_fields = ("user",)
    date_hierarchy = "start_date"
