"""The segment form: name, purpose, tags, and the condition tree edited with the visual builder
(segments/static/segments/builder/), which posts the tree as JSON in one hidden field."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.utils.safestring import mark_safe

from segments.conditions.validation import conditions_validate
from segments.models import Segment

CONDITIONS_INVALID = "Some conditions need attention: see the marked cards below."


class ConditionsBuilderWidget(forms.HiddenInput):
    """The tree in a hidden input, and the element the builder draws itself in."""

    @property
    def is_hidden(self) -> bool:
        return False  # the admin shows the row (its label, its errors) for the builder

    def render(self, name, value, attrs=None, renderer=None):
        hidden = super().render(name, value, attrs, renderer)
        return hidden + mark_safe(
            '<div id="segment-builder" class="segment-builder">'
            '<noscript><p class="errornote">The segment builder needs JavaScript.</p></noscript>'
            "</div>"
        )


class ConditionsField(forms.JSONField):
    def __init__(self, **kwargs):
        super().__init__(widget=ConditionsBuilderWidget, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value  # what was posted, for the builder to report
        return json.dumps(value, ensure_ascii=False)


class SegmentForm(forms.ModelForm):
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. “retention, vip”")
    conditions = ConditionsField(label="Conditions")

    class Meta:
        model = Segment
        fields = ["app", "name", "purpose", "tags", "conditions"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The validator's errors by JSON path, for the builder to show on the cards.
        self.condition_errors: dict[str, list[str]] = {}
        if self.instance.pk:
            self.initial["tags"] = ", ".join(self.instance.tags or [])

    def clean_tags(self) -> list[str]:
        tags = (tag.strip() for tag in self.cleaned_data["tags"].split(","))
        return list(dict.fromkeys(tag for tag in tags if tag))

    def clean(self):
        """Check the tree here, so that its errors show on the form with what was built; the
        service checks again when saving (a referenced segment may change meanwhile)."""
        data = super().clean()
        app = data.get("app") if "app" in self.fields else self.instance.app
        if app is not None and "conditions" in data:
            try:
                conditions_validate(
                    app=app, conditions=data["conditions"], segment_id=self.instance.pk
                )
            except ValidationError as exc:
                self.condition_errors = exc.message_dict
                self.add_error("conditions", CONDITIONS_INVALID)
        return data
