"""The base of every Beacon admin: rows scoped to the user's apps (through the registered app
scope, scope.py), and a service's ValidationError shown as a message."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from common.admin.scope import app_scope
from common.admin.service_calls import error_text
from common.admin.unlink import unlink_unviewable


class AppFilter(admin.SimpleListFilter):
    """Filter by app, offering only the apps the user may see (cheap, unlike a DISTINCT)."""

    title = "app"
    parameter_name = "app"

    def __init__(self, request, params, model, model_admin):
        self.app_lookup = model_admin.app_lookup
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [(str(app.pk), app.name) for app in app_scope().scoped(request)]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(**{self.app_lookup: int(value)})
        return queryset


class BeaconModelAdmin(admin.ModelAdmin):
    """Scopes rows to the user's apps, and turns a service's ValidationError into a message.

    `app_lookup` is the path from the model to its app; `follows_current_app = False` shows all
    the user's apps whatever the header has chosen. Forms check what they can; a ValidationError
    a service raises later (a cap, a race) rolls back the admin's transaction and is shown on the
    same page instead of a server error."""

    app_lookup = "app"
    follows_current_app = True  # rows of the app chosen in the header only

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        scope = app_scope()
        following = self.follows_current_app and scope.current(request) is not None
        if request.user.is_superuser and not following:
            return queryset
        apps = scope.scoped(request) if following else scope.visible(request)
        return queryset.filter(**{f"{self.app_lookup}__in": apps})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = app_scope()
        if db_field.related_model is scope.model:
            kwargs["queryset"] = scope.scoped(request)
            kwargs.setdefault("initial", scope.current(request))
        elif isinstance(
            related := self.admin_site._registry.get(db_field.related_model), BeaconModelAdmin
        ):
            # Only rows the user may see: a guessed id of another app's row is refused.
            kwargs["queryset"] = related.get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def render_change_form(self, request, context, *args, **kwargs):
        for admin_form in [context["adminform"], *context.get("inline_admin_formsets", [])]:
            unlink_unviewable(admin_form, request, self.admin_site)
        return super().render_change_form(request, context, *args, **kwargs)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
