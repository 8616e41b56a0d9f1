"""The admin for event types (the segmentation allowlist), attributes, events (the Activity page)
and per-contact statistics; and the contact page's events (events/contact_page.py), added here
because contacts never imports events."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import IntegerField, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from common.admin import AppFilter, BeaconModelAdmin, ReadOnlyAdmin, adopt, error_text
from contacts.access import scoped_apps
from contacts.models import Contact
from events.contact_page import ContactWithEventsAdmin
from events.display import params_html
from events.models import ContactEventStats, Event, EventAttribute, EventType
from events.selectors import event_type_segmentation_usage, segmentation_usage_per_app
from events.send_event import SendEventAdminMixin, may_act_on_contacts
from events.services.event_types import (
    event_attribute_declare,
    event_attribute_validate,
    event_type_create,
    event_type_name_validate,
    event_type_set_segmentation,
    event_type_update,
)
from events.services.test_events import event_resend

PARAMS_SHOWN = 4  # per row of the Activity page


# Event types and attributes ---------------------------------------------------------------------
class EventAttributeForm(forms.ModelForm):
    """Checks a declaration as event_attribute_declare will, so a refusal is a form error."""

    class Meta:
        model = EventAttribute
        fields = ["name", "type", "is_array"]

    def clean(self):
        data = super().clean()
        name = data.get("name", self.instance.name)
        if name and "type" in data:
            try:
                event_attribute_validate(
                    name=name, type_=data["type"], is_array=data.get("is_array", False)
                )
            except ValidationError as exc:
                for field, reasons in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, reasons)
        return data


class EventAttributeInlineForm(EventAttributeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["name"].disabled = True  # what clients send: correct the type only

    def clean(self):
        data = super().clean()
        if {"name", "type"} <= set(data):
            event_type = self.instance.event_type if self.instance.event_type_id else None
            new_row = self.instance.pk is None
            if new_row and event_type and event_type.attributes.filter(name=data["name"]).exists():
                raise ValidationError(
                    {"name": f"{data['name']} is already listed: correct its type in its row"}
                )
        return data


class EventAttributeInline(admin.TabularInline):
    """Declare an attribute, or correct a discovered one's type (saved by event_attribute_declare
    in EventTypeAdmin.save_formset)."""

    model = EventAttribute
    form = EventAttributeInlineForm
    fields = ["name", "type", "is_array", "source", "created_at"]
    readonly_fields = ["source", "created_at"]
    extra = 0
    can_delete = False
    verbose_name_plural = "attributes: declare a type, or correct one found in the events"

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 3 if obj is None else 0  # rows to fill in when declaring a new event type

    def get_fields(self, request, obj=None):
        if obj is None:  # a new event type's rows have no history to show
            return [name for name in self.fields if name not in self.readonly_fields]
        return super().get_fields(request, obj)

    @admin.display(description="type from")
    def source(self, attribute: EventAttribute) -> str:
        if attribute.pk is None:
            return ""
        return "declared by an admin" if attribute.declared else "discovered from the events"


class KindFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("system", "System (catalog, built-in)"), ("custom", "Custom (sent by apps)")]

    def queryset(self, request, queryset):
        if self.value() in ("system", "custom"):
            return queryset.filter(is_system=self.value() == "system")
        return queryset


class EventTypeForm(forms.ModelForm):
    class Meta:
        model = EventType
        fields = ["category", "description", "segmentation_enabled"]


class EventTypeAddForm(forms.ModelForm):
    """An event type declared before its first event (saved by event_type_create, with the
    attribute rows, in EventTypeAdmin.save_related)."""

    class Meta:
        model = EventType
        fields = ["app", "name", "description"]
        help_texts = {"name": "What the app will send as event_name, exactly."}

    def clean(self):
        data = super().clean()
        if {"app", "name"} <= set(data):
            event_type_name_validate(app=data["app"], name=data["name"])
        return data


@admin.register(EventType)
class EventTypeAdmin(SendEventAdminMixin, BeaconModelAdmin):
    """The event catalog and the segmentation allowlist. Admins enable and disable event types
    (a button per row, or the actions) and declare new ones ahead of their first event; marketers
    read the list and the counter. Each type's page has "Send event" (events/send_event.py)."""

    form = EventTypeForm
    change_list_template = "admin/events/eventtype/change_list.html"
    change_form_template = "admin/events/eventtype/change_form.html"
    list_display = [
        "name",
        "category",
        "kind",
        "segmentation_enabled",
        "last_seen",
        "event_count",
        "app",
    ]
    list_filter = [AppFilter, "segmentation_enabled", KindFilter, "category"]
    list_select_related = ["app"]
    search_fields = ["name"]
    actions = ["enable_segmentation", "disable_segmentation"]
    inlines = [EventAttributeInline]
    readonly_fields = [
        "app",
        "name",
        "is_system",
        "suggested_params",
        "first_seen_at",
        "last_seen_at",
        "segmentation_enabled_at",
        "event_count",
    ]
    fieldsets = [
        (None, {"fields": ["app", "name", "category", "description", "is_system"]}),
        (
            "Segmentation",
            {
                "fields": ["segmentation_enabled", "segmentation_enabled_at"],
                "description": "Segments may use only the event types enabled here; each app "
                "may enable a limited number.",
            },
        ),
        (
            "Activity",
            {"fields": ["first_seen_at", "last_seen_at", "event_count", "suggested_params"]},
        ),
    ]

    class Media:
        css = {"all": ["events/event-types.css"]}

    def get_queryset(self, request):
        # A subquery per listed row; counts survive the retention purge.
        total = (
            ContactEventStats.objects.filter(event_type=OuterRef("pk"))
            .order_by()
            .values("event_type")
            .annotate(total=Sum("count"))
            .values("total")
        )
        event_count = Coalesce(Subquery(total, output_field=IntegerField()), 0)
        return super().get_queryset(request).annotate(event_count=event_count)

    def get_list_display(self, request):
        shown = list(self.list_display)
        if self._listed_apps(request).count() == 1:
            shown.remove("app")  # room for the rest: the header names the app
        if self.has_change_permission(request):
            # Admins get a button per row in place of the yes/no icon.
            shown[shown.index("segmentation_enabled")] = "segmentation"
        return shown

    def changelist_view(self, request, extra_context=None):
        usage = segmentation_usage_per_app(apps=self._listed_apps(request))
        context = {
            "title": "Event types",
            "segmentation_usage": usage,
            "segmentation_limit": settings.SEGMENTATION_MAX_EVENTS,
            "may_change_segmentation": self.has_change_permission(request),
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def _listed_apps(self, request):
        """The apps whose event types the list shows: the header's choice or the app filter."""
        apps = scoped_apps(request)
        if (app := request.GET.get(AppFilter.parameter_name, "")).isdigit():
            apps = apps.filter(pk=int(app))
        return apps

    @admin.display(description="type", ordering="is_system")
    def kind(self, event_type: EventType) -> str:
        return "system" if event_type.is_system else "custom"

    @admin.display(description="events", ordering="event_count")
    def event_count(self, event_type: EventType) -> int:
        return event_type.event_count

    @admin.display(description="last seen", ordering="last_seen_at")
    def last_seen(self, event_type: EventType) -> str:
        if event_type.last_seen_at is None:
            return self.get_empty_value_display()
        moment = timezone.localtime(event_type.last_seen_at)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            moment.isoformat(),
            date_format(moment, "DATETIME_FORMAT"),
            naturaltime(moment),
        )

    @admin.display(description="segmentation", ordering="segmentation_enabled")
    def segmentation(self, event_type: EventType) -> str:
        """The state and a button that posts the changelist's form (CSRF token included) to
        segmentation_view: a form of its own cannot sit inside the changelist's."""
        enabled = event_type.segmentation_enabled
        return format_html(
            '<span class="segmentation-state{}">{}</span> <button type="submit" '
            'class="button segmentation-toggle" formaction="{}" name="enabled" value="{}" '
            'aria-label="{} {} for segmentation">{}</button>',
            " on" if enabled else "",
            "Enabled" if enabled else "Off",
            reverse("admin:events_eventtype_segmentation", args=[event_type.pk]),
            "0" if enabled else "1",
            "Disable" if enabled else "Enable",
            event_type.name,
            "Disable" if enabled else "Enable",
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.segmentation_view)
        return [
            path("<int:object_id>/segmentation/", view, name="events_eventtype_segmentation"),
            *super().get_urls(),
        ]

    def segmentation_view(self, request, object_id: int):
        """Enable (`enabled=1`) or disable (`enabled=0`) one event type, then go back to the
        list. Another app's event type is not found, whatever its id."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        event_type = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, event_type):
            raise PermissionDenied
        self._set_one(request, event_type, enabled=request.POST.get("enabled") == "1")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse("admin:events_eventtype_changelist")
        return HttpResponseRedirect(back)

    # Adding: an event type declared ahead, with its attributes ------------------------------
    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["app", "name", "description"]})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else super().get_readonly_fields(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = EventTypeAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        apps = scoped_apps(request)
        if "app" not in initial and apps.count() == 1:
            initial["app"] = apps.get().pk  # the only app the user works in
        return initial

    def save_related(self, request, form, formsets, change):
        if change:
            return super().save_related(request, form, formsets, change)
        # One service call makes the type and its attributes (save_model made nothing).
        [attributes] = formsets
        rows = [row.cleaned_data for row in attributes.forms if row.has_changed()]
        event_type = event_type_create(
            app=form.cleaned_data["app"],
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            attributes=[
                {"name": row["name"], "type": row["type"], "is_array": row.get("is_array", False)}
                for row in rows
            ],
        )
        adopt(form.instance, event_type)
        # What the change message reads (formset.save() would have set them).
        attributes.new_objects = list(event_type.attributes.all())
        attributes.changed_objects, attributes.deleted_objects = [], []

    # Send event: its name filled in (events/send_event.py) -----------------------------------
    def send_event_name(self, event_type: EventType) -> str:
        return event_type.name

    def send_event_offered(self, event_type: EventType) -> bool:
        return not event_type.name.startswith("@")  # built-in events are Beacon's to record

    def send_event_done(self, event_type: EventType, contact: Contact, name: str) -> str:
        return (
            f"Event “{name}” recorded for {contact}: segments and the campaigns it triggers "
            "evaluate it now."
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # It would take every event of the type with it; disable segmentation instead.
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            return  # created with its attributes in save_related
        event_type = EventType.objects.get(pk=obj.pk)
        event_type_update(
            event_type=event_type,
            category=form.cleaned_data["category"],
            description=form.cleaned_data["description"],
        )
        if "segmentation_enabled" in form.changed_data:
            event_type_set_segmentation(
                event_type=event_type, enabled=form.cleaned_data["segmentation_enabled"]
            )

    def save_formset(self, request, form, formset, change):
        # The change message reads what a formset's save() would have recorded.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for attribute_form in formset.forms:
            if not attribute_form.has_changed():
                continue
            attribute = event_attribute_declare(
                event_type=form.instance,
                name=attribute_form.cleaned_data["name"],
                type_=attribute_form.cleaned_data["type"],
                is_array=attribute_form.cleaned_data["is_array"],
            )
            if attribute_form.instance.pk:
                formset.changed_objects.append((attribute, attribute_form.changed_data))
            else:
                formset.new_objects.append(attribute)

    @admin.action(description="Enable for segmentation", permissions=["change"])
    def enable_segmentation(self, request, queryset):
        self._set_segmentation(request, queryset, enabled=True)

    @admin.action(description="Disable for segmentation", permissions=["change"])
    def disable_segmentation(self, request, queryset):
        self._set_segmentation(request, queryset, enabled=False)

    def _set_segmentation(self, request, queryset, *, enabled: bool) -> None:
        """One service call per row: the cap stops the rows past it, each reported by name."""
        changed = 0
        for event_type in queryset.filter(segmentation_enabled=not enabled).order_by("name"):
            try:
                event_type_set_segmentation(event_type=event_type, enabled=enabled)
            except ValidationError as exc:
                self.message_user(request, _refusal(event_type, exc), messages.ERROR)
            else:
                changed += 1
        verb = "Enabled" if enabled else "Disabled"
        self.message_user(
            request, f"{verb} {changed} event type(s) for segmentation.", messages.SUCCESS
        )

    def _set_one(self, request, event_type: EventType, *, enabled: bool) -> None:
        try:
            event_type_set_segmentation(event_type=event_type, enabled=enabled)
        except ValidationError as exc:
            self.message_user(request, _refusal(event_type, exc), messages.ERROR)
            return
        usage = event_type_segmentation_usage(app=event_type.app)
        # Messages start with a word: the admin capitalises the first letter, not a name's.
        verb = "Enabled" if enabled else "Disabled"
        self.message_user(
            request,
            f"{verb} {event_type.name} for segmentation: {usage['segmentation_enabled_count']} / "
            f"{usage['segmentation_limit']} in {event_type.app.name}.",
            messages.SUCCESS,
        )


def _refusal(event_type: EventType, exc: ValidationError) -> str:
    return f"Could not enable {event_type.name}: {error_text(exc)}."


@admin.register(EventAttribute)
class EventAttributeAdmin(BeaconModelAdmin):
    app_lookup = "event_type__app"
    form = EventAttributeForm
    list_display = ["name", "type", "is_array", "declared", "event_type", "app_name"]
    list_filter = [AppFilter, "type", "is_array", "declared"]
    list_select_related = ["event_type__app"]
    search_fields = ["name", "event_type__name"]
    autocomplete_fields = ["event_type"]
    fields = ["event_type", "name", "type", "is_array", "declared", "created_at"]

    @admin.display(description="app", ordering="event_type__app__name")
    def app_name(self, attribute: EventAttribute) -> str:
        return attribute.event_type.app.name

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["declared", "created_at"]
        return ["event_type", "name", "declared", "created_at"]

    def save_model(self, request, obj, form, change):
        event_type = form.cleaned_data.get("event_type") or obj.event_type
        attribute = event_attribute_declare(
            event_type=event_type,
            name=obj.name,
            type_=form.cleaned_data["type"],
            is_array=form.cleaned_data["is_array"],
        )
        adopt(obj, attribute)


# Events and statistics: big tables, so read-only, with capped counts and indexed queries -------
class EventNameFilter(admin.SimpleListFilter):
    """The names of the event types that have happened (not every name of the catalog), as a
    drop-down list: there may be a hundred."""

    title = "event"
    parameter_name = "event"
    template = "admin/events/select_filter.html"

    def lookups(self, request, model_admin):
        names = EventType.objects.filter(app__in=scoped_apps(request), last_seen_at__isnull=False)
        if (app := request.GET.get("app", "")).isdigit():
            names = names.filter(app_id=int(app))
        names = names.order_by("name").values_list("name", flat=True).distinct()
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(event_type__name=self.value())
        return queryset


class ProbedDatesQuerySet(QuerySet):
    """Finds the date hierarchy's choices by index probes. Django lists them with a DISTINCT over
    the truncated date, which reads every event of the period; here one EXISTS per candidate
    year, month or day between the first and the last event (a few, at most 31 days) uses the
    occurred_at index."""

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        zone = tzinfo or timezone.get_current_timezone()
        period = _period_start(timezone.localtime(bounds["first"], zone), kind)
        last, found = timezone.localtime(bounds["last"], zone), []
        while period <= last:
            following = _period_after(period, kind)
            during = {f"{field_name}__gte": period, f"{field_name}__lt": following}
            if self.filter(**during).exists():
                found.append(period)
            period = following
        return found if order == "ASC" else found[::-1]


def _period_start(moment: datetime, kind: str) -> datetime:
    month = 1 if kind == "year" else moment.month
    day = moment.day if kind == "day" else 1
    return datetime(moment.year, month, day, tzinfo=moment.tzinfo)


def _period_after(start: datetime, kind: str) -> datetime:
    if kind == "year":
        return start.replace(year=start.year + 1)
    if kind == "month":
        year, month = divmod(start.month, 12)
        return start.replace(year=start.year + year, month=month + 1)
    # the next wall-clock midnight in the zone, whatever DST does
    return datetime.combine(start.date() + timedelta(days=1), start.time(), start.tzinfo)


class RecentFilter(admin.SimpleListFilter):
    title = "time"
    parameter_name = "within"
    periods = {
        "1h": ("Last hour", timedelta(hours=1)),
        "24h": ("Last 24 hours", timedelta(hours=24)),
        "7d": ("Last 7 days", timedelta(days=7)),
        "30d": ("Last 30 days", timedelta(days=30)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.periods.items()]

    def queryset(self, request, queryset):
        if self.value() in self.periods:
            since = timezone.now() - self.periods[self.value()][1]
            return queryset.filter(occurred_at__gte=since)
        return queryset


class ContactFilter(admin.SimpleListFilter):
    """One contact's events (`?contact=<id>`, as the contact page links to them): shown, with
    the way back to all, only while a contact is chosen. A contact out of the user's reach is
    "not one of yours" (and the scoped events list nothing for it)."""

    title = "contact"
    parameter_name = "contact"

    def lookups(self, request, model_admin):
        value = self.value() or ""
        if not value:
            return []
        contacts = Contact.objects.filter(app__in=scoped_apps(request))
        chosen = contacts.filter(pk=int(value)).first() if value.isdigit() else None
        return [(value, str(chosen) if chosen else "not one of yours")]

    def queryset(self, request, queryset):
        value = self.value() or ""
        if value:
            return queryset.filter(contact_id=int(value)) if value.isdigit() else queryset.none()
        return queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The Activity page: the latest events of the user's apps, filterable, each linking to its
    contact, with "Resend" (events/contact_page.py has the same on a contact's timeline)."""

    list_display = ["occurred", "event_name", "contact_link", "params_chips", "resend"]
    list_display_links = ["occurred"]
    list_filter = [AppFilter, RecentFilter, EventNameFilter, ContactFilter]
    list_select_related = ["event_type", "contact"]
    # A term is looked up among the contacts first (get_search_results): no scan of events.
    search_fields = ["contact__external_id"]
    search_help_text = "A contact's id, external id, email or anonymous id"
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice would read the whole table
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at", "-id"]
    fields = [
        "app",
        "event_type",
        "contact",
        "occurred_at",
        "received_at",
        "params_json",
        "context_json",
        "session_id",
        "fingerprint",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["events/contact-page.css"]}
        js = ["events/select-filter.js"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return ProbedDatesQuerySet(model=Event, query=queryset.query, using=queryset.db)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        same = Q(external_id=term) | Q(email=term.lower()) | Q(anonymous_id=term)
        if term.isdigit():
            same |= Q(pk=int(term))
        contacts = Contact.objects.filter(same, app__in=scoped_apps(request))
        return queryset.filter(contact__in=contacts.values("pk")), False

    def get_list_display(self, request):
        if may_act_on_contacts(request):
            return self.list_display
        return [column for column in self.list_display if column != "resend"]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Activity", **(extra_context or {})})

    @admin.display(description="occurred at", ordering="occurred_at")
    def occurred(self, event: Event) -> str:
        return date_format(timezone.localtime(event.occurred_at), "Y-m-d H:i:s")

    @admin.display(description="event", ordering="event_type__name")
    def event_name(self, event: Event) -> str:
        return event.event_type.name

    @admin.display(description="contact")
    def contact_link(self, event: Event) -> str:
        url = reverse("admin:contacts_contact_change", args=[event.contact_id])
        return format_html('<a href="{}">{}</a>', url, event.contact)

    @admin.display(description="params")
    def params_chips(self, event: Event) -> str:
        return params_html(event.params, limit=PARAMS_SHOWN)

    @admin.display(description="")
    def resend(self, event: Event) -> str:
        """A submit button of the changelist's form (its CSRF token and the hidden `next` of
        event/change_list.html) aimed at the resend view."""
        if event.event_type.name.startswith("@"):
            return ""  # built-in events are Beacon's to record
        url = reverse("admin:events_event_resend", args=[event.pk])
        return format_html(
            '<button type="submit" class="button resend-button" formaction="{}" '
            'title="Record this event again, now">Resend</button>',
            url,
        )

    @admin.display(description="params")
    def params_json(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.params, ensure_ascii=False, indent=2))

    @admin.display(description="context")
    def context_json(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.context, ensure_ascii=False, indent=2))

    # Resend: POST only (CSRF-checked by admin_view), on an event of the user's apps ----------
    def get_urls(self):
        resend = self.admin_site.admin_view(self.resend_view)
        return [
            path("<int:event_id>/resend/", resend, name="events_event_resend"),
            *super().get_urls(),
        ]

    def resend_view(self, request, event_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        event = self.get_queryset(request).filter(pk=event_id).first()
        if event is None or not self.has_view_permission(request, event):
            raise Http404("no such event in your apps")
        if not may_act_on_contacts(request):
            raise PermissionDenied
        result = event_resend(event=event, source="ui")
        if result.errors:
            self.message_user(request, f"Not resent: {errors_text(result.errors)}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"Resent “{event.event_type.name}” for {event.contact}: recorded again as a new "
                "event, now, so segments and campaign triggers see it again.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._back(request, event))

    def _back(self, request, event: Event) -> str:
        """The page the button was on (`next`), else the event's contact page."""
        back = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            return back
        return reverse("admin:contacts_contact_change", args=[event.contact_id]) + "#timeline"


def errors_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{key}: {reason}" for key, reasons in errors.items() for reason in reasons)


@admin.register(ContactEventStats)
class ContactEventStatsAdmin(ReadOnlyAdmin):
    app_lookup = "event_type__app"
    list_display = ["contact", "event_type", "count", "first_at", "last_at"]
    list_filter = [AppFilter]
    list_select_related = ["contact", "event_type"]
    search_fields = ["=event_type__name", "=contact__external_id"]
    ordering = ["-last_at"]
    fields = ["contact", "event_type", "count", "first_at", "last_at"]
    readonly_fields = fields


# The contact page: events/contact_page.py ------------------------------------------------------
admin.site.unregister(Contact)
admin.site.register(Contact, ContactWithEventsAdmin)
