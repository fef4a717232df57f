"""Helpers the benchmark scripts share: the simulated server as a separate process (the test suite's,
``tests/drills/sim_process.py``), per-process CPU and peak memory, the session's close.

Each measured phase runs in its own process, so the peak RSS of one phase is not the high-water mark
of an earlier one.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
MiB = 2**20

# The benchmarks reuse the test suite's simulated-server process and drill harness (``tests/drills``);
# the scripts run from ``benchmarks/``, so the project root is put on the path here, once.
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from tests.drills.sim_process import SimProcess, sim_command, sim_server  # noqa: E402

__all__ = [
    "PROJECT",
    "MiB",
    "SimProcess",
    "proc_stats",
    "run_child",
    "self_stats",
    "session_close",
    "sim_command",
    "sim_server",
]


def proc_stats(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and peak RSS in bytes of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    hwm = next(line for line in status if line.startswith("VmHWM"))
    return cpu, int(hwm.split()[1]) * 1024


def self_stats() -> tuple[float, int]:
    """CPU seconds and peak RSS in bytes of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None, timeout_s: float = 3600) -> str:
    """Run ``cmd`` to completion; return its stdout (stderr passes through). A failure is raised."""
    proc = subprocess.run(
        list(cmd), cwd=PROJECT, stdout=subprocess.PIPE, text=True, env=env, timeout=timeout_s
    )
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[1:5])} … exited {proc.returncode}")
    return proc.stdout


def session_close(key: str) -> dt.datetime:
    from aegis_core.calendar import nyse, parse_session_date

    return nyse().require_session(parse_session_date(key)).close


# The opening of a child's ``python -c`` script: prints on stderr the seconds from argv[1] (the parent's
# clock just before spawning) to the first request httpx sends (``__first_request_s__ S``). The command
# itself runs unchanged after it.
FIRST_REQUEST_PROBE = r"""
import sys, time
T0 = float(sys.argv[1])
import httpx
seen = []
def mark():
    if not seen:
        seen.append(1)
        print(f"__first_request_s__ {time.time() - T0:.3f}", file=sys.stderr, flush=True)
for cls in (httpx.AsyncClient, httpx.Client):
    orig = cls.send
    if cls is httpx.AsyncClient:
        async def send(self, request, *a, _orig=orig, **k):
            mark()
            return await _orig(self, request, *a, **k)
    else:
        def send(self, request, *a, _orig=orig, **k):
            mark()
            return _orig(self, request, *a, **k)
    cls.send = send
"""
