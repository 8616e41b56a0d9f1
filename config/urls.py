from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from campaigns import views as campaign_views
from config.api import api_not_found
from dashboard import views as dashboard_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("events.api.urls")),
    path("api/v1/", include("contacts.api.urls")),
    path("api/v1/", include("segments.api.urls")),
    path("api/v1/", include("campaigns.api.urls")),
    path("api/v1/", include("dashboard.api.urls")),
    path("api/v1/", include("transfers.api.urls")),
    path("api/v1/push/", include("campaigns.api.browser_urls")),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs", SpectacularRedocView.as_view(url_name="schema"), name="api-docs"),
    # The Segment HTTP Tracking API at the root, for Segment-style SDKs (docs/segment-spec.md).
    path("v1/", include("events.api.segment_urls")),
    # An email's links: open pixel, tracked clicks, unsubscribe (campaigns/email_views.py).
    path("email/", include("campaigns.email_urls")),
    # The ESPs' reports on emails: deliveries, bounces, complaints (campaigns/esp_urls.py).
    path("email/esp/", include("campaigns.esp_urls")),
    # Last of the API: any other /api/ address answers 404 in the API's JSON error shape.
    re_path(r"^api/", api_not_found),
    # Development aids, answered only with DEBUG (see campaigns/views.py).
    path("demo/", campaign_views.demo_page, name="sdk-demo"),
    path("beacon-sw.js", campaign_views.service_worker, name="service-worker"),
    # Operations: /healthz, /readyz, /metrics (docs/operations.md), and the favicon.
    path("", include("monitoring.urls")),
    path("favicon.ico", dashboard_views.favicon, name="favicon"),
]

# A database outage met outside a view answers 503, like one met in a view (monitoring/).
handler500 = "monitoring.views.server_error"
