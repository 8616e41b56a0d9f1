"""The admin for segments: their conditions (edited with the visual builder and saved through the
same services as the API), the segment page, a "Refresh now" action, and each segment's members.

The builder's JSON views are in builder_views.py, the segment page in page.py."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from common.admin import AppFilter, BeaconModelAdmin, ReadOnlyAdmin, adopt, error_text
from contacts.access import current_app, scoped_apps
from segments.admin.builder_views import catalog_view, preview_view
from segments.admin.forms import SegmentForm
from segments.admin.page import segment_page_view
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


@admin.register(Segment)
class SegmentAdmin(BeaconModelAdmin):
    form = SegmentForm
    change_form_template = "admin/segments/segment/change_form.html"
    list_display = ["name", "tag_list", "size", "last_computed_at", "app"]
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

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(partial(function, self))

        return [
            path("builder/catalog/", view(catalog_view), name="segments_segment_builder_catalog"),
            path("builder/preview/", view(preview_view), name="segments_segment_builder_preview"),
            path("<path:object_id>/page/", view(segment_page_view), name="segments_segment_page"),
            *super().get_urls(),
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """On "add", the builder needs an app: the chosen one, else the user's only one."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "app" and current_app(request) is None:
            apps = list(field.queryset[:2])
            field.initial = apps[0] if len(apps) == 1 else None
        return field

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """The builder's settings: its JSON views, the app (None on "add": the form's app field
        says), the segment being edited and the errors of the last save by JSON path."""
        context["builder_config"] = {
            "catalogUrl": reverse("admin:segments_segment_builder_catalog"),
            "previewUrl": reverse("admin:segments_segment_builder_preview"),
            "app": obj.app_id if obj is not None else None,
            "segment": obj.pk if obj is not None else None,
            "errors": context["adminform"].form.condition_errors,
        }
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="members", ordering="member_count")
    def size(self, segment: Segment) -> str:
        url = reverse("admin:segments_segment_page", args=[segment.pk])
        return format_html('<a href="{}" title="Segment page">{}</a>', url, segment.member_count)

    @admin.display(description="tags")
    def tag_list(self, segment: Segment) -> str:
        return ", ".join(segment.tags or [])

    @admin.display(description="members")
    def members(self, segment: Segment) -> str:
        url = reverse("admin:segments_segment_page", args=[segment.pk])
        return format_html(
            '<a href="{}">{} member(s): see them on the segment page</a>',
            url,
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
