from django.urls import path

from segments.api import views

urlpatterns = [
    path("segments", views.SegmentListView.as_view(), name="segment-list"),
    path("segments/preview", views.SegmentPreviewView.as_view(), name="segment-preview"),
    path("segments/<int:segment_id>", views.SegmentDetailView.as_view(), name="segment-detail"),
    path(
        "segments/<int:segment_id>/contacts",
        views.SegmentContactsView.as_view(),
        name="segment-contacts",
    ),
    path(
        "segments/<int:segment_id>/refresh",
        views.SegmentRefreshView.as_view(),
        name="segment-refresh",
    ),
    path(
        "segments/<int:segment_id>/explain",
        views.SegmentExplainView.as_view(),
        name="segment-explain",
    ),
    path(
        "segments/<int:segment_id>/history",
        views.SegmentHistoryView.as_view(),
        name="segment-history",
    ),
    # Here rather than in contacts: segments may import contacts, never the reverse.
    path(
        "contacts/<int:contact_id>/segments",
        views.ContactSegmentsView.as_view(),
        name="contact-segments",
    ),
]
