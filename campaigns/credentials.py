"""Each app's credentials for the mobile push services: the secrets encrypted at rest, uploads
checked, and the decrypted configurations the providers are built from.

The secrets (an FCM service account's JSON key, an APNs .p8 key, a OneSignal REST API key) are
stored as Fernet tokens under PUSH_CREDENTIALS_KEYS: the first key encrypts, every key decrypts,
so a key is rotated by putting a new one first (rows written before keep decrypting with the old
one until they are set again). Without a key, production refuses to store them; with DEBUG=true a
key derived from SECRET_KEY stands in. They are never shown back, logged or put in a repr: pages
show a fingerprint (a non-secret identifier of the secret) and when it was set.

Each process keeps what it read for CACHE_SECONDS: a change is seen at once by the process that
made it and by every other one within CACHE_SECONDS.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from time import monotonic

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from campaigns.models import ApnsCredentials, FcmCredentials, OneSignalCredentials

CACHE_SECONDS = 60
MAX_SECRET_BYTES = 16 * 1024  # a service account's JSON key is ~2.3 KB, a .p8 key ~250 bytes
NO_KEY = (
    "Push credentials are stored encrypted, and PUSH_CREDENTIALS_KEYS is not set: set it (a "
    "Fernet key, see .env.example) and restart before storing any."
)

# Google project ids: 6 to 30 lower-case letters, digits and hyphens, starting with a letter.
PROJECT_ID_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
APPLE_ID_RE = re.compile(r"^[A-Z0-9]{10}$")  # key ids and team ids
BUNDLE_ID_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
API_KEY_RE = re.compile(r"^[\x21-\x7e]{8,512}$")  # printable, no spaces: it goes in a header
# What of a service account's key goes in columns (client_email, the key id as the fingerprint) is
# printable ASCII: no NUL (PostgreSQL refuses it), and an email of at most 254 characters.
CLIENT_EMAIL_RE = re.compile(r"^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+$")
KEY_ID_RE = re.compile(r"^[\x21-\x7e]+$")


class CredentialsUnreadable(Exception):  # noqa: N818 (a state, like AddressRefused)
    """Stored credentials that no key in PUSH_CREDENTIALS_KEYS decrypts (the key that wrote them
    was removed): nothing can be sent with them until they are set again."""


@dataclass(frozen=True)
class FcmConfig:
    project_id: str
    service_account: str = field(repr=False)  # the JSON key


@dataclass(frozen=True)
class ApnsConfig:
    key_id: str
    team_id: str
    bundle_id: str  # the apns-topic
    sandbox: bool
    private_key: str = field(repr=False)  # the .p8 key's PEM


@dataclass(frozen=True)
class OneSignalConfig:
    app_id: str
    api_key: str = field(repr=False)


# Encryption ------------------------------------------------------------------------------------


def secret_encrypt(secret: str) -> str:
    """The Fernet token to store; ValidationError when production has no key to encrypt with."""
    fernet = _fernet(*_key_material())
    if fernet is None:
        raise ValidationError(NO_KEY)
    return fernet.encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    fernet = _fernet(*_key_material())
    try:
        if fernet is None:
            raise InvalidToken
        return fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable(
            "the stored credentials cannot be decrypted with PUSH_CREDENTIALS_KEYS; set them again"
        ) from None


def _key_material() -> tuple[tuple[str, ...], str | None]:
    keys = tuple(settings.PUSH_CREDENTIALS_KEYS)
    return keys, (settings.SECRET_KEY if settings.DEBUG and not keys else None)


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], debug_secret: str | None) -> MultiFernet | None:
    if debug_secret is not None:  # development only: a key that changes with SECRET_KEY
        derived = hashlib.sha256(b"beacon push credentials\0" + debug_secret.encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return MultiFernet([Fernet(key) for key in keys]) if keys else None
    except (ValueError, binascii.Error) as exc:
        raise ImproperlyConfigured(
            "PUSH_CREDENTIALS_KEYS: each key must be URL-safe base64 of 32 bytes, as "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'` "
            "prints"
        ) from exc


def secret_fingerprint(secret: str | bytes) -> str:
    data = secret.encode() if isinstance(secret, str) else secret
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


# Checking uploads (each raises ValidationError with a message for the person who uploaded) --------


def service_account_parse(text: str) -> dict:
    """The service account JSON key a Firebase project's console downloads, checked."""
    try:
        info = json.loads(text)
    except (ValueError, RecursionError):  # too deeply nested is no key file either
        raise ValidationError("This is not a JSON file.") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ValidationError('This is not a service account key ("type": "service_account").')
    missing = [
        name
        for name in ("project_id", "client_email", "private_key", "private_key_id")
        if not isinstance(info.get(name), str) or not info[name]
    ]
    if missing:
        raise ValidationError(f"The service account key has no {', '.join(missing)}.")
    if not PROJECT_ID_RE.match(info["project_id"]):
        raise ValidationError(f"{info['project_id'][:40]!r} is not a Google Cloud project id.")
    if len(info["client_email"]) > 254 or not CLIENT_EMAIL_RE.match(info["client_email"]):
        raise ValidationError("The service account key's client_email is not an email address.")
    if not KEY_ID_RE.match(info["private_key_id"]):
        raise ValidationError("The service account key's private_key_id is not a key id.")
    key = _private_key(info["private_key"], "service account key's private_key")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValidationError("The service account key's private_key is not an RSA key.")
    return info


def apns_key_parse(pem: str) -> str:
    """The .p8 key Apple's developer account downloads once (PKCS#8 PEM, P-256), checked."""
    key = _private_key(pem, ".p8 file")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValidationError("The .p8 file is not an APNs key (an ECDSA P-256 key).")
    return pem.strip() + "\n"


def apns_key_fingerprint(pem: str) -> str:
    """The fingerprint of the key's public half: the same however the file was saved."""
    public = _private_key(pem, ".p8 file").public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return secret_fingerprint(der)


def apns_ids_check(*, key_id: str, team_id: str, bundle_id: str) -> None:
    errors = {}
    if not APPLE_ID_RE.match(key_id):
        errors["key_id"] = ["A key id is 10 capital letters and digits."]
    if not APPLE_ID_RE.match(team_id):
        errors["team_id"] = ["A team id is 10 capital letters and digits."]
    if not BUNDLE_ID_RE.match(bundle_id):
        errors["bundle_id"] = ["A bundle id looks like com.example.app."]
    if errors:
        raise ValidationError(errors)


def onesignal_api_key_check(api_key: str) -> str:
    api_key = api_key.strip()
    if not API_KEY_RE.match(api_key):
        raise ValidationError("A OneSignal REST API key is 8 to 512 characters, with no spaces.")
    return api_key


def onesignal_app_id_check(app_id: str) -> str:
    try:
        return str(uuid.UUID(str(app_id)))
    except ValueError:
        raise ValidationError("A OneSignal app id is a UUID.") from None


def _private_key(pem: str, what: str):
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValidationError(f"The {what} is not an unencrypted PEM private key.") from None


# Reading -----------------------------------------------------------------------------------------

# (model, app id) -> (monotonic time until which it holds, the config or None)
_cache: dict[tuple[type, int], tuple[float, object]] = {}


def fcm_config(app_id: int) -> FcmConfig | None:
    """The app's FCM configuration, or None if it has none. Raises CredentialsUnreadable."""
    return _read(FcmCredentials, app_id, _fcm)


def apns_config(app_id: int) -> ApnsConfig | None:
    """The app's APNs configuration, or None if it has none. Raises CredentialsUnreadable."""
    return _read(ApnsCredentials, app_id, _apns)


def onesignal_config(app_id: int) -> OneSignalConfig | None:
    """The app's OneSignal configuration, or None. Raises CredentialsUnreadable."""
    return _read(OneSignalCredentials, app_id, _onesignal)


def credentials_cache_clear() -> None:
    _cache.clear()


def _read(model, app_id: int, build):
    now = monotonic()
    held = _cache.get((model, app_id))
    if held is not None and now < held[0]:
        return held[1]
    row = model.objects.filter(app_id=app_id).first()
    config = None if row is None else build(row)
    _cache[(model, app_id)] = (now + CACHE_SECONDS, config)
    return config


def _fcm(row: FcmCredentials) -> FcmConfig:
    return FcmConfig(row.project_id, secret_decrypt(row.encrypted_secret))


def _apns(row: ApnsCredentials) -> ApnsConfig:
    sandbox = row.environment == ApnsCredentials.Environment.SANDBOX
    private_key = secret_decrypt(row.encrypted_secret)
    return ApnsConfig(row.key_id, row.team_id, row.bundle_id, sandbox, private_key)


def _onesignal(row: OneSignalCredentials) -> OneSignalConfig:
    return OneSignalConfig(str(row.onesignal_app_id), secret_decrypt(row.encrypted_secret))
