"""The contact page's "Send test event" form: an event name and params as rows of name, type and
value (contacts/typed_rows.py), so that nobody types JSON. The rows give the params; the pipeline
(events/services/test_events.py) then validates and types the event as it does a tracked one, and
its errors are put back next to the field or row that caused them."""

from __future__ import annotations

from django import forms

from contacts.typed_rows import RowType, TypedRowForm, typed_row_formset
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
