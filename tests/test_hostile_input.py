"""Hostile query strings never cost a 500 (issue: no 500 from user data or query strings).

Every page a person reaches with GET (the access matrix's URLs) is sent huge numbers, NUL,
invalid UTF-8, control and bidi characters and 10,000 characters in every parameter its
filters read, as the coordinator (who sees the most) and as a partner. The answer is a page
(200) or a clear refusal (400), never a server error.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from tests.test_access_matrix import GET_EXPECTATIONS

PARAMETERS = ("q", "axe", "statut", "organisation", "mes_actions", "strategie", "page")
HOSTILE = {
    "huge-number": "9" * 4400,
    "huge-code": "9" * 4400 + ".1",
    "negative": "-1",
    "float": "1e308",
    "nul": "\x00",
    "nul-inside": "3.\x001",
    "control": "titre\x0bsuite\x1b",
    "bidi": "\u202egnp.exe",
    "10k": "é" * 10_000,
    "sql": "' OR 1=1 --",
    "unicode-digits": "٣.١",  # Arabic-Indic digits: `\d` matches them, int() takes them
}
# Raw bytes that are not UTF-8, sent as they are (the test client would encode a str).
INVALID_UTF8 = "%C3%28%FF%FE"
# Pages that answer with something else than 200 for a coordinator whatever the query.
NON_PAGE = {"actions:update_status", "admin:index", "set_language"}
ALLOWED = {200, 400}


def _urls(world, persona: str) -> list[tuple[str, str, int]]:
    """(name, url, status the persona gets without a query string)."""
    urls = []
    for name, (kwargs, expected) in sorted(GET_EXPECTATIONS.items()):
        if name in NON_PAGE or expected["coordination"] != 200:
            continue
        urls.append((name, reverse(name, kwargs=kwargs(world)), expected[persona]))
    return urls


def _get(client: Client, url: str, query: str, **headers):
    return client.get(f"{url}?{query}", **headers)


@pytest.mark.parametrize("persona", ["coordination", "police"])
def test_it_never_answers_500_to_a_hostile_query_string(world, personas, client, persona):
    client.raise_request_exception = False
    client.force_login(personas[persona])
    failures = []
    for name, url, usual in _urls(world, persona):
        allowed = ALLOWED | {usual}
        for label, value in HOSTILE.items():
            query = "&".join(f"{p}={quote(value)}" for p in PARAMETERS)
            for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                status = _get(client, url, query, **headers).status_code
                if status not in allowed:
                    failures.append((name, label, bool(headers), status))
        status = _get(client, url, "&".join(f"{p}={INVALID_UTF8}" for p in PARAMETERS)).status_code
        if status not in allowed:
            failures.append((name, "invalid-utf8", False, status))
    assert not failures


@pytest.mark.parametrize("name", ["actions:export_csv", "actions:export_xlsx"])
@pytest.mark.parametrize("value", ["9" * 4400, "abc", "\x00"])
def test_it_refuses_an_export_with_an_invalid_filter_instead_of_exporting_everything(
    world, personas, client, name, value
):
    client.force_login(personas["coordination"])
    response = client.get(reverse(name), {"axe": value})
    assert response.status_code == 400
    assert "filtre" in response.content.decode().lower()


def test_it_bounds_the_text_search(world, personas, client):
    client.force_login(personas["coordination"])
    response = client.get(reverse("actions:list"), {"q": "x" * 201})
    assert response.status_code == 200
    assert "200 caractères" in response.content.decode()
