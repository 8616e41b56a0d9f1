from django.urls import path

from dashboard.api import views

urlpatterns = [
    path("insights", views.InsightListView.as_view(), name="insight-list"),
    path("insights/<int:insight_id>", views.InsightDetailView.as_view(), name="insight-detail"),
    path("insights/<int:insight_id>/data", views.InsightDataView.as_view(), name="insight-data"),
]
