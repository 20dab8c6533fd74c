from __future__ import annotations

from django.contrib import admin

from governance.models import Body, Membership, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "short_name")


class MembershipInline(admin.TabularInline):
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


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "body", "role", "start_date", "end_date")
    list_filter = ("body__kind", "body", "role")
    list_select_related = ("user", "body")
    search_fields = ("user__username", "user__first_name", "user__last_name", "body__name")
    autocomplete_fields = ("user", "body")
    date_hierarchy = "start_date"
