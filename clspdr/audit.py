"""The audit trail, shared by every app: dotted action names declared once, one writer.

`log_action("account.role_changed", actor=..., target=..., changes={"role": (old, new)})`
writes one append-only `AuditEvent` (clspdr/models.py). As with the permission vocabulary
(clspdr/permissions.py), a name that is not declared below raises, so a typo cannot write a row
that no page will ever show. Apps that arrive later (meetings, cells) add their names here.

`changes` maps a field name of the target to its (before, after) values, as the model holds
them (a model instance for a foreign key); the row keeps both the value and its French label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import translation

from clspdr.models import AppendOnly, AuditEvent, Role, User
from clspdr.permissions import rule
from clspdr.text import strip_invisible

__all__ = ["ACTIONS", "AppendOnly", "UnknownAuditAction", "action_label", "log_action"]

ACTIONS: dict[str, str] = {
    "account.created": "Compte créé",
    "account.role_changed": "Rôle modifié",
    "account.organisation_changed": "Organisation modifiée",
    "account.staff_changed": "Accès à l'administration modifié",
    "account.active_changed": "Compte activé ou désactivé",
    "account.email_changed": "Adresse e-mail modifiée",
    "account.password_set": "Mot de passe défini par un tiers",
}

# Who reads the trail (docs/security.md): the coordinator runs the council, the DPO audits it.
READER_ROLES = frozenset({Role.COORDINATOR, Role.DPO})
SYSTEM = "Système"  # the actor's label when a command, not a person, did it


class UnknownAuditAction(LookupError):
    pass


def action_label(name: str) -> str:
    if name not in ACTIONS:
        raise UnknownAuditAction(name)
    return ACTIONS[name]


def person_label(user: User | None) -> str:
    """The name people know, then the login, which is unique: « Camille Martin (cmartin) »."""
    if user is None:
        return SYSTEM
    full_name = user.get_full_name()
    return f"{full_name} ({user.username})" if full_name else user.username


def log_action(
    name: str,
    *,
    actor: User | None,
    target: models.Model,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
) -> AuditEvent:
    """Write one event; call it inside the service's transaction, so both commit or neither."""
    action_label(name)
    opts = target._meta
    return AuditEvent.objects.create(
        action=name,
        actor=actor,
        actor_label=strip_invisible(person_label(actor)),
        target_type=opts.label_lower,
        target_id=str(target.pk),
        target_label=strip_invisible(
            person_label(target) if isinstance(target, User) else str(target)
        ),
        target_user=target if isinstance(target, User) else None,
        changes={
            field: _change(opts, field, before, after)
            for field, (before, after) in (changes or {}).items()
        },
    )


def _change(opts: Any, field: str, before: Any, after: Any) -> dict[str, Any]:
    # The trail reads the same whatever language the author's browser asked for.
    with translation.override(settings.LANGUAGE_CODE):
        try:
            model_field = opts.get_field(field)
        except FieldDoesNotExist:
            model_field = None
        label = str(model_field.verbose_name) if model_field is not None else field
        return {
            "label": label,
            "before": _value(before),
            "after": _value(after),
            "before_label": _label(model_field, before),
            "after_label": _label(model_field, after),
        }


def _value(value: Any) -> Any:
    """What JSON keeps: the key of a model instance, the value of a choice."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.Choices):
        return value.value
    return value


def _label(field: Any, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, models.Model):
        return strip_invisible(str(value))  # a row written before the rule (clspdr/text.py)
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    return str(choices.get(value, value))


@rule("audit.view")
def _audit_view(user: User, obj: object) -> bool:
    return user.role in READER_ROLES
