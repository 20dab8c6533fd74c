from __future__ import annotations

from django.contrib import admin

from axes.models import Axis, Strategy


class AxisInline(admin.TabularInline):
    model = Axis
    extra = 0
    fields = ("number", "title", "priority_issue")


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("title", "town", "start_year", "end_year")
    list_filter = ("town",)
    search_fields = ("title", "town", "slug")
    inlines = (AxisInline,)


@admin.register(Axis)
class AxisAdmin(admin.ModelAdmin):
    list_display = ("__str__", "strategy", "priority_issue")
    list_filter = ("strategy",)
    list_select_related = ("strategy",)
    search_fields = ("title", "priority_issue", "description")
    ordering = ("strategy", "number")
