"""What every benchmark script measures the same way: process and machine CPU from /proc, waiting
for a quiet machine, medians and percentiles, and py-spy. Bench scripts import it as `measure`
(bench/ is the first entry of sys.path when a script in it runs)."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, ppid, user+system CPU seconds) of a process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds every CPU has spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


def cpu_busy(seconds: float = 2.0) -> float:
    """CPUs busy over `seconds` (0 to the core count); this process sleeps meanwhile."""
    first = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - first) / seconds


def wait_quiet(
    max_busy: float | None, timeout: float, *, say: Callable[[str], None] = print, pause=5.0
) -> None:
    """Wait (at most `timeout` s) until the machine keeps fewer than `max_busy` CPUs busy: other
    work on a 2-core machine distorts every figure."""
    if max_busy is None:
        return
    deadline = time.monotonic() + timeout
    while (busy := cpu_busy()) >= max_busy and time.monotonic() < deadline:
        say(f"    (machine keeps {busy:.2f} CPUs busy, >= {max_busy}: waiting)")
        time.sleep(pause)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of them at or below."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def stop_py_spy(spies: list[subprocess.Popen]) -> None:
    """Stop py-spy recorders (SIGINT makes them write their output)."""
    for spy in spies:
        spy.send_signal(signal.SIGINT)
    for spy in spies:
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
