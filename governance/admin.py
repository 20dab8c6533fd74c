"""Governance reference data in the Django admin.

Cell memberships are not managed here (docs/security.md, "Separation of duties"): who sits in a
confidential cell is the coordinator's decision, taken in the product. The membership pages and
the body page's inline neither show, create nor change a membership of a confidential body, a
body's kind is fixed once created (else the plenary could become a cell), and nobody enrols
themselves. Ordinary bodies' memberships stay manageable here until the product has its screen.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from governance.models import CONFIDENTIAL_KINDS, Body, Membership, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "short_name")


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
            kwargs["queryset"] = Body.objects.exclude(kind__in=CONFIDENTIAL_KINDS)
        elif db_field.name == "user":
            kwargs["queryset"] = get_user_model()._default_manager.exclude(pk=_me(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


def _me(request: HttpRequest) -> int:
    # The admin's views are for signed-in staff only: there is always someone.
    return cast(int, request.user.pk)


class MembershipInline(_OrdinaryMemberships, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "start_date", "end_date")


@admin.register(Body)
class BodyAdmin(admin.ModelAdmin):
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
    list_display = ("user", "body", "role", "start_date", "end_date")
    list_filter = ("body__kind", "body", "role")
    list_select_related = ("user", "body")
    search_fields = ("user__username", "user__first_name", "user__last_name", "body__name")
    autocomplete_fields = ("user",)
    date_hierarchy = "start_date"
