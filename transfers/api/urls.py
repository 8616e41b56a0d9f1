from django.urls import path

from transfers.api import views

# No earlier app's pattern catches these: "contacts/<int:contact_id>" takes digits only, and
# events and segments have no "export" path (tests/transfers/test_exports.py resolves them).
urlpatterns = [
    path("contacts/export", views.ContactExportView.as_view(), name="contact-export"),
    path(
        "segments/<int:segment_id>/members/export",
        views.SegmentMemberExportView.as_view(),
        name="segment-member-export",
    ),
    path("events/export", views.EventExportView.as_view(), name="event-export"),
]
