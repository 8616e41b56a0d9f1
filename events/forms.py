"""The contact page's "Send test event" form (and "Send event", with a contact to choose, on an
event type's or a campaign's page: events/send_event.py): an event name and params as rows of
name, type and value (contacts/typed_rows.py), so that nobody types JSON. The rows give the
params; the pipeline (events/services/test_events.py) then validates and types the event as it
does a tracked one, and its errors are put back next to the field or row that caused them."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from contacts.models import App, Contact
from contacts.typed_rows import RowType, TypedRowForm, typed_row_formset
from events.models import Event
from events.validation import MAX_NAME_LENGTH


class ParamRowForm(TypedRowForm):
    noun = "param"
    name_max_length = MAX_NAME_LENGTH
    name_example = "e.g. amount"
    value_example = "e.g. 49.99"
    type_choices = [
        (RowType.AUTO, "Guess"),
        (RowType.TEXT, "Text"),
        (RowType.NUMBER, "Number"),
        (RowType.BOOLEAN, "Yes / no"),
    ]


ParamFormSet = typed_row_formset(ParamRowForm)


class SendTestEventForm(forms.Form):
    """Bound with the POST data, it holds the params formset too (prefix "param")."""

    event_name = forms.CharField(
        max_length=MAX_NAME_LENGTH,
        label="Event name",
        widget=forms.TextInput(attrs={"list": "test-event-names", "autocomplete": "off"}),
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.params = ParamFormSet(data, prefix="param")

    def is_valid(self) -> bool:
        return super().is_valid() & self.params.is_valid()  # both, for all their errors

    def payload(self) -> dict:
        return {"event_name": self.cleaned_data["event_name"], "params": self.params.values()}

    def add_ingest_errors(self, errors: dict[str, list[str]]) -> None:
        """Show the pipeline's errors ({"event_name": [...], "params.<name>": [...]}) next to the
        field or param row they are about; others above the form."""
        for key, reasons in errors.items():
            row = self.params.row_named(key.removeprefix("params."))
            if key == "event_name":
                self.add_error("event_name", reasons)
            elif key.startswith("params.") and row is not None:
                row.add_error("value", reasons)
            else:
                self.add_error(None, [f"{key}: {reason}" for reason in reasons])


class ContactAutocomplete(AutocompleteSelect):
    """The admin's contact search (ContactAdmin's search fields, the user's apps), as a field."""

    def __init__(self):
        super().__init__(Event._meta.get_field("contact"), admin.site)

    def optgroups(self, name, value, attr=None):
        # The chosen contact is read back by id to be shown: a posted value that is no id (a
        # hand-made request) would fail that query instead of being reported by the field.
        ids = [v for v in value if str(v).isdigit() and int(v) < 2**63]
        return super().optgroups(name, ids, attr)


class SendEventForm(SendTestEventForm):
    """The form of "Send event" on a page that is not a contact's (a campaign's, an event
    type's): the contact is chosen among the app's, then the test event's name and params."""

    contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(),
        widget=ContactAutocomplete(),
        help_text="Search by external id, email, phone or anonymous id.",
        error_messages={"invalid_choice": "Choose a contact of this app."},
    )
    field_order = ["contact", "event_name"]

    class Media:
        css = {"all": ["contacts/typed-rows.css", "events/send-event.css"]}
        js = ["contacts/typed-rows.js"]

    def __init__(self, data=None, *, app: App, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(app=app)
