"""An email campaign's message for one delivery: the Liquid parts rendered for the contact and
the trigger event (the HTML part escaped), the preheader, click tracking, the open pixel, the
unsubscribe footer and the headers mailbox providers require of bulk mail.

Links are tracked through Beacon (`/email/click/...`, signed with the delivery's token, so the
redirect goes only where the email itself linked); the text part keeps the real links. Every
email carries `List-Unsubscribe` (the unsubscribe page) and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058: the mailbox provider's one-click button POSTs there), and
an HTML footer with the same link unless the template places `{{ unsubscribe_url }}` itself.
A test message (the editor's "Send test email") has the same parts, without tracking or
unsubscribe."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.utils import formataddr, make_msgid
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, EmailMultiAlternatives

from campaigns.models import Campaign, Delivery, EmailSettings
from campaigns.services.html_text import html_to_text
from campaigns.services.templates import templates_render

CLICK_SALT = "beacon.email.click"
# What email_parts_render leaves where a template placed `{{ unsubscribe_url }}`: a send puts the
# delivery's link there; a preview or a test, which have no delivery, put a stand-in.
UNSUBSCRIBE_PLACEHOLDER = "{{ unsubscribe_url }}"
NO_UNSUBSCRIBE = "#unsubscribe"
# href="http..." or href='http...': the links click tracking rewrites (not mailto:, tel:, #).
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_PREHEADER_STYLE = (
    "display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden"
)


@dataclass(frozen=True)
class EmailParts:
    subject: str
    html: str  # empty: a plain-text email
    text: str
    preheader: str = ""  # also hidden at the top of `html`


def email_parts_render(*, campaign: Campaign, contact, event_params: dict | None) -> EmailParts:
    """The campaign's parts rendered for a contact and an event, as the editor's preview and the
    send show them before tracking (ValidationError {field: [reason]} if one fails)."""
    variables = {"unsubscribe_url": "{{ unsubscribe_url }}"}  # kept for the send to fill
    rendered = templates_render(
        {
            "title": campaign.title,
            "preheader": campaign.preheader,
            "text_body": campaign.text_body,
        },
        contact=contact,
        event_params=event_params,
        extra=variables,
    )
    rendered.update(
        templates_render(
            {"html_body": campaign.html_body},
            contact=contact,
            event_params=event_params,
            extra=variables,
            escape=True,
        )
    )
    body = rendered["html_body"]
    if body and rendered["preheader"]:
        body = _after_body_open(
            body,
            f'<div style="{_PREHEADER_STYLE}">{html.escape(rendered["preheader"])}</div>',
        )
    text = rendered["text_body"] or (html_to_text(rendered["html_body"]) if body else "")
    return EmailParts(
        subject=" ".join(rendered["title"].split()),
        html=body,
        text=text,
        preheader=rendered["preheader"].strip(),
    )


def email_message_build(
    *, row: Delivery, email_settings: EmailSettings, address: str
) -> EmailMessage:
    """The message of one email delivery, ready for the transport."""
    campaign = row.campaign
    parts = email_parts_render(
        campaign=campaign, contact=row.contact, event_params=row.event_params
    )
    public = settings.BEACON_PUBLIC_URL.rstrip("/")
    unsubscribe = f"{public}/email/unsubscribe/{row.open_token}"
    body, text = parts.html, parts.text
    if body:
        if campaign.track_clicks:
            body = _tracked_links(body, row.open_token, public)
        placed = "{{ unsubscribe_url }}" in body
        body = body.replace("{{ unsubscribe_url }}", html.escape(unsubscribe))
        if not placed:
            body = _before_body_close(body, _footer_html(campaign.app.name, unsubscribe))
        if campaign.track_opens:
            pixel = (
                f'<img src="{public}/email/open/{row.open_token}.gif" width="1" height="1" '
                'alt="" style="display:block;border:0;width:1px;height:1px">'
            )
            body = _before_body_close(body, pixel)
    placed = "{{ unsubscribe_url }}" in text
    text = text.replace("{{ unsubscribe_url }}", unsubscribe)
    if not placed:
        text = f"{text.rstrip()}\n\n--\nUnsubscribe: {unsubscribe}\n"
    sender = formataddr((email_settings.from_name, email_settings.from_email))
    domain = email_settings.from_email.rpartition("@")[2] or None
    headers = {
        "Message-ID": make_msgid(idstring=f"d{row.pk}", domain=domain),
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    message_class = EmailMultiAlternatives if body else EmailMessage
    message = message_class(
        subject=parts.subject,
        body=text,
        from_email=sender,
        to=[address],
        reply_to=[email_settings.reply_to] if email_settings.reply_to else None,
        headers=headers,
    )
    if body:
        message.attach_alternative(body, "text/html")
    # An ESP (django-anymail) echoes these in its webhooks: a bounce finds its delivery.
    message.metadata = {"delivery_id": str(row.pk), "campaign_id": str(campaign.pk)}
    return message


def email_test_message_build(
    *,
    campaign: Campaign,
    contact,
    event_params: dict | None,
    email_settings: EmailSettings,
    address: str,
) -> EmailMessage:
    """The campaign's message as a test to `address` (the editor's "Send test email"): rendered
    for the contact and the event as a send renders it, with "[Test] " before the subject, the
    links as written and no open pixel (a test counts nothing), no List-Unsubscribe (there is no
    delivery to unsubscribe from) and a footer saying so."""
    parts = email_parts_render(campaign=campaign, contact=contact, event_params=event_params)
    note = (
        f"A test of the campaign “{campaign.name}”, sent from Beacon: its links are not "
        "tracked, and an unsubscribe link works only in the campaign's own emails."
    )
    body = parts.html.replace(UNSUBSCRIBE_PLACEHOLDER, NO_UNSUBSCRIBE)
    if body:
        body = _before_body_close(
            body,
            '<p style="margin:24px 0 0;padding:8px;font-size:12px;color:#555;'
            f'border:1px dashed #999;text-align:center">{html.escape(note)}</p>',
        )
    text = parts.text.replace(UNSUBSCRIBE_PLACEHOLDER, NO_UNSUBSCRIBE)
    domain = email_settings.from_email.rpartition("@")[2] or None
    message_class = EmailMultiAlternatives if body else EmailMessage
    message = message_class(
        subject=f"[Test] {parts.subject}",
        body=f"{text.rstrip()}\n\n--\n{note}\n",
        from_email=formataddr((email_settings.from_name, email_settings.from_email)),
        to=[address],
        reply_to=[email_settings.reply_to] if email_settings.reply_to else None,
        headers={"Message-ID": make_msgid(idstring="test", domain=domain)},
    )
    if body:
        message.attach_alternative(body, "text/html")
    return message


def click_signature(token: str, url: str) -> str:
    """The signature that lets `/email/click/<token>/<signature>?url=` redirect to `url`."""
    return signing.Signer(salt=CLICK_SALT).signature(f"{token} {url}")


def click_url_valid(token: str, url: str, signature: str) -> bool:
    return signing.constant_time_compare(click_signature(token, url), signature)


def _tracked_links(body: str, token: str, public: str) -> str:
    def tracked(match: re.Match) -> str:
        url = html.unescape(match[3])
        if url.startswith(public + "/email/"):  # Beacon's own links (unsubscribe) stay as they are
            return match[0]
        target = f"{public}/email/click/{token}/{click_signature(token, url)}?url={quote(url)}"
        return f"{match[1]}{match[2]}{html.escape(target)}{match[2]}"

    return _HREF.sub(tracked, body)


def _footer_html(app_name: str, unsubscribe: str) -> str:
    return (
        '<p style="margin:24px 0 0;font-size:12px;color:#777;text-align:center">'
        f"You receive this email from {html.escape(app_name)}. "
        f'<a href="{html.escape(unsubscribe)}" style="color:#777">Unsubscribe</a></p>'
    )


def _after_body_open(body: str, fragment: str) -> str:
    match = _BODY_OPEN.search(body)
    return body[: match.end()] + fragment + body[match.end() :] if match else fragment + body


def _before_body_close(body: str, fragment: str) -> str:
    matches = list(_BODY_CLOSE.finditer(body))
    if not matches:
        return body + fragment
    at = matches[-1].start()
    return body[:at] + fragment + body[at:]
