"""The floor of web push sending: the CPU cost of encrypting one payload with pywebpush.

    .venv/bin/python bench/push_floor.py [--repeat 2000] [--payload-bytes 300]

Times `WebPusher(subscription).encode(payload)` (parsing the subscription's keys, a fresh P-256
key pair, ECDH with the browser's key, HKDF and AES-128-GCM: what every push costs however it is
sent), with no network and no VAPID signature, one payload at a time on one core. The figure is
the median over --repeat payloads, each to its own subscription, after a warm-up.
bench/delivery.py reports its broadcast rate as a ratio of this floor:

    from push_floor import encryption_seconds   # bench/ is on sys.path for bench scripts
    floor = encryption_seconds()                  # seconds per payload
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPusher

WARM_UP = 50


def sample_payload(size: int = 300) -> bytes:
    """A notification's JSON, like the provider's, padded with body text to `size` bytes."""
    fields = {
        "title": "Your order has shipped",
        "body": "",
        "url": "https://shop.example/orders/1042",
        "icon": "https://shop.example/static/icon-192.png",
        "image": "",
        "open_token": "d3b07384d113edec49eaa6238ad5ff00",
        "open_url": "https://beacon.example/api/v1/opens",
    }
    fields["body"] = "x" * max(size - len(json.dumps(fields, separators=(",", ":"))), 0)
    return json.dumps(fields, separators=(",", ":")).encode()


def browser_subscription() -> dict:
    """A PushSubscription's JSON with fresh keys, as a browser makes them."""
    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": "https://push.example/send/bench",
        "keys": {"p256dh": _b64(public), "auth": _b64(os.urandom(16))},
    }


def encryption_seconds(*, repeat: int = 1000, payload: bytes | None = None) -> float:
    """Median seconds to encrypt one payload for one subscription with pywebpush."""
    payload = payload or sample_payload()
    subscriptions = [browser_subscription() for _ in range(repeat + WARM_UP)]
    timings = []
    for subscription in subscriptions:
        started = time.perf_counter()
        WebPusher(subscription).encode(payload)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings[WARM_UP:])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--payload-bytes", type=int, default=300)
    args = parser.parse_args()
    seconds = encryption_seconds(repeat=args.repeat, payload=sample_payload(args.payload_bytes))
    print(
        f"pywebpush encryption floor: {seconds * 1000:.3f} ms per payload "
        f"({1 / seconds:,.0f} payloads/s on one core; median of {args.repeat}, "
        f"{args.payload_bytes}-byte payload)"
    )


if __name__ == "__main__":
    main()
