"""The VAPID key pair that signs every web push and that browsers subscribe with.

Settings (VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY) win. Otherwise the pair is a database row
(VapidKeyPair), so that every host and every redeploy signs with the pair the browsers subscribed
with: `manage.py beacon_setup` creates it once, and a process that starts before that creates it
on first use the same way. Rotating it is an explicit act (the admin's "Rotate VAPID keys"): every
existing browser subscription stops working.

Each process keeps the pair it read for CACHE_SECONDS: a rotation is seen at once by the process
that made it and by every other one within CACHE_SECONDS.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from py_vapid import Vapid02

from campaigns.models import VapidKeyPair

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60
# Where the pair was kept before it moved to the database: imported once, then no longer read.
LEGACY_FILE_NAME = "vapid-keys.json"
FROM_ENVIRONMENT = (
    "The VAPID keys come from the VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY environment variables: "
    "rotate them there (and restart), not here."
)


@dataclass(frozen=True)
class VapidKeys:
    public_key: str  # URL-safe base64 (no padding) of the uncompressed P-256 point: the
    #                  `applicationServerKey` a browser subscribes with
    private_key: str  # URL-safe base64 (no padding) of the raw 32-byte private value
    subject: str

    def signer(self) -> Vapid02:
        """A fresh signer (pywebpush accepts a Vapid instance as `vapid_private_key`)."""
        return Vapid02.from_raw(self.private_key.encode())


# (monotonic time until which it holds, public key, private key) of the stored pair
_cached: tuple[float, str, str] | None = None


def vapid_keys_from_environment() -> bool:
    return bool(settings.VAPID_PRIVATE_KEY)


def vapid_keys() -> VapidKeys:
    """The pair to sign and subscribe with: the settings' if given, else the stored one."""
    global _cached
    if vapid_keys_from_environment():
        public_key, private_key = settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY
    elif _cached is not None and monotonic() < _cached[0]:
        _, public_key, private_key = _cached
    else:
        pair = vapid_keys_ensure()
        public_key, private_key = pair.public_key, pair.private_key
        _cached = (monotonic() + CACHE_SECONDS, public_key, private_key)
    return VapidKeys(public_key, private_key, settings.VAPID_SUBJECT)


def vapid_keys_cache_clear() -> None:
    global _cached
    _cached = None


def vapid_keys_ensure() -> VapidKeyPair:
    """The active pair, created if there is none: imported from var/vapid-keys.json on an install
    that had one (its browsers stay subscribed), else generated. Two processes racing here end up
    with the same pair: the database keeps one active row and the loser reads the winner's."""
    pair = VapidKeyPair.objects.filter(is_active=True).first()
    if pair is not None:
        return pair
    imported = None if VapidKeyPair.objects.exists() else _legacy_keys()
    keys = imported or _generate()
    try:
        with transaction.atomic():
            pair = VapidKeyPair.objects.create(**keys)
    except IntegrityError:
        return VapidKeyPair.objects.get(is_active=True)
    if imported is not None:
        logger.warning(
            "Imported the VAPID key pair from %s into the database; the file is no longer read "
            "and may be deleted.",
            _legacy_path(),
        )
    return pair


def vapid_keys_rotate() -> VapidKeyPair:
    """Replace the active pair with a new one and return it. Every browser subscribed with the
    old public key stops receiving pushes until it subscribes again; the old private key is
    forgotten. Refused (ValidationError) when the settings give the pair."""
    if vapid_keys_from_environment():
        raise ValidationError(FROM_ENVIRONMENT)
    keys = _generate()
    try:
        with transaction.atomic():
            VapidKeyPair.objects.filter(is_active=True).update(is_active=False, private_key="")
            pair = VapidKeyPair.objects.create(**keys)
    except IntegrityError as exc:  # another rotation committed between our update and insert
        raise ValidationError("The VAPID keys were just rotated by someone else.") from exc
    transaction.on_commit(vapid_keys_cache_clear)
    return pair


def vapid_keys_setup() -> None:
    """`manage.py beacon_setup`'s step (campaigns/handlers.py): creates the pair once, never
    rotates it, and stores none when the settings give one."""
    if not vapid_keys_from_environment():
        vapid_keys_ensure()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public(private: ec.EllipticCurvePrivateKey) -> str:
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64(point)


def _public_of(private_key: str) -> str:
    return _public(Vapid02.from_raw(private_key.encode()).private_key)


def _generate() -> dict[str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    raw_private = private.private_numbers().private_value.to_bytes(32, "big")
    return {"public_key": _public(private), "private_key": _b64(raw_private)}


def _legacy_path() -> Path:
    return settings.VAR_DIR / LEGACY_FILE_NAME


def _legacy_keys() -> dict[str, str] | None:
    """The pair an older Beacon kept in var/vapid-keys.json, if there is one. A damaged file
    fails loudly: replacing the pair silently would unsubscribe every browser."""
    path = _legacy_path()
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text())
        keys = {"public_key": stored["public_key"], "private_key": stored["private_key"]}
        if _public_of(keys["private_key"]) != keys["public_key"]:
            raise ValueError("the public key is not the private key's")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ImproperlyConfigured(
            f"{path} is not a VAPID key pair ({exc!r}): repair it, or delete it to generate a "
            "new pair (every browser subscribed with the old one must then subscribe again)"
        ) from exc
    return keys
