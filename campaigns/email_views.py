"""The pages an email's links lead to, open to anyone holding the email (the delivery's token in
the address is the credential): the open pixel, tracked links, and the unsubscribe page, which
also takes the one-click POST mailbox providers send for `List-Unsubscribe-Post` (RFC 8058).

GET never unsubscribes: mail scanners and link previews fetch links; the page asks first.

And the guard of the ESPs' webhooks (campaigns/esp_urls.py), which are django-anymail's views."""

from __future__ import annotations

import base64
from functools import wraps

from anymail.utils import get_anymail_setting
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from campaigns.services.email_messages import click_url_valid
from campaigns.services.email_tracking import (
    email_click,
    email_delivery_get,
    email_open,
    email_resubscribe,
    email_unsubscribe,
)
from contacts.models import Contact

# The smallest transparent GIF (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = "no-store, no-cache, must-revalidate, private"


@require_GET
def email_open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    delivery = email_delivery_get(token=token)
    if delivery is not None and delivery.campaign.track_opens:
        email_open(delivery=delivery)
    response = HttpResponse(PIXEL, content_type="image/gif")  # the same answer for any token
    response["Cache-Control"] = NO_STORE
    return response


@require_GET
def email_click_redirect(request: HttpRequest, token: str, signature: str) -> HttpResponse:
    """Redirect to the link the email had: only a url signed for this delivery, so this is no
    open redirector (a link with another url, or another token, answers 404)."""
    url = request.GET.get("url", "")
    if not url.startswith(("http://", "https://")) or not click_url_valid(token, url, signature):
        raise Http404("not a link of an email")
    delivery = email_delivery_get(token=token)
    if delivery is not None:
        email_click(delivery=delivery, url=url)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = NO_STORE
    return response


@csrf_exempt  # mailbox providers POST the one-click form without a CSRF token; the token rules
@require_http_methods(["GET", "POST"])
def email_unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    delivery = email_delivery_get(token=token)
    if delivery is None:
        raise Http404("not a link of an email")
    done = ""
    if request.method == "POST":
        if request.POST.get("List-Unsubscribe") == "One-Click":
            email_unsubscribe(delivery=delivery, via="one-click")
            return HttpResponse("Unsubscribed.\n", content_type="text/plain; charset=utf-8")
        if request.POST.get("action") == "resubscribe":
            done = "resubscribed" if email_resubscribe(delivery=delivery) else ""
        else:
            email_unsubscribe(delivery=delivery, via="link")
            done = "unsubscribed"
        delivery.contact.refresh_from_db(fields=["email_status"])
    context = {
        "app_name": delivery.campaign.app.name,
        "address": delivery.address or delivery.contact.email,
        "status": delivery.contact.email_status,
        "done": done,
        "statuses": Contact.EmailStatus,
    }
    response = render(request, "campaigns/email/unsubscribe.html", context)
    response["Cache-Control"] = NO_STORE
    response["X-Robots-Tag"] = "noindex"
    return response


def esp_webhook_secret_required(view):
    """One of anymail's webhook views, refused (403) while ANYMAIL_WEBHOOK_SECRET is unset.
    Anymail only warns then, and takes anyone's reports: a forged bounce or complaint would stop
    a contact's emails for good, and delivery ids (in the reports' metadata) are easy to guess.
    With the secret set, anymail checks each post's basic auth (a wrong one answers 400)."""

    @wraps(view)  # keeps the view's csrf_exempt
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not get_anymail_setting("webhook_secret", default=None):
            return HttpResponseForbidden(
                "ESP webhooks are off until ANYMAIL_WEBHOOK_SECRET is set (docs/email.md).\n",
                content_type="text/plain; charset=utf-8",
            )
        return view(request, *args, **kwargs)

    return guarded
