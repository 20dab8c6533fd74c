"""The one password backend: allauth's, checking one password per login attempt.

allauth's backend alone still hashes twice for a wrong password typed with an e-mail address
(the login form hands the address over both as `email` and as `username`, and each is tried),
and it looks addresses up in allauth's `EmailAddress` rows, which any user could once fill with
somebody else's address. Here an account is named by its username or by the address recorded
on the account itself (`User.email`, unique in the database), and each account found has its
password checked at most once: right, wrong and unknown logins cost one hash each.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from allauth.account.internal.userkit import get_user_by_username
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from clspdr.models import User


def account_by_email(email: str) -> User | None:
    """The account whose own recorded address is `email`, whatever its case."""
    email = email.strip()
    if "@" not in email:
        return None
    matches = [
        user
        for user in User._default_manager.filter(email__iexact=email)[:2]
        # iexact folds more than lower() on some databases: keep the plain case-insensitive match.
        if user.email.lower() == email.lower()
    ]
    return matches[0] if len(matches) == 1 else None


def account_for_login(login: str) -> User | None:
    """The account a typed login names, in the order the backend tries: address, username."""
    user = account_by_email(login)
    if user is None and login.strip():
        user = get_user_by_username(login.strip())
    return user


class AuthenticationBackend(AllauthBackend):
    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        # The user of every request, read afresh so that a deactivation or a password change
        # ends the session at the next request. Every page's header names the person's
        # organisation (templates/base.html): it comes in the same query, not in a second one.
        try:
            user = User._default_manager.select_related("organisation").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def authenticate(
        self, request: HttpRequest | None, **credentials: Any
    ) -> AbstractBaseUser | None:
        self._checked: dict[Any, AbstractBaseUser | None] = {}
        return super().authenticate(request, **credentials)

    def _authenticate_by_email(self, email: str, password: str) -> AbstractBaseUser | None:
        return self._check_password(account_by_email(email), password)

    def _authenticate_by_username(self, username: str, password: str) -> AbstractBaseUser | None:
        # A login that is an account's address names that account only, never another one
        # whose username happens to be spelled the same: one login, one account.
        if account_by_email(username) is not None:
            return None
        return super()._authenticate_by_username(username, password)

    def _check_password(
        self, user: AbstractBaseUser | None, password: str
    ) -> AbstractBaseUser | None:
        # The same account reached through two credentials is checked once: a second hash
        # would make a wrong password measurably slower than a right one.
        if user is None:
            return None
        if user.pk not in self._checked:
            self._checked[user.pk] = super()._check_password(user, password)
        return self._checked[user.pk]
