"""Template helpers loaded everywhere (settings TEMPLATES builtins)."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import QueryDict

from clspdr import permissions

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context: dict[str, Any], name: str, obj: Any = None) -> bool:
    """`{% can "action.update_status" action as can_update %}` — the vocabulary's check."""
    return permissions.has_perm(context["request"].user, name, obj)


@register.simple_tag(takes_context=True)
def query_replace(context: dict[str, Any], **kwargs: Any) -> str:
    """The current query string with some parameters replaced (pagination, exports)."""
    query: QueryDict = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@register.filter
def percent(value: float | int | None) -> str:
    """Progress as "40 %" (French typography: no-break space before %)."""
    if value is None:
        return "—"
    return f"{round(value)}\u00a0%"
