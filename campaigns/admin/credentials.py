"""Each app's credentials for the mobile push services, for Admins: the secrets are uploaded or
typed in and never shown back (the page shows a fingerprint and when the secret was set); saving
calls the same services the API will (campaigns/services/credentials.py)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.timezone import localtime

from campaigns.credentials import (
    MAX_SECRET_BYTES,
    apns_ids_check,
    apns_key_parse,
    onesignal_api_key_check,
    service_account_parse,
)
from campaigns.models import ApnsCredentials, FcmCredentials, OneSignalCredentials
from campaigns.services.credentials import (
    apns_credentials_set,
    fcm_credentials_set,
    onesignal_credentials_set,
    push_credentials_delete,
)
from common.admin import BeaconModelAdmin, adopt

KEEP = "Leave empty to keep the one that is set."


def _uploaded_text(upload) -> str | None:
    if upload is None:
        return None
    if upload.size > MAX_SECRET_BYTES:
        raise ValidationError(f"The file is larger than {MAX_SECRET_BYTES // 1024} KB.")
    try:
        return upload.read().decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("The file is not text.") from None


class _SecretForm(forms.ModelForm):
    """A model form whose secret field (`secret_field`) is required only while none is set."""

    secret_field = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            field = self.fields[self.secret_field]
            field.required = False
            field.help_text = f"{field.help_text} {KEEP}".strip()


class FcmCredentialsForm(_SecretForm):
    secret_field = "service_account_file"
    service_account_file = forms.FileField(
        label="Service account key (JSON)",
        help_text="Firebase console: Project settings, Service accounts, Generate new private key.",
    )

    class Meta:
        model = FcmCredentials
        fields = ["app"]

    def clean_service_account_file(self) -> str | None:
        text = _uploaded_text(self.cleaned_data.get("service_account_file"))
        if text is not None:
            service_account_parse(text)
        return text


class ApnsCredentialsForm(_SecretForm):
    secret_field = "private_key_file"
    private_key_file = forms.FileField(
        label="Authentication key (.p8)",
        help_text="Apple developer account: Certificates, Identifiers & Profiles, Keys.",
    )

    class Meta:
        model = ApnsCredentials
        fields = ["app", "key_id", "team_id", "bundle_id", "environment"]

    def clean_private_key_file(self) -> str | None:
        text = _uploaded_text(self.cleaned_data.get("private_key_file"))
        return None if text is None else apns_key_parse(text)

    def clean(self):
        data = super().clean()
        ids = {name: data.get(name) or "" for name in ("key_id", "team_id", "bundle_id")}
        try:
            apns_ids_check(**ids)
        except ValidationError as exc:
            self.add_error(None, exc)  # each message next to its field
        return data


class OneSignalCredentialsForm(_SecretForm):
    secret_field = "api_key"
    api_key = forms.CharField(
        label="REST API key",
        widget=forms.PasswordInput(render_value=False),  # never sent back to the browser
        help_text="OneSignal dashboard: Settings, Keys & IDs.",
    )

    class Meta:
        model = OneSignalCredentials
        fields = ["app", "onesignal_app_id"]

    def clean_api_key(self) -> str | None:
        value = self.cleaned_data.get("api_key")
        return onesignal_api_key_check(value) if value else None


class _CredentialsAdmin(BeaconModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        # An app's credentials stay its own: to move them, delete these and set the other's.
        fields = ["secret_status"]
        return ["app", *fields] if obj is not None else fields

    @admin.display(description="secret")
    def secret_status(self, credentials) -> str:
        if credentials is None or not credentials.pk:
            return "not set"
        when = date_format(localtime(credentials.secret_set_at), "DATETIME_FORMAT")
        return f"set on {when}, fingerprint {credentials.secret_fingerprint}"

    def save_model(self, request, obj, form, change):
        # The service raises ValidationError; BeaconModelAdmin shows it as a message.
        adopt(obj, self.credentials_set(obj.app, form.cleaned_data))

    def delete_model(self, request, obj):
        push_credentials_delete(credentials=obj)

    def delete_queryset(self, request, queryset):
        for credentials in queryset:
            push_credentials_delete(credentials=credentials)


@admin.register(FcmCredentials)
class FcmCredentialsAdmin(_CredentialsAdmin):
    form = FcmCredentialsForm
    list_display = ["app", "project_id", "client_email", "secret_status", "updated_at"]
    fields = ["app", "service_account_file", "project_id", "client_email", "secret_status"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "project_id", "client_email"]

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("service_account_file") is None:
            return  # nothing else to change
        super().save_model(request, obj, form, change)

    def credentials_set(self, app, data: dict) -> FcmCredentials:
        return fcm_credentials_set(app=app, service_account=data["service_account_file"])


@admin.register(ApnsCredentials)
class ApnsCredentialsAdmin(_CredentialsAdmin):
    form = ApnsCredentialsForm
    list_display = ["app", "bundle_id", "key_id", "team_id", "environment", "secret_status"]
    fields = [
        "app",
        "private_key_file",
        "secret_status",
        "key_id",
        "team_id",
        "bundle_id",
        "environment",
    ]

    def credentials_set(self, app, data: dict) -> ApnsCredentials:
        return apns_credentials_set(
            app=app,
            key_id=data["key_id"],
            team_id=data["team_id"],
            bundle_id=data["bundle_id"],
            environment=data["environment"],
            private_key=data.get("private_key_file"),
        )


@admin.register(OneSignalCredentials)
class OneSignalCredentialsAdmin(_CredentialsAdmin):
    form = OneSignalCredentialsForm
    list_display = ["app", "onesignal_app_id", "secret_status", "updated_at"]
    fields = ["app", "onesignal_app_id", "api_key", "secret_status"]

    def credentials_set(self, app, data: dict) -> OneSignalCredentials:
        return onesignal_credentials_set(
            app=app, onesignal_app_id=str(data["onesignal_app_id"]), api_key=data.get("api_key")
        )
