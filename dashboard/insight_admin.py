"""The admin of insights (the dashboard's saved charts): the list with each chart's place on
the dashboard, the add/edit form checked by the services' validation, and the chart's preview on
the edit page. Marketers add and change them; Admins delete them (contacts/services/roles.py)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from common.admin import AppFilter, BeaconModelAdmin, adopt
from contacts.access import current_app, scoped_apps
from dashboard.insights import insight_data, insight_describe
from dashboard.models import Insight
from dashboard.services import (
    EDITABLE_FIELDS,
    insight_create,
    insight_delete,
    insight_update,
    insight_validate,
)
from events.models import EventType
from segments.models import Segment


class InsightForm(forms.ModelForm):
    class Meta:
        model = Insight
        fields = ["app", *EDITABLE_FIELDS]
        widgets = {
            "date_from": forms.DateInput(attrs={"type": "date"}),
            "date_to": forms.DateInput(attrs={"type": "date"}),
        }

    def clean(self):
        """The services' checks, shown by field with what was entered; the service checks
        again when saving."""
        data = super().clean()
        app = data.get("app") if "app" in self.fields else self.instance.app
        if app is None or self.errors:
            return data  # the field errors say what is missing
        try:
            insight_validate(app=app, **{name: data.get(name) for name in EDITABLE_FIELDS})
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        return data


class InsightAdmin(BeaconModelAdmin):
    form = InsightForm
    change_form_template = "admin/dashboard/insight/change_form.html"
    list_display = ["name", "event_type", "measure", "period", "position", "on_dashboard", "app"]
    list_editable = ["position", "on_dashboard"]
    list_filter = [AppFilter, "on_dashboard"]
    list_select_related = ["app", "event_type"]
    search_fields = ["name"]
    ordering = ["app__name", "position", "id"]

    def get_fieldsets(self, request, obj=None):
        """A new chart goes last on the dashboard; its place is changed later (or in the list)."""
        placed = ["on_dashboard"] if obj is None else ["on_dashboard", "position"]
        return [
            (None, {"fields": ["app", "name", "event_type"]}),
            ("What to chart", {"fields": ["measure", "param", "split_param", "top_n", "segment"]}),
            ("When", {"fields": ["period", "date_from", "date_to", "granularity"]}),
            ("On the dashboard", {"fields": placed}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return ["app"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Event types and segments of the user's apps, without the counts their own lists
        compute; named with their app when the header shows several. On "add", the app is the
        one chosen in the header, else the user's only one."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "app" and current_app(request) is None:
            apps = list(field.queryset[:2])  # the user's only app goes without saying
            field.initial = apps[0] if len(apps) == 1 else None
        if db_field.name in ("event_type", "segment"):
            model = EventType if db_field.name == "event_type" else Segment
            field.queryset = model.objects.filter(app__in=scoped_apps(request))
            field.queryset = field.queryset.select_related("app").order_by("name")
            if current_app(request) is None:
                field.label_from_instance = lambda row: f"{row.name} ({row.app.name})"
        return field

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["insight_description"] = insight_describe(obj)
            context["insight_preview"] = insight_data(insight=obj, now=timezone.now())
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data}
            insight = Insight.objects.get(pk=obj.pk)
            adopt(obj, insight_update(insight=insight, **fields) if fields else insight)
            return
        data = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name != "position"}
        adopt(obj, insight_create(app=form.cleaned_data["app"], **data))

    def delete_model(self, request, obj):
        insight_delete(insight=obj)
