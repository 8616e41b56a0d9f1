"""The embedded broker of `make run`: kombu's filesystem transport with atomic hand-overs.

Why not kombu's own (5.7) transport as it is: its `_put` creates the final `*.<queue>.msg` name
and only then writes the body (under an advisory flock that the consumer never takes), so a
worker listing the folder in between claims an empty file. We measured it with two producers
against one worker (tests/test_embedded_broker.py, docs/reliability.md): the worker read an empty
body, died on a JSONDecodeError ("Unrecoverable error"), and every task sent after that waited
for a restart; the one it had claimed was gone. Its `_get` also claims with `shutil.move` into
`tempfile.gettempdir()`, which on another filesystem is copy + delete: two workers can both
copy, and so both run, one message.

Here every hand-over is one `os.rename` within one filesystem, which is atomic:
1. A producer writes the body under a temporary name (`<final>.tmp`, which no consumer matches,
   as they look for names ending in `.<queue>.msg`), then renames it to its final name.
2. A consumer claims a message by renaming it into the processed folder: exactly one consumer's
   rename succeeds, the others get FileNotFoundError and try the next file. Only then it reads.
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property


class Channel(filesystem.Channel):
    @cached_property
    def control_folder(self) -> Path:
        # kombu's default, "control", is relative to the working directory: it left a stray
        # control/ in the checkout. Without the option, keep it next to the queue folder.
        folder = self.transport_options.get("control_folder")
        return Path(folder) if folder else Path(self.data_folder_out).resolve().parent / "control"

    def _put(self, queue, payload, **kwargs):
        # Zero-padded so that names sort in sending order (FIFO) across processes.
        name = f"{time.monotonic_ns() // 1_000_000:015d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        temporary = f"{final}.tmp"
        try:
            with open(temporary, "xb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.rename(temporary, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add {final!r} to the queue") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            except OSError as exc:
                raise ChannelError(self._claim_error(exc)) from exc
            return loads(bytes_to_str(self._read_claimed(claimed)))
        raise Empty()

    def _read_claimed(self, path: str) -> bytes:
        with open(path, "rb") as file:
            payload = file.read()
        if not self.store_processed:
            os.remove(path)
        return payload

    def _claim_error(self, exc: OSError) -> str:
        if exc.errno == errno.EXDEV:
            return (
                f"processed_folder {self.processed_folder!r} must be on the same filesystem as "
                f"data_folder_in {self.data_folder_in!r}: a claim is an atomic rename"
            )
        return f"Cannot claim a message from {self.data_folder_in!r}"


class Transport(filesystem.Transport):
    Channel = Channel


def use_for_filesystem_urls() -> None:
    """Make `filesystem://` mean this transport in this process (Celery's connections, and
    kombu.Connection("filesystem://") anywhere else); Celery's `broker_transport` setting would
    also apply to a Redis URL swapped in later."""
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
