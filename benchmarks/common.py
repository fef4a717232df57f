"""Helpers the benchmark and drill scripts share: the simulated server as a separate process, per-process
CPU and peak memory, and a market-data resource pointed at an already running simulated server.

The sim server runs in its own process so it does not share the client's GIL (in-process it costs the
client about a third of its throughput). Each measured phase also runs in its own process, so the peak
RSS of one phase is not the high-water mark of an earlier one.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
MiB = 2**20


@dataclass
class SimProcess:
    """``aegis sim serve`` running in a child process."""

    proc: subprocess.Popen[str]
    url: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stats(self) -> tuple[float, int]:
        return proc_stats(self.pid)


def sim_command(latency_ms: float, key_var: str, extra: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable, "-m", "aegis_pipelines.cli", "sim", "serve", "--port", "0",
        "--latency-ms", f"{latency_ms:g}", "--api-key-env", key_var, *extra,
    ]  # fmt: skip


@contextmanager
def sim_server(
    latency_ms: float, key_var: str, extra: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[SimProcess]:
    """Start ``aegis sim serve`` (key read from ``key_var``), yield it, stop it (SIGTERM, then SIGKILL)."""
    proc = subprocess.Popen(
        sim_command(latency_ms, key_var, extra),
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"aegis sim serve did not print its URL (got {url!r}, exit {proc.poll()})")
        yield SimProcess(proc, url)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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

    session = nyse().session(parse_session_date(key))
    if session is None:
        raise ValueError(f"{key} is not an NYSE session")
    return session.close
