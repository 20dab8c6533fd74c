"""What views may assume of a request, and the one question htmx views ask of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from clspdr.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """For annotations only: the request of a view behind `@login_required`, which guarantees
    a signed-in `User`, with the `htmx` details django-htmx's middleware sets on every request."""

    user: User
    htmx: HtmxDetails


def wants_fragment(request: HttpRequest) -> bool:
    """Whether to answer with the page's fragment rather than the whole page: an htmx request,
    except a history restore (htmx found no snapshot), which needs the whole page."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request
