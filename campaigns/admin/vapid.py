"""The VAPID key pair, read-only (its private key is never shown), and its rotation: an explicit
act behind a confirmation page, for Admins, since it unsubscribes every browser."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from campaigns.models import VapidKeyPair
from campaigns.vapid import CACHE_SECONDS, vapid_keys_from_environment, vapid_keys_rotate
from common.admin import error_text


@admin.register(VapidKeyPair)
class VapidKeyPairAdmin(admin.ModelAdmin):
    # private_key is in none of these: the admin never renders it.
    fields = ["public_key", "is_active", "created_at"]
    readonly_fields = fields
    list_display = fields
    actions = None
    change_list_template = "admin/campaigns/vapidkeypair/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False  # made by beacon_setup (or at first use) and by a rotation only

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_rotate_permission(self, request) -> bool:
        return super().has_change_permission(request)

    def get_urls(self):
        view = self.admin_site.admin_view(self.rotate_view)
        return [path("rotate/", view, name="campaigns_vapidkeypair_rotate"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        context = {**self._context(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def rotate_view(self, request):
        """GET: what a rotation does, and a button; POST: rotate."""
        if not self.has_rotate_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                **self._context(request),
                "opts": self.model._meta,
                "title": "Rotate the VAPID keys",
            }
            return TemplateResponse(request, "admin/campaigns/vapidkeypair/rotate.html", context)
        try:
            pair = vapid_keys_rotate()
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
        else:
            self.log_addition(request, pair, "Rotated the VAPID keys")  # who did it, in History
            self.message_user(
                request,
                f"New VAPID public key: {pair.public_key}. Browsers must subscribe again.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:campaigns_vapidkeypair_changelist"))

    def _context(self, request) -> dict:
        return {
            "from_environment": vapid_keys_from_environment(),
            "has_rotate_permission": self.has_rotate_permission(request),
            "cache_seconds": CACHE_SECONDS,
        }
