from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress, EmailConfirmation, EmailConfirmationHMAC
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clspdr.auth_backends import account_for_login

# One wording whatever was typed (username or e-mail) and whether the account exists.
_LOGIN_MISMATCH = _("Identifiant ou mot de passe incorrect.")


def public_url(url: str) -> str:
    """`url` moved onto SITE_URL: the Host header of a request never chooses where links lead."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return settings.SITE_URL.rstrip("/") + path


@dataclass(frozen=True)
class PublicSite:
    """What allauth's mail templates call `current_site`, taken from the settings."""

    domain: str
    name: str


def recorded_email(user: AbstractBaseUser) -> str:
    """The address the coordinator recorded on the account: the only one it is mailed at."""
    return str(getattr(user, "email", "") or "")


class AccountAdapter(DefaultAccountAdapter):
    """Accounts are created by the coordinator or the administrator, never by sign-up.

    Their e-mail address is the one recorded on the account (`User.email`, unique): people do
    not manage addresses themselves, and allauth's `EmailAddress` rows are never used to find
    an account nor to choose where a mail goes (docs/security.md).
    """

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "username_password_mismatch": _LOGIN_MISMATCH,
        "email_password_mismatch": _LOGIN_MISMATCH,
        "too_many_login_attempts": _(
            "Trop de tentatives de connexion échouées. Réessayez dans quelques minutes."
        ),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def format_email_subject(self, subject: str) -> str:
        # Without django.contrib.sites allauth would prefix the bare host name.
        return f"[{settings.SITE_NAME}] {subject}"

    # --- Login throttling -------------------------------------------------------------------

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth prefixes the login with the request's site, which is the Host header
        # (port included) without django.contrib.sites: each new Host reset the lock. The lock
        # follows the account, whichever of its names was typed; an unknown login keeps its own.
        login = str(credentials.get("email") or credentials.get("username") or "")
        user = account_for_login(login)
        if user is not None:
            return f"account:{user.pk}"
        return f"login:{login.strip().lower()}"

    # --- Links in e-mails -------------------------------------------------------------------

    def get_reset_password_from_key_url(self, key: str) -> str:
        return public_url(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(
        self, request: HttpRequest, emailconfirmation: EmailConfirmation | EmailConfirmationHMAC
    ) -> str:
        return public_url(super().get_email_confirmation_url(request, emailconfirmation))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # Every link allauth puts in a mail is a `*_url` of the context (sign-up, reset...).
        context = {
            **{
                key: public_url(value) if key.endswith("_url") and isinstance(value, str) else value
                for key, value in context.items()
            },
            "current_site": PublicSite(
                domain=urlsplit(settings.SITE_URL).netloc, name=settings.SITE_NAME
            ),
        }
        super().send_mail(template_prefix, email, context)

    # --- Addresses: the account's own, nothing else -----------------------------------------

    def send_password_reset_mail(
        self, user: AbstractBaseUser, email: str, context: dict[str, Any]
    ) -> None:
        # allauth also finds accounts through EmailAddress rows, verified or not, and mails
        # each one a link: a reset only ever goes to the address recorded on the account.
        address = recorded_email(user)
        if address and address.lower() == email.strip().lower():
            super().send_password_reset_mail(user, address, context)

    def send_notification_mail(
        self,
        template_prefix: str,
        user: AbstractBaseUser,
        context: dict[str, Any] | None = None,
        email: str | None = None,
    ) -> None:
        # allauth would mail the primary EmailAddress row, which accounts created by the
        # coordinator do not have: "your password was changed" would reach nobody.
        super().send_notification_mail(
            template_prefix, user, context, email=email or recorded_email(user) or None
        )

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        # Nobody adds addresses any more; a confirmation link mailed before that must not
        # verify an address, nor make it the account's own.
        return False
