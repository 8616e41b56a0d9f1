"""Beacon's admin site: the dashboard as its index, the header's app selector, and the menu by
task (dashboard/navigation.py) with the internal tables for superusers only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models.base import ModelBase
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from common.admin.internal import superusers_only
from contacts.access import SESSION_APP, current_app, scoped_apps, visible_apps
from dashboard.navigation import Section, is_internal, section_get, sections_arrange
from events.built_in_toggle import shows_built_in


class BeaconAdminSite(admin.AdminSite):
    site_header = "Beacon"
    site_title = "Beacon"
    index_template = "admin/dashboard.html"
    # Beacon has no site of its own to view: the header links the API docs instead
    # (templates/admin/base_site.html).
    site_url = None

    def __init__(self, name: str = "admin"):
        super().__init__(name)
        self._page_urls = []

    def register_urls(self, make_urls) -> None:
        """Pages of an app that has no model admin to carry them (transfers' exports): the app
        registers a function of the site returning its paths at autodiscover, as model admins
        register, so the site never imports it. Their views go through admin_view there."""
        self._page_urls.append(make_urls)

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every model's admin, but an internal table's for superusers only, whoever registers
        it (Beacon's apps, django-celery-beat, axes)."""
        models = (
            [model_or_iterable] if isinstance(model_or_iterable, ModelBase) else model_or_iterable
        )
        for model in models:
            chosen = admin_class or admin.ModelAdmin
            super().register(
                model, superusers_only(chosen) if is_internal(model) else chosen, **options
            )

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """The menu by task (the index, the sidebar). An app's own page (a breadcrumb's link)
        keeps Django's list of that app's models, which the permissions above already trim."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        entries = [m for app in self._build_app_dict(request).values() for m in app["models"]]
        return sections_arrange(entries, url_of=self._section_url)

    def _section_url(self, section: Section) -> str:
        return reverse("admin:section", args=[section.key], current_app=self.name)

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        if self.has_permission(request):
            context["beacon_apps"] = list(visible_apps(request).order_by("name"))
            context["beacon_current_app"] = current_app(request)
        return context

    def get_urls(self):
        select = self.admin_view(self.select_app_view)
        section = self.admin_view(self.section_view)
        return [
            path("select-app/", select, name="select_app"),
            path("section/<slug:key>/", section, name="section"),
            *(url for make_urls in self._page_urls for url in make_urls(self)),
            *super().get_urls(),
        ]

    def index(self, request: HttpRequest, extra_context=None):
        from dashboard.selectors import dashboard_get  # models are loaded by the first request

        dashboard = dashboard_get(
            apps=scoped_apps(request),
            now=timezone.now(),
            built_in=shows_built_in(request, default=False),
        )
        return super().index(request, {"dashboard": dashboard, **(extra_context or {})})

    def section_view(self, request: HttpRequest, key: str):
        """A section of the menu on a page of its own (its caption's link), like an app's."""
        section = section_get(key)
        app_list = [app for app in self.get_app_list(request) if app["app_label"] == key]
        if section is None or not app_list:
            raise Http404("no such section in your menu")
        context = {
            **self.each_context(request),
            "title": section.name,
            "subtitle": None,
            "app_list": app_list,
            "app_label": key,
        }
        return TemplateResponse(request, "admin/app_index.html", context)

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
