"""One language, done properly: French pages say so, whatever the browser prefers."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def test_it_marks_every_page_french_for_an_english_browser(world, personas, login, client):
    html = client.get(reverse("account_login"), **ENGLISH_BROWSER).content.decode()
    assert '<html lang="fr">' in html
    html = login(personas["coordination"]).get(reverse("home"), **ENGLISH_BROWSER).content.decode()
    assert '<html lang="fr">' in html


def test_it_offers_no_language_switch(world, personas, login):
    html = login(personas["coordination"]).get(reverse("home")).content.decode()
    assert reverse("set_language") not in html
    assert 'name="language"' not in html
    assert "English" not in html


def test_it_refuses_to_switch_to_a_language_without_translated_pages(world, personas, login):
    client = login(personas["coordination"])
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.get(reverse("home"))
    assert response["Content-Language"] == "fr"
    assert '<html lang="fr">' in response.content.decode()
