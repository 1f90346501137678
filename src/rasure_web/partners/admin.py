from django import forms
from django.contrib import admin

from rasure_web.partners.models import DataClass, DataSharingAgreement


class AgreementForm(forms.ModelForm):
    data_classes = forms.MultipleChoiceField(choices=DataClass.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = DataSharingAgreement
        fields = "__all__"


@admin.register(DataSharingAgreement)
class DataSharingAgreementAdmin(admin.ModelAdmin):
    form = AgreementForm
    list_display = ("reference", "organisation", "starts_on", "expires_on", "signed_off_by", "revoked_at")
    list_filter = ("organisation",)
    search_fields = ("reference", "organisation__code", "organisation__name")
    filter_horizontal = ("areas",)
