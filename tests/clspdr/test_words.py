"""The words people meet first: greeting, headings, the strategy's period, the icon, the login."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

from axes.models import Strategy
from governance.models import Organisation
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("account_login")


def test_it_greets_the_person_by_name_after_login(client):
    UserFactory(username="police", first_name="Karim", last_name="Belkacem")
    response = client.post(LOGIN_URL, {"login": "police", "password": PASSWORD}, follow=True)
    messages = [str(message) for message in response.context["messages"]]
    assert messages == ["Bonjour Karim Belkacem."]


def test_it_greets_a_name_with_an_apostrophe_once_escaped(client):
    UserFactory(username="ines", first_name="Inès", last_name="D'Amico")
    response = client.post(LOGIN_URL, {"login": "ines", "password": PASSWORD}, follow=True)
    assert "Bonjour Inès D&#x27;Amico." in response.content.decode()


def test_it_names_the_login_field_as_people_know_it(client):
    html = client.get(LOGIN_URL).content.decode()
    assert '<label for="id_login">Identifiant ou adresse e-mail' in html
    field = re.search(r'<input[^>]*name="login"[^>]*>', html)
    assert field is not None
    assert 'autocomplete="username"' in field[0]
    assert "placeholder" not in field[0]


def test_it_names_the_partners_organisation_in_full_on_the_home_page(world, personas, login):
    Organisation.objects.filter(pk=world.organisations["police"].pk).update(short_name="PN")
    html = login(personas["police"]).get(reverse("home")).content.decode()
    assert "Les actions portées par Police nationale" in html
    assert "portées par PN" not in html


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("Stratégie de Manosque 2023-2027", "Stratégie de Manosque 2023-2027"),
        ("Stratégie de Manosque 2023–2027", "Stratégie de Manosque 2023–2027"),
        ("Stratégie 2023 à 2027", "Stratégie 2023 à 2027"),
        ("Stratégie locale", "Stratégie locale (2023–2027)"),
        ("Stratégie 2023", "Stratégie 2023 (2023–2027)"),
    ],
)
def test_it_writes_the_strategys_period_once(title, label):
    assert Strategy(title=title, start_year=2023, end_year=2027).label == label


def test_it_never_writes_the_period_twice_on_the_pages(world, personas, login):
    client = login(personas["coordination"])
    for name in ("home", "axes:dashboard", "actions:list"):
        html = client.get(reverse(name)).content.decode()
        assert "2023-2027 (2023–2027)" not in html, name
        assert world.strategy.title in html, name


def test_it_has_a_favicon(client):
    assert finders.find("favicon.svg")
    html = client.get(LOGIN_URL).content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("favicon.svg")
