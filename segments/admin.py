"""The admin for segments: their conditions (edited as JSON and saved through the same services
as the API), a "Refresh now" action, and each segment's members."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from contacts.admin import AppFilter, BeaconModelAdmin, adopt, error_text, scoped_apps
from events.admin import ReadOnlyAdmin
from segments.conditions.validation import conditions_validate
from segments.models import Segment, SegmentChange, SegmentMembership
from segments.selectors import app_segment_tags, segments_tagged
from segments.services import (
    EDITABLE_FIELDS,
    segment_create,
    segment_delete,
    segment_refresh,
    segment_update,
)


def _selected_app_id(request) -> int | None:
    value = request.GET.get("app", "")
    return int(value) if value.isdigit() else None


# Segments ---------------------------------------------------------------------------------------
class TagFilter(admin.SimpleListFilter):
    """The tags used by the segments of the apps the user may see (or of the chosen app)."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        apps = scoped_apps(request)
        if (app_id := _selected_app_id(request)) is not None:
            apps = apps.filter(pk=app_id)
        return [(tag, tag) for tag in app_segment_tags(apps=apps)]

    def queryset(self, request, queryset):
        if self.value():
            return segments_tagged(queryset, tag=self.value())
        return queryset


class ConditionsField(forms.JSONField):
    """The condition tree as indented JSON in a text area."""

    def __init__(self, **kwargs):
        textarea = forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family:monospace"})
        super().__init__(widget=textarea, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value  # what was typed, shown again with its error
        return json.dumps(value, ensure_ascii=False, indent=2)


class SegmentForm(forms.ModelForm):
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. “retention, vip”")
    conditions = ConditionsField(help_text="The condition tree (see docs/segments.md)")

    class Meta:
        model = Segment
        fields = ["app", "name", "purpose", "tags", "conditions"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tags"] = ", ".join(self.instance.tags or [])

    def clean_tags(self) -> list[str]:
        tags = (tag.strip() for tag in self.cleaned_data["tags"].split(","))
        return list(dict.fromkeys(tag for tag in tags if tag))

    def clean(self):
        """Check the tree here, so that its errors show on the form with what was typed; the
        service checks again when saving (a referenced segment may change meanwhile)."""
        data = super().clean()
        app = data.get("app") if "app" in self.fields else self.instance.app
        if app is not None and "conditions" in data:
            try:
                conditions_validate(
                    app=app, conditions=data["conditions"], segment_id=self.instance.pk
                )
            except ValidationError as exc:
                for path, reasons in exc.message_dict.items():
                    for reason in reasons:
                        self.add_error("conditions", f"{path}: {reason}")
        return data


@admin.register(Segment)
class SegmentAdmin(BeaconModelAdmin):
    form = SegmentForm
    list_display = ["name", "tag_list", "member_count", "last_computed_at", "app"]
    list_filter = [AppFilter, TagFilter]
    list_select_related = ["app"]
    search_fields = ["name"]
    actions = ["refresh_now"]
    readonly_fields = ["members", "last_computed_at", "created_at", "updated_at"]

    def get_fieldsets(self, request, obj=None):
        main = ["name", "purpose", "tags", "conditions"]
        if obj is None:
            return [(None, {"fields": ["app", *main]})]
        return [
            (None, {"fields": ["app", *main]}),
            ("Membership", {"fields": ["members", "last_computed_at"]}),
            ("History", {"fields": ["created_at", "updated_at"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "app"] if obj is not None else self.readonly_fields

    @admin.display(description="tags")
    def tag_list(self, segment: Segment) -> str:
        return ", ".join(segment.tags or [])

    @admin.display(description="members")
    def members(self, segment: Segment) -> str:
        url = reverse("admin:segments_segmentmembership_changelist")
        return format_html(
            '<a href="{}?segment={}">{} member(s): view them</a>',
            url,
            segment.pk,
            segment.member_count,
        )

    def save_model(self, request, obj, form, change):
        if change:
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            changed = {name: value for name, value in changed.items() if name in EDITABLE_FIELDS}
            segment = Segment.objects.get(pk=obj.pk)
            adopt(obj, segment_update(segment=segment, **changed) if changed else segment)
            return
        data = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
        adopt(obj, segment_create(app=form.cleaned_data["app"], **data))

    # Deleting: the service refuses a segment other segments use; the user hears why.
    def delete_model(self, request, obj):
        segment_delete(segment=obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:segments_segment_change", args=[object_id]))

    def get_actions(self, request):
        # One by one from the segment's page: a bulk delete could not say which were refused.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_deleted_objects(self, objs, request):
        """Counts of what goes with the segment, not one line per member."""
        objs = list(objs)
        counts = {
            "segment memberships": SegmentMembership.objects.filter(segment__in=objs).count(),
            "segment changes": SegmentChange.objects.filter(segment__in=objs).count(),
        }
        counts = {name: count for name, count in counts.items() if count}
        return [str(segment) for segment in objs], counts, set(), []

    @admin.action(description="Refresh now", permissions=["change"])
    def refresh_now(self, request, queryset):
        for segment in queryset.select_related("app").order_by("name"):
            try:
                result = segment_refresh(segment=segment)
            except ValidationError as exc:
                self.message_user(request, f"{segment.name}: {error_text(exc)}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{segment.name}: refreshed, {len(result.entered)} entered and "
                f"{len(result.exited)} exited.",
                messages.SUCCESS,
            )


# Members ----------------------------------------------------------------------------------------
class SegmentFilter(admin.SimpleListFilter):
    """The segments of the apps the user may see (or of the chosen app)."""

    title = "segment"
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        segments = Segment.objects.filter(app__in=scoped_apps(request))
        if (app_id := _selected_app_id(request)) is not None:
            segments = segments.filter(app_id=app_id)
        return [(str(pk), name) for pk, name in segments.values_list("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(segment_id=int(value))
        return queryset


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(ReadOnlyAdmin):
    """Who is in a segment (as of its last computation), with the contacts' identifiers."""

    app_lookup = "segment__app"
    list_display = [
        "contact_link",
        "external_id",
        "email",
        "anonymous_id",
        "entered_at",
        "segment",
    ]
    list_filter = [AppFilter, SegmentFilter]
    list_display_links = None  # the contact column links to the contact
    list_select_related = ["contact", "segment"]
    search_fields = ["=contact__external_id", "=contact__email", "=contact__anonymous_id"]
    ordering = ["-entered_at", "-id"]
    fields = ["segment", "contact", "entered_at"]
    readonly_fields = fields

    @admin.display(description="contact", ordering="contact_id")
    def contact_link(self, membership: SegmentMembership) -> str:
        url = reverse("admin:contacts_contact_change", args=[membership.contact_id])
        return format_html('<a href="{}">{}</a>', url, membership.contact_id)

    @admin.display(description="external id", ordering="contact__external_id")
    def external_id(self, membership: SegmentMembership) -> str | None:
        return membership.contact.external_id

    @admin.display(description="email", ordering="contact__email")
    def email(self, membership: SegmentMembership) -> str | None:
        return membership.contact.email

    @admin.display(description="anonymous id")
    def anonymous_id(self, membership: SegmentMembership) -> str | None:
        return membership.contact.anonymous_id
