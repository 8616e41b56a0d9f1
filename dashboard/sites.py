"""Beacon's admin site: the dashboard as its index, and the header's app selector."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from contacts.access import SESSION_APP, current_app, scoped_apps, visible_apps


class BeaconAdminSite(admin.AdminSite):
    site_header = "Beacon"
    site_title = "Beacon"
    index_template = "admin/dashboard.html"

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        if self.has_permission(request):
            context["beacon_apps"] = list(visible_apps(request).order_by("name"))
            context["beacon_current_app"] = current_app(request)
        return context

    def get_urls(self):
        select = self.admin_view(self.select_app_view)
        return [path("select-app/", select, name="select_app"), *super().get_urls()]

    def index(self, request: HttpRequest, extra_context=None):
        from dashboard.selectors import dashboard_get  # models are loaded by the first request

        dashboard = dashboard_get(apps=scoped_apps(request), now=timezone.now())
        return super().index(request, {"dashboard": dashboard, **(extra_context or {})})

    def select_app_view(self, request: HttpRequest):
        """Remember the chosen app ("" for all the user's apps) and go back to the page, without
        its query: a filter for the previous app would show nothing."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        value = request.POST.get("app", "")
        if value == "":
            request.session.pop(SESSION_APP, None)
        elif value.isdigit() and visible_apps(request).filter(pk=int(value)).exists():
            request.session[SESSION_APP] = int(value)
        else:
            messages.error(request, "That app is not one of yours.")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse("admin:index")
        return HttpResponseRedirect(back.split("?", 1)[0])
