"""View-only admins and inlines, for rows that code writes and people only read."""

from __future__ import annotations

from django.contrib import admin

from common.admin.counting import CappedCountPaginator
from common.admin.model_admin import BeaconModelAdmin


class ReadOnlyAdmin(BeaconModelAdmin):
    """View-only, with capped counts: the big tables (events, statistics, memberships,
    deliveries) are written by the pipeline, purged by retention, and go with their owner when it
    is deleted (the owner's admin counts them without asking a permission on them)."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    actions = None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_formset(self, request, obj=None, **kwargs):
        # A row's link leads to its model's own admin page: offered only to whoever that page
        # lets in (an internal table's is for superusers). The instance is made per request.
        if self.show_change_link and self.has_registered_model:
            registered = self.admin_site.get_model_admin(self.model)
            self.show_change_link = registered.has_view_or_change_permission(request)
        return super().get_formset(request, obj, **kwargs)
