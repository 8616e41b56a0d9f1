"""Request and response shapes of the campaigns API."""

from __future__ import annotations

from django.core.validators import MaxLengthValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns import buttons
from campaigns.models import Campaign, Delivery, PushPolicy
from common.api_fields import (
    INT32_MAX,
    ClockTimeField,
    InstantField,
    JsonTypesMixin,
    NulFreeDictField,
    NulFreeJSONField,
)


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
class WhereField(NulFreeJSONField):
    """Any JSON: the service checks the filters and names each error by its path."""


class ParamsField(NulFreeDictField):
    default_error_messages = {"not_a_dict": "must be an object"}


class ButtonSerializer(serializers.Serializer):
    """An action button of the notification. Errors name the button:
    {"buttons": ["button 2: url is required for an open_url button"]}."""

    id = serializers.RegexField(
        buttons.ID_RE.pattern,
        max_length=32,
        help_text="Reported with the click: @NOTIFICATION_OPENED's button_id",
    )
    title = serializers.CharField(max_length=buttons.MAX_TITLE_LENGTH, help_text="Liquid template")
    action = serializers.ChoiceField(
        choices=buttons.ACTIONS,
        help_text="open_url: opens `url`; track_event: records `event` on the contact (with "
        "campaign_id and delivery_id) besides the open, and opens the message's url",
    )
    url = serializers.CharField(
        max_length=buttons.MAX_URL_LENGTH,
        required=False,
        help_text="open_url only: an http(s) URL; Liquid template",
    )
    event = serializers.CharField(
        max_length=255,
        required=False,
        help_text="track_event only: an event name as the tracking API takes it (no leading @)",
    )


class _MaxButtons(MaxLengthValidator):
    """At most MAX_BUTTONS items in a list (the schema's maxItems); the service checks the rest,
    whatever the JSON is."""

    def clean(self, x) -> int:
        return len(x) if isinstance(x, list) else 0


@extend_schema_field(ButtonSerializer(many=True))
class ButtonsField(NulFreeJSONField):
    """Any JSON: the service checks the buttons and names each error by its button."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(
            _MaxButtons(buttons.MAX_BUTTONS, message=buttons.TOO_MANY_BUTTONS_MESSAGE)
        )


class CampaignOutputSerializer(serializers.ModelSerializer):
    trigger_where = WhereField()
    buttons = ButtonsField()
    quiet_start = ClockTimeField(allow_null=True)
    quiet_end = ClockTimeField(allow_null=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "status",
            "kind",
            "channel",
            "title",
            "body",
            "url",
            "icon",
            "image",
            "buttons",
            "ttl_seconds",
            "urgency",
            "preheader",
            "html_body",
            "text_body",
            "track_opens",
            "track_clicks",
            "audience_segment_id",
            "send_at",
            "fanned_out_at",
            "trigger_event",
            "trigger_where",
            "delay_seconds",
            "cancel_event",
            "cancel_match_param",
            "recheck_audience",
            "entry_segment_id",
            "reentry",
            "reentry_hours",
            "quiet_start",
            "quiet_end",
            "quiet_action",
            "activated_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CampaignInputSerializer(JsonTypesMixin, serializers.Serializer):
    """Creating needs name, kind and title, plus what the kind needs (trigger_event for
    "event", entry_segment_id for "segment_entry"). A PATCH changes only the fields sent."""

    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Campaign.Kind.choices)
    channel = serializers.ChoiceField(
        choices=Campaign.Channel.choices, required=False, help_text="push (the default) or email"
    )
    title = serializers.CharField(
        max_length=500, help_text="Liquid template: the push's title, or the email's subject"
    )
    body = serializers.CharField(required=False, allow_blank=True, help_text="Liquid template")
    url = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Liquid template"
    )
    icon = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    image = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    buttons = ButtonsField(
        required=False,
        help_text=f"At most {buttons.MAX_BUTTONS} action buttons, with unique ids",
    )
    ttl_seconds = serializers.IntegerField(required=False, min_value=0, max_value=INT32_MAX)
    urgency = serializers.ChoiceField(choices=Campaign.Urgency.choices, required=False)
    preheader = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="Email: the line inboxes show after the subject (Liquid template)",
    )
    html_body = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Email: the HTML part (Liquid template; values are HTML-escaped). "
        "{{ unsubscribe_url }} places the unsubscribe link; without it a footer is added",
    )
    text_body = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Email: the plain-text part (Liquid template); empty: made from the HTML",
    )
    track_opens = serializers.BooleanField(required=False, help_text="Email: an open pixel")
    track_clicks = serializers.BooleanField(
        required=False, help_text="Email: links go through Beacon to count clicks"
    )
    audience_segment_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="Empty: every contact"
    )
    send_at = InstantField(required=False, allow_null=True)
    trigger_event = serializers.CharField(max_length=255, required=False, allow_blank=True)
    trigger_where = WhereField(required=False, help_text="Param filters, as in segments")
    delay_seconds = serializers.IntegerField(required=False, min_value=0, max_value=INT32_MAX)
    cancel_event = serializers.CharField(max_length=255, required=False, allow_blank=True)
    cancel_match_param = serializers.CharField(max_length=255, required=False, allow_blank=True)
    recheck_audience = serializers.BooleanField(required=False)
    entry_segment_id = serializers.IntegerField(required=False, allow_null=True)
    reentry = serializers.ChoiceField(choices=Campaign.Reentry.choices, required=False)
    reentry_hours = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=INT32_MAX
    )
    quiet_start = ClockTimeField(required=False, allow_null=True, help_text="In the contact's time")
    quiet_end = ClockTimeField(required=False, allow_null=True)
    quiet_action = serializers.ChoiceField(choices=Campaign.QuietAction.choices, required=False)


class CampaignStatsSerializer(serializers.Serializer):
    scheduled = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    skipped = serializers.IntegerField()
    delivered = serializers.IntegerField(
        help_text="Emails: deliveries the ESP reports delivered (its webhooks; not over SMTP)"
    )
    delivery_rate = serializers.FloatField(help_text="delivered / sent")
    opened = serializers.IntegerField()
    open_rate = serializers.FloatField(help_text="opened / sent (0 when nothing was sent)")
    clicked = serializers.IntegerField(help_text="Emails: deliveries with a click")
    click_rate = serializers.FloatField(help_text="clicked / sent")
    unsubscribed = serializers.IntegerField(
        help_text="Emails: unsubscribes (link, one-click header, ESP) and spam complaints"
    )
    unsubscribe_rate = serializers.FloatField(help_text="unsubscribed / sent")
    bounced = serializers.IntegerField(
        help_text="Emails: addresses refused for good, at send time or in the ESP's report"
    )
    bounce_rate = serializers.FloatField(
        help_text="bounced / (sent + refused at send time): a bounce an ESP reports later "
        "leaves its email sent"
    )


class DeliveryOutputSerializer(serializers.ModelSerializer):
    event_params = ParamsField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "contact_id",
            "channel",
            "device_id",
            "address",
            "source",
            "is_test",
            "trigger_event_id",
            "event_params",
            "due_at",
            "status",
            "reason",
            "attempts",
            "last_error",
            "sent_at",
            "opened_at",
            "clicked_at",
            "unsubscribed_at",
            "bounced_at",
            "created_at",
        ]
        read_only_fields = fields


class CampaignPreviewInputSerializer(JsonTypesMixin, serializers.Serializer):
    contact_id = serializers.IntegerField(required=False, allow_null=True)
    event_params = ParamsField(required=False, help_text="The params of a sample trigger event")


class PreviewButtonSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    action = serializers.ChoiceField(choices=buttons.ACTIONS)
    url = serializers.CharField(required=False, help_text="open_url buttons only")


PUSH_ONLY = "Push campaigns only"
EMAIL_ONLY = "Email campaigns only"


class CampaignPreviewOutputSerializer(serializers.Serializer):
    """A push campaign's preview has title, body, url, icon, image and buttons; an email
    campaign's has subject, preheader, html and text; both have warnings."""

    title = serializers.CharField(required=False, help_text=PUSH_ONLY)
    body = serializers.CharField(required=False, help_text=PUSH_ONLY)
    url = serializers.CharField(required=False, help_text=PUSH_ONLY)
    icon = serializers.CharField(required=False, help_text=PUSH_ONLY)
    image = serializers.CharField(required=False, help_text=PUSH_ONLY)
    buttons = PreviewButtonSerializer(
        many=True,
        required=False,
        help_text=f"{PUSH_ONLY}. Rendered; one whose title renders empty is left out, as in sends",
    )
    subject = serializers.CharField(required=False, help_text=EMAIL_ONLY)
    preheader = serializers.CharField(
        required=False, help_text=f"{EMAIL_ONLY}. Also hidden at the top of the html"
    )
    html = serializers.CharField(
        required=False,
        help_text=f"{EMAIL_ONLY}. The HTML part before click tracking and the open pixel (empty: "
        'a plain-text email), with "#unsubscribe" where a send puts the unsubscribe link',
    )
    text = serializers.CharField(
        required=False,
        help_text=f"{EMAIL_ONLY}. The plain-text part (made from the HTML if the campaign has "
        "no text_body)",
    )
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="One per variable the templates read that this contact and event lack "
        '(it renders empty): "event.params.x is not known: it will render empty"',
    )


class CampaignTestInputSerializer(CampaignPreviewInputSerializer):
    contact_id = serializers.IntegerField()


class CampaignTestOutputSerializer(serializers.Serializer):
    scheduled = serializers.IntegerField(help_text="Deliveries (one per device), sent now")


class OpenInputSerializer(JsonTypesMixin, serializers.Serializer):
    token = serializers.CharField(max_length=64)
    button = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="The id of the action button clicked (the web push `action`); empty or "
        "absent: the notification itself",
    )


class OpenOutputSerializer(serializers.Serializer):
    opened_at = serializers.DateTimeField()


class PushPolicySerializer(JsonTypesMixin, serializers.ModelSerializer):
    # Explicit bounds: the model field's depend on the database (the schema must not).
    daily_cap = serializers.IntegerField(
        min_value=0,
        max_value=10_000,
        allow_null=True,
        help_text="At most this many pushes per contact per day (null: no cap)",
    )
    ios_provider = serializers.ChoiceField(
        choices=PushPolicy.IosProvider.choices,
        required=False,
        help_text="Sends to iOS devices registered without a push_provider (omitted: unchanged)",
    )

    class Meta:
        model = PushPolicy
        fields = ["daily_cap", "ios_provider"]
