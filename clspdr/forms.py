"""Forms of the ground: the login form's wording."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm


class LoginForm(AllauthLoginForm):
    """allauth's login form, saying what people type: their login or their e-mail address.

    `autocomplete="username"` (not allauth's "email"): password managers fill the login the
    account was saved with, whichever of the two it is. No placeholder repeating the label.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["login"]
        field.label = "Identifiant ou adresse e-mail"
        field.widget.attrs.pop("placeholder", None)
        field.widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        )
