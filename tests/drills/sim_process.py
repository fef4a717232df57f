"""``aegis sim serve`` in a child process: the simulated market without sharing the client's GIL (in
process it costs the client about a third of its throughput). Used by the drill harness at full scale
and by the benchmarks."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class SimProcess:
    """``aegis sim serve`` running in a child process."""

    proc: subprocess.Popen[str]
    url: str

    @property
    def pid(self) -> int:
        return self.proc.pid


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
