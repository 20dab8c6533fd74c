from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# One wording whatever was typed (username or e-mail) and whether the account exists.
_LOGIN_MISMATCH = _("Identifiant ou mot de passe incorrect.")


class AccountAdapter(DefaultAccountAdapter):
    """Accounts are created by the coordinator or the administrator, never by sign-up."""

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
