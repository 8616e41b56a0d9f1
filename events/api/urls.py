from django.urls import path

from events.api import contact_events, event_types, views

urlpatterns = [
    path("events", views.EventTrackView.as_view(), name="event-track"),
    path("events/batch", views.EventBatchView.as_view(), name="event-batch"),
    path(
        "contacts/<int:contact_id>/events",
        contact_events.ContactEventsView.as_view(),
        name="contact-events",
    ),
    path("event-types", event_types.EventTypeListView.as_view(), name="event-type-list"),
    path(
        "event-types/<int:event_type_id>",
        event_types.EventTypeDetailView.as_view(),
        name="event-type-detail",
    ),
    path(
        "event-types/<int:event_type_id>/attributes",
        event_types.EventAttributeListView.as_view(),
        name="event-attribute-list",
    ),
    path(
        "event-types/<int:event_type_id>/attributes/<int:attribute_id>",
        event_types.EventAttributeDetailView.as_view(),
        name="event-attribute-detail",
    ),
]
