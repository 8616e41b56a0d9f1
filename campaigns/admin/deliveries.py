"""The delivery log (read-only, filterable by campaign), the app's push policy, email settings
and messaging policy (the cap across channels)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from campaigns.models import Campaign, Delivery, EmailSettings, MessagingPolicy, PushPolicy
from campaigns.services.policy import (
    email_settings_update,
    messaging_policy_update,
    push_policy_update,
)
from common.admin import AppFilter, BeaconModelAdmin, ReadOnlyAdmin, adopt
from contacts.access import scoped_apps


class CampaignFilter(admin.SimpleListFilter):
    """The campaigns of the apps the user may see."""

    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        campaigns = Campaign.objects.filter(app__in=scoped_apps(request)).order_by("name")
        return [(str(pk), name) for pk, name in campaigns.values_list("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(campaign_id=int(value))
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every scheduled, sent, failed, cancelled and skipped push, with why."""

    list_display = [
        "id",
        "campaign",
        "channel",
        "contact_link",
        "status",
        "reason_or_error",
        "due_at",
        "sent_at",
        "opened_at",
        "attempts",
    ]
    list_filter = [AppFilter, CampaignFilter, "channel", "status", "is_test"]
    list_display_links = ["id"]
    list_select_related = ["campaign"]
    search_fields = ["=contact__external_id", "=contact__email", "=address", "=source"]
    ordering = ["-created_at", "-id"]

    def get_fields(self, request, obj=None):
        return [f.name for f in Delivery._meta.fields if f.name not in ("open_token", "claim")]

    @admin.display(description="contact", ordering="contact_id")
    def contact_link(self, delivery: Delivery) -> str:
        url = reverse("admin:contacts_contact_change", args=[delivery.contact_id])
        return format_html('<a href="{}">{}</a>', url, delivery.contact_id)

    @admin.display(description="why")
    def reason_or_error(self, delivery: Delivery) -> str:
        return delivery.reason or delivery.last_error[:120]


@admin.register(PushPolicy)
class PushPolicyAdmin(BeaconModelAdmin):
    list_display = ["app", "daily_cap", "ios_provider"]
    fields = ["app", "daily_cap", "ios_provider"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        policy = push_policy_update(
            app=obj.app, daily_cap=data["daily_cap"], ios_provider=data["ios_provider"]
        )
        adopt(obj, policy)


@admin.register(EmailSettings)
class EmailSettingsAdmin(BeaconModelAdmin):
    list_display = ["app", "from_name", "from_email", "reply_to", "daily_cap", "max_per_second"]
    fields = list_display

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        adopt(obj, email_settings_update(app=obj.app, **{f: data[f] for f in self.fields[1:]}))


@admin.register(MessagingPolicy)
class MessagingPolicyAdmin(BeaconModelAdmin):
    list_display = ["app", "daily_cap"]
    fields = ["app", "daily_cap"]

    def save_model(self, request, obj, form, change):
        adopt(obj, messaging_policy_update(app=obj.app, daily_cap=form.cleaned_data["daily_cap"]))
