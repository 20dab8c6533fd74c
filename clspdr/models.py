from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clspdr.text import plain_text


class Role(models.TextChoices):
    """What a person does on the platform, beyond the bodies they belong to."""

    MEMBER = "member", _("Membre d'instance")
    PARTNER = "partner", _("Référent partenaire")
    COORDINATOR = "coordinator", _("Coordinateur CLSPDR")
    ELECTED = "elected", _("Élu")
    ADMIN = "admin", _("Administrateur technique")
    DPO = "dpo", _("Délégué à la protection des données")


class User(AbstractUser):
    # AbstractUser's names, with the rule of every free-text field (clspdr/text.py).
    first_name = models.CharField(
        _("first name"), max_length=150, blank=True, validators=[plain_text]
    )
    last_name = models.CharField(
        _("last name"), max_length=150, blank=True, validators=[plain_text]
    )
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    organisation = models.ForeignKey(
        "governance.Organisation",
        verbose_name=_("organisation représentée"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
    )
    job_title = models.CharField(_("fonction"), max_length=150, blank=True, validators=[plain_text])

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            # The address recorded here is where password resets go and how people log in by
            # e-mail: it names one account only, whatever its case (docs/security.md).
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="clspdr_user_email_unique",
                violation_error_message=_(
                    "Cette adresse e-mail est déjà celle d'un autre compte : chaque personne a "
                    "sa propre adresse."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def clean(self) -> None:
        super().clean()
        # An archived organisation keeps the people who represent it but gets no new ones
        # (docs/plan-integrity.md); the admin's picker does not offer it either.
        if self.organisation is None or not self.organisation.is_archived:
            return
        unchanged = User.objects.filter(pk=self.pk, organisation=self.organisation_id)
        if self._state.adding or not unchanged.exists():
            raise ValidationError(
                {
                    "organisation": _(
                        "Cette organisation est archivée : elle ne peut plus être donnée "
                        "à un compte."
                    )
                }
            )

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR


class AppendOnly(RuntimeError):
    """Raised when code tries to rewrite or erase the audit trail."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """The trail is append-only (clspdr/audit.py): the ORM's bulk writes are refused too."""

    def update(self, **kwargs: object) -> int:
        raise AppendOnly

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly


class AuditEvent(models.Model):
    """One row of the audit trail: who did what to whom, before → after, when (UTC).

    Written only by `clspdr.audit.log_action`. The labels are stored beside the keys, so the row
    still reads right after a rename; the foreign keys to accounts PROTECT them, so an account
    with history is deactivated, never deleted. PostgreSQL refuses UPDATE and DELETE on the
    table (migration 0005).
    """

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=100, validators=[plain_text])
    actor = models.ForeignKey(
        "clspdr.User",
        verbose_name=_("auteur"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("auteur (libellé)"), max_length=300, validators=[plain_text])
    target_type = models.CharField(_("type de l'objet"), max_length=100, validators=[plain_text])
    target_id = models.CharField(
        _("identifiant de l'objet"), max_length=64, validators=[plain_text]
    )
    target_label = models.CharField(_("objet (libellé)"), max_length=300, validators=[plain_text])
    # Set when the object is an account, so that the account is protected and its history
    # is one indexed lookup.
    target_user = models.ForeignKey(
        "clspdr.User",
        verbose_name=_("compte concerné"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    changes = models.JSONField(_("changements"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("événement du journal")
        verbose_name_plural = _("événements du journal")
        indexes = [models.Index(fields=["target_type", "target_id"], name="auditevent_target")]

    def __str__(self) -> str:
        # Shown wherever Django lists related rows (e.g. a refused deletion): no content here.
        return f"Événement du journal n° {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly


class Heartbeat(models.Model):
    """When a background process last proved alive (clspdr/heartbeats.py), for /healthz."""

    class Process(models.TextChoices):
        WORKER = "worker", _("worker Celery")
        BEAT = "beat", _("beat Celery")

    process = models.CharField(_("processus"), max_length=20, choices=Process, primary_key=True)
    at = models.DateTimeField(_("dernier signe de vie"))

    class Meta:
        verbose_name = _("signe de vie")
        verbose_name_plural = _("signes de vie")

    def __str__(self) -> str:
        return f"{self.process} {self.at.isoformat()}"
