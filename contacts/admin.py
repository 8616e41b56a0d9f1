"""The admin for apps, API keys, contacts, devices and identifier rules.

Writes go through the same services as the API. Staff who are not superusers see only the apps
they are members of: the admin framework (common/admin) scopes every page by contacts/access.py.
The events app extends the contact page with the contact's events (see events/admin.py), since
contacts never imports events.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path

from common.admin import (
    AppFilter,
    BeaconModelAdmin,
    CappedCountPaginator,
    ReadOnlyInline,
    adopt,
    count_of,
)
from contacts.forms import ContactForm
from contacts.models import ApiKey, App, Contact, Device, IdentifierRule
from contacts.selectors import identity_default_steps
from contacts.services.apps import (
    api_key_create,
    api_key_revoke,
    app_create,
    app_update,
    identifier_rule_create,
    identifier_rule_update,
    identifier_rule_validate,
)
from contacts.services.contacts import contact_delete, contact_update


# Apps and API keys ------------------------------------------------------------------------------
def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class AppForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=_timezone_choices,
        initial="UTC",
        help_text="IANA zone for calendar periods (today, this week)",
    )

    class Meta:
        model = App
        fields = ["name", "tenant_id", "timezone", "members"]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where the key is used, e.g. “website”")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.INGEST)


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fields = ["name", "scope", "prefix", "created_at", "revoked_at"]
    readonly_fields = fields
    ordering = ["-created_at"]


@admin.register(App)
class AppAdmin(BeaconModelAdmin):
    form = AppForm
    list_display = ["name", "tenant_id", "timezone", "contact_count"]
    search_fields = ["name", "tenant_id"]
    filter_horizontal = ["members"]
    inlines = [ApiKeyInline]
    actions = ["create_api_key"]
    app_lookup = "pk"
    follows_current_app = False  # the apps themselves: all the user's, to choose from

    def get_queryset(self, request):
        contacts = count_of(Contact.objects.all(), "app")
        return super().get_queryset(request).annotate(contact_count=contacts)

    @admin.display(description="contacts", ordering="contact_count")
    def contact_count(self, app: App) -> int:
        return app.contact_count

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "tenant_id", "timezone"]
        fields = ["name", "tenant_id", "timezone", "created_at"]
        return fields + ["members"] if request.user.is_superuser else fields

    def get_readonly_fields(self, request, obj=None):
        return ["tenant_id", "created_at"] if obj is not None else []

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a tenant cascades over all its contacts and events: not a click away.
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            app_update(app=obj, name=data["name"], timezone_name=data["timezone"])
            return
        app = app_create(
            name=data["name"], tenant_id=data["tenant_id"], timezone_name=data["timezone"]
        )
        if not request.user.is_superuser:
            app.members.add(request.user)
        adopt(obj, app)

    # "Create API key": a changelist action and a button on the app's page, one form.
    def get_urls(self):
        view = self.admin_site.admin_view(self.create_api_key_view)
        return [
            path("<int:object_id>/api-key/", view, name="contacts_app_create_api_key"),
            *super().get_urls(),
        ]

    def create_api_key_view(self, request, object_id):
        app = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, app):
            raise PermissionDenied
        form = ApiKeyCreateForm(request.POST if request.method == "POST" else None)
        return self._api_key_step(request, [app], form)

    @admin.action(description="Create an API key…", permissions=["change"])
    def create_api_key(self, request, queryset):
        form = ApiKeyCreateForm(request.POST if "apply" in request.POST else None)
        return self._api_key_step(request, list(queryset), form)

    def _api_key_step(self, request, apps: list[App], form: ApiKeyCreateForm):
        """Ask for a name and scope; once given, create the keys and show each in full, once.
        The page is rendered rather than redirected to, so the key never sits in a cookie."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "apps": apps,
            "form": form,
            "title": "Create an API key",
        }
        if not form.is_bound or not form.is_valid():
            return TemplateResponse(request, "admin/contacts/app/create_api_key.html", context)
        for app in apps:
            key, raw_key = api_key_create(app=app, **form.cleaned_data)
            self.message_user(
                request,
                f"{app.name}: new {key.scope} key “{key.name}”: {raw_key} "
                "Copy it now: Beacon keeps only its hash and cannot show it again.",
                messages.SUCCESS,
            )
        context["title"] = "API key created"
        return TemplateResponse(request, "admin/contacts/app/api_key_created.html", context)


class KeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(BeaconModelAdmin):
    # key_hash is never shown: it identifies a key to whoever holds the database.
    fields = ["app", "name", "scope", "prefix", "created_at", "revoked_at"]
    readonly_fields = fields
    list_display = ["name", "app", "scope", "shown_prefix", "created_at", "revoked_at", "active"]
    list_filter = [AppFilter, "scope", KeyStatusFilter]
    list_select_related = ["app"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    ordering = ["-created_at"]

    @admin.display(description="prefix", ordering="prefix")
    def shown_prefix(self, key: ApiKey) -> str:
        return f"{key.prefix}…"

    @admin.display(description="active", boolean=True)
    def active(self, key: ApiKey) -> bool:
        return key.revoked_at is None

    def has_add_permission(self, request) -> bool:
        return False  # keys are created from their app, where the full key can be shown once

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return super().has_change_permission(request)

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {len(keys)} API key(s).", messages.SUCCESS)


# Contacts and devices ---------------------------------------------------------------------------
class PushableFilter(admin.SimpleListFilter):
    title = "push-permitted device"
    parameter_name = "pushable"

    def lookups(self, request, model_admin):
        return [("yes", "Has one"), ("no", "Has none")]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        pushable = Device.objects.filter(
            contact=OuterRef("pk"), push_permission_granted=True, invalidated_at__isnull=True
        )
        return queryset.filter(Exists(pushable) if self.value() == "yes" else ~Exists(pushable))


def provider_label(device: Device) -> str:
    if device.push_provider:
        return device.get_push_provider_display()
    return "platform default"


def short_token(device: Device) -> str:
    return device.token if len(device.token) <= 40 else f"{device.token[:40]}…"


class DeviceInline(ReadOnlyInline):
    model = Device
    fields = [
        "platform",
        "provider",
        "push_permission_granted",
        "last_seen_at",
        "invalidated_at",
        "token",
    ]
    readonly_fields = fields
    ordering = ["-last_seen_at"]

    @admin.display(description="token")
    def token(self, device: Device) -> str:
        return short_token(device)

    @admin.display(description="push provider")
    def provider(self, device: Device) -> str:
        return provider_label(device)


@admin.register(Contact)
class ContactAdmin(BeaconModelAdmin):
    form = ContactForm
    list_display = [
        "id",
        "external_id",
        "email",
        "phone",
        "anonymous_id",
        "country",
        "language",
        "source",
        "last_seen_at",
        "device_count",
    ]
    list_display_links = ["id", "external_id"]
    list_filter = [AppFilter, "source", "country", "language", PushableFilter, "email_status"]
    search_fields = ["external_id", "email", "phone", "anonymous_id"]
    ordering = ["-id"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    inlines = [DeviceInline]
    readonly_fields = [
        "app",
        "anonymous_id",
        "source",
        "timezone",
        "language",
        "country",
        "created_at",
        "first_seen_at",
        "last_seen_at",
        "email_status_at",
        "email_status_via",
    ]
    fieldsets = [
        (None, {"fields": ["app", "external_id", "email", "phone", "anonymous_id"]}),
        ("Email", {"fields": ["email_status", "email_status_at", "email_status_via"]}),
        ("Profile", {"fields": ["custom_fields", "timezone", "language", "country", "source"]}),
        ("Activity", {"fields": ["created_at", "first_seen_at", "last_seen_at"]}),
    ]

    class Media:
        css = {"all": ["contacts/typed-rows.css"]}
        js = ["contacts/typed-rows.js"]

    def get_queryset(self, request):
        devices = count_of(Device.objects.all(), "contact")
        return super().get_queryset(request).annotate(device_count=devices)

    @admin.display(description="devices", ordering="device_count")
    def device_count(self, contact: Contact) -> int:
        return contact.device_count

    def has_add_permission(self, request) -> bool:
        return False  # contacts come from events, the API and imports

    def save_model(self, request, obj, form, change):
        contact = Contact.objects.get(pk=obj.pk)
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if "custom_fields" in changed:
            # The form holds the whole object; the service merges, a null removing a key.
            fields = changed["custom_fields"]
            removed = dict.fromkeys(set(contact.custom_fields or {}) - set(fields))
            changed["custom_fields"] = {**removed, **fields}
        if changed:
            contact_update(contact=contact, data=changed, via="admin")

    def delete_model(self, request, obj):
        contact_delete(contact=obj)

    def delete_queryset(self, request, queryset):
        for contact in queryset:
            contact_delete(contact=contact)

    def get_deleted_objects(self, objs, request):
        """Counts of what goes with the contacts, not one line per event (histories are long)."""
        objs = list(objs)
        model_count = {}
        for relation in Contact._meta.related_objects:
            if relation.many_to_many:
                continue
            related = relation.related_model._default_manager.filter(
                **{f"{relation.field.name}__in": objs}
            )
            if count := related.count():
                model_count[relation.related_model._meta.verbose_name_plural] = count
        return [str(contact) for contact in objs], model_count, set(), []


class InvalidatedFilter(admin.SimpleListFilter):
    title = "invalidated"
    parameter_name = "invalidated"

    def lookups(self, request, model_admin):
        return [("yes", "Invalidated"), ("no", "Valid")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(invalidated_at__isnull=self.value() == "no")
        return queryset


@admin.register(Device)
class DeviceAdmin(BeaconModelAdmin):
    list_display = [
        "short_token",
        "contact",
        "platform",
        "provider",
        "push_permission_granted",
        "last_seen_at",
        "invalidated_at",
    ]
    list_filter = [
        AppFilter,
        "platform",
        "push_provider",
        "push_permission_granted",
        InvalidatedFilter,
    ]
    list_select_related = ["contact"]
    search_fields = ["token", "installation_id"]
    ordering = ["-id"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = [
        "app",
        "contact",
        "platform",
        "push_provider",
        "installation_id",
        "token",
        "subscription",
        "push_permission_granted",
        "timezone",
        "language",
        "country",
        "created_at",
        "last_seen_at",
        "invalidated_at",
    ]

    @admin.display(description="token", ordering="token")
    def short_token(self, device: Device) -> str:
        return short_token(device)

    @admin.display(description="push provider", ordering="push_provider")
    def provider(self, device: Device) -> str:
        return provider_label(device)

    def has_add_permission(self, request) -> bool:
        return False  # devices register themselves with events

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# Identifier rules -------------------------------------------------------------------------------
class IdentifierRuleForm(forms.ModelForm):
    class Meta:
        model = IdentifierRule
        fields = ["app", "param", "field", "custom_field", "priority"]

    def clean(self):
        data = super().clean()
        app = data.get("app") if "app" in self.fields else self.instance.app
        if app is not None and {"param", "field"} <= set(data):
            identifier_rule_validate(
                app=app,
                param=data["param"],
                field=data["field"],
                custom_field=data.get("custom_field", ""),
                rule=self.instance if self.instance.pk else None,
            )
        return data


@admin.register(IdentifierRule)
class IdentifierRuleAdmin(BeaconModelAdmin):
    """The mapping rules page: the built-in identity order with the default rules, read-only, at
    the top; below, the app's custom rules "event parameter P identifies the contact by field
    F", tried by priority among the defaults. The default rows every app gets are not listed
    here, nor editable: the table shows them."""

    form = IdentifierRuleForm
    change_list_template = "admin/contacts/identifierrule/change_list.html"
    list_display = ["event_parameter", "contact_field", "priority", "app"]
    list_filter = [AppFilter, "field"]
    list_select_related = ["app"]
    search_fields = ["param", "custom_field"]

    class Media:
        css = {"all": ["contacts/identifier-rules.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_default=False)

    def changelist_view(self, request, extra_context=None):
        context = {"title": "Mapping rules", "identity_steps": identity_default_steps()}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    @admin.display(description="event parameter", ordering="param")
    def event_parameter(self, rule: IdentifierRule) -> str:
        return rule.param

    @admin.display(description="contact field", ordering="field")
    def contact_field(self, rule: IdentifierRule) -> str:
        label = rule.get_field_display()
        return f"{label} “{rule.custom_field}”" if rule.custom_field else label

    def get_readonly_fields(self, request, obj=None):
        return ["app"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name] for name in ("param", "field", "custom_field", "priority")
        }
        if change:
            rule = IdentifierRule.objects.get(pk=obj.pk)
            adopt(obj, identifier_rule_update(rule=rule, **data))
        else:
            adopt(obj, identifier_rule_create(app=form.cleaned_data["app"], **data))
