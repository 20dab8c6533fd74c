"""Free text refuses control and bidirectional-override characters (clspdr/text.py)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from clspdr.text import plain_text, strip_invisible

OUR_APPS = ("clspdr", "axes", "governance", "actions", "observatory")

REFUSED = [
    pytest.param("Titre\x0bsuite", id="word-line-break-U+000B"),
    pytest.param("nul\x00", id="NUL"),
    pytest.param("bell\x07", id="BEL"),
    pytest.param("esc\x1b[31m", id="ESC"),
    pytest.param("del\x7f", id="DEL"),
    pytest.param("c1\x85", id="C1-NEL"),
    pytest.param("rapport\u202egnp.exe", id="RLO-U+202E"),
    pytest.param("a\u202ab", id="LRE-U+202A"),
    pytest.param("a\u2066b\u2069", id="LRI-PDI"),
]
ACCEPTED = [
    "Réunion du 1er juillet : « bilan » — 12 500,50 €",
    "deux lignes\nséparées",
    "lignes Windows\r\nd'un textarea",
    "tabulation\tici",
    "arabe العربية et hébreu עברית",
    "emoji 👮 et espace insécable\u00a0!",
]


@pytest.mark.parametrize("text", REFUSED)
def test_it_refuses_control_and_bidi_characters_with_a_french_message(text):
    with pytest.raises(ValidationError) as raised:
        plain_text(text)
    message = raised.value.messages[0]
    assert "U+" in message and "position" in message
    assert "Supprimez-le" in message


@pytest.mark.parametrize("text", ACCEPTED)
def test_it_accepts_what_people_really_type(text):
    plain_text(text)


def test_it_strips_refused_characters_for_export():
    assert strip_invisible("a\x0bb\x00c\u202ed") == "a\nbcd"
    assert strip_invisible("ligne\r\nligne\tfin") == "ligne\r\nligne\tfin"


def _free_text_fields():
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.CharField | models.TextField)
                and not field.choices
                and not isinstance(field, models.SlugField | models.EmailField)
                and field.name not in ("password", "username")
            ):
                yield pytest.param(field, id=f"{model.__name__}.{field.name}")


@pytest.mark.parametrize("field", list(_free_text_fields()))
def test_it_guards_every_free_text_model_field(field):
    """A new text field without the validator would let the admin store U+000B again."""
    assert plain_text in field.validators


def test_it_isolates_legacy_user_text_in_the_conflict_notice(world, personas, login):
    """A comment stored before bidi overrides were refused cannot reverse the notice's words."""
    from django.urls import reverse

    from actions.models import Action, StatusUpdate

    action = world.actions["police_led"]
    police = personas["police"]
    client = login(police)
    StatusUpdate.objects.create(
        action=action,
        author=police,
        created_at=action.created_at,
        previous_status="todo",
        previous_progress=0,
        status="in_progress",
        progress=10,
        comment="voir pièce jointe\u202egnp.exe",
    )
    Action.objects.filter(pk=action.pk).update(version=2, status="in_progress", progress=10)
    response = client.post(
        reverse("actions:update_status", args=[action.pk]),
        {"status": "in_progress", "progress": "20", "comment": "", "version": "1"},
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert "« <bdi>voir pièce jointe\u202egnp.exe</bdi> »" in html
    detail = client.get(reverse("actions:detail", args=[action.pk])).content.decode()
    assert '<blockquote class="history__comment" dir="auto">' in detail
