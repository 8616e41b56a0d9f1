"""The campaign editor and the campaign page. Saving, activating and pausing go through the same
services as the API; the page shows the campaign's stats, a chart of sends and opens and the
latest deliveries, and an email campaign's "Send test email". Every campaign belongs to one app,
and the editor offers that app's event types, segments and contacts only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from campaigns.admin.forms import CampaignForm
from campaigns.admin.preview import preview_response
from campaigns.admin.send_event import CampaignSendEventMixin
from campaigns.admin.test_email import SECTION_ID as TEST_EMAIL_SECTION
from campaigns.admin.test_email import TestEmailForm
from campaigns.models import Campaign
from campaigns.providers.base import Outcome, SendOutcome
from campaigns.selectors import (
    campaign_activity,
    campaign_delivery_log,
    campaign_event_types,
    campaign_skipped_reasons,
    campaign_stats,
    frequency_caps,
)
from campaigns.services.campaigns import (
    SENT_BROADCAST,
    broadcast_was_sent,
    campaign_activate,
    campaign_archive,
    campaign_create,
    campaign_delete,
    campaign_duplicate,
    campaign_pause,
    campaign_update,
)
from campaigns.services.previews import campaign_send_test_email
from common.admin import AppFilter, BeaconModelAdmin, adopt, error_text
from contacts.access import scoped_apps
from contacts.models import App
from events.formats import kind
from events.send_event import read_as_get
from segments.conditions.validation import OPERATORS_BY_TYPE

LOG_PAGE_SIZE = 20


# An email campaign's figures beside the sends and opens: (stat, label, its rate).
EMAIL_FIGURES = [
    ("delivered", "Delivered", "delivery_rate"),
    ("clicked", "Clicked", "click_rate"),
    ("unsubscribed", "Unsubscribed", "unsubscribe_rate"),
    ("bounced", "Bounced", "bounce_rate"),
]


@admin.register(Campaign)
class CampaignAdmin(CampaignSendEventMixin, BeaconModelAdmin):
    form = CampaignForm
    list_display = ["name", "kind", "status", "audience_segment", "activated_at", "app"]
    list_filter = [AppFilter, "status", "kind"]
    list_select_related = ["app", "audience_segment"]
    search_fields = ["name", "title"]
    actions = ["activate", "pause", "archive"]

    # A campaign shown read-only: these, the channel's message, the rules.
    READ_ONLY_FIELDSETS = [
        (None, {"fields": ["name", "kind", "channel", "status", "send_at"]}),
        (
            "Trigger",
            {"fields": ["trigger_event", "trigger_where", "delay_seconds", "cancel_event"]},
        ),
        (None, {"fields": ["cancel_match_param", "entry_segment", "audience_segment"]}),
    ]
    READ_ONLY_RULES = (None, {"fields": ["reentry", "reentry_hours", "quiet_start", "quiet_end"]})
    READ_ONLY_MESSAGE = {
        Campaign.Channel.PUSH: [
            (None, {"fields": ["title", "body", "url", "icon", "image", "ttl_seconds", "urgency"]}),
            (None, {"fields": ["buttons"]}),
        ],
        Campaign.Channel.EMAIL: [
            (
                None,
                {
                    "fields": [
                        "title",
                        "preheader",
                        "html_body",
                        "text_body",
                        "track_opens",
                        "track_clicks",
                    ]
                },
            ),
        ],
    }
    # The editor's message rows of each channel; the page's script shows the chosen one's (the
    # title is both: a push's title, an email's subject).
    EMAIL_ROWS = ["preheader", "html_body", "text_body", "track_opens", "track_clicks"]
    PUSH_ROWS = ["body", "url", "icon", "image", "ttl_seconds", "urgency"]

    # The editor ---------------------------------------------------------------------------
    def has_change_permission(self, request, obj=None) -> bool:
        """A sent broadcast is shown read-only, like to a user who may not change it."""
        if obj is not None and broadcast_was_sent(campaign=obj):
            return False
        return super().has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return self._read_only_fieldsets(obj)  # the campaign's own fields, shown as they are
        app = obj.app if obj is not None else self.campaign_app(request)
        return [
            (None, {"fields": ["name", "kind", "channel"]}),
            (
                "When: a broadcast",
                {"fields": ["send_mode", "send_at"], "classes": ["kind-section", "kind-broadcast"]},
            ),
            (
                "When: after an event",
                {
                    "fields": [
                        "trigger_event",
                        "trigger_where",
                        ("delay_amount", "delay_unit"),
                        "cancel_event",
                        "cancel_match_param",
                    ],
                    "classes": ["kind-section", "kind-event"],
                },
            ),
            (
                "When: on entering a segment",
                {"fields": ["entry_segment"], "classes": ["kind-section", "kind-segment_entry"]},
            ),
            ("Audience", {"fields": ["audience_segment", "recheck_audience"]}),
            (
                "Message",
                {
                    "fields": ["title", *self.EMAIL_ROWS, *self.PUSH_ROWS],
                    "classes": ["campaign-message"],
                },
            ),
            (
                "Buttons",
                {
                    "fields": ["buttons"],
                    "classes": ["campaign-buttons", "channel-section", "channel-push"],
                },
            ),
            (
                "Rules",
                {
                    "fields": [
                        "reentry",
                        "reentry_hours",
                        ("quiet_start", "quiet_end"),
                        "quiet_action",
                    ],
                    "description": self._frequency_cap(request, app),
                },
            ),
        ]

    def _read_only_fieldsets(self, campaign: Campaign) -> list:
        message = self.READ_ONLY_MESSAGE[campaign.channel]
        return [*self.READ_ONLY_FIELDSETS, *message, self.READ_ONLY_RULES]

    def _frequency_cap(self, request, app: App | None) -> str:
        """The app-wide daily caps (per channel, and across channels: the app's policies, not
        campaign settings): shown, and linked for those who may change them."""
        if app is None:
            return ""
        caps = frequency_caps(app=app)
        parts = [
            f"at most {cap} {noun} per contact per day"
            for cap, noun in (
                (caps.push, "pushes"),
                (caps.email, "emails"),
                (caps.any, "messages of both channels"),
            )
            if cap is not None
        ]
        text = (
            f"Frequency caps, across all campaigns of the app: {'; '.join(parts)}."
            if parts
            else "Frequency cap: none (the app sets no daily cap)."
        )
        pages = [
            (perm, name, label)
            for perm, name, label in (
                ("view_pushpolicy", "pushpolicy", "Push policy"),
                ("view_emailsettings", "emailsettings", "Email settings"),
                ("view_messagingpolicy", "messagingpolicy", "Messaging policy"),
            )
            if request.user.has_perm(f"campaigns.{perm}")
        ]
        if not pages:
            return format_html("{} Admins set them in the app's settings.", text)
        links = format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            ((reverse(f"admin:campaigns_{name}_changelist"), label) for _, name, label in pages),
        )
        return format_html("{} {}", text, links)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        app = obj.app if obj is not None else self.campaign_app(request)
        return type(form.__name__, (form,), {"app": app})

    def campaign_app(self, request) -> App | None:
        """The app a new campaign is for: ?app= (one of the user's apps in scope), else the
        only app in scope."""
        apps = scoped_apps(request)
        value = request.GET.get("app", "")
        if value.isdigit():
            return apps.filter(pk=int(value)).first()
        return apps.first() if apps.count() == 1 else None

    def add_view(self, request, form_url="", extra_context=None):
        if self.has_add_permission(request) and self.campaign_app(request) is None:
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "New campaign: which app?",
                "apps": scoped_apps(request).order_by("name"),
            }
            return TemplateResponse(request, "admin/campaigns/campaign/choose_app.html", context)
        return super().add_view(request, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        app = obj.app if obj is not None else self.campaign_app(request)
        context["campaign_app"] = app
        # Typed as the operators are keyed ("string[]" for an array), so the page offers each
        # param the operators of its type.
        context["event_attributes"] = {
            event_type.name: [
                [a.name, kind(a.type, a.is_array)] for a in event_type.attributes.all()
            ]
            for event_type in campaign_event_types(app=app)
        }
        context["operators_by_type"] = OPERATORS_BY_TYPE
        context["preview_url"] = reverse("admin:campaigns_campaign_preview", args=[app.pk])
        if context.get("test_email"):  # its form is styled as the page's other tools
            context["media"] += forms.Media(css={"all": ["events/send-event.css"]})
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        fields = form.campaign_fields
        if not change:
            adopt(obj, campaign_create(app=form.app, **fields))
            return
        campaign = Campaign.objects.get(pk=obj.pk)
        changed = {
            name: value for name, value in fields.items() if getattr(campaign, name) != value
        }
        adopt(obj, campaign_update(campaign=campaign, **changed) if changed else campaign)

    def delete_model(self, request, obj):
        campaign_delete(campaign=obj)

    # The campaign page --------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        campaign = self.get_object(request, object_id)
        if campaign is not None:
            test_email_form = extra_context.pop("test_email_form", None)
            extra_context.update(self._page(request, campaign, test_email_form))
        return super().change_view(request, object_id, form_url, extra_context)

    def _page(self, request, campaign: Campaign, test_email_form=None) -> dict:
        sent = broadcast_was_sent(campaign=campaign)
        bucket = "day" if request.GET.get("activity") == "day" else "hour"
        activity = campaign_activity(campaign=campaign, now=timezone.now(), bucket=bucket)
        label = "%d %b" if bucket == "day" else "%d %b %H:00"
        log = Paginator(campaign_delivery_log(campaign=campaign), LOG_PAGE_SIZE)
        stats = campaign_stats(campaign=campaign)
        return {
            "stats": stats,
            "open_percent": _percent(stats["open_rate"]),
            "email_figures": [
                {"key": key, "label": label, "count": stats[key], "percent": _percent(stats[rate])}
                for key, label, rate in EMAIL_FIGURES
            ],
            "skipped_reasons": campaign_skipped_reasons(campaign=campaign),
            "activity": activity,
            "activity_chart": {
                "labels": [slot.strftime(label) for slot in activity["slots"]],
                "sent": activity["sent"],
                "opened": activity["opened"],
            },
            "log_page": log.get_page(request.GET.get("log_page")),
            "log_url": reverse("admin:campaigns_delivery_changelist") + f"?campaign={campaign.pk}",
            "sent_notice": f"{SENT_BROADCAST.capitalize()}." if sent else "",
            # Pausing or resuming a sent broadcast's remaining pushes is not editing it.
            "may_set_status": super().has_change_permission(request, campaign),
            "may_duplicate": self.has_add_permission(request),
            "test_email": self._test_email_section(request, campaign, test_email_form),
        }

    def _test_email_section(self, request, campaign: Campaign, form) -> dict | None:
        if not self._may_send_test_email(request, campaign):
            return None
        url = reverse("admin:campaigns_campaign_test_email", args=[campaign.pk])
        return {
            "id": TEST_EMAIL_SECTION,
            "form": form or TestEmailForm(campaign=campaign),
            "action": f"{url}#{TEST_EMAIL_SECTION}",  # a page shown again goes to the form
        }

    def _may_send_test_email(self, request, campaign: Campaign) -> bool:
        """Trying an email campaign out, as activating it is: whoever may change campaigns
        (a sent broadcast's message too)."""
        return campaign.channel == Campaign.Channel.EMAIL and super().has_change_permission(
            request, campaign
        )

    # Activate, pause, preview -------------------------------------------------------------
    def get_urls(self):
        def view(function, route, name):
            return path(route, self.admin_site.admin_view(function), name=name)

        return [
            view(self.activate_view, "<int:object_id>/activate/", "campaigns_campaign_activate"),
            view(self.pause_view, "<int:object_id>/pause/", "campaigns_campaign_pause"),
            view(self.duplicate_view, "<int:object_id>/duplicate/", "campaigns_campaign_duplicate"),
            view(self.preview_view, "preview/<int:app_id>/", "campaigns_campaign_preview"),
            view(
                self.test_email_view, "<int:object_id>/test-email/", "campaigns_campaign_test_email"
            ),
            *super().get_urls(),
        ]

    def activate_view(self, request, object_id):
        return self._status_view(request, object_id, campaign_activate, "is active")

    def pause_view(self, request, object_id):
        return self._status_view(request, object_id, campaign_pause, "is paused")

    def _status_view(self, request, object_id, service, done: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not super().has_change_permission(request, campaign):  # a sent broadcast's too
            raise PermissionDenied
        try:
            service(campaign=campaign)
        except ValidationError as exc:
            self.message_user(request, f"{campaign.name}: {error_text(exc)}", messages.ERROR)
        else:
            self.message_user(request, f"{campaign.name} {done}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[object_id]))

    def duplicate_view(self, request, object_id):
        """A draft copy of the campaign, opened in the editor."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_add_permission(request):
            raise PermissionDenied
        try:
            copy = campaign_duplicate(campaign=campaign)
        except ValidationError as exc:
            self.message_user(request, f"Not duplicated: {error_text(exc)}", messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:campaigns_campaign_change", args=[object_id])
            )
        self.message_user(
            request, f"{copy.name}: a draft copy of {campaign.name}, to edit.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[copy.pk]))

    def test_email_view(self, request, object_id):
        """POST: the campaign's message sent to the form's address now; the mail server's answer
        is the message shown, a form in error is shown again on the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = get_object_or_404(self.get_queryset(request), pk=object_id)
        if campaign.channel != Campaign.Channel.EMAIL:
            raise Http404("not an email campaign")
        if not self._may_send_test_email(request, campaign):
            raise PermissionDenied
        form = TestEmailForm(request.POST, campaign=campaign)
        if form.is_valid():
            try:
                outcome = campaign_send_test_email(campaign=campaign, **form.service_arguments())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                self._report_test_email(request, form.cleaned_data["address"], outcome)
                url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
                return HttpResponseRedirect(f"{url}#{TEST_EMAIL_SECTION}")
        self.message_user(request, "Test email not sent: see the form below.", messages.ERROR)
        return self.change_view(
            read_as_get(request), str(campaign.pk), extra_context={"test_email_form": form}
        )

    def _report_test_email(self, request, address: str, outcome: SendOutcome) -> None:
        if outcome.kind == Outcome.SENT:
            answer = f" (message id {outcome.answer})" if outcome.answer else ""
            self.message_user(
                request,
                f"Test email sent to {address}: the mail server accepted it{answer}.",
                messages.SUCCESS,
            )
        else:
            reason = outcome.error or outcome.kind
            message = f"Test email to {address} not sent: {reason}"
            self.message_user(request, message, messages.ERROR)

    def preview_view(self, request, app_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        app = scoped_apps(request).filter(pk=app_id).first()
        if app is None:
            raise Http404("no such app")
        return preview_response(request, app=app)

    # Changelist actions -------------------------------------------------------------------
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


def _percent(rate: float) -> float:
    return round(rate * 100, 1)
