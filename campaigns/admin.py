"""The admin for campaigns (saved, activated, paused and archived through the same services as
the API, with their stats) and the delivery log (read-only, filterable)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from campaigns.models import Campaign, Delivery, PushPolicy
from campaigns.selectors import campaign_stats
from campaigns.services.campaigns import (
    EDITABLE_FIELDS,
    campaign_activate,
    campaign_archive,
    campaign_create,
    campaign_delete,
    campaign_pause,
    campaign_update,
    campaign_validate,
)
from campaigns.services.policy import push_policy_update
from contacts.admin import AppFilter, BeaconModelAdmin, adopt, error_text, scoped_apps
from events.admin import ReadOnlyAdmin
from segments.models import Segment


class CampaignForm(forms.ModelForm):
    trigger_where = forms.JSONField(
        required=False,
        initial=list,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "style": "font-family:monospace"}),
        help_text='Param filters, e.g. [{"param": "amount", "op": ">", "value": 50}]',
    )

    class Meta:
        model = Campaign
        fields = ["app", *sorted(EDITABLE_FIELDS - {"audience_segment_id", "entry_segment_id"})]
        fields += ["audience_segment", "entry_segment"]

    def clean_trigger_where(self):
        return self.cleaned_data["trigger_where"] or []

    def clean(self):
        """Check with the service's rules here, so that errors show next to their fields."""
        data = super().clean()
        app = data.get("app") if "app" in self.fields else self.instance.app
        if app is None or self.errors:
            return data
        candidate = Campaign(app=app, **{k: v for k, v in data.items() if k != "app"})
        try:
            campaign_validate(campaign=candidate)
        except ValidationError as exc:
            for field, reasons in exc.message_dict.items():
                field = field.removesuffix("_id") if field.endswith("segment_id") else field
                target = field.split("[")[0] if field.split("[")[0] in self.fields else None
                for reason in reasons:  # a nested path (trigger_where[0].op) is kept in front
                    self.add_error(target, reason if field == target else f"{field}: {reason}")
        return data


@admin.register(Campaign)
class CampaignAdmin(BeaconModelAdmin):
    form = CampaignForm
    list_display = ["name", "kind", "status", "audience_segment", "activated_at", "app"]
    list_filter = [AppFilter, "status", "kind"]
    list_select_related = ["app", "audience_segment"]
    search_fields = ["name", "title"]
    actions = ["activate", "pause", "archive"]
    readonly_fields = ["status", "stats", "activated_at", "fanned_out_at", "created_at"]
    fieldsets = [
        (None, {"fields": ["app", "name", "kind", "status", "stats"]}),
        (
            'Message (Liquid: {{ event.amount }}, {{ contact.first_name | default: "there" }})',
            {"fields": ["title", "body", "url", "icon", "image", "ttl_seconds", "urgency"]},
        ),
        ("Audience", {"fields": ["audience_segment", "recheck_audience"]}),
        ("Broadcast", {"fields": ["send_at", "fanned_out_at"]}),
        (
            "Event trigger",
            {
                "fields": [
                    "trigger_event",
                    "trigger_where",
                    "delay_seconds",
                    "cancel_event",
                    "cancel_match_param",
                ]
            },
        ),
        ("Segment entry", {"fields": ["entry_segment"]}),
        (
            "Rules",
            {"fields": ["reentry", "reentry_hours", "quiet_start", "quiet_end", "quiet_action"]},
        ),
        ("History", {"fields": ["activated_at", "created_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "app"] if obj is not None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Segment:
            kwargs["queryset"] = Segment.objects.filter(app__in=scoped_apps(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="deliveries")
    def stats(self, campaign: Campaign) -> str:
        if campaign.pk is None:
            return "-"
        counts = campaign_stats(campaign=campaign)
        url = reverse("admin:campaigns_delivery_changelist")
        return format_html(
            "{} sent, {} opened ({}%), {} scheduled, {} failed, {} cancelled, {} skipped · "
            '<a href="{}?campaign={}">delivery log</a>',
            counts["sent"],
            counts["opened"],
            round(counts["open_rate"] * 100, 1),
            counts["scheduled"],
            counts["failed"],
            counts["cancelled"],
            counts["skipped"],
            url,
            campaign.pk,
        )

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name != "app"}
        for name in ("audience_segment", "entry_segment"):
            if name in data:
                data[f"{name}_id"] = data.pop(name).pk if data[name] else None
        if change:
            campaign = Campaign.objects.get(pk=obj.pk)
            adopt(obj, campaign_update(campaign=campaign, **data) if data else campaign)
            return
        adopt(obj, campaign_create(app=form.cleaned_data["app"], **data))

    def delete_model(self, request, obj):
        campaign_delete(campaign=obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # drafts only: one by one, from the page
        return actions

    def _each(self, request, queryset, service, verb: str) -> None:
        for campaign in queryset.select_related("app"):
            try:
                service(campaign=campaign)
            except ValidationError as exc:
                self.message_user(request, f"{campaign.name}: {error_text(exc)}", messages.ERROR)
            else:
                self.message_user(request, f"{campaign.name}: {verb}.", messages.SUCCESS)

    @admin.action(description="Activate", permissions=["change"])
    def activate(self, request, queryset):
        self._each(request, queryset, campaign_activate, "active")

    @admin.action(description="Pause", permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, campaign_pause, "paused")

    @admin.action(description="Archive", permissions=["change"])
    def archive(self, request, queryset):
        self._each(request, queryset, campaign_archive, "archived")


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
        "contact_link",
        "status",
        "reason_or_error",
        "due_at",
        "sent_at",
        "opened_at",
        "attempts",
    ]
    list_filter = [AppFilter, CampaignFilter, "status", "is_test"]
    list_display_links = ["id"]
    list_select_related = ["campaign"]
    search_fields = ["=contact__external_id", "=contact__email", "=source"]
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
    list_display = ["app", "daily_cap"]
    fields = ["app", "daily_cap"]

    def save_model(self, request, obj, form, change):
        adopt(obj, push_policy_update(app=obj.app, daily_cap=form.cleaned_data["daily_cap"]))
