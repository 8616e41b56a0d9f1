"""The contact's own form on its page: identifiers, and custom fields as rows of name, type and
value (contacts/typed_rows.py) instead of JSON. Saving goes through contact_update (see
ContactAdmin.save_model), which merges the object the rows stand for."""

from __future__ import annotations

import json

from django import forms

from contacts.models import Contact, IdentifierRule
from contacts.typed_rows import (
    ISO_DATE,
    RowType,
    TypedRowForm,
    TypedRowsField,
    typed_row_formset,
)

# As long as a mapping rule may name (an event parameter mapped to a custom field).
CUSTOM_FIELD_NAME_MAX_LENGTH = IdentifierRule._meta.get_field("custom_field").max_length


class CustomFieldRowForm(TypedRowForm):
    """A custom field. A row left as it was keeps its stored value exactly (a 20-digit number
    stays a number, a list stays a list); `stored` is the contact's custom fields."""

    noun = "field"
    name_max_length = CUSTOM_FIELD_NAME_MAX_LENGTH
    name_example = "e.g. first_name"
    type_choices = [
        (RowType.TEXT, "Text"),
        (RowType.NUMBER, "Number"),
        (RowType.BOOLEAN, "Yes / no"),
        (RowType.DATE, "Date"),
        (RowType.JSON, "List or object"),
    ]

    def __init__(self, *args, stored: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored = stored

    def typed(self, name: str, text: str, type_: str):
        if name in self.stored and (type_ == RowType.JSON or not self.has_changed()):
            return self.stored[name]
        if type_ == RowType.JSON:
            raise forms.ValidationError("a list or object can only be kept, not typed in here")
        return super().typed(name, text, type_)


CustomFieldFormSet = typed_row_formset(CustomFieldRowForm, extra=2, max_num=200)


def custom_field_rows(fields: dict) -> list[dict]:
    """The initial rows of stored custom fields, each typed by its JSON value, by name (PostgreSQL
    keeps no order of a JSON object's keys)."""
    return [{"name": name, **_typed_text(fields[name])} for name in sorted(fields)]


def _typed_text(value) -> dict:
    if isinstance(value, bool):
        return {"type": RowType.BOOLEAN, "value": "yes" if value else "no"}
    if isinstance(value, int | float):
        return {"type": RowType.NUMBER, "value": str(value)}
    if isinstance(value, str):
        return {"type": RowType.DATE if ISO_DATE.match(value) else RowType.TEXT, "value": value}
    return {"type": RowType.JSON, "value": json.dumps(value, ensure_ascii=False)}


class ContactForm(forms.ModelForm):
    custom_fields = TypedRowsField(label="Custom fields")

    def clean_email_status(self) -> str:
        return self.cleaned_data["email_status"] or self.instance.email_status

    class Meta:
        model = Contact
        fields = ["external_id", "email", "email_status", "phone", "custom_fields"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        stored = self.instance.custom_fields or {}
        self.custom_field_rows = CustomFieldFormSet(
            data,
            prefix="custom",
            initial=custom_field_rows(stored),
            form_kwargs={"stored": stored},
        )
        self.fields["custom_fields"].widget.rows = self.custom_field_rows
        # A form posted without it (a script, an older page) leaves the subscription as it is;
        # a user who may only view contacts gets no such field.
        if "email_status" in self.fields:
            self.fields["email_status"].required = False
