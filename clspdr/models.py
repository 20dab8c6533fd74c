from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
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

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR
