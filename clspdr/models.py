from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
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
