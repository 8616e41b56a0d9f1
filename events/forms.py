"""The contact page's "Send test event" form: an event name and params as rows of name, type and
value, so that nobody types JSON. The form turns each row into a JSON value; the ingest pipeline
(events/services/test_events.py) then validates and types the event as it does a tracked one, and
its errors are put back next to the field or row that caused them."""

from __future__ import annotations

import math
import re

from django import forms
from django.core.exceptions import ValidationError

from events.validation import MAX_NAME_LENGTH

INTEGER = re.compile(r"^[+-]?\d+$")
DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
TRUE_WORDS = {"true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0"}
MAX_SAFE_INTEGER = 2**53  # past it, JavaScript and many JSON readers round integers


class ParamType:
    AUTO = "auto"
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    CHOICES = [
        (AUTO, "Guess"),
        (TEXT, "Text"),
        (NUMBER, "Number"),
        (BOOLEAN, "Yes / no"),
    ]


def param_value(text: str, type_: str) -> str | int | float | bool:
    """The JSON value of a typed-in param: as chosen, or guessed ("39" is a number, "true" a
    boolean, anything else text). Raises ValidationError for a value that is not of the chosen
    type."""
    word = text.strip().lower()
    if type_ == ParamType.TEXT:
        return text
    if type_ in (ParamType.AUTO, ParamType.BOOLEAN) and word in ("true", "false"):
        return word == "true"
    if type_ == ParamType.BOOLEAN:
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValidationError("is not yes or no (true, false, yes, no, 1 or 0)")
    # (the length first: Python refuses to read integers of over 4,300 digits)
    if INTEGER.match(word) and (len(word) > 20 or abs(int(word)) > MAX_SAFE_INTEGER):
        if type_ == ParamType.NUMBER:
            raise ValidationError("is too long for a number: choose Text to keep every digit")
        return text  # a guess: an id or a card number, whose digits must all stay
    number = _number(word)
    if number is not None:
        return number
    if type_ == ParamType.NUMBER:
        raise ValidationError("is not a number (for example 42 or 19.99)")
    return text


def _number(word: str) -> int | float | None:
    """The number `word` spells, if it is one JSON readers read back the same (a finite one)."""
    if INTEGER.match(word):
        return int(word)
    if DECIMAL.match(word):
        value = float(word)
        return value if math.isfinite(value) else None
    return None


class ParamRowForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME_LENGTH, required=False, strip=True)
    type = forms.ChoiceField(choices=ParamType.CHOICES, initial=ParamType.AUTO)
    value = forms.CharField(required=False, strip=False)

    def clean(self):
        data = super().clean()
        name, text = data.get("name", ""), data.get("value", "")
        if not name and text:
            self.add_error("name", "a param needs a name")
        elif name and "type" in data:
            try:
                data["json_value"] = param_value(text, data["type"])
            except ValidationError as exc:
                self.add_error("value", exc)
        return data


class BaseParamFormSet(forms.BaseFormSet):
    def clean(self):
        seen = set()
        for form in self.forms:
            name = form.cleaned_data.get("name")
            if name and name in seen:
                form.add_error("name", "this param is already given above")
            seen.add(name)

    def params(self) -> dict:
        return {
            form.cleaned_data["name"]: form.cleaned_data["json_value"]
            for form in self.forms
            if form.cleaned_data.get("name")
        }

    def row_named(self, name: str) -> ParamRowForm | None:
        return next((form for form in self.forms if form.cleaned_data.get("name") == name), None)


ParamFormSet = forms.formset_factory(ParamRowForm, formset=BaseParamFormSet, extra=3, max_num=50)


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
        return {"event_name": self.cleaned_data["event_name"], "params": self.params.params()}

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
