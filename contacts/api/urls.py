from django.urls import path

from contacts.api import profiles, views

urlpatterns = [
    path("contacts", views.ContactListView.as_view(), name="contact-list"),
    path("contacts/batch", profiles.ContactBatchView.as_view(), name="contact-batch"),
    path(
        "contacts/by-external-id/<path:external_id>",
        profiles.ContactByExternalIdView.as_view(),
        name="contact-by-external-id",
    ),
    path("contacts/<int:contact_id>", views.ContactDetailView.as_view(), name="contact-detail"),
]
