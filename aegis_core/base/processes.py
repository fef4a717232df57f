"""Is the process that owns a run or a temporary file still there? (Linux /proc, with a portable fallback.)

A pid alone is not proof: pids are reused. Where /proc gives the process's start time, a process that
started after the owner's recorded start is a different process, so the owner is gone.

A pid means something only in its own pid namespace: inside a Docker container, the container's.
``this_container()`` names the container a process runs in (Docker bind-mounts the container's own
``/etc/hostname`` from ``…/containers/<id>/hostname``), and ``python -m aegis_core.base.processes PID
STARTED`` answers from inside that container whether the process is still there (exit 0 alive, 1 gone),
for a watcher outside it that can only ``docker exec``.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

_PROC = Path("/proc")
_CONTAINER_HOSTNAME = re.compile(r"/containers/(?P<id>[0-9a-f]{64})/hostname$")


def this_host() -> str:
    return socket.gethostname()


def container_from_mountinfo(mountinfo: str) -> str | None:
    """The id of the Docker container whose ``/proc/self/mountinfo`` this is, or None outside one."""
    for line in mountinfo.splitlines():
        fields = line.split()
        # Fields: mount id, parent id, major:minor, root (path within the source), mount point, ...
        if len(fields) > 4 and fields[4] == "/etc/hostname":
            found = _CONTAINER_HOSTNAME.search(fields[3])
            if found:
                return found["id"]
    return None


def this_container() -> str | None:
    """The Docker container this process runs in (its full id), or None outside one."""
    try:
        return container_from_mountinfo((_PROC / "self" / "mountinfo").read_text())
    except OSError:
        return None


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


def main(argv: list[str]) -> int:
    """``PID STARTED``: exit 0 while the process runs and started by STARTED (epoch s), 1 once it is gone."""
    if len(argv) != 2:
        print("usage: python -m aegis_core.base.processes PID STARTED_EPOCH_SECONDS", file=sys.stderr)
        return 2
    try:
        pid, started = int(argv[0]), float(argv[1])
    except ValueError:
        print(f"aegis_core.base.processes: not a pid and a time: {' '.join(argv)}", file=sys.stderr)
        return 2
    alive = process_alive(pid, started_by=started)
    print("alive" if alive else "gone")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
