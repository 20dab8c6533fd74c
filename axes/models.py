from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from clspdr.text import plain_text


class Strategy(models.Model):
    """A local strategy (stratégie locale), e.g. Manosque 2023-2027; several follow one another."""

    slug = models.SlugField(_("identifiant"), max_length=100, unique=True)
    title = models.CharField(_("titre"), max_length=300, validators=[plain_text])
    town = models.CharField(_("commune"), max_length=150, validators=[plain_text])
    start_year = models.PositiveSmallIntegerField(_("année de début"))
    end_year = models.PositiveSmallIntegerField(_("année de fin"))
    preamble = models.TextField(_("préambule"), blank=True, validators=[plain_text])
    conclusion = models.TextField(_("conclusion"), blank=True, validators=[plain_text])

    class Meta:
        ordering = ["-start_year"]
        verbose_name = _("stratégie")
        verbose_name_plural = _("stratégies")

    def __str__(self) -> str:
        return self.title

    @property
    def period(self) -> str:
        return f"{self.start_year}–{self.end_year}"


class Axis(models.Model):
    strategy = models.ForeignKey(
        Strategy, on_delete=models.CASCADE, related_name="axes", verbose_name=_("stratégie")
    )
    number = models.PositiveSmallIntegerField(_("numéro"))
    title = models.CharField(_("intitulé"), max_length=300, validators=[plain_text])
    priority_issue = models.CharField(
        _("enjeu prioritaire"), max_length=300, blank=True, validators=[plain_text]
    )
    description = models.TextField(_("description"), blank=True, validators=[plain_text])

    class Meta:
        ordering = ["strategy", "number"]
        verbose_name = _("axe")
        verbose_name_plural = _("axes")
        constraints = [
            models.UniqueConstraint(fields=["strategy", "number"], name="unique_axis_number"),
        ]

    def __str__(self) -> str:
        return f"Axe {self.number} : {self.title}"
