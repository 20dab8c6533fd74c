"""Forms of the action sheet: the status update (partners and coordinator) and the sheet editor."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from actions.models import Action, Priority, Status
from actions.services import (
    COMMENT_MAX_LENGTH,
    FUNDING_FUNDER_MESSAGE,
    FUNDING_YEAR_MAX,
    FUNDING_YEAR_MESSAGE,
    FUNDING_YEAR_MIN,
    SHEET_FIELDS,
    FundingLine,
    validate_sheet,
    validate_status_and_progress,
)
from clspdr.text import plain_text
from governance.forms import OrganisationChoiceField, OrganisationMultipleChoiceField
from governance.models import Organisation


def _add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields, or on the form for unknown keys."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


_EXPIRED = "Le formulaire est incomplet : rechargez la page de l'action puis recommencez."
_VERSION_ERRORS = {"required": _EXPIRED, "invalid": _EXPIRED, "min_value": _EXPIRED}


class ActionStatusForm(forms.Form):
    status = forms.ChoiceField(label="Statut", choices=Status.choices)
    progress = forms.IntegerField(
        label="Avancement (%)",
        min_value=0,
        max_value=100,
        step_size=5,
        help_text="De 0 à 100, par pas de 5. Une action réalisée est avancée à 100 %.",
        error_messages={
            "required": "Indiquez l'avancement de l'action.",
            "invalid": "L'avancement est un nombre entier de 0 à 100.",
            # %% because Django formats these messages with the validator's parameters.
            "min_value": "L'avancement doit être compris entre 0 et 100 %%.",
            "max_value": "L'avancement doit être compris entre 0 et 100 %%.",
            "step_size": "L'avancement se saisit par pas de 5 %% (0, 5, 10… 100).",
        },
    )
    comment = forms.CharField(
        label="Commentaire",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        validators=[plain_text],
        help_text=f"Ce qui a été fait, ce qui bloque ({COMMENT_MAX_LENGTH} caractères au plus).",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": (
                f"Le commentaire dépasse {COMMENT_MAX_LENGTH} caractères (%(show_value)d saisis)."
            ),
        },
    )
    # The version the author read: the service refuses the save if someone wrote meanwhile.
    version = forms.IntegerField(
        widget=forms.HiddenInput, min_value=1, error_messages=_VERSION_ERRORS
    )

    @classmethod
    def for_action(cls, action: Action, data: Any = None) -> ActionStatusForm:
        initial = {"status": action.status, "progress": action.progress, "version": action.version}
        return cls(data, initial=initial)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        status, progress = cleaned.get("status"), cleaned.get("progress")
        if status is not None and progress is not None:
            try:
                validate_status_and_progress(status, progress)
            except ValidationError as error:
                _add_service_errors(self, error)
        return cleaned


def _date_input() -> forms.DateInput:
    # An ISO value, or the browser's date picker shows an empty field when editing.
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class ActionSheetForm(forms.ModelForm):
    """The sheet editor. Archived organisations are not offered, except those the action
    already has: a sheet re-saved unchanged stays valid."""

    contributors = OrganisationMultipleChoiceField(
        label="Partenaires contributeurs",
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    version = forms.IntegerField(
        widget=forms.HiddenInput, min_value=1, error_messages=_VERSION_ERRORS
    )

    class Meta:
        model = Action
        fields = [*SHEET_FIELDS, "contributors"]
        field_classes = {"lead_organisation": OrganisationChoiceField}
        labels = {"title": "Intitulé (obligatoire)"}
        error_messages = {"title": {"required": "L'intitulé de l'action est obligatoire."}}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "target_public": forms.Textarea(attrs={"rows": 3}),
            "objectives": forms.Textarea(attrs={"rows": 4}),
            "means": forms.Textarea(attrs={"rows": 3}),
            "indicators": forms.Textarea(attrs={"rows": 3}),
            "start_date": _date_input(),
            "end_date": _date_input(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lead = cast(forms.ModelChoiceField, self.fields["lead_organisation"])
        lead.empty_label = "Aucun pilote désigné"
        lead_id = self.instance.lead_organisation_id
        lead.queryset = Organisation.objects.offered(keeping=[lead_id] if lead_id else [])
        contributors = cast(forms.ModelMultipleChoiceField, self.fields["contributors"])
        current = [o.pk for o in self.instance.contributors.all()] if self.instance.pk else []
        contributors.queryset = Organisation.objects.offered(keeping=current)
        priority = cast(forms.ChoiceField, self.fields["priority"])
        priority.choices = [("", "Non renseignée"), *Priority.choices]
        if not self.is_bound:
            self.initial["version"] = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            validate_sheet(
                self.sheet_data(cleaned),
                strategy=self.instance.axis.strategy,
                contributors=cleaned.get("contributors") or [],
            )
        except ValidationError as error:
            _add_service_errors(self, error)
        return cleaned

    @staticmethod
    def sheet_data(cleaned: dict[str, Any]) -> dict[str, Any]:
        return {name: cleaned[name] for name in SHEET_FIELDS if name in cleaned}


class EuroAmountField(forms.DecimalField):
    """An amount typed the French way: "12 500,50" as well as "12500.50"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(max_digits=12, decimal_places=2, localize=True, **kwargs)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            # str.split() also drops the no-break spaces spreadsheets put between thousands.
            value = "".join(value.split())
        return super().to_python(value)


class FundingForm(forms.Form):
    year = forms.IntegerField(
        label="Année",
        min_value=FUNDING_YEAR_MIN,
        max_value=FUNDING_YEAR_MAX,
        error_messages={
            "required": "Indiquez l'année.",
            "invalid": "L'année est un nombre à quatre chiffres.",
            "min_value": FUNDING_YEAR_MESSAGE,
            "max_value": FUNDING_YEAR_MESSAGE,
        },
    )
    funder = forms.CharField(
        label="Financeur",
        max_length=150,
        validators=[plain_text],
        help_text="Ville, FIPD, CAF, Département…",
        error_messages={"required": FUNDING_FUNDER_MESSAGE},
    )
    amount = EuroAmountField(
        label="Montant (€)",
        min_value=0,
        error_messages={
            "required": "Indiquez le montant.",
            "invalid": "Le montant est un nombre, par exemple 12 500,00.",
            "min_value": "Un montant de financement ne peut pas être négatif.",
            "max_digits": "Le montant est trop grand.",
            "max_decimal_places": "Le montant a au plus deux décimales (les centimes).",
            "max_whole_digits": "Le montant est trop grand.",
        },
    )


class BaseFundingFormSet(forms.BaseFormSet):
    """The budget rows of a sheet. Plain (not model) forms: the service replaces the budget
    as a whole, so row ids are not needed, and a form re-shown after a conflict stays valid
    even if the other person's save replaced the rows."""

    def funding_lines(self) -> list[FundingLine]:
        """The rows to keep: filled-in rows not ticked for deletion (blank extra rows skipped)."""
        return [
            FundingLine(
                year=form.cleaned_data["year"],
                funder=form.cleaned_data["funder"],
                amount=form.cleaned_data["amount"],
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        try:
            validate_sheet({}, fundings=self.funding_lines())
        except ValidationError as error:
            raise ValidationError(error.messages) from error


FundingFormSet = forms.formset_factory(
    FundingForm, formset=BaseFundingFormSet, extra=2, can_delete=True, can_delete_extra=False
)


def funding_initial(action: Action) -> list[dict[str, Any]]:
    return [{"year": f.year, "funder": f.funder, "amount": f.amount} for f in action.fundings.all()]
