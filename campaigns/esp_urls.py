"""The ESPs' webhooks, django-anymail's views at /email/esp/ (config/urls.py): an ESP posts its
reports on Beacon's emails to /email/esp/<esp>/tracking/ (postmark, mailgun, amazon_ses, brevo,
sendgrid, ...; Mandrill to /email/esp/mandrill/), anymail checks the post (the basic auth of
ANYMAIL_WEBHOOK_SECRET, and the ESP's signature where it signs) and sends its `tracking` signal
(campaigns/handlers.py). Each is refused while the secret is unset (email_views.py)."""

from anymail import urls as anymail_urls
from django.urls import URLPattern

from campaigns.email_views import esp_webhook_secret_required

app_name = anymail_urls.app_name  # reverse("anymail:postmark_tracking_webhook") as in its docs
urlpatterns = [
    URLPattern(url.pattern, esp_webhook_secret_required(url.callback), url.default_args, url.name)
    for url in anymail_urls.urlpatterns
]
