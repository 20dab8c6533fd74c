"""The permission vocabulary, declared once (docs/architecture.md, "Where rules live").

Each name is granted by exactly one rule function, registered by the app that owns the object
type (e.g. `actions/access.py`). Asking for a name that is not declared raises, so a typo can
neither grant nor silently deny.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest

if TYPE_CHECKING:
    from clspdr.models import User

VOCABULARY: dict[str, str] = {
    "plan.view": "Consulter le plan d'action",
    "plan.export": "Exporter le plan d'action (CSV, XLSX)",
    "action.update_status": "Mettre à jour le statut et l'avancement d'une action",
    "action.edit": "Modifier la fiche-action",
    "audit.view": "Consulter le journal des modifications de comptes",
}


class UnknownPermission(LookupError):
    pass


@dataclass(frozen=True)
class ObjectPermission:
    """A vocabulary name that django-guardian may also grant on one object (a per-object
    exception), tied to the codename of the model permission guardian stores: the model's
    `Meta.permissions`, the rule that reads the grants and `assign_perm` all take it from here."""

    name: str
    app_label: str
    codename: str

    def __post_init__(self) -> None:
        if self.name not in VOCABULARY:
            raise UnknownPermission(self.name)

    @property
    def perm(self) -> str:
        """The "app_label.codename" form that guardian's `assign_perm` and `remove_perm` take."""
        return f"{self.app_label}.{self.codename}"


ACTION_UPDATE_STATUS = ObjectPermission("action.update_status", "actions", "update_action_status")

Rule = Callable[[Any, Any], bool]
_rules: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    """Register the function that decides `name`."""
    if name not in VOCABULARY:
        raise UnknownPermission(name)

    def register(func: Rule) -> Rule:
        if name in _rules:
            raise ImproperlyConfigured(f"Permission {name!r} already has a rule.")
        _rules[name] = func
        return func

    return register


def has_perm(user: Any, name: str, obj: Any = None) -> bool:
    """Default deny: anonymous and inactive users get nothing."""
    if name not in VOCABULARY:
        raise UnknownPermission(name)
    if name not in _rules:
        raise ImproperlyConfigured(f"Permission {name!r} has no rule registered.")
    if not (user and user.is_authenticated and user.is_active):
        return False
    return _rules[name](user, obj)


def require_perm(request: HttpRequest, name: str, obj: Any = None) -> User:
    """The signed-in person if the vocabulary grants `name`, else 403 (for views)."""
    if not has_perm(request.user, name, obj):
        raise PermissionDenied
    return cast("User", request.user)
