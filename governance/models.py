from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clspdr.text import plain_text


class OrganisationKind(models.TextChoices):
    COMMUNE = "commune", _("Commune")
    STATE = "state", _("Services de l'État")
    POLICE = "police", _("Police et gendarmerie")
    JUSTICE = "justice", _("Justice")
    EDUCATION = "education", _("Éducation")
    SOCIAL_LANDLORD = "social_landlord", _("Bailleur social")
    DEPARTMENT = "department", _("Département")
    HEALTH = "health", _("Santé")
    ASSOCIATION = "association", _("Association")
    TRANSPORT = "transport", _("Transport")
    OTHER = "other", _("Autre")


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def active(self) -> OrganisationQuerySet:
        return self.filter(archived_at__isnull=True)

    def offered(self, *, keeping: Iterable[int] = ()) -> OrganisationQuerySet:
        """What a form may offer: the active organisations, plus those already chosen
        (`keeping`), so that a form re-saved unchanged stays valid after an archive."""
        return self.filter(Q(archived_at__isnull=True) | Q(pk__in=list(keeping)))


class Organisation(models.Model):
    name = models.CharField(_("nom"), max_length=200, unique=True, validators=[plain_text])
    short_name = models.CharField(_("sigle"), max_length=40, blank=True, validators=[plain_text])
    kind = models.CharField(
        _("type"), max_length=20, choices=OrganisationKind.choices, default=OrganisationKind.OTHER
    )
    # An organisation that carries actions cannot be deleted (docs/plan-integrity.md): it is
    # archived instead, and no longer offered for new actions or accounts.
    archived_at = models.DateTimeField(_("archivée le"), null=True, blank=True, editable=False)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def choice_label(self) -> str:
        """Its name in a list of choices, where an archived one must be told apart."""
        return f"{self.name} (archivée)" if self.is_archived else self.name


class BodyKind(models.TextChoices):
    PLENARY = "plenary", _("Réunion plénière")
    COMMITTEE = "committee", _("Comité restreint")
    OBSERVATORY = "observatory", _("Observatoire local de la tranquillité publique")
    WORKING_GROUP = "working_group", _("Groupe de travail thématique")
    WATCH_CELL = "watch_cell", _("Cellule de veille prévention/médiation")
    COMPLEX_CELL = "complex_cell", _("Cellule de suivi des situations complexes")


CONFIDENTIAL_KINDS = frozenset({BodyKind.WATCH_CELL, BodyKind.COMPLEX_CELL})


class Cadence(models.TextChoices):
    YEARLY = "yearly", _("1 fois par an")
    QUARTERLY = "quarterly", _("1 fois par trimestre")
    BIMONTHLY = "bimonthly", _("tous les deux mois")
    AS_NEEDED = "as_needed", _("selon les besoins")
    NONE = "none", _("sans réunion")


# Bodies as the admin lists them: latest strategy first, then by axis and kind.
BODY_ORDER = ("-strategy__start_year", "axis__number", "kind")


class Body(models.Model):
    """A governance body of the council: plenary, committee, working group, cell..."""

    strategy = models.ForeignKey(
        "axes.Strategy",
        on_delete=models.CASCADE,
        related_name="bodies",
        verbose_name=_("stratégie"),
    )
    kind = models.CharField(_("type"), max_length=20, choices=BodyKind.choices)
    name = models.CharField(_("nom"), max_length=200, validators=[plain_text])
    cadence = models.CharField(_("fréquence"), max_length=20, choices=Cadence.choices)
    axis = models.ForeignKey(
        "axes.Axis",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bodies",
        verbose_name=_("axe"),
    )
    description = models.TextField(_("description"), blank=True, validators=[plain_text])

    class Meta:
        # Own columns only, so that no query joins for a default order; pages that list bodies
        # of several axes or strategies order them explicitly (BODY_ORDER).
        ordering = ["strategy_id", "axis_id", "kind"]
        verbose_name = _("instance")
        verbose_name_plural = _("instances")
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "kind", "axis"], name="unique_body_per_kind_and_axis"
            ),
            models.UniqueConstraint(
                fields=["strategy", "kind"],
                condition=Q(axis__isnull=True),
                name="unique_body_per_kind_without_axis",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_confidential(self) -> bool:
        return self.kind in CONFIDENTIAL_KINDS


class MembershipRole(models.TextChoices):
    CHAIR = "chair", _("Président")
    SECRETARY = "secretary", _("Secrétaire")
    MEMBER = "member", _("Membre")


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self, on: object = None) -> MembershipQuerySet:
        day = on or timezone.localdate()
        return self.filter(Q(start_date__lte=day), Q(end_date__isnull=True) | Q(end_date__gte=day))


class Membership(models.Model):
    body = models.ForeignKey(
        Body, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("instance")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("personne"),
    )
    role = models.CharField(
        _("rôle"), max_length=20, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    start_date = models.DateField(_("début"), default=timezone.localdate)
    end_date = models.DateField(_("fin"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["body_id", "user_id"]
        verbose_name = _("appartenance")
        verbose_name_plural = _("appartenances")
        constraints = [
            models.UniqueConstraint(fields=["body", "user"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.body}"
