"""The filters of the action list, shared by the page and its CSV/XLSX exports."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from actions.models import Action, ActionContributor, ActionQuerySet, Status
from axes.models import Axis, Strategy
from axes.selectors import pick_current
from governance.models import Organisation

if TYPE_CHECKING:
    from django.http import HttpRequest

# "3.1" finds action 1 of axis 3, as the strategy numbers them. Bounded: `int()` refuses more
# than 4300 digits, and a query string is anybody's to write.
_CODE = re.compile(r"^\s*(\d{1,3})\.(\w{1,10})\s*$", re.ASCII)
Q_MAX_LENGTH = 200


def carrying_organisations(strategy: Strategy | None, *, own: int | None) -> QuerySet[Organisation]:
    """The organisations that lead or contribute to an action of `strategy`, and the person's
    own (`own`), which a partner may always filter on, even when it carries nothing yet."""
    if strategy is None:
        return Organisation.objects.filter(pk=own) if own else Organisation.objects.none()
    actions = Action.objects.filter(axis__strategy=strategy)
    contributing = ActionContributor.objects.filter(action__axis__strategy=strategy)
    carrying = Q(pk__in=actions.values("lead_organisation_id")) | Q(
        pk__in=contributing.values("organisation_id")
    )
    if own:
        carrying |= Q(pk=own)
    return Organisation.objects.filter(carrying)


class _OrganisationChoiceField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.choice_label


class OrganisationFilter(django_filters.ModelChoiceFilter):
    """Archived organisations stay in the list, labelled so: they may still carry actions,
    and readers look for what they carry (or carried)."""

    field_class = _OrganisationChoiceField


class ActionFilterSet(django_filters.FilterSet):
    """Axis, status, organisation (lead or contributor), text, "my actions".

    The list shows one strategy at a time: the current one unless `strategie` names another,
    so the axis choices are that strategy's axes.
    """

    strategie = django_filters.ChoiceFilter(
        label="Stratégie", method="keep_all", empty_label=None, choices=()
    )
    axe = django_filters.ModelChoiceFilter(
        field_name="axis", label="Axe", queryset=Axis.objects.none(), empty_label="Tous les axes"
    )
    statut = django_filters.ChoiceFilter(
        field_name="status", label="Statut", choices=Status.choices, empty_label="Tous les statuts"
    )
    organisation = OrganisationFilter(
        label="Organisation (pilote ou contributrice)",
        queryset=Organisation.objects.all(),
        method="filter_organisation",
        empty_label="Toutes les organisations",
    )
    q = django_filters.CharFilter(
        label="Rechercher",
        method="filter_text",
        max_length=Q_MAX_LENGTH,
        error_messages={
            "max_length": f"La recherche fait au plus {Q_MAX_LENGTH} caractères.",
            "null_characters_not_allowed": "La recherche contient un caractère invalide.",
        },
        widget=forms.SearchInput(attrs={"placeholder": "N°, intitulé, description…"}),
    )
    mes_actions = django_filters.BooleanFilter(
        label="Mes actions (celles que je peux mettre à jour)",
        method="filter_mine",
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Action
        fields: list[str] = []

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[Action] | None = None,
        *,
        request: HttpRequest | None = None,
        prefix: str | None = None,
    ) -> None:
        super().__init__(data, queryset, request=request, prefix=prefix)
        # A handful of rows: fetched once, they give the choices and the default.
        self.strategies = list(Strategy.objects.all())
        asked = (data or {}).get("strategie")
        self.strategy = next((s for s in self.strategies if s.slug == asked), None) or pick_current(
            self.strategies
        )
        # The choices are the shown strategy's, not the deployment's: its council's strategies
        # (same town), its axes, the organisations carrying its actions (docs/performance.md).
        if self.strategy is not None:
            town = self.strategy.town
            self.strategies = [s for s in self.strategies if s.town == town]
        self.filters["strategie"].extra["choices"] = [
            (s.slug, f"{s.title} ({s.period})") for s in self.strategies
        ]
        self.filters["axe"].queryset = Axis.objects.filter(strategy=self.strategy)
        own = getattr(request.user, "organisation_id", None) if request is not None else None
        self.filters["organisation"].queryset = carrying_organisations(self.strategy, own=own)

    def filter_queryset(self, queryset: QuerySet[Action]) -> QuerySet[Action]:
        if self.strategy is not None:
            queryset = queryset.filter(axis__strategy=self.strategy)
        return super().filter_queryset(queryset)

    def keep_all(self, queryset: QuerySet[Action], name: str, value: Any) -> QuerySet[Action]:
        """The strategy is applied in `filter_queryset`, default included."""
        return queryset

    def filter_organisation(
        self, queryset: QuerySet[Action], name: str, value: Organisation
    ) -> QuerySet[Action]:
        return cast(ActionQuerySet, queryset).carried_by(value.pk)

    def filter_text(self, queryset: QuerySet[Action], name: str, value: str) -> QuerySet[Action]:
        text = value.strip()
        if not text:
            return queryset
        # Accents and case aside: "securite" finds "sécurité", "ÉCOLE" "école" (clspdr/search.py).
        match = (
            Q(number__folded__contains=text)
            | Q(title__folded__contains=text)
            | Q(description__folded__contains=text)
        )
        code = _CODE.match(text)
        if code:
            match |= Q(axis__number=int(code[1]), number__iexact=code[2])
        return queryset.filter(match)

    def filter_mine(self, queryset: QuerySet[Action], name: str, value: bool) -> QuerySet[Action]:
        if not value or self.request is None:
            return queryset
        return cast(ActionQuerySet, queryset).updatable_by(self.request.user)
