"""A local SMTP server for benchmarks, in a process of its own (so that its event loop shares a
GIL neither with the bench nor with the worker): aiosmtpd on 127.0.0.1 and a spare port that
accepts every message, notes its recipients and arrival time, and discards it. The latest
message is kept whole, for the bench to check what was sent; parsing each one (as
tests/campaigns/smtp_server.py does for the tests) would make the server the bottleneck.

    sink = SmtpSink()                # started; sink.port
    sink.count(); sink.arrivals(0)   # [(recipients, at), ...] since the 0th
    sink.last()                      # the raw bytes of the latest message (None before one)
    sink.stop()

Driven over a pipe like the push fakes (bench/mobile_fakes.py); only plain values cross it.
"""

from __future__ import annotations

import multiprocessing
import socket
import time


class _Handler:
    def __init__(self) -> None:
        self.arrivals: list[tuple[tuple[str, ...], float]] = []
        self.last: bytes | None = None

    async def handle_DATA(self, server, session, envelope):
        self.arrivals.append((tuple(envelope.rcpt_tos), time.time()))
        self.last = envelope.content
        return "250 Message accepted for delivery"


def _serve(conn) -> None:
    """Child process: the server, driven over `conn`."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    conn.send(port)
    try:
        while True:
            command, arg = conn.recv()
            if command == "count":
                conn.send(len(handler.arrivals))
            elif command == "arrivals":
                conn.send(handler.arrivals[arg:])
            elif command == "last":
                conn.send(handler.last)
            elif command == "stop":
                conn.send(None)
                return
    finally:
        controller.stop()


class SmtpSink:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        self.port: int = self.conn.recv()

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, command: str, arg=None):
        self.conn.send((command, arg))
        return self.conn.recv()

    def count(self) -> int:
        return self.call("count")

    def arrivals(self, offset: int) -> list[tuple[tuple[str, ...], float]]:
        return self.call("arrivals", offset)

    def last(self) -> bytes | None:
        return self.call("last")

    def stop(self) -> None:
        if self.process.is_alive():
            self.call("stop")
        self.process.join(timeout=10)
