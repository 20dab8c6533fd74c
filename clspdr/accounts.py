"""Who may change what on an account, and the one way to change it: separation of duties.

The technical administrator manages accounts and reference data, nothing more
(docs/security.md, "Separation of duties: the technical administrator"):

- nobody changes their own role, organisation, staff flag or active flag;
- only a superuser grants or removes a privileged role (coordinator, technical administrator,
  data-protection officer) and only a superuser changes the staff flag;
- only a superuser changes the role, organisation, e-mail, activation or password of a
  privileged, staff or superuser account (one's own e-mail stays one's own to change);
- every such change is written to the audit trail (clspdr/audit.py) in the same transaction.

The admin (clspdr/admin.py) asks `locked_fields` which fields to show read-only and saves
through these functions, which check again for callers that have no form.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Model, Q

from clspdr.audit import log_action
from clspdr.models import AuditEvent, Role, User

# An organisation (governance.models), typed as any model: the ground imports no app.
OrganisationLike = Model

PRIVILEGED_ROLES: Final = frozenset({Role.COORDINATOR, Role.ADMIN, Role.DPO})
# The fields that decide what an account reaches: the e-mail is where a reset link goes.
ACCESS_FIELDS: Final = ("role", "organisation", "is_staff", "is_active", "email")
_OWN_LOCKED: Final = ("role", "organisation", "is_staff", "is_active")
_EVENTS: Final = {
    "role": "account.role_changed",
    "organisation": "account.organisation_changed",
    "is_staff": "account.staff_changed",
    "is_active": "account.active_changed",
    "email": "account.email_changed",
}

NOT_A_MANAGER = "Vous n'avez pas le droit de gérer les comptes."
OWN_ACCOUNT = (
    "Personne ne modifie le rôle, l'organisation, l'accès à l'administration ni l'activation "
    "de son propre compte : demandez-le à un superutilisateur."
)
OWN_PASSWORD = (
    "Changez votre propre mot de passe depuis votre compte (lien « Mot de passe ») : "
    "l'ancien vous y est demandé."
)
PRIVILEGED_ROLE = (
    "Seul un superutilisateur attribue ou retire les rôles de coordinateur, d'administrateur "
    "technique et de délégué à la protection des données."
)
STAFF_FLAG = "Seul un superutilisateur donne ou retire l'accès à l'administration."
PROTECTED_ACCOUNT = (
    "Seul un superutilisateur modifie le rôle, l'organisation, l'adresse e-mail, l'activation "
    "ou le mot de passe d'un compte de coordination, d'administration ou de protection des "
    "données, ou d'un autre membre de l'administration."
)


class _Unset(Enum):
    """A field the caller does not change (None is a value: no organisation)."""

    UNSET = "unset"


UNSET: Final = _Unset.UNSET


def is_protected(user: User) -> bool:
    """Accounts whose access only a superuser changes."""
    return bool(user.is_superuser or user.is_staff or user.role in PRIVILEGED_ROLES)


def assignable_roles(by: User) -> list[tuple[str, str]]:
    """The role choices `by` may give (the admin's select offers nothing else)."""
    return [
        (value, str(label))
        for value, label in Role.choices
        if by.is_superuser or value not in PRIVILEGED_ROLES
    ]


def locked_fields(*, by: User, user: User) -> tuple[str, ...]:
    """The access fields of `user` that `by` may not change."""
    locked: list[str] = []
    own = user.pk == by.pk
    if own:
        locked += _OWN_LOCKED
    if not by.is_superuser:
        locked.append("is_staff")
        if is_protected(user) and not own:
            locked += ACCESS_FIELDS
    return tuple(dict.fromkeys(locked))


def may_set_password(*, by: User, user: User) -> bool:
    return _password_refusal(by=by, user=user) is None


def may_delete(*, by: User, user: User) -> bool:
    """An account with history stays (deactivated); a privileged one is the superuser's."""
    if user.pk == by.pk or (is_protected(user) and not by.is_superuser):
        return False
    return not AuditEvent.objects.filter(Q(actor=user) | Q(target_user=user)).exists()


def user_create(
    *,
    by: User | None,
    username: str,
    password: str | None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    job_title: str = "",
    role: str = Role.MEMBER,
    organisation: OrganisationLike | None = None,
    is_staff: bool = False,
) -> User:
    """Create an account and write its initial access to the trail. `by` is None for
    commands (the demo), which are trusted; `password` None makes password login impossible."""
    if by is not None:
        _require_manager(by, "clspdr.add_user")
        if not by.is_superuser and is_staff:
            raise PermissionDenied(STAFF_FLAG)
        if not by.is_superuser and role in PRIVILEGED_ROLES:
            raise PermissionDenied(PRIVILEGED_ROLE)
    user = User(
        username=User.normalize_username(username),
        email=User.objects.normalize_email(email),
        first_name=first_name,
        last_name=last_name,
        job_title=job_title,
        role=role,
        organisation=cast(Any, organisation),  # typed loosely: see `OrganisationLike`
        is_staff=is_staff,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean(exclude=["password"])
    initial: dict[str, tuple[Any, Any]] = {"role": (None, role)}
    if organisation is not None:
        initial["organisation"] = (None, organisation)
    if user.email:
        initial["email"] = (None, user.email)
    if is_staff:
        initial["is_staff"] = (None, True)
    with transaction.atomic():
        user.save()
        log_action("account.created", actor=by, target=user, changes=initial)
    return user


def user_change_access(
    *,
    user: User,
    by: User,
    role: str | _Unset = UNSET,
    organisation: OrganisationLike | _Unset | None = UNSET,
    is_staff: bool | _Unset = UNSET,
    is_active: bool | _Unset = UNSET,
    email: str | _Unset = UNSET,
) -> list[AuditEvent]:
    """Change what an account reaches, one audit row per field that really changes.

    All or nothing: one refused change refuses the whole call. Raises PermissionDenied or
    ValidationError (French messages) before writing anything.
    """
    asked = {
        "role": role,
        "organisation": organisation,
        "is_staff": is_staff,
        "is_active": is_active,
        "email": email,
    }
    requested = {name: value for name, value in asked.items() if value is not UNSET}
    if not requested:
        return []
    with transaction.atomic():
        stored = (
            User.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .get(pk=user.pk)
        )
        changes = {
            name: value
            for name, value in _normalised(requested).items()
            if _key(getattr(stored, name)) != _key(value)
        }
        if not changes:
            return []
        _check_access_change(by=by, user=stored, fields=set(changes), role=changes.get("role"))
        before = {name: getattr(stored, name) for name in changes}
        for name, value in changes.items():
            setattr(stored, name, value)
        stored.save(update_fields=list(changes))
        events = [
            log_action(_EVENTS[name], actor=by, target=stored, changes={name: (before[name], new)})
            for name, new in changes.items()
        ]
    for name, value in changes.items():
        setattr(user, name, value)
    return events


def user_set_password(*, user: User, by: User, password: str | None) -> None:
    """Someone else sets (or disables, with None) an account's password, e.g. on the admin's
    password page. One's own password changes on the account page, which asks for the old one."""
    refusal = _password_refusal(by=by, user=user)
    if refusal is not None:
        raise PermissionDenied(refusal)
    with transaction.atomic():
        stored = User.objects.select_for_update().get(pk=user.pk)
        if password is None:
            stored.set_unusable_password()
            what = "connexion par mot de passe désactivée"
        else:
            stored.set_password(password)
            what = "nouveau mot de passe"
        stored.save(update_fields=["password"])
        log_action(
            "account.password_set", actor=by, target=stored, changes={"password": (None, what)}
        )
    user.password = stored.password


def _password_refusal(*, by: User, user: User) -> str | None:
    if not (by.is_active and by.has_perm("clspdr.change_user")):
        return NOT_A_MANAGER
    if by.is_superuser:
        return None
    if user.pk == by.pk:
        return OWN_PASSWORD
    if is_protected(user):
        return PROTECTED_ACCOUNT
    return None


def _require_manager(by: User, permission: str) -> None:
    if not (by.is_active and by.has_perm(permission)):
        raise PermissionDenied(NOT_A_MANAGER)


def _check_access_change(*, by: User, user: User, fields: set[str], role: str | None) -> None:
    _require_manager(by, "clspdr.change_user")
    if user.pk == by.pk and fields & set(_OWN_LOCKED):
        raise PermissionDenied(OWN_ACCOUNT)
    if by.is_superuser:
        return
    if "is_staff" in fields:
        raise PermissionDenied(STAFF_FLAG)
    if fields & set(locked_fields(by=by, user=user)):
        raise PermissionDenied(PROTECTED_ACCOUNT)
    if role in PRIVILEGED_ROLES:
        raise PermissionDenied(PRIVILEGED_ROLE)


def _normalised(requested: dict[str, Any]) -> dict[str, Any]:
    """Validate the new values (French messages) and put them in the stored form."""
    values = dict(requested)
    if "role" in values and values["role"] not in Role.values:
        raise ValidationError(f"« {values['role']} » n'est pas un rôle connu.", code="role")
    if "email" in values:
        values["email"] = User.objects.normalize_email(values["email"] or "")
        if values["email"]:
            validate_email(values["email"])
    for flag in ("is_staff", "is_active"):
        if flag in values and not isinstance(values[flag], bool):
            raise ValidationError(f"{flag} : oui ou non attendu.", code=flag)
    return values


def _key(value: Any) -> Any:
    """What is compared: an organisation by its key, a choice by its value."""
    return getattr(value, "pk", value)
