"""Accounts: French pages in our layout, password policy, hashing, throttling (T-27, T-28)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from clspdr import settings as project_settings
from clspdr.models import User
from tests.factories import PASSWORD, UserFactory

LOGIN_URL = reverse("account_login")


@pytest.fixture
def camille(db):
    return UserFactory(username="camille", email="camille@example.org")


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, "no <title>"
    return " ".join(match.group(1).split())


def _errors(html: str) -> list[str]:
    """Visible error messages, without the markup (and without the echoed login)."""
    blocks = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", b).split()) for b in blocks]


def _post_login(client: Client, login: str, password: str, ip: str = "127.0.0.1"):
    return client.post(LOGIN_URL, {"login": login, "password": password}, REMOTE_ADDR=ip)


# --- Pages ------------------------------------------------------------------------------------


def test_it_shows_the_login_page_in_french_inside_our_layout(client, db):
    response = client.get(LOGIN_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert _title(html).startswith("Connexion — ")
    assert html.count("<h1") == 1
    assert 'class="skip-link"' in html  # our base.html, not allauth's bare layout
    assert '<label for="id_login">' in html
    assert '<label for="id_password">' in html
    assert "Mot de passe oublié" in html
    assert "signup" not in html  # sign-up is closed: no link to it


@pytest.mark.parametrize(
    ("url_name", "needs_login"),
    [
        ("account_login", False),
        ("account_reset_password", False),
        ("account_reset_password_done", False),
        ("account_reset_password_from_key_done", False),
        ("account_signup", False),
        ("account_logout", True),
        ("account_change_password", True),
    ],
)
def test_it_renders_every_account_page_with_one_h1_and_a_french_title(
    client, camille, url_name, needs_login
):
    if needs_login:
        client.force_login(camille)
    response = client.get(reverse(url_name))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert '<html lang="fr">' in html
    assert "Sign" not in _title(html) and "Password" not in _title(html)


def test_it_gives_each_account_page_its_own_title(client, camille):
    titles = {}
    for name in ("account_login", "account_reset_password", "account_reset_password_done"):
        titles[name] = _title(client.get(reverse(name)).content.decode())
    client.force_login(camille)
    for name in ("account_logout", "account_change_password"):
        titles[name] = _title(client.get(reverse(name)).content.decode())
    assert len(set(titles.values())) == len(titles), titles


def test_it_links_field_errors_to_their_input(client, camille):
    client.force_login(camille)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "court", "password2": "court"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert '<ul class="errorlist" id="id_password1_error">' in html
    assert re.search(r'<input[^>]*aria-describedby="[^"]*id_password1_error[^"]*"', html)
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="id_password1"', html)


def test_it_keeps_sign_up_closed(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "intrus",
            "email": "intrus@example.org",
            "password1": "une-phrase-de-passe-longue",
            "password2": "une-phrase-de-passe-longue",
        },
    )
    assertContains(response, "Pas d'inscription en ligne")
    assert not User.objects.filter(username="intrus").exists()


# --- Login and logout -------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["camille", "camille@example.org", "CAMILLE@example.org"])
def test_it_logs_in_with_the_username_or_the_email(client, camille, login):
    response = _post_login(client, login, PASSWORD)
    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert client.session["_auth_user_id"] == str(camille.pk)


def test_it_logs_out_only_with_a_post(client, camille):
    client.force_login(camille)
    page = client.get(reverse("account_logout"))
    assertContains(page, "Voulez-vous vraiment vous déconnecter")
    assert "_auth_user_id" in client.session
    response = client.post(reverse("account_logout"))
    assertRedirects(response, LOGIN_URL, fetch_redirect_response=False)
    assert "_auth_user_id" not in client.session


def test_it_refuses_an_inactive_account(client, camille):
    camille.is_active = False
    camille.save()
    response = _post_login(client, "camille", PASSWORD)
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)


# --- Password policy (T-27, LEG-20) -------------------------------------------------------------


def _change_password(client: Client, new: str):
    return client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )


def test_it_refuses_an_11_character_password(client, camille):
    client.force_login(camille)
    response = _change_password(client, "Zq8!vR2#pL0")
    assert response.status_code == 200
    assertContains(response, "12 caractères")
    camille.refresh_from_db()
    assert camille.check_password(PASSWORD)


def test_it_accepts_a_64_character_password(client, camille):
    client.force_login(camille)
    long_password = "Le-vent-souffle-sur-les-collines-de-Manosque-et-sur-la-Durance!!"
    assert len(long_password) == 64
    response = _change_password(client, long_password)
    assert response.status_code == 302
    camille.refresh_from_db()
    assert camille.check_password(long_password)


@pytest.mark.parametrize(
    "common", ["password1234", "qwertyuiop123", "1qaz2wsx3edc", "123456789012"]
)
def test_it_refuses_a_common_or_numeric_password(client, camille, common):
    client.force_login(camille)
    response = _change_password(client, common)
    assert response.status_code == 200
    assert _errors(response.content.decode())
    camille.refresh_from_db()
    assert camille.check_password(PASSWORD)


def test_it_hashes_passwords_with_argon2(client, camille, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS  # undo the fast test hasher
    camille.set_password(PASSWORD)  # the factory hashed it with the test hasher
    camille.save()
    client.force_login(camille)
    new = "une-phrase-de-passe-assez-longue"
    assert _change_password(client, new).status_code == 302
    camille.refresh_from_db()
    assert camille.password.startswith("argon2$argon2id$")
    assert camille.check_password(new)


# --- Password reset -----------------------------------------------------------------------------


def test_it_resets_a_forgotten_password_by_email_without_logging_in(client, camille, settings):
    response = client.post(reverse("account_reset_password"), {"email": "camille@example.org"})
    assertRedirects(response, reverse("account_reset_password_done"), fetch_redirect_response=False)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["camille@example.org"]
    assert message.subject == f"[{settings.SITE_NAME}] Choisir un nouveau mot de passe"
    assert message.body.startswith("Bonjour,")
    assert "Votre nom d'utilisateur est : camille" in message.body
    link = re.search(r"https?://[^/\s]+(/comptes/password/reset/key/\S+)", message.body)
    assert link, message.body

    set_page = client.get(link.group(1), follow=True)
    assertContains(set_page, "Nouveau mot de passe")
    action = re.search(r'<form method="post" action="([^"]+)"', set_page.content.decode())
    assert action
    new = "un-nouveau-mot-de-passe-solide"
    done = client.post(action.group(1), {"password1": new, "password2": new})
    assertRedirects(
        done, reverse("account_reset_password_from_key_done"), fetch_redirect_response=False
    )
    camille.refresh_from_db()
    assert camille.check_password(new)
    assert "_auth_user_id" not in client.session  # ACCOUNT_LOGIN_ON_PASSWORD_RESET is off

    reused = client.get(link.group(1), follow=True)
    assertContains(reused, "Lien de réinitialisation invalide")


def test_it_answers_the_same_to_a_reset_for_an_unknown_address(client, camille):
    known = client.post(reverse("account_reset_password"), {"email": "camille@example.org"})
    unknown = client.post(reverse("account_reset_password"), {"email": "personne@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    to_unknown = [m for m in mail.outbox if m.to == ["personne@example.org"]]
    # Sign-up is closed: if the unknown address gets a message, it carries no link at all.
    assert all("http" not in m.body for m in to_unknown)


# --- Throttling (T-28) --------------------------------------------------------------------------

KEY_LIMIT = 5  # ACCOUNT_RATE_LIMITS["login_failed"]: "10/m/ip,5/5m/key"
IP_LIMIT = 10


def _attempts(client: Client, login: str, count: int, ip: str) -> list[tuple[int, list[str]]]:
    answers = []
    for _ in range(count):
        response = _post_login(client, login, "pas-le-bon-mot-de-passe", ip=ip)
        answers.append((response.status_code, _errors(response.content.decode())))
    return answers


def test_it_throttles_failures_without_telling_whether_the_account_exists(client, camille):
    existing = _attempts(client, "camille", KEY_LIMIT + 2, ip="10.0.0.1")
    missing = _attempts(client, "quelquun-d-autre", KEY_LIMIT + 2, ip="10.0.0.2")

    assert existing == missing
    first, throttled = existing[0], existing[-1]
    assert first[0] == throttled[0] == 200
    assert first[1] != throttled[1]  # the throttle did kick in...
    assert first[1] == ["Identifiant ou mot de passe incorrect."]
    assert "Trop de tentatives" in " ".join(throttled[1])  # ...with a French, generic message
    assert "camille" not in " ".join(throttled[1])


def test_it_throttles_one_account_attacked_from_rotating_addresses(client, camille):
    for n in range(KEY_LIMIT):
        _post_login(client, "camille", "mauvais-mot-de-passe", ip=f"10.1.0.{n + 1}")
    response = _post_login(client, "camille", PASSWORD, ip="10.1.0.99")
    assert "_auth_user_id" not in client.session
    assertContains(response, "Trop de tentatives")


def test_it_throttles_one_address_trying_many_accounts(client, camille):
    for n in range(IP_LIMIT):
        _post_login(client, f"compte-{n}", "mauvais-mot-de-passe", ip="10.2.0.1")
    response = _post_login(client, "camille", PASSWORD, ip="10.2.0.1")
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)


def test_it_still_logs_in_a_user_below_the_limit(client, camille):
    _attempts(client, "camille", KEY_LIMIT - 1, ip="10.3.0.1")
    response = _post_login(client, "camille", PASSWORD, ip="10.3.0.1")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(camille.pk)
