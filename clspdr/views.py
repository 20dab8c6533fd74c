from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allauth.account.decorators import secure_admin_login
from allauth.account.utils import get_next_redirect_url
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe

from actions.models import Action
from actions.progress import strategy_progress
from actions.selectors import (
    days_since_update,
    home_actions_for,
    least_recently_updated,
    recent_updates,
)
from axes.selectors import current_strategy
from clspdr.http import AuthenticatedHttpRequest
from clspdr.models import AuditEvent, Role, User
from clspdr.permissions import has_perm, require_perm

if TYPE_CHECKING:
    from axes.models import Strategy

STALE_LIMIT = 10
JOURNAL_PAGE_SIZE = 50
FAVICON_MAX_AGE = 24 * 60 * 60


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask /favicon.ico whatever the page links: send them to the SVG icon."""
    response = HttpResponseRedirect(static("favicon.svg"))
    response["Cache-Control"] = f"public, max-age={FAVICON_MAX_AGE}"
    return response


@login_required
@require_safe
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What each person comes for: a partner first sees what its organisation carries, least
    recently updated on top; the coordinator what needs chasing across the plan."""
    user = request.user
    if not has_perm(user, "plan.view"):
        coordinators = User.objects.filter(role=Role.COORDINATOR, is_active=True)
        return render(request, "home.html", {"no_access": True, "coordinators": coordinators})
    strategy = current_strategy()
    context: dict[str, Any] = {"strategy": strategy}
    if strategy is not None:
        context.update(_plan_overview(user, strategy))
    if user.is_coordinator:
        context.update(_coordinator_view(user, strategy))
    else:
        mine = list(home_actions_for(user, strategy=strategy))
        days_since_update(mine)
        context["my_actions"] = mine
    return render(request, "home.html", context)


def _plan_overview(user: User, strategy: Strategy) -> dict[str, Any]:
    actions = Action.objects.visible_to(user).filter(axis__strategy=strategy)
    return {"progress": strategy_progress(strategy, actions=actions)}


def _coordinator_view(user: User, strategy: Strategy | None) -> dict[str, Any]:
    if strategy is None:  # no strategy loaded: no action, no update
        return {"stale_actions": [], "updates": []}
    actions = Action.objects.visible_to(user).filter(axis__strategy=strategy)
    stale = list(least_recently_updated(actions)[:STALE_LIMIT])
    days_since_update(stale)
    return {"stale_actions": stale, "updates": recent_updates(user, strategy)}


@secure_admin_login
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """/admin/login/, which never authenticates: people log in through allauth's throttled form.

    `secure_admin_login` sends an anonymous visitor to that form (then back to `next`) and
    refuses logged-in people who are not active staff. Staff reaching it are already logged in:
    they go on to `next`. Django's own admin login form, which called `authenticate()` outside
    allauth's rate limits, is never shown nor processed, whatever is POSTed.
    """
    return HttpResponseRedirect(get_next_redirect_url(request) or reverse("admin:index"))


@login_required
@require_safe
def account_email(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's address, read-only: the coordinator records addresses (docs/security.md).

    Replaces allauth's page, where anyone could add an address (even someone else's) and make
    it primary. Only GET and HEAD are answered: no POST reaches a write.
    """
    coordinators = User.objects.filter(role=Role.COORDINATOR, is_active=True)
    return render(request, "account/email.html", {"coordinators": coordinators})


@login_required
@require_safe
def journal(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The trail of account changes (clspdr/accounts.py), newest first: what the technical
    administrator did, read by those who oversee it. Labels are stored on each row: no join."""
    require_perm(request, "audit.view")
    events = AuditEvent.objects.filter(action__startswith="account.").order_by("-at", "-pk")
    page = Paginator(events, JOURNAL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "journal.html", {"page": page})
