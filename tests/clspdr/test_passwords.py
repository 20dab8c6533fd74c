"""Common French passwords, and the town's and site's names, are refused (clspdr/passwords.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from clspdr.passwords import FRENCH_LIST, FrenchCommonPasswordValidator, french_words
from tests.factories import PASSWORD, UserFactory


def _refused(password: str) -> list[str]:
    try:
        FrenchCommonPasswordValidator().validate(password)
    except ValidationError as error:
        return error.messages
    return []


@pytest.mark.parametrize(
    "password",
    [
        "motdepasse123",
        "azertyuiop12",
        "Azertyuiop2026!",
        "M0tdepasse123!",
        "Mot-de-passe-2024",
        "soleil2024!!",
        "jetaime123456",
        "marseille1313",
        "Police04100!",
        "123456nicolas",
        "P@ssw0rd2024!",  # Django's list, once the year and the look-alikes are read
    ],
)
def test_it_refuses_a_common_french_word_with_digits_around_it(password):
    assert _refused(password) == [FrenchCommonPasswordValidator().get_error_message()]


@pytest.mark.parametrize(
    "password", ["manosque2026", "Manosque-04100!", "CLSPDR de Manosque 2026", "clspdr2026!!"]
)
def test_it_refuses_the_town_and_the_site_name(password):
    assert "nom de la commune ou du site" in _refused(password)[0]


def test_it_takes_the_town_from_the_settings(settings):
    settings.TOWN_NAME = "Forcalquier"
    settings.SITE_NAME = "CISPD du Pays de Forcalquier"
    assert _refused("forcalquier2026")
    assert _refused("Cispd-2026!!")
    assert not _refused("manosque2026!")


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "Le-vent-souffle-sur-les-collines",
        "Soleil-de-Manosque-2026",  # a phrase, not a word
        "Durance en crue, 1994",
        "Zq8!vR2#pL0m",
    ],
)
def test_it_accepts_a_phrase_or_a_random_password(password):
    assert _refused(password) == []


def test_it_ships_a_list_of_several_hundred_folded_words():
    words = french_words()
    assert len(words) >= 300
    assert {"motdepasse", "azertyuiop", "soleil", "doudou", "francaise"} <= words
    assert all(word.isascii() and word.isalnum() and word == word.lower() for word in words)
    assert "How it was built" in FRENCH_LIST.read_text(encoding="utf-8")


def test_it_is_the_validator_the_site_uses():
    with pytest.raises(ValidationError):
        validate_password("motdepasse123")


@pytest.mark.django_db
def test_it_refuses_it_on_the_password_change_page_in_french(client):
    user = UserFactory(username="camille")
    client.force_login(user)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "azertyuiop12", "password2": "azertyuiop12"},
    )
    assert response.status_code == 200
    assert "Ce mot de passe est trop courant" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
