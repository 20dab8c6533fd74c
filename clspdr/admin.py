"""Accounts in the Django admin, for the technical administrator (Role.ADMIN, staff, not superuser).

A staff member who may change users must not be able to make anyone (themselves included) a
superuser or hand out permissions, nor take over a superuser's account: those stay with the
superuser created at installation (docs/security.md, "Separation of duties": the app's admin is never `is_superuser`).

Separation of duties (docs/security.md): the rules of who may change which access field live in
`clspdr.accounts`. Here they decide which fields are read-only (so forged values are ignored)
and which roles are offered, and every save goes through its services, which check again and
write the audit trail. Groups carry permissions, so they are the superuser's alone.
"""

from __future__ import annotations

from typing import Any, cast

from allauth.account.models import EmailAddress
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.forms import ModelForm, TypedChoiceField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from clspdr import accounts
from clspdr.models import User

_SUPERUSER_ONLY = ("is_superuser", "groups", "user_permissions", "is_staff")
_CONCRETE = frozenset(f.name for f in User._meta.concrete_fields)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Identité"), {"fields": ("first_name", "last_name", "email", "job_title")}),
        (_("Place dans le CLSPDR"), {"fields": ("role", "organisation")}),
        (
            _("Accès"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "first_name",
                    "last_name",
                    "email",
                    "role",
                    "organisation",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    list_display = (
        "username",
        "last_name",
        "first_name",
        "email",
        "role",
        "organisation",
        "is_active",
        "is_staff",
        "last_login",
    )
    list_filter = ("role", "is_active", "is_staff", "organisation__kind", "organisation")
    list_select_related = ("organisation",)
    search_fields = ("username", "first_name", "last_name", "email", "organisation__name")
    autocomplete_fields = ("organisation",)
    ordering = ("last_name", "first_name", "username")
    readonly_fields = ("last_login", "date_joined")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = list(super().get_readonly_fields(request, obj))
        if not _is_superuser(request):
            fields += _SUPERUSER_ONLY
        if obj is not None:
            fields += accounts.locked_fields(by=_user(request), user=obj)
        return tuple(dict.fromkeys(fields))

    def formfield_for_choice_field(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> TypedChoiceField | None:
        if db_field.name == "role":
            kwargs["choices"] = accounts.assignable_roles(_user(request))
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not _is_superuser(request):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not accounts.may_delete(by=_user(request), user=obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        if not change:
            self._create(request, obj, form)
            return
        # The form has put its values on `obj`; the access fields are written by the service
        # (rules, audit), the others here.
        access = {
            name: getattr(obj, name) for name in accounts.ACCESS_FIELDS if name in form.changed_data
        }
        others = [name for name in form.changed_data if name in _CONCRETE and name not in access]
        with transaction.atomic():
            if others:
                obj.save(update_fields=others)
            accounts.user_change_access(user=obj, by=_user(request), **access)

    def _create(self, request: HttpRequest, obj: User, form: ModelForm) -> None:
        data = form.cleaned_data
        created = accounts.user_create(
            by=_user(request),
            username=obj.username,
            email=obj.email,
            first_name=obj.first_name,
            last_name=obj.last_name,
            job_title=obj.job_title,
            role=obj.role,
            organisation=obj.organisation,
            password=data["password1"] if data.get("set_usable_password") else None,
        )
        # The admin goes on with the object it built (history entry, redirect).
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @method_decorator(sensitive_post_parameters())
    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        target = self.get_object(request, unquote(id))
        if target is None:
            raise Http404
        by = _user(request)
        if not self.has_change_permission(request, target):
            raise PermissionDenied
        if target.pk == by.pk and not by.is_superuser:
            messages.info(request, accounts.OWN_PASSWORD)
            return redirect("account_change_password")
        if not accounts.may_set_password(by=by, user=target):
            raise PermissionDenied
        if request.method == "POST":
            saved = self._set_password(request, target)
            if saved is not None:
                return saved
        # The page and the refused form: Django's, which validates the same form again.
        return super().user_change_password(request, id, form_url)

    def _set_password(self, request: HttpRequest, target: User) -> HttpResponse | None:
        form = self.change_password_form(target, request.POST)
        if not form.is_valid():
            return None
        usable = form.cleaned_data["set_usable_password"]
        if not (usable or "unset-password" in request.POST):
            return None  # conflicting buttons: Django's view says so
        accounts.user_set_password(
            user=target,
            by=_user(request),
            password=form.cleaned_data["password1"] if usable else None,
        )
        self.log_change(request, target, self.construct_change_message(request, form, []))
        if usable:
            messages.success(request, gettext("Password changed successfully."))
        else:
            messages.success(request, gettext("Password-based authentication was disabled."))
        update_session_auth_hash(request, target)  # a superuser changing their own stays in
        return HttpResponseRedirect(reverse("admin:clspdr_user_change", args=[target.pk]))


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """A group hands out permissions: whoever edits groups edits their own rights."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)


# allauth's address rows are never read (docs/security.md, "E-mail addresses"): the address is
# `User.email`, edited on the user's page. A second place to edit it would only mislead.
admin.site.unregister(EmailAddress)


def _is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)
