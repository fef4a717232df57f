"""Start-up of the ``aegis`` command: ``aegis --help`` and ``aegis eod`` until its first HTTP request.

Each figure is wall time from just before the process is spawned (interpreter start and imports
included). ``aegis eod`` runs on the embedded simulated market for three small symbols, in a
temporary archive, lake and DAGSTER_HOME; the child process times its first request by wrapping
httpx's ``send`` (measurement only: the command itself runs unchanged) and exits when the run ends.

    uv run --frozen python benchmarks/bench_startup.py [--repeat 3]

Targets (issue 18): ``aegis --help`` < 1 s; first request of ``aegis eod`` within 5 s. Exit 1 on a miss.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import FIRST_REQUEST_PROBE, PROJECT

HELP_MAX_S = 1.0
FIRST_REQUEST_MAX_S = 5.0

# Runs ``aegis ARGS`` in this interpreter; prints the seconds from argv[1] (the parent's clock just
# before spawning) to the first request httpx sends.
_CHILD = (
    FIRST_REQUEST_PROBE
    + """
from aegis_pipelines.cli import entry
sys.argv = ["aegis", *sys.argv[2:]]
entry()  # what the aegis executable runs
"""
)


def aegis_exe() -> str:
    return shutil.which("aegis") or os.path.join(os.path.dirname(sys.executable), "aegis")


def time_help() -> float:
    start = time.time()
    subprocess.run([aegis_exe(), "--help"], check=True, capture_output=True)
    return time.time() - start


def time_first_request() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        shutil.copy(PROJECT / "dagster.yaml", work / "home/dagster.yaml")
        (work / "universe.txt").write_text("AAXJ\nBDRY\nCORN\n")
        env = {
            **os.environ,
            "AEGIS_CONFIG": str(PROJECT / "configs/local.yaml"),
            "AEGIS_ARCHIVE_ROOT": str(work / "archive"),
            "AEGIS_LAKE_ROOT": str(work / "lake"),
            "AEGIS_UNIVERSE_FILE": str(work / "universe.txt"),
            "DAGSTER_HOME": str(work / "home"),
        }
        cmd = [sys.executable, "-c", _CHILD, f"{time.time():.6f}", "eod", "--date", "2026-11-20"]
        proc = subprocess.run(cmd, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300)
        found = re.search(r"__first_request_s__ ([\d.]+)", proc.stderr)
        if proc.returncode != 0 or not found:
            raise SystemExit(f"aegis eod failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        return float(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    helps = [time_help() for _ in range(args.repeat)]
    firsts = [time_first_request() for _ in range(args.repeat)]
    ok = True
    for name, values, limit in (
        ("aegis --help", helps, HELP_MAX_S),
        ("aegis eod: first request", firsts, FIRST_REQUEST_MAX_S),
    ):
        med = statistics.median(values)
        met = med < limit
        ok &= met
        runs = ", ".join(f"{v:.2f}" for v in values)
        verdict = "met" if met else "MISS"
        print(f"{name:<26} median {med:5.2f} s  (runs {runs})  target < {limit:g} s  {verdict}")
    print(f"load average (1 min) {os.getloadavg()[0]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
