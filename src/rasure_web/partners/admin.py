from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from rasure_web.partners.models import DataClass, DataSharingAgreement


class AgreementForm(forms.ModelForm):
    data_classes = forms.MultipleChoiceField(choices=DataClass.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = DataSharingAgreement
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "areas" in data and data.get("tenant") is not None:
            self.instance.tenant = data["tenant"]
            try:
                self.instance.clean_areas(data["areas"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


@admin.register(DataSharingAgreement)
class DataSharingAgreementAdmin(admin.ModelAdmin):
    form = AgreementForm
    list_display = (
        "reference",
        "tenant",
        "organisation",
        "starts_on",
        "expires_on",
        "signed_off_by",
        "revoked_at",
    )
    list_filter = ("tenant", "organisation")
    search_fields = ("reference", "organisation__code", "organisation__name")
    filter_horizontal = ("areas",)
