from django.urls import path

from events.api import views

urlpatterns = [
    path("events", views.EventTrackView.as_view(), name="event-track"),
    path("events/batch", views.EventBatchView.as_view(), name="event-batch"),
]
