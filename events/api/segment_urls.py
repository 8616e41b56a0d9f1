"""The Segment HTTP Tracking API, included at the root's v1/ (config/urls.py)."""

from django.urls import path

from events.api import segment_views as views

urlpatterns = [
    path("track", views.SegmentTrackView.as_view(), name="segment-track"),
    path("identify", views.SegmentIdentifyView.as_view(), name="segment-identify"),
    path("page", views.SegmentPageView.as_view(), name="segment-page"),
    path("screen", views.SegmentScreenView.as_view(), name="segment-screen"),
    path("alias", views.SegmentAliasView.as_view(), name="segment-alias"),
    path("group", views.SegmentGroupView.as_view(), name="segment-group"),
    path("batch", views.SegmentBatchView.as_view(), name="segment-batch"),
    # Segment's historical import endpoint: a batch by another name.
    path("import", views.SegmentImportView.as_view(), name="segment-import"),
]
