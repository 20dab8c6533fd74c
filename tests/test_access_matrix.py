"""Every URL of the project, as every persona (tests/conftest.py).

The URLconf is walked, not listed: a new URL without an expectation below fails
`test_it_has_an_expectation_for_every_url`, so nobody can add a page without saying who may
open it. Expectations are HTTP status codes for a GET (and for a POST on write URLs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import PERSONAS, World

LOGGED_IN = [p for p in PERSONAS if p != "anonymous"]
READERS = [p for p in LOGGED_IN if p != "outsider"]


def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, status)


def _plan_page() -> dict[str, int]:
    """Login required, then the plan-reader rule: outsiders are refused."""
    return {"anonymous": 302, "outsider": 403, **dict.fromkeys(READERS, 200)}


def _logged_in(status: int = 200) -> dict[str, int]:
    return {"anonymous": 302, **dict.fromkeys(LOGGED_IN, status)}


def _coordinator_only() -> dict[str, int]:
    return {"anonymous": 302, **dict.fromkeys(LOGGED_IN, 403), "coordination": 200}


def _anonymous_only(anonymous: int = 200, others: int = 302) -> dict[str, int]:
    return {"anonymous": anonymous, **dict.fromkeys(LOGGED_IN, others)}


# URL name -> (kwargs builder, expected GET status per persona)
Kwargs = Callable[[World], dict[str, Any]]
_none: Kwargs = lambda w: {}  # noqa: E731
_action: Kwargs = lambda w: {"pk": w.actions["ville_led"].pk}  # noqa: E731

GET_EXPECTATIONS: dict[str, tuple[Kwargs, dict[str, int]]] = {
    "home": (_none, _logged_in()),
    "healthz": (_none, _everyone(200)),
    "favicon": (_none, _everyone(302)),  # to the SVG icon
    "session_keepalive": (_none, _everyone(405)),  # POST only
    "axes:dashboard": (_none, _plan_page()),
    "axes:strategy": (lambda w: {"slug": w.strategy.slug}, _plan_page()),
    "axes:axis": (lambda w: {"pk": w.axes[0].pk}, _plan_page()),
    "actions:list": (_none, _plan_page()),
    "actions:export_csv": (_none, _plan_page()),
    "actions:export_xlsx": (_none, _plan_page()),
    "actions:detail": (_action, _plan_page()),
    "actions:history": (_action, _plan_page()),
    "actions:update_status": (_action, {"anonymous": 302, **dict.fromkeys(LOGGED_IN, 405)}),
    "actions:edit": (_action, _coordinator_only()),
    # the account-change audit trail: coordinator (and DPO, tests/clspdr/test_audit.py) only
    "journal": (_none, _coordinator_only()),
    "set_language": (_none, _everyone(302)),  # GET only redirects; POST switches
    "admin:index": (_none, {**dict.fromkeys(PERSONAS, 302), "admin": 200}),
    # django-allauth: what a signed-out and a signed-in person get on each account page.
    "account_login": (_none, _anonymous_only()),
    "account_logout": (_none, {"anonymous": 302, **dict.fromkeys(LOGGED_IN, 200)}),
    "account_inactive": (_none, _everyone(200)),
    "account_signup": (_none, _anonymous_only(200, 302)),
    "account_reauthenticate": (_none, _logged_in()),
    "account_email": (_none, _logged_in()),
    "account_email_verification_sent": (_none, _everyone(200)),
    "account_change_password": (_none, _logged_in()),
    "account_set_password": (_none, _logged_in(302)),
    "account_reset_password": (_none, _everyone(200)),
    "account_reset_password_done": (_none, _everyone(200)),
    "account_reset_password_from_key": (
        lambda w: {"uidb36": "0", "key": "not-a-key"},
        _everyone(200),
    ),
    "account_reset_password_from_key_done": (_none, _everyone(200)),
    "account_confirm_login_code": (_none, _everyone(302)),
    "account_confirm_email": (lambda w: {"key": "not-a-key"}, _everyone(200)),
}

# POST on the URLs that change something: the forged request of a persona without the right
# is refused and writes nothing; anonymous is sent to the login page.
_status_post = {
    "status": "in_progress",
    "progress": "40",
    "comment": "Point d'étape",
    "version": "1",
}
POST_EXPECTATIONS: dict[str, tuple[Kwargs, dict[str, Any], dict[str, int]]] = {
    "actions:update_status": (
        _action,
        _status_post,
        {
            "anonymous": 302,
            **dict.fromkeys(LOGGED_IN, 403),
            # the coordinator, and the partners of the lead (Ville) and contributor (bailleur)
            "coordination": 302,
            "veille": 302,
            "bailleur": 302,
        },
    ),
}

# POST on the admin pages that change accounts and memberships (issue 6 point 1): `admin` (the
# demo's technical administrator, with its group's model permissions) is refused every change
# that would raise a privilege, and the database is compared before and after, not only the
# status. Non-staff personas are redirected to a login page (which one is the login's business)
# and change nothing either.


def _change_form(user: Any, **changes: str) -> dict[str, str]:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "job_title": user.job_title,
        "role": user.role,
        "organisation": str(user.organisation_id or ""),
        "is_active": "on",
    }
    return {**data, **changes}


_NEW_PASSWORD = "un-mot-de-passe-de-pirate"


def _pk(w: World, persona: str) -> int:
    user = w.users[persona]
    assert user is not None
    return user.pk


@dataclass(frozen=True)
class AdminPost:
    case: str
    url: str
    kwargs: Kwargs
    data: Callable[[World], dict[str, str]]
    admin_status: int  # what `admin` gets; every other persona is redirected (302)

    def expected(self) -> dict[str, int]:
        return {**dict.fromkeys(PERSONAS, 302), "admin": self.admin_status}


ADMIN_POSTS = [
    AdminPost(
        "own role to coordinator",
        "admin:clspdr_user_change",
        lambda w: {"object_id": _pk(w, "admin")},
        lambda w: _change_form(
            w.users["admin"],
            role="coordinator",
            organisation=str(w.organisations["ville"].pk),
            is_staff="on",
            is_superuser="on",
        ),
        302,  # saved, the read-only fields ignored
    ),
    AdminPost(
        "coordinator's e-mail",
        "admin:clspdr_user_change",
        lambda w: {"object_id": _pk(w, "coordination")},
        lambda w: _change_form(w.users["coordination"], email="pirate@example.org"),
        302,  # saved, the read-only e-mail ignored
    ),
    AdminPost(
        "new coordinator account",
        "admin:clspdr_user_add",
        _none,
        lambda w: {
            "username": "faux-coordinateur",
            "email": "faux@example.org",
            "role": "coordinator",
            "organisation": str(w.organisations["ville"].pk),
            "usable_password": "true",
            "password1": _NEW_PASSWORD,
            "password2": _NEW_PASSWORD,
        },
        200,  # the form refuses the choice
    ),
    AdminPost(
        "coordinator's password",
        "admin:auth_user_password_change",
        lambda w: {"id": _pk(w, "coordination")},
        lambda w: {"password1": _NEW_PASSWORD, "password2": _NEW_PASSWORD},
        403,
    ),
    AdminPost(
        "own enrolment in the watch cell",
        "admin:governance_membership_add",
        _none,
        lambda w: {
            "body": str(w.bodies["watch_cell"].pk),
            "user": str(_pk(w, "admin")),
            "role": "chair",
            "start_date": "2026-01-05",
        },
        200,  # the form refuses the cell and the person
    ),
]


def _accounts_and_memberships() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    from clspdr.models import User
    from governance.models import Membership

    users = User.objects.order_by("pk").values_list(
        "pk", "username", "email", "password", "role", "organisation_id", "is_staff",
        "is_superuser", "is_active",
    )  # fmt: skip
    memberships = Membership.objects.order_by("pk").values_list(
        "pk", "body_id", "user_id", "role", "start_date", "end_date"
    )
    return list(users), list(memberships)


# Third-party URLs deliberately left out of the walk, with the reason.
IGNORED_PREFIXES = {
    "admin:": "Django admin model pages: staff-only (redirect to the admin login), "
    "covered by admin:index and tests/clspdr/test_admin.py",
}


def _walk(resolver: URLResolver, namespace: str | None = None) -> Iterator[str]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace
            child = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(pattern, child)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or f"<unnamed {pattern.pattern}>"
            yield f"{namespace}:{name}" if namespace else name


def project_url_names() -> list[str]:
    names = sorted(set(_walk(get_resolver())))
    return [
        n for n in names if not any(n.startswith(p) for p in IGNORED_PREFIXES) or n == "admin:index"
    ]


def test_it_has_an_expectation_for_every_url():
    missing = [n for n in project_url_names() if n not in GET_EXPECTATIONS]
    assert not missing, f"Add these URLs to GET_EXPECTATIONS: {missing}"
    stale = [n for n in GET_EXPECTATIONS if n not in project_url_names()]
    assert not stale, f"Expectations for URLs that no longer exist: {stale}"


def test_it_covers_every_persona_for_every_url():
    for name, (_, expected) in GET_EXPECTATIONS.items():
        assert set(expected) == set(PERSONAS), name
    for name, (_, _, expected) in POST_EXPECTATIONS.items():
        assert set(expected) == set(PERSONAS), name
    for post in ADMIN_POSTS:
        assert set(post.expected()) == set(PERSONAS), post.case


GET_CASES = [
    pytest.param(name, persona, id=f"GET {name} as {persona}")
    for name in sorted(GET_EXPECTATIONS)
    for persona in PERSONAS
]
ADMIN_POST_CASES = [
    pytest.param(post, persona, id=f"POST {post.url} ({post.case}) as {persona}")
    for post in ADMIN_POSTS
    for persona in PERSONAS
]
POST_CASES = [
    pytest.param(name, persona, id=f"POST {name} as {persona}")
    for name in sorted(POST_EXPECTATIONS)
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "persona"), GET_CASES)
def test_it_answers_each_persona_as_expected(name, persona, world, personas, client):
    kwargs, expected = GET_EXPECTATIONS[name]
    if personas[persona] is not None:
        client.force_login(personas[persona])
    response = client.get(reverse(name, kwargs=kwargs(world)))
    assert response.status_code == expected[persona]


@pytest.mark.parametrize(("name", "persona"), POST_CASES)
def test_it_refuses_forged_writes(name, persona, world, personas, client):
    from actions.models import StatusUpdate

    kwargs, data, expected = POST_EXPECTATIONS[name]
    if personas[persona] is not None:
        client.force_login(personas[persona])
    before = StatusUpdate.objects.count()
    response = client.post(reverse(name, kwargs=kwargs(world)), data)
    assert response.status_code == expected[persona]
    allowed = expected[persona] == 302 and persona != "anonymous"
    assert StatusUpdate.objects.count() == before + (1 if allowed else 0)


@pytest.mark.parametrize(("post", "persona"), ADMIN_POST_CASES)
def test_it_refuses_every_privilege_raising_admin_post(post, persona, world, personas, client):
    if personas[persona] is not None:
        client.force_login(personas[persona])
    before = _accounts_and_memberships()
    response = client.post(reverse(post.url, kwargs=post.kwargs(world)), post.data(world))
    assert response.status_code == post.expected()[persona]
    assert _accounts_and_memberships() == before
