"""Property: random and hostile text posted to every form, and put in every query string,
never costs a 500 and never stores a control or bidi-override character (clspdr/text.py).

Forms are discovered, not listed: each page below is fetched as the persona that can use it,
its `<form method="post">`s are parsed, and hypothesis fills every visible text field (inputs
and textareas; hidden fields, selects and checkboxes keep the page's values so the rest of the
form stays valid) with text mixing control characters, bidi overrides, NUL and 100 kB runs.
A page that gains a form is covered without touching this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.models import SubList
from actions.services import action_update_status
from clspdr.demo import ADMIN_MODELS
from clspdr.models import Role
from clspdr.text import FORBIDDEN
from tests.factories import UserFactory
from tests.test_access_matrix import GET_EXPECTATIONS

OUR_APPS = ("clspdr", "axes", "governance", "actions", "observatory")
TEXT_INPUTS = {"text", "search", "email", "url", "tel", None}
# Forms whose submission ends the test's session rather than storing anything.
SKIPPED_ACTIONS = ("/comptes/logout/",)

# Each is posted alone into every text field of every form, then mixed at random.
CANONICAL = [
    "Titre\x0bsuite",  # Word's manual line break
    "rapport\u202egnp.exe",  # reads "rapportexe.png"
    "nul\x00",
]
HUGE = "é" * 100_000  # 200 kB in UTF-8, once in every text field of a form
NASTY = [
    "\x0b",
    "\u202e",
    "\x01",
    "\x07",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x00",
    "\x85",
    "\x9f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\r\n",
    "\t",
    "=cmd|' /C calc'!A0",
    "<script>alert(1)</script>",
    "'; DROP TABLE actions_action; --",
    "9" * 4400,
]
_characters = st.one_of(
    st.sampled_from(NASTY),
    st.characters(exclude_categories=["Cs"]),  # lone surrogates cannot travel as UTF-8
)
HOSTILE_TEXT = st.lists(_characters, min_size=1, max_size=40).map("".join)


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str | None, str]] = field(default_factory=list)  # name, type, value
    textareas: set[str] = field(default_factory=set)

    def text_fields(self) -> list[str]:
        names = [n for n, kind, _ in self.fields if kind in TEXT_INPUTS and n != "username"]
        return names + sorted(self.textareas)


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = Form(urljoin(self.page_url, a.get("action") or self.page_url))
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file", "image", "reset"):
                self._form.fields.append((a["name"], kind, a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form.textareas.add(a["name"])
        elif tag == "select" and a.get("name"):
            self._select, self._select_value = a["name"], None
        elif (
            tag == "option"
            and self._select is not None
            and (self._select_value is None or "selected" in a)
        ):
            self._select_value = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append((self._select, "select", self._select_value or ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            if not self._form.action.endswith(SKIPPED_ACTIONS):
                self.forms.append(self._form)
            self._form = None


def _forms(client: Client, url: str) -> list[Form]:
    response = client.get(url)
    if response.status_code == 403:
        pytest.skip(f"nobody is offered this form: {url}")  # e.g. adding history by hand
    assert response.status_code == 200, url
    parser = _FormParser(f"http://testserver{url}")
    parser.feed(response.content.decode())
    return parser.forms


def _plausible(kind: str | None, n: int) -> str:
    return f"personne{n}@example.org" if kind == "email" else f"Texte ordinaire {n}"


def _admin_pages(only: tuple[tuple[str, str], ...] | None = None) -> list[str]:
    pages = []
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label in OUR_APPS and (
            only is None or (opts.app_label, opts.model_name) in only
        ):
            pages += [f"admin:{opts.app_label}_{opts.model_name}_{v}" for v in ("add", "change")]
    return sorted(pages)


PRODUCT_PAGES = [
    (persona, name)
    for persona in ("anonymous", "coordination", "police")
    for name, (_, expected) in sorted(GET_EXPECTATIONS.items())
    if expected[persona] == 200
    and not name.startswith(("healthz", "favicon", "set_language", "actions:export"))
]
FORM_PAGES = [
    *PRODUCT_PAGES,
    *[("admin", name) for name in _admin_pages(ADMIN_MODELS)],
    *[("root", name) for name in _admin_pages()],
]


@pytest.fixture
def everyone(world, personas):
    """The matrix personas, the technical administrator with its demo permissions, a root."""
    perms = Permission.objects.filter(
        content_type__app_label__in=[app for app, _ in ADMIN_MODELS],
        content_type__model__in=[model for _, model in ADMIN_MODELS],
    )
    personas["admin"].user_permissions.set(perms)
    root = UserFactory(username="root", is_superuser=True, is_staff=True, role=Role.ADMIN)
    action = world.actions["police_led"]
    SubList.objects.create(action=action, title="Améliorer la tranquillité publique")
    action_update_status(
        action=action, by=personas["police"], status="in_progress", progress=10, expected_version=1
    )
    return {**personas, "root": root}


def _url(name: str, world) -> str | None:
    if name.startswith("admin:") and name.endswith("_change"):
        app_label, model_name = name[len("admin:") : -len("_change")].split("_", 1)
        obj = apps.get_model(app_label, model_name).objects.order_by("pk").first()
        return None if obj is None else reverse(name, args=[obj.pk])
    if name.startswith("admin:"):
        return reverse(name)
    kwargs, _ = GET_EXPECTATIONS[name]
    return reverse(name, kwargs=kwargs(world))


def _stored_forbidden() -> list[tuple[str, int, str]]:
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in (*OUR_APPS, "account"):
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, models.CharField | models.TextField) and f.name != "password":
                for pk, value in model._default_manager.values_list("pk", f.attname):
                    if value and FORBIDDEN.search(value):
                        found.append((f"{model.__name__}.{f.name}", pk, value[:40]))
    return found


HYPOTHESIS = settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(("persona", "name"), FORM_PAGES, ids=[f"{p} {n}" for p, n in FORM_PAGES])
def test_it_never_fails_nor_stores_control_characters_from_any_form(
    persona, name, world, everyone, client
):
    client.raise_request_exception = False
    if everyone[persona] is not None:
        client.force_login(everyone[persona])
    url = _url(name, world)
    if url is None:
        pytest.skip(f"no object to change for {name}")
    forms = [f for f in _forms(client, url) if f.text_fields()]

    serial = iter(range(10**6))

    def submit(form: Form, target: str | None, text: str) -> None:
        # One field hostile at a time, the others plausible: a form refused for another
        # field's sake would hide a field that stores anything.
        payload: dict[str, list[str]] = {}
        for field_name, kind, value in form.fields:
            if not value and kind in TEXT_INPUTS:
                value = _plausible(kind, next(serial))
            payload.setdefault(field_name, []).append(value)
        for field_name in form.textareas:
            payload[field_name] = [_plausible("textarea", next(serial))]
        for name in [target] if target else form.text_fields():
            payload[name] = [text]
        response = client.post(form.action, payload)
        assert response.status_code < 500, (form.action, target, response.status_code)

    for form in forms:
        submit(form, None, HUGE)
        for target in form.text_fields():
            for text in CANONICAL:
                submit(form, target, text)

    @HYPOTHESIS
    @given(data=st.data())
    def post(data: st.DataObject) -> None:
        for form in forms:
            target = data.draw(st.sampled_from(form.text_fields()), label="field")
            submit(form, target, data.draw(HOSTILE_TEXT, label=target))

    post()
    assert not _stored_forbidden()


QUERY_PAGES = [
    name
    for name, (_, expected) in sorted(GET_EXPECTATIONS.items())
    if expected["coordination"] == 200 and re.match(r"^(home|axes:|actions:)", name)
]


@pytest.mark.parametrize("name", QUERY_PAGES)
def test_it_never_fails_on_a_random_query_string(name, world, personas, client):
    client.raise_request_exception = False
    client.force_login(personas["coordination"])
    url = _url(name, world)
    names = ("q", "axe", "statut", "organisation", "mes_actions", "strategie", "page")

    @HYPOTHESIS
    @given(values=st.fixed_dictionaries({n: HOSTILE_TEXT for n in names}))
    def get(values: dict[str, str]) -> None:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(url, values, **headers)
            assert response.status_code in (200, 400), (values, response.status_code)

    get()
