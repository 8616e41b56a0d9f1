"""The VAPID key pair that signs every web push and that browsers subscribe with.

Settings (VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY) win; otherwise a pair is generated once and kept
in var/vapid-keys.json (git-ignored, 0600), so `make run` works on a fresh machine and the
browsers subscribed to it stay valid across restarts.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid02


@dataclass(frozen=True)
class VapidKeys:
    public_key: str  # URL-safe base64 (no padding) of the uncompressed P-256 point: the
    #                  `applicationServerKey` a browser subscribes with
    private_key: str  # URL-safe base64 (no padding) of the raw 32-byte private value
    subject: str

    def signer(self) -> Vapid02:
        """A fresh signer (pywebpush accepts a Vapid instance as `vapid_private_key`)."""
        return Vapid02.from_raw(self.private_key.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _generate() -> dict:
    private = ec.generate_private_key(ec.SECP256R1())
    raw_private = private.private_numbers().private_value.to_bytes(32, "big")
    raw_public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"public_key": _b64(raw_public), "private_key": _b64(raw_private)}


def _from_file() -> dict:
    path = settings.VAPID_KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: two processes starting together keep one
        # complete pair (the loser's link fails and it reads the winner's).
        scratch = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(_generate(), handle)
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    return json.loads(path.read_text())


@functools.cache
def vapid_keys() -> VapidKeys:
    if settings.VAPID_PRIVATE_KEY:
        keys = {"public_key": settings.VAPID_PUBLIC_KEY, "private_key": settings.VAPID_PRIVATE_KEY}
    else:
        keys = _from_file()
    return VapidKeys(keys["public_key"], keys["private_key"], settings.VAPID_SUBJECT)
