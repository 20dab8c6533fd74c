"""Template helpers loaded everywhere (settings TEMPLATES builtins)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from django import template
from django.http import QueryDict
from django.template.defaultfilters import date as date_filter
from django.utils import timezone

from clspdr import permissions

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context: dict[str, Any], name: str, obj: Any = None) -> bool:
    """`{% can "action.update_status" action as can_update %}` — the vocabulary's check."""
    return permissions.has_perm(context["request"].user, name, obj)


# What the tags read of an action (or a status update): the ground imports no app's models.
class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...

    def get_status_display(self) -> str: ...


class _HasProgress(Protocol):
    @property
    def progress(self) -> int: ...

    @property
    def code(self) -> str: ...


@register.inclusion_tag("components/status_badge.html")
def status_badge(item: _HasStatus) -> dict[str, Any]:
    """`{% status_badge action %}`: the badge of an action's (or a status update's) status."""
    return {"status": item.status, "label": item.get_status_display()}


@register.inclusion_tag("components/progress.html")
def progress_bar(action: _HasProgress) -> dict[str, Any]:
    """`{% progress_bar action %}`: an action's progress, named after its code for screen
    readers (the action's axis must be loaded)."""
    return {"value": action.progress, "label": f"Avancement de l'action {action.code}"}


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


@register.filter(expects_localtime=True)
def isodate(value: date | datetime | None) -> str:
    """The machine-readable form for `<time datetime="...">`: "2026-07-01", or
    "2026-07-01T14:05:00+02:00" for a datetime (Paris time, whole seconds as HTML allows)."""
    if not value:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


@register.filter
def age(days: int | None) -> str:
    """How long ago, as a person says it: "aujourd'hui", "hier", "il y a 3 jours", "il y a
    2 semaines", "il y a 3 mois", "il y a plus d'un an", "il y a plus de 2 ans".

    Takes whole days (`days_since_update`, actions/selectors.py); rounds down, so an age never
    reads older than it is. A date in the future (a clock ahead) reads "aujourd'hui".
    """
    if days is None:
        return ""
    if days <= 0:
        return "aujourd'hui"
    if days == 1:
        return "hier"
    if days < 14:
        return f"il y a {days}\u00a0jours"
    if days < 60:
        return f"il y a {days // 7}\u00a0semaines"
    if days < 365:
        return f"il y a {min(days // 30, 11)}\u00a0mois"
    years = days // 365
    return "il y a plus d'un an" if years == 1 else f"il y a plus de {years}\u00a0ans"


@register.simple_tag
def today() -> date:
    """`{% today as day %}`: the local date, for the printed pages' header (base.html)."""
    return timezone.localdate()


@register.filter
def audit_action(name: str) -> str:
    """The French label of a dotted audit action name (clspdr/audit.py)."""
    from clspdr.audit import action_label

    return action_label(name)
