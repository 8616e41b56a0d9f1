"""Which apps a signed-in user's pages show: the apps they are a member of (all for a
superuser), narrowed to the one chosen in the admin header's selector, kept in the session."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from common.admin.scope import AppScope
from contacts.models import App

# The app chosen in the header (dashboard/sites.py); none means all of the user's apps.
SESSION_APP = "beacon_app_id"


def visible_apps(request: HttpRequest) -> QuerySet[App]:
    """The apps the user may see: all for a superuser, else those they are a member of."""
    if request.user.is_superuser:
        return App.objects.all()
    return App.objects.filter(members=request.user)


def current_app(request: HttpRequest) -> App | None:
    """The app chosen in the header, if the user still may see it; None for "all my apps"."""
    app_id = request.session.get(SESSION_APP)
    if app_id is None:
        return None
    if not hasattr(request, "_beacon_current_app"):
        request._beacon_current_app = visible_apps(request).filter(pk=app_id).first()
    return request._beacon_current_app


def scoped_apps(request: HttpRequest) -> QuerySet[App]:
    """What the pages show: the chosen app, or all the apps the user may see."""
    apps = visible_apps(request)
    app = current_app(request)
    return apps.filter(pk=app.pk) if app is not None else apps


# The admin framework (common/admin) scopes every page by these rules without importing contacts;
# ContactsConfig.ready hands them over.
APP_SCOPE = AppScope(model=App, visible=visible_apps, current=current_app, scoped=scoped_apps)
