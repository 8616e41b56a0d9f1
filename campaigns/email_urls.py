"""The public addresses of an email's links (campaigns/email_views.py)."""

from django.urls import path

from campaigns import email_views

urlpatterns = [
    path("open/<str:token>.gif", email_views.email_open_pixel, name="email-open"),
    path("click/<str:token>/<str:signature>", email_views.email_click_redirect, name="email-click"),
    path("unsubscribe/<str:token>", email_views.email_unsubscribe_page, name="email-unsubscribe"),
]
