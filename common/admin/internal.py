"""Internal tables: rows the pipeline and the scheduler keep for themselves (statistics,
memberships, periodic tasks, login attempts). Superusers may look at them; anyone else gets a 403,
even with a model permission that an inline of another page needs (the contact page shows its
event statistics through one)."""

from __future__ import annotations

from django.contrib.admin import ModelAdmin


class SuperusersOnly:
    """Mixed in front of a model admin: every permission also needs a superuser."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


def superusers_only(admin_class: type[ModelAdmin]) -> type[ModelAdmin]:
    """`admin_class` for superusers only (a subclass of the same name, so messages and checks
    read as before)."""
    return type(
        admin_class.__name__,
        (SuperusersOnly, admin_class),
        {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
    )
