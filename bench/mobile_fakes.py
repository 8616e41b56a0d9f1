"""The local FCM, APNs and OneSignal (tests/campaigns/fcm_service.py, apns_service.py,
onesignal_service.py) for benchmarks, each in a process of its own: their HTTP threads (and the
APNs fake's TLS and HTTP/2 framing) then share a GIL neither with the bench nor with each other,
so a provider's fake never slows another provider's pushes in a mixed broadcast, and /proc gives
each fake's CPU apart.

    fake = MobileFake("apns")       # started; fake.setup: its URL and the app's credentials
    tokens = fake.tokens(2000)      # device tokens in the form the fake accepts
    fake.count(); fake.arrivals(0)  # [(token, at, accepted, detail, title), ...]
    fake.stop()

Like the web push service's process (bench/delivery.py), the child is driven over a pipe and
only plain values cross it.
"""

from __future__ import annotations

import multiprocessing
import secrets

KINDS = ("fcm", "apns", "onesignal")
NAMES = {"fcm": "FCM", "apns": "APNs", "onesignal": "OneSignal"}


# The listen backlog of the HTTP/1.1 fakes, as tests/campaigns/push_service.py's. They keep
# socketserver's 5: a broadcast's send threads (4 processes x 8) connecting at once overflowed
# it, the kernel dropped connections, and their pushes were retried seconds later (2 of 500
# OneSignal pushes arrived 3.5 and 9.5 s after the activation instead of within 2 s).
BACKLOG = 128


def _service(kind: str):
    if kind == "fcm":
        from tests.campaigns.fcm_service import LocalFcmService

        service = LocalFcmService()
    elif kind == "apns":
        from tests.campaigns.apns_service import LocalApnsService

        return LocalApnsService()  # socket.create_server's backlog: 128 already
    else:
        from tests.campaigns.onesignal_service import LocalOneSignalService

        service = LocalOneSignalService()
    service._server.socket.listen(BACKLOG)  # listening already: Linux takes the new backlog
    return service


def _setup(kind: str, service) -> dict:
    """The fake's URLs and a new account of it: what the app's credentials and the worker's
    settings need."""
    if kind == "fcm":
        account = service.service_account()
        return {"url": service.url, "token_url": service.token_url, "account": account}
    if kind == "apns":
        key = service.signing_key()
        return {"url": service.url, "certificate_pem": service.certificate_pem, "key": key}
    return {"url": service.url, "app": service.app()}


def _token(kind: str, service) -> str:
    if kind == "fcm":  # an instance id, a colon and "APA91b...": ~160 characters, as FCM's
        return f"{secrets.token_urlsafe(16)}:APA91b{secrets.token_urlsafe(100)}"
    if kind == "apns":
        return service.device_token()
    return service.subscription()


def _arrival(kind: str, received) -> tuple[str | None, float, bool, str, str | None]:
    """(device token, arrival time, accepted, why not, the notification's title)."""
    if kind == "fcm":
        title = ((received.message or {}).get("notification") or {}).get("title")
        return received.token, received.at, received.status == 200, received.error, title
    if kind == "apns":
        alert = ((received.payload or {}).get("aps") or {}).get("alert")
        title = alert.get("title") if isinstance(alert, dict) else alert
        return received.token, received.at, received.status == 200, received.reason, title
    ids = received.subscription_ids
    title = ((received.notification or {}).get("headings") or {}).get("en")
    # a repeated idempotency key is a second request, not a second notification: still a bug
    detail = received.error or ("repeated idempotency key" if received.duplicate else "")
    accepted = received.status == 200 and not detail
    return (ids[0] if len(ids) == 1 else None), received.at, accepted, detail, title


def _serve(conn, kind: str) -> None:
    """Child process: one fake, driven over `conn`."""
    with _service(kind) as service:
        conn.send(_setup(kind, service))
        while True:
            command, arg = conn.recv()
            if command == "tokens":
                conn.send([_token(kind, service) for _ in range(arg)])
            elif command == "count":
                conn.send(len(service._received))
            elif command == "arrivals":  # since the arg-th
                conn.send([_arrival(kind, r) for r in service.received()[arg:]])
            elif command == "stop":
                conn.send(None)
                return


class MobileFake:
    shows_titles = True  # `arrivals` has each notification's title

    def __init__(self, kind: str) -> None:
        self.kind, self.name = kind, NAMES[kind]
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, kind), daemon=True)
        self.process.start()
        self.setup: dict = self.conn.recv()

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, command: str, arg=None):
        self.conn.send((command, arg))
        return self.conn.recv()

    def tokens(self, count: int) -> list[str]:
        return self.call("tokens", count)

    def count(self) -> int:
        return self.call("count")

    def arrivals(self, offset: int) -> list[tuple]:
        return self.call("arrivals", offset)

    def stop(self) -> None:
        if self.process.is_alive():
            self.call("stop")
        self.process.join(timeout=10)


def worker_settings(fakes: dict[str, MobileFake], certificate_file: str) -> dict[str, str]:
    """The environment a worker needs to push to the fakes. The APNs fake's certificate is
    self-signed: `certificate_file` (its PEM) is given as SSL_CERT_FILE, which OpenSSL's default
    verify paths read (ssl.create_default_context in campaigns/providers/mobile_http.py), as a
    private CA would be in production; the worker makes no other TLS connection."""
    env = {
        "FCM_BASE_URL": fakes["fcm"].setup["url"],
        "FCM_TOKEN_URL": fakes["fcm"].setup["token_url"],
        "APNS_BASE_URL": fakes["apns"].setup["url"],
        "APNS_SANDBOX_BASE_URL": fakes["apns"].setup["url"],
        "ONESIGNAL_BASE_URL": fakes["onesignal"].setup["url"],
        "SSL_CERT_FILE": certificate_file,
    }
    with open(certificate_file, "w") as file:
        file.write(fakes["apns"].setup["certificate_pem"])
    return env
