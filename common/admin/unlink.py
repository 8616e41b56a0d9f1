"""Read-only foreign keys shown as text where the user may not view their target."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist


def unlink_unviewable(admin_form, request, site: admin.AdminSite) -> None:
    """Show a read-only foreign key as plain text when the user may not view its target: Django
    links it to the target's page whatever the permissions (a marketer would get a 403 from a
    campaign's "App"). The field becomes a callable of the same label, in the fieldsets too."""
    formset = getattr(admin_form, "formset", None)  # an inline's
    model = formset.model if formset is not None else admin_form.form._meta.model
    plain = {}
    for name in admin_form.readonly_fields:
        field = _foreign_key(model, name)
        target_admin = field and site._registry.get(field.related_model)
        if target_admin is not None and not target_admin.has_view_permission(request):
            plain[name] = _as_text(field)
    if not plain:
        return
    admin_form.readonly_fields = [plain.get(name, name) for name in admin_form.readonly_fields]
    admin_form.fieldsets = [
        (title, {**options, "fields": _swap(options["fields"], plain)})
        for title, options in admin_form.fieldsets
    ]


def _foreign_key(model, name):
    if not isinstance(name, str):
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if field.many_to_one or field.one_to_one else None


def _as_text(field):
    def text(obj) -> str:
        return str(getattr(obj, field.name) or "-")

    text.__name__ = field.name  # the row keeps its field-<name> CSS class
    text.short_description = field.verbose_name
    return text


def _swap(fields, plain: dict):
    return [
        _swap(field, plain) if isinstance(field, list | tuple) else plain.get(field, field)
        for field in fields
    ]
