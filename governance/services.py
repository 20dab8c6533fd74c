"""Writes to the reference data of governance that carry rules (see docs/plan-integrity.md)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from governance.models import Organisation


def organisation_archive(
    *, organisations: QuerySet[Organisation], at: datetime | None = None
) -> list[Organisation]:
    """Archive the organisations not archived yet; return those archived now.

    An archived organisation is no longer offered for new actions or accounts, but keeps what
    it carries: its partners keep their update rights on those actions.
    """
    archived = list(organisations.filter(archived_at__isnull=True))
    Organisation.objects.filter(pk__in=[o.pk for o in archived]).update(
        archived_at=at or timezone.now()
    )
    return archived


def organisation_unarchive(*, organisations: QuerySet[Organisation]) -> list[Organisation]:
    """Offer archived organisations again; return those unarchived now."""
    unarchived = list(organisations.filter(archived_at__isnull=False))
    Organisation.objects.filter(pk__in=[o.pk for o in unarchived]).update(archived_at=None)
    return unarchived
