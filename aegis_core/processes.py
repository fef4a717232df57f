"""Is the process that owns a run or a temporary file still there? (Linux /proc, with a portable fallback.)

A pid alone is not proof: pids are reused. Where /proc gives the process's start time, a process that
started after the owner's recorded start is a different process, so the owner is gone.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_PROC = Path("/proc")


def this_host() -> str:
    return socket.gethostname()


def _boot_time() -> float | None:
    try:
        for line in (_PROC / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def process_start_time(pid: int) -> float | None:
    """Epoch seconds at which ``pid`` started, or None where /proc cannot tell."""
    boot = _boot_time()
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    if boot is None:
        return None
    # Field 22 (starttime, clock ticks since boot) counts from the one after the command's ")".
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def process_alive(pid: int, started_by: float | None = None) -> bool:
    """True while ``pid`` runs and (when ``started_by`` is given) started no later than that time."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    if started_by is not None:
        started = process_start_time(pid)
        # Start times from /proc have a resolution of one clock tick; allow a second of slack.
        if started is not None and started > started_by + 1.0:
            return False
    state = _state(pid)
    return state not in {"Z", "X"}


def _state(pid: int) -> str | None:
    try:
        return (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
