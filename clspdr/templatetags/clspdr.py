"""Template helpers loaded everywhere (settings TEMPLATES builtins)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.http import QueryDict
from django.template.defaultfilters import date as date_filter

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


@register.filter(expects_localtime=True)  # a datetime is shown in Paris time, not UTC
def frdate(value: date | datetime | None, fmt: str = "j F Y") -> str:
    """A date as French writes it: "1er mars 2026", "25 novembre 2026 à 14:05".

    Django's `date` filter localises month names but writes "1 mars"; French uses the ordinal
    for the first day of the month.
    """
    if not value:
        return ""
    text = date_filter(value, fmt)
    if fmt.startswith("j") and text.startswith("1 ") and value.day == 1:
        return "1er" + text[1:]
    return text


@register.filter
def audit_action(name: str) -> str:
    """The French label of a dotted audit action name (clspdr/audit.py)."""
    from clspdr.audit import action_label

    return action_label(name)
