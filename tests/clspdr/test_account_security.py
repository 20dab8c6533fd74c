"""Accounts under attack: one throttled login door, one password hash per attempt, a lock and
mailed links the Host header cannot move, e-mail addresses that name one account each."""

from __future__ import annotations

import re
from html import unescape

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from clspdr.models import Role, User
from tests.factories import PASSWORD, UserFactory

LOGIN_URL = reverse("account_login")
ADMIN_LOGIN_URL = reverse("admin:login")
ADMIN_INDEX = reverse("admin:index")
RESET_URL = reverse("account_reset_password")
EMAIL_URL = reverse("account_email")
KEY_LIMIT = 5  # ACCOUNT_RATE_LIMITS["login_failed"]: "10/m/ip,5/5m/key"
WRONG = "pas-le-bon-mot-de-passe"


@pytest.fixture
def camille(db):
    return UserFactory(username="camille", email="camille@example.org")


@pytest.fixture
def mallory(db):
    return UserFactory(username="mallory", email="mallory@example.org")


@pytest.fixture
def staff(db):
    return UserFactory(username="technique", email="technique@example.org", is_staff=True)


def _post_login(client: Client, login: str, password: str, **extra):
    extra.setdefault("REMOTE_ADDR", "127.0.0.1")
    return client.post(LOGIN_URL, {"login": login, "password": password}, **extra)


def _logged_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


# --- One password backend: right, wrong and unknown cost the same (issue 6, point 2) --------


class CountingMD5Hasher(MD5PasswordHasher):
    """The fast test hasher, counting how many passwords it hashes."""

    calls = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).calls += 1
        return super().encode(password, salt)


@pytest.fixture
def counting_hasher(settings) -> type[CountingMD5Hasher]:
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingMD5Hasher"]
    CountingMD5Hasher.calls = 0
    return CountingMD5Hasher


def test_it_hashes_once_whether_the_password_is_right_or_wrong_or_the_account_unknown(
    db, camille, counting_hasher
):
    attempts = {
        "username, right": ("camille", PASSWORD),
        "username, wrong": ("camille", WRONG),
        "username, unknown": ("personne", WRONG),
        "e-mail, right": ("camille@example.org", PASSWORD),
        "e-mail, wrong": ("camille@example.org", WRONG),
        "e-mail, unknown": ("personne@example.org", WRONG),
    }
    hashes = {}
    for n, (case, (login, password)) in enumerate(attempts.items()):
        client = Client()
        counting_hasher.calls = 0
        _post_login(client, login, password, REMOTE_ADDR=f"10.6.0.{n + 1}")
        hashes[case] = counting_hasher.calls
        assert (_logged_in_as(client) is not None) == case.endswith("right"), case
    assert hashes == dict.fromkeys(attempts, 1)


# --- One login door: /admin/login/ goes through allauth (issue 6, point 2) -----------------


def test_it_never_authenticates_a_post_to_the_admin_login(client, staff, counting_hasher):
    response = client.post(
        ADMIN_LOGIN_URL, {"username": "technique", "password": PASSWORD, "next": ADMIN_INDEX}
    )
    assertRedirects(response, f"{LOGIN_URL}?next={ADMIN_INDEX}", fetch_redirect_response=False)
    assert _logged_in_as(client) is None
    assert counting_hasher.calls == 0  # no password was even looked at: no oracle there


def test_it_sends_the_admin_login_to_the_throttled_login_then_back_to_the_admin(client, staff):
    response = client.get(ADMIN_INDEX, follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN_URL}?next=%2Fadmin%2F"
    logged_in = client.post(
        f"{LOGIN_URL}?next={ADMIN_INDEX}", {"login": "technique", "password": PASSWORD}
    )
    assertRedirects(logged_in, ADMIN_INDEX, fetch_redirect_response=False)
    assert client.get(ADMIN_INDEX).status_code == 200


def test_it_never_switches_account_through_the_admin_login(client, staff, camille):
    client.force_login(staff)
    response = client.post(ADMIN_LOGIN_URL, {"username": "camille", "password": PASSWORD})
    assertRedirects(response, ADMIN_INDEX, fetch_redirect_response=False)
    assert _logged_in_as(client) == str(staff.pk)


def test_it_refuses_the_admin_login_to_a_logged_in_person_who_is_not_staff(client, camille):
    client.force_login(camille)
    assert client.get(ADMIN_LOGIN_URL).status_code == 403
    response = client.post(ADMIN_LOGIN_URL, {"username": "camille", "password": PASSWORD})
    assert response.status_code == 403


def test_it_counts_failures_at_both_doors_together(client, staff):
    for n in range(KEY_LIMIT):
        _post_login(client, "technique", WRONG, REMOTE_ADDR=f"10.7.0.{n + 1}")
    through_admin = client.post(
        ADMIN_LOGIN_URL, {"username": "technique", "password": PASSWORD}, REMOTE_ADDR="10.7.1.1"
    )
    assert through_admin.status_code == 302
    assert _logged_in_as(client) is None
    response = _post_login(client, "technique", PASSWORD, REMOTE_ADDR="10.7.1.1")
    assert _logged_in_as(client) is None
    assertContains(response, "Trop de tentatives")


# --- The lock and the mailed links ignore the Host header (issue 6, point 3) ----------------


def test_it_keeps_the_lock_whatever_host_the_attempts_name(client, camille):
    for port in range(1, KEY_LIMIT + 1):
        _post_login(client, "camille", WRONG, HTTP_HOST=f"localhost:{port}")
    response = _post_login(client, "camille", PASSWORD, HTTP_HOST="127.0.0.1:8000")
    assert _logged_in_as(client) is None
    assertContains(response, "Trop de tentatives")


def test_it_locks_the_account_whichever_of_its_names_was_typed(client, camille):
    names = ["camille", "CAMILLE@example.org", "Camille", "camille@example.org", "camille"]
    assert len(names) == KEY_LIMIT
    for n, login in enumerate(names):
        _post_login(client, login, WRONG, REMOTE_ADDR=f"10.8.0.{n + 1}")
    response = _post_login(client, "camille@example.org", PASSWORD, REMOTE_ADDR="10.8.1.1")
    assert _logged_in_as(client) is None
    assertContains(response, "Trop de tentatives")


def _reset_links(message) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


def test_it_builds_the_reset_link_from_site_url_whatever_host_was_sent(client, camille, settings):
    settings.SITE_URL = "https://clspdr.example.test/"
    response = client.post(RESET_URL, {"email": "camille@example.org"}, HTTP_HOST="localhost:4444")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    links = _reset_links(mail.outbox[0])
    assert len(links) == 1
    assert links[0].startswith("https://clspdr.example.test/comptes/password/reset/key/")
    assert "4444" not in mail.outbox[0].body and "localhost" not in mail.outbox[0].body
    # ...and the link works.
    page = client.get(links[0].removeprefix("https://clspdr.example.test"), follow=True)
    assertContains(page, "Nouveau mot de passe")


# --- E-mail addresses: unique, recorded by the coordinator (issue 6, point 8) -----------------


def _log_in_and_confirm_password(client: Client, username: str) -> None:
    """What a person does before allauth lets them change addresses: log in, type the password
    again. The refusal below is then not the re-authentication guard."""
    assert _post_login(client, username, PASSWORD).status_code == 302
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def test_it_shows_the_address_read_only_and_sends_to_the_coordinator(client, camille):
    UserFactory(username="coord", role=Role.COORDINATOR, email="coordination@example.org")
    client.force_login(camille)
    response = client.get(EMAIL_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert "<title>Votre adresse e-mail — " in html
    assert "camille@example.org" in html
    assert "Pour la modifier, adressez-vous au coordinateur" in html
    assert "coordination@example.org" in html
    main = html.split('<main id="contenu"', 1)[1].split("</main>", 1)[0]
    assert "<form" not in main and "<input" not in main


@pytest.mark.parametrize(
    "data",
    [
        {"action_add": "", "email": "mallory@example.org"},
        {"action_primary": "", "email": "camille-bis@example.org"},
        {"action_remove": "", "email": "camille-bis@example.org"},
        {"action_send": "", "email": "camille-bis@example.org"},
    ],
    ids=["add", "primary", "remove", "send"],
)
def test_it_changes_no_address_whatever_is_posted(client, camille, mallory, data):
    EmailAddress.objects.create(user=camille, email="camille@example.org", primary=True)
    EmailAddress.objects.create(user=camille, email="camille-bis@example.org")
    before = list(EmailAddress.objects.order_by("pk").values())
    _log_in_and_confirm_password(client, "camille")
    response = client.post(EMAIL_URL, data)
    assert list(EmailAddress.objects.order_by("pk").values()) == before
    camille.refresh_from_db()
    assert camille.email == "camille@example.org"
    assert not mail.outbox
    assert response.status_code == 405


def test_it_refuses_one_address_on_two_accounts_in_the_database(camille):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="copie", email="Camille@Example.ORG")
    UserFactory(username="sans-adresse-1", email="")
    UserFactory(username="sans-adresse-2", email="")  # no address is not a shared address


def test_it_explains_in_french_why_the_admin_form_refuses_a_taken_address(client, camille):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    response = client.post(
        reverse("admin:clspdr_user_add"),
        {
            "username": "intrus",
            "first_name": "Ivan",
            "last_name": "Trus",
            "email": "CAMILLE@example.org",
            "role": Role.MEMBER,
            "usable_password": "false",
        },
    )
    assert response.status_code == 200
    assert "Cette adresse e-mail est déjà celle d'un autre compte" in unescape(
        response.content.decode()
    )
    assert not User.objects.filter(username="intrus").exists()


def test_it_never_mails_a_reset_link_through_an_address_the_account_did_not_record(
    client, camille, mallory
):
    # What the old self-service left behind: Mallory added Camille's address (never verified),
    # and an address of her own that nobody checked.
    EmailAddress.objects.create(user=mallory, email="camille@example.org", verified=False)
    EmailAddress.objects.create(user=mallory, email="inconnue@example.org", verified=False)

    client.post(RESET_URL, {"email": "camille@example.org"})
    client.post(RESET_URL, {"email": "inconnue@example.org"})

    with_links = [m for m in mail.outbox if _reset_links(m)]
    assert [m.to for m in with_links] == [["camille@example.org"]]
    link = _reset_links(with_links[0])[0]
    assert f"/key/{user_pk_to_url_str(camille)}-" in link  # Camille's account, not Mallory's


def test_it_never_logs_in_through_an_address_added_to_another_account(client, camille, mallory):
    EmailAddress.objects.create(user=mallory, email="camille@example.org", verified=True)
    _post_login(client, "camille@example.org", PASSWORD)  # Mallory's password (same in tests)
    assert _logged_in_as(client) == str(camille.pk)
    client.logout()
    mallory.set_password("le-mot-de-passe-de-mallory")
    mallory.save()
    _post_login(client, "camille@example.org", "le-mot-de-passe-de-mallory")
    assert _logged_in_as(client) is None


def test_it_reads_a_login_that_is_an_address_as_that_address_only(client, camille):
    # A username spelled like somebody else's address must not open a second account to try.
    homonym = UserFactory(username="camille@example.org", email="homonyme@example.org")
    homonym.set_password("le-mot-de-passe-de-l-homonyme")
    homonym.save()
    _post_login(client, "camille@example.org", "le-mot-de-passe-de-l-homonyme")
    assert _logged_in_as(client) is None
    _post_login(client, "camille@example.org", PASSWORD)
    assert _logged_in_as(client) == str(camille.pk)


def test_it_confirms_no_address_with_an_old_confirmation_link(client, camille, mallory):
    address = EmailAddress.objects.create(user=mallory, email="camille@example.org")
    key = EmailConfirmationHMAC(address).key
    client.post(reverse("account_confirm_email", kwargs={"key": key}))
    address.refresh_from_db()
    mallory.refresh_from_db()
    assert not address.verified
    assert mallory.email == "mallory@example.org"


def test_it_tells_the_recorded_address_that_the_password_changed(client, camille):
    # A row left by the old self-service, or by an address the coordinator has since changed.
    EmailAddress.objects.create(user=camille, email="camille-ancienne@example.org", primary=True)
    client.force_login(camille)
    new = "une-phrase-de-passe-assez-longue"
    client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert [m.to for m in mail.outbox] == [["camille@example.org"]]
