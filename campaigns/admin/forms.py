"""The campaign editor's form: one form for the three kinds and both channels (push, email), in
a marketer's terms (a delay in minutes, hours or days; trigger filters as rows of param /
operator / value), turned into the fields of the campaigns services. The rules themselves are
the services': the form only parses and puts each of the services' errors next to the field it
is about."""

from __future__ import annotations

import json
import math
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from campaigns.buttons import MAX_BUTTONS, MAX_TITLE_LENGTH, OPEN_URL, TRACK_EVENT
from campaigns.models import Campaign
from campaigns.selectors import campaign_attribute_types
from campaigns.services.campaigns import campaign_validate
from contacts.models import App
from segments.conditions.periods import RELATIVE_DATE_OPERATORS, RELATIVE_DATE_UNITS
from segments.models import Segment

DELAY_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
SECONDS = {"seconds": 1, **DELAY_UNITS}  # a delay the API set to the second
OPERATORS = {
    "=": "is",
    "!=": "is not",
    ">": ">",
    ">=": "≥",
    "<": "<",
    "<=": "≤",
    "between": "is between",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "not_contains": "does not contain",
    "contains_any": "contains any of",
    "not_contains_any": "contains none of",
    "starts_with": "starts with",
    "within": "is within",
    "not_within": "is not within",
    "within_last": "is within the last",
    "within_next": "is within the next",
    "exists": "is set",
    "not_exists": "is not set",
}
ACTION_LABELS = ((OPEN_URL, "Open a URL"), (TRACK_EVENT, "Track an event"))
LIST_OPERATORS = ("in", "not_in", "between", "contains_any", "not_contains_any")
VALUELESS_OPERATORS = ("exists", "not_exists")
DISTANCE_OPERATORS = ("within", "not_within")
# What a row's value takes, per operator: the value input's placeholder, which the page's script
# swaps when the operator changes.
VALUE_HINTS = {
    "between": "e.g. 10, 99",
    "in": "e.g. A-1, A-7",
    "not_in": "e.g. A-1, A-7",
    "contains_any": "e.g. sale, new",
    "not_contains_any": "e.g. sale, new",
    "within": "e.g. 10 km of 48.85, 2.35",
    "not_within": "e.g. 10 km of 48.85, 2.35",
    "within_last": "e.g. 3 days",
    "within_next": "e.g. 2 weeks",
    "exists": "",
    "not_exists": "",
}
DEFAULT_HINT = "e.g. 50"
# A distance filter's value, "10 km of 48.85, 2.35" (km of latitude, longitude), spaced freely.
CIRCLE_TEXT = re.compile(r"(?P<km>\S+?)\s*km\s+of\s+(?P<lat>[^\s,]+)\s*,\s*(?P<lon>\S+)", re.I)
# A relative date filter's value, "3 days" or "1 month".
DAYS_TEXT = re.compile(r"(?P<amount>\d+)\s*(?P<unit>[a-z]+)", re.I)
# The parts of a value the services name in their errors ("trigger_where[0].value.km").
VALUE_PARTS = {"lat": "latitude", "lon": "longitude", "km": "distance"}
# The campaign's own fields the form edits as they are (the others it derives).
MODEL_FIELDS = [
    "name",
    "kind",
    "channel",
    "title",
    "preheader",
    "html_body",
    "text_body",
    "track_opens",
    "track_clicks",
    "body",
    "url",
    "icon",
    "image",
    "buttons",
    "ttl_seconds",
    "urgency",
    "audience_segment",
    "recheck_audience",
    "entry_segment",
    "reentry",
    "reentry_hours",
    "quiet_start",
    "quiet_end",
    "quiet_action",
]
# Each kind's own fields; the other kinds' are cleared when a campaign changes kind.
KIND_DEFAULTS = {
    Campaign.Kind.BROADCAST: {"send_at": None},
    Campaign.Kind.EVENT: {
        "trigger_event": "",
        "trigger_where": [],
        "delay_seconds": 0,
        "cancel_event": "",
        "cancel_match_param": "",
    },
    Campaign.Kind.SEGMENT_ENTRY: {"entry_segment_id": None},
}
# Each channel's own message fields, as a new campaign has them; the other channel's are reset
# when a campaign is saved, as the other kinds' are (`title` is both: a push's title, an email's
# subject).
CHANNEL_DEFAULTS = {
    Campaign.Channel.PUSH: {
        "body": "",
        "url": "",
        "icon": "",
        "image": "",
        "buttons": [],
        "ttl_seconds": Campaign._meta.get_field("ttl_seconds").default,
        "urgency": Campaign.Urgency.NORMAL,
    },
    Campaign.Channel.EMAIL: {
        "preheader": "",
        "html_body": "",
        "text_body": "",
        "track_opens": True,
        "track_clicks": True,
    },
}
# The `title` field's label, by channel (the page's script swaps it).
TITLE_LABELS = {Campaign.Channel.PUSH: "Title", Campaign.Channel.EMAIL: "Subject"}
# Where the services name a field differently from the form.
ERROR_FIELDS = {
    "delay_seconds": "delay_amount",
    "audience_segment_id": "audience_segment",
    "entry_segment_id": "entry_segment",
    "status": None,
}


class WhereRowsWidget(forms.Widget):
    """Rows of param / operator / value. Every row's inputs share their names, so the page's
    script adds and removes rows freely; without the script, two blank rows wait for input."""

    blank_rows = 2

    def value_from_datadict(self, data, files, name):
        columns = [data.getlist(f"{name}-{part}") for part in ("param", "op", "value")]
        return list(zip(*columns, strict=False))

    def format_value(self, value):
        if not value:
            return []
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return [_row_of_filter(spec) for spec in value]
        return list(value)

    def render(self, name, value, attrs=None, renderer=None):
        rows = self.format_value(value) + [("", "=", "")] * self.blank_rows
        body = format_html_join("", "{}", ((self._row(name, *row),) for row in rows))
        hints = {op: VALUE_HINTS.get(op, DEFAULT_HINT) for op in OPERATORS}
        return format_html(
            '<div class="where-rows" data-where-rows="{}" data-value-hints="{}">'
            '<table><thead><tr><th scope="col">Param</th><th scope="col">Operator</th>'
            '<th scope="col">Value</th><th scope="col"><span class="visually-hidden">Remove'
            "</span></th></tr></thead><tbody>{}</tbody></table>"
            '<button type="button" class="button where-add" hidden>Add a filter</button>'
            "</div>",
            name,
            json.dumps(hints),
            body,
        )

    def _row(self, name, param, op, value):
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, " selected" if key == op else "", label) for key, label in OPERATORS.items()),
        )
        return format_html(
            '<tr class="where-row">'
            '<td><input type="text" name="{0}-param" value="{1}" list="trigger-params" '
            'aria-label="Param" placeholder="e.g. amount"></td>'
            '<td><select name="{0}-op" aria-label="Operator">{2}</select></td>'
            '<td><input type="text" name="{0}-value" value="{3}" aria-label="Value" '
            'placeholder="{4}"></td>'
            '<td><button type="button" class="where-remove" title="Remove this filter" '
            'aria-label="Remove this filter" hidden>✕</button></td></tr>',
            name,
            param,
            options,
            value,
            VALUE_HINTS.get(op, DEFAULT_HINT),
        )


class WhereRowsField(forms.Field):
    """The rows as given, minus the blank ones; typed in CampaignForm.clean, which knows the
    trigger event (whose attributes' types decide how "50" is read)."""

    widget = WhereRowsWidget

    def to_python(self, value):
        rows = [tuple(str(part).strip() for part in row) for row in value or []]
        return [row for row in rows if row[0] or row[2]]


class ButtonRowsWidget(forms.Widget):
    """One row per possible button (MAX_BUTTONS): id, title, action, and the URL or the event
    name the action takes. A blank row is no button; without the script, it all works too."""

    COLUMNS = ("id", "title", "action", "target")

    def value_from_datadict(self, data, files, name):
        columns = [data.getlist(f"{name}-{part}") for part in self.COLUMNS]
        return list(zip(*columns, strict=False))

    def format_value(self, value):
        rows = [_row_of_button(item) if isinstance(item, dict) else item for item in value or []]
        return rows + [("", "", OPEN_URL, "")] * (MAX_BUTTONS - len(rows))

    def render(self, name, value, attrs=None, renderer=None):
        rows = enumerate(self.format_value(value), 1)
        body = format_html_join(
            "", "{}", ((self._row(name, number, *row),) for number, row in rows)
        )
        return format_html(
            '<div class="button-rows">'
            '<table><thead><tr><th scope="col">Id</th><th scope="col">Title</th>'
            '<th scope="col">On click</th><th scope="col">URL or event name</th></tr></thead>'
            "<tbody>{}</tbody></table></div>",
            body,
        )

    def _row(self, name, number, id_, title, action, target):
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, " selected" if key == action else "", label) for key, label in ACTION_LABELS),
        )
        return format_html(
            '<tr class="button-row">'
            '<td><input type="text" name="{0}-id" value="{2}" aria-label="Button {1} id" '
            'placeholder="button{1}" maxlength="32"></td>'
            '<td><input type="text" name="{0}-title" value="{3}" aria-label="Button {1} title" '
            'maxlength="{6}"></td>'
            '<td><select name="{0}-action" aria-label="Button {1} action">{4}</select></td>'
            '<td><input type="text" name="{0}-target" value="{5}" '
            'aria-label="Button {1} URL or event name"{7}></td></tr>',
            name,
            number,
            id_,
            title,
            options,
            target,
            MAX_TITLE_LENGTH,
            # an event name is one of the app's events, or one it will send
            format_html(' list="{}"', "app-event-types") if action == TRACK_EVENT else "",
        )


class ButtonRowsField(forms.Field):
    """The rows as buttons ({"id", "title", "action", "url" or "event"}), minus the blank ones;
    a row without an id takes "button<n>". The services check them."""

    widget = ButtonRowsWidget

    def to_python(self, value):
        buttons = []
        for row in value or []:
            id_, title, action, target = (str(part).strip() for part in row)
            if not (id_ or title or target):
                continue
            key = "event" if action == TRACK_EVENT else "url"
            id_ = id_ or f"button{len(buttons) + 1}"
            buttons.append({"id": id_, "title": title, "action": action, key: target})
        return buttons


class CampaignForm(forms.ModelForm):
    """Bound to one app: CampaignAdmin.get_form sets `app` on a subclass."""

    app: App

    kind = forms.ChoiceField(
        choices=Campaign.Kind.choices, widget=forms.RadioSelect, initial=Campaign.Kind.EVENT
    )
    channel = forms.ChoiceField(
        choices=Campaign.Channel.choices,
        widget=forms.RadioSelect,
        initial=Campaign.Channel.PUSH,
        required=False,  # a post without it keeps the campaign's (push for a new one)
    )
    send_mode = forms.ChoiceField(
        label="Send",
        choices=[("now", "As soon as it is activated"), ("scheduled", "At a scheduled time")],
        widget=forms.RadioSelect,
        initial="now",
        required=False,
    )
    send_at = forms.DateTimeField(
        label="Send at (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    trigger_event = forms.CharField(
        label="Trigger event",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"list": "app-event-types", "autocomplete": "off"}),
        help_text="One of the app's events, or the name of one it will send (it is registered).",
    )
    trigger_where = WhereRowsField(
        label="Only if",
        required=False,
        help_text="Filters on the trigger event's params, all of which must hold. "
        "“is one of”, “contains any of”: values separated by commas; “is between”: low, high; "
        "“is within”: 10 km of 48.85, 2.35 (latitude, longitude); “is within the last” and "
        "“the next”: 3 days, 2 weeks or 1 month; a date: 2026-12-24 (a day in the app's "
        "timezone) or a time with its offset.",
    )
    delay_amount = forms.IntegerField(label="Delay", min_value=0, required=False, initial=0)
    delay_unit = forms.ChoiceField(
        label="Delay unit",
        choices=[(unit, unit) for unit in DELAY_UNITS],
        initial="minutes",
        required=False,
    )
    cancel_event = forms.CharField(
        label="Cancel event",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"list": "app-event-types", "autocomplete": "off"}),
        help_text="Empty: nothing cancels a scheduled push.",
    )
    audience_segment = forms.ModelChoiceField(
        queryset=Segment.objects.none(),
        required=False,
        empty_label="Everyone (all contacts)",
        label="Audience segment",
        help_text="Who may receive it.",
    )
    entry_segment = forms.ModelChoiceField(
        queryset=Segment.objects.none(),
        required=False,
        empty_label="Choose a segment",
        label="Segment",
        help_text="A push to each contact who enters it from now on.",
    )
    buttons = ButtonRowsField(
        label="Buttons",
        required=False,
        help_text="At most two, shown under the message. “Open a URL”: an http(s) URL "
        "(Liquid too). “Track an event”: records that event on the contact, with the "
        "campaign_id, and opens the message's link. Titles are Liquid. A click on either "
        "counts as an open, with the button's id.",
    )
    cancel_match_param = forms.CharField(
        label="Only when this param matches",
        required=False,
        widget=forms.TextInput(attrs={"list": "trigger-params", "placeholder": "e.g. order_id"}),
        help_text="Cancel only the messages whose trigger had the same value of this param "
        "(empty: any cancel event cancels the contact's scheduled messages).",
    )

    class Meta:
        model = Campaign
        fields = MODEL_FIELDS
        labels = {
            "ttl_seconds": "Time to live (seconds)",
            "recheck_audience": "Only if still in the audience at send time",
            "url": "Link (URL)",
            "icon": "Icon URL",
            "image": "Image URL",
            "reentry": "Re-entry",
            "reentry_hours": "Hours between two messages",
            "quiet_start": "Quiet hours from",
            "quiet_end": "Quiet hours until",
            "quiet_action": "During quiet hours",
            "html_body": "HTML body",
            "text_body": "Text body",
            "track_opens": "Track opens",
            "track_clicks": "Track clicks",
        }
        help_texts = {
            "title": 'Liquid: {{ event.amount }}, {{ contact.first_name | default: "there" }}',
            "preheader": "Email: the line inboxes show after the subject (Liquid too).",
            "html_body": "Email: Liquid, its values HTML-escaped; "
            "{% for item in event.items %}…{% endfor %} loops over a list param. Without "
            "{{ unsubscribe_url }} in it, a footer with the unsubscribe link is added.",
            "text_body": "Email, optional: made from the HTML when empty (Liquid too).",
            "track_opens": "An invisible image counts who opens the email.",
            "track_clicks": "Links go through Beacon, which counts the clicks.",
            "recheck_audience": "Event-triggered and segment entry campaigns check it again "
            "when the push is due.",
            "url": "Opened on click; Liquid too.",
            "ttl_seconds": "How long a push service keeps an undelivered push (86400 = a day).",
        }
        widgets = {
            "body": forms.Textarea(attrs={"rows": 3}),
            "html_body": forms.Textarea(attrs={"rows": 12, "class": "code-input"}),
            "text_body": forms.Textarea(attrs={"rows": 5}),
            "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        segments = Segment.objects.filter(app=self.app).order_by("name")
        self.fields["audience_segment"].queryset = segments
        self.fields["entry_segment"].queryset = segments
        if self.instance.pk is not None:
            self._initial_from_instance(self.instance)
        if "title" in self.fields:  # not on a page shown read-only
            self._label_title(self["channel"].value())

    def _label_title(self, channel: str | None) -> None:
        title = self.fields["title"]
        title.label = TITLE_LABELS.get(channel, TITLE_LABELS[Campaign.Channel.PUSH])
        title.widget.attrs["data-labels"] = json.dumps(TITLE_LABELS)

    def _initial_from_instance(self, campaign: Campaign) -> None:
        amount, unit = _delay_in_units(campaign.delay_seconds)
        if unit == "seconds":  # set through the API: shown as it is, not rounded on saving
            self.fields["delay_unit"].choices = [("seconds", "seconds")] + list(
                self.fields["delay_unit"].choices
            )
        self.initial.setdefault("delay_amount", amount)
        self.initial.setdefault("delay_unit", unit)
        self.initial.setdefault("send_mode", "scheduled" if campaign.send_at else "now")
        for name in ("send_at", "trigger_event", "trigger_where", "cancel_event"):
            self.initial.setdefault(name, getattr(campaign, name))
        self.initial.setdefault("cancel_match_param", campaign.cancel_match_param)

    def clean_channel(self) -> str:
        return self.cleaned_data["channel"] or self.instance.channel

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("send_mode") == "scheduled" and data.get("send_at") is None:
            self.add_error("send_at", "Choose when to send, or send when activated.")
        try:
            fields = self._service_fields(data)
        except ValidationError as exc:  # a filter value the form could not read
            self.add_error("trigger_where", exc)
            return data
        candidate = Campaign(pk=self.instance.pk, app=self.app, **fields)
        try:
            campaign_validate(campaign=candidate)
        except ValidationError as exc:
            self._add_service_errors(exc)
        self.campaign_fields = fields
        return data

    def _service_fields(self, data: dict) -> dict:
        """The campaigns services' fields: the chosen kind's own, the other kinds' cleared."""
        kind = data["kind"]
        fields = {name: data[name] for name in MODEL_FIELDS}
        for name in ("audience_segment", "entry_segment"):
            segment = fields.pop(name)
            fields[f"{name}_id"] = segment.pk if segment else None
        amount = data.get("delay_amount") or 0
        fields.update(
            send_at=data.get("send_at") if data.get("send_mode") == "scheduled" else None,
            trigger_event=data.get("trigger_event", ""),
            trigger_where=self._filters(data),
            delay_seconds=amount * SECONDS[data.get("delay_unit") or "minutes"],
            cancel_event=data.get("cancel_event", ""),
            cancel_match_param=data.get("cancel_match_param", ""),
        )
        for other, defaults in KIND_DEFAULTS.items():
            if other != kind:
                fields.update(defaults)
        for other, defaults in CHANNEL_DEFAULTS.items():
            if other != data["channel"]:
                fields.update(defaults)
        if kind == Campaign.Kind.BROADCAST:
            fields["recheck_audience"] = False
        if fields["reentry"] != Campaign.Reentry.HOURS:
            fields["reentry_hours"] = None
        return fields

    def _filters(self, data: dict) -> list[dict]:
        """The rows as the services' filters; a ValidationError naming each row whose value
        is not in the form its operator takes. Rows left in another kind's hidden section are
        not read: only event-triggered campaigns have filters."""
        if data["kind"] != Campaign.Kind.EVENT:
            return []
        rows = data.get("trigger_where") or []
        types = campaign_attribute_types(app=self.app, event_name=data.get("trigger_event", ""))
        filters, errors = [], []
        for number, (param, op, value) in enumerate(rows, 1):
            try:
                filters.append(_filter_of_row(param, op, value, types.get(param)))
            except ValidationError as exc:
                errors.append(f"Filter {number}, value: {exc.message}")
        if errors:
            raise ValidationError(errors)
        return filters

    def _add_service_errors(self, exc: ValidationError) -> None:
        for key, reasons in exc.message_dict.items():
            field, detail = _error_target(key)
            if field is not None and field not in self.fields:
                field, detail = None, key
            for reason in reasons:
                self.add_error(field, f"{detail}: {reason}" if detail else reason)


def _delay_in_units(seconds: int) -> tuple[int, str]:
    """2 hours rather than 120 minutes; 0 in minutes."""
    for unit in ("days", "hours", "minutes"):
        if seconds % DELAY_UNITS[unit] == 0 and (seconds or unit == "minutes"):
            return seconds // DELAY_UNITS[unit], unit
    return seconds, "seconds"


def _error_target(key: str) -> tuple[str | None, str]:
    """("trigger_where", "Filter 2, operator") for "trigger_where[1].op", ("trigger_where",
    "Filter 1, value (distance)") for "trigger_where[0].value.km", and so on."""
    match = re.fullmatch(r"trigger_where\[(\d+)\](?:\.(\w+)(?:\.(\w+))?)?", key)
    if match:
        part = {"op": "operator", "param": "param", "value": "value"}.get(match[2] or "", "")
        label = f"Filter {int(match[1]) + 1}" + (f", {part}" if part else "")
        if match[3]:
            label += f" ({VALUE_PARTS.get(match[3], match[3])})"
        return "trigger_where", label
    return ERROR_FIELDS.get(key, key), ""


def _filter_of_row(param: str, op: str, text: str, type_: str | None) -> dict:
    """A row as a filter. ValidationError when a distance or a relative date does not parse
    (what parses, the services check: a latitude of 100 or "0 days" is theirs to refuse)."""
    spec = {"param": param, "op": op}
    if op in VALUELESS_OPERATORS:
        return spec
    if op in DISTANCE_OPERATORS:
        spec["value"] = _circle(text)
    elif op in RELATIVE_DATE_OPERATORS:
        spec["value"] = _days(text)
    elif op in LIST_OPERATORS:
        spec["value"] = [_typed(item.strip(), type_) for item in text.split(",") if item.strip()]
    else:
        spec["value"] = _typed(text, type_)
    return spec


def _circle(text: str) -> dict:
    """ "10 km of 48.85, 2.35" as {"lat": 48.85, "lon": 2.35, "km": 10}."""
    match = CIRCLE_TEXT.fullmatch(text)
    numbers = [_number(match[key]) for key in ("lat", "lon", "km")] if match else [None]
    if None in numbers:
        raise ValidationError(
            f"expected a distance in km of a latitude, longitude, like “10 km of 48.85, 2.35”; "
            f"got “{text}”"
        )
    return dict(zip(("lat", "lon", "km"), numbers, strict=True))


def _days(text: str) -> dict:
    """ "3 days" (or "1 day", "2 weeks", "1 month") as {"amount": 3, "unit": "day"}."""
    match = DAYS_TEXT.fullmatch(text)
    unit = match["unit"].lower() if match else ""
    if unit not in RELATIVE_DATE_UNITS:
        unit = unit.removesuffix("s")
    if unit not in RELATIVE_DATE_UNITS:
        raise ValidationError(
            f"expected a number of days, weeks or months, like “3 days”; got “{text}”"
        )
    return {"amount": int(match["amount"]), "unit": unit}


def _typed(text: str, type_: str | None):
    """ "50" as the attribute's type (an array's: its elements'); for an attribute never seen, as
    what it looks like. A value that does not fit stays text, and the services' check says why."""
    type_ = type_.removesuffix("[]") if type_ else None
    if type_ == "boolean" or (type_ is None and text.lower() in ("true", "false")):
        return {"true": True, "false": False}.get(text.lower(), text)
    if type_ in (None, "number"):
        number = _number(text)
        return text if number is None else number
    return text


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _row_of_button(button: dict) -> tuple[str, str, str, str]:
    action = str(button.get("action", OPEN_URL))
    target = button.get("event" if action == TRACK_EVENT else "url", "")
    return (str(button.get("id", "")), str(button.get("title", "")), action, str(target))


def _row_of_filter(spec) -> tuple[str, str, str]:
    if not isinstance(spec, dict):
        return ("", "=", "")
    op, value = str(spec.get("op", "=")), spec.get("value", "")
    if op in DISTANCE_OPERATORS and isinstance(value, dict):
        shown = f"{_text(value['km'])} km of {_text(value['lat'])}, {_text(value['lon'])}"
    elif op in RELATIVE_DATE_OPERATORS and isinstance(value, dict):
        amount = value["amount"]
        shown = f"{amount} {value['unit']}{'' if amount == 1 else 's'}"
    elif isinstance(value, list):
        shown = ", ".join(_text(item) for item in value)
    else:
        shown = _text(value)
    return (str(spec.get("param", "")), op, shown)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
