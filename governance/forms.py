"""Form fields shared by the apps that choose organisations."""

from __future__ import annotations

from django import forms

from governance.models import Organisation


class OrganisationChoiceField(forms.ModelChoiceField):
    """Tells an archived organisation apart, where one is still offered (already chosen)."""

    def label_from_instance(self, obj: Organisation) -> str:
        return obj.choice_label


class OrganisationMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.choice_label
