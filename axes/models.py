from __future__ import annotations

import re
from datetime import MAXYEAR, MINYEAR, date

from django.db import models
from django.utils.translation import gettext_lazy as _

from clspdr.text import plain_text

# How far from its strategy's period an action may be dated: room for an action prepared before
# the strategy or carried on after it, none for a slip of the keyboard ("0001-01-01").
DATE_MARGIN_YEARS = 5


def plausible_dates(start_year: int, end_year: int) -> tuple[date, date]:
    """The first and last day an action of a strategy running `start_year`–`end_year` may be
    dated (sheet dates, strategy file)."""

    def year(value: int) -> int:  # whatever the admin let through, a year Python can date
        return min(max(value, MINYEAR), MAXYEAR)

    first = year(start_year - DATE_MARGIN_YEARS)
    last = year(max(end_year, start_year) + DATE_MARGIN_YEARS)
    return date(first, 1, 1), date(last, 12, 31)


def date_range_message(first: date, last: date) -> str:
    return (
        f"La date doit être comprise entre le 1er janvier {first.year} "
        f"et le 31 décembre {last.year}."
    )


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

    @property
    def label(self) -> str:
        """The title with its period, unless the title already says it ("… Manosque 2023-2027"
        must not read "… 2023-2027 (2023–2027)")."""
        years = re.search(rf"\b{self.start_year}\s*[-–—/àa ]+\s*{self.end_year}\b", self.title)
        return self.title if years else f"{self.title} ({self.period})"

    @property
    def date_range(self) -> tuple[date, date]:
        return plausible_dates(self.start_year, self.end_year)


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
        # Own columns only: the axes of one strategy by number, with no join to order them.
        ordering = ["strategy_id", "number"]
        verbose_name = _("axe")
        verbose_name_plural = _("axes")
        constraints = [
            models.UniqueConstraint(fields=["strategy", "number"], name="unique_axis_number"),
        ]

    def __str__(self) -> str:
        return f"Axe {self.number} : {self.title}"
