"""The browser journeys do not depend on the caller's environment (issue 6, point 9).

No browser here: the same `demo` fixture and the same login form the journeys use, with the
Django test client.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from clspdr.demo import DEFAULT_PASSWORD
from tests.e2e import a11y


def test_it_logs_in_the_demo_accounts_whatever_demo_password_the_shell_exports(
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    client: Client,
    transactional_db,
):
    monkeypatch.setenv("DEMO_PASSWORD", "un-autre-mot-de-passe")  # as the README invites
    request.getfixturevalue("demo")
    # `log_in` types DEFAULT_PASSWORD, the accessibility sweep a11y.PASSWORD.
    for password in {DEFAULT_PASSWORD, a11y.PASSWORD}:
        client.logout()
        response = client.post(
            reverse("account_login"), {"login": "coordination", "password": password}
        )
        assert response.status_code == 302, password
        assert client.session.get("_auth_user_id"), password
