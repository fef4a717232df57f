"""Every benchmark of the project, one after the other, and one table of the figures against the targets.

Runs, each as its own process (so each has its own peak memory):

- ``bench_eod.py``        floor / client / client under the production ceiling / EOD assets / derived
                          assets / ``aegis eod`` end to end (process start included), without and
                          under the production ceiling / naive sequential, against
                          ``aegis sim serve --latency-ms 50``;
- ``bench_intraday.py``   one intraday slot (``ldas/pt_snapshots``) for the universe, production ceiling;
- ``bench_analytics.py``  GEX, ATM IV and IV rank as pure functions on 712 symbols and 252 sessions.

    uv run python benchmarks/run_all.py [--symbols 712] [--repeat 1] [--skip-naive] [--json out.json]

Exit status 0 when every target is met, 1 otherwise. A benchmark whose output cannot be read is shown
with its raw output and counts as a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
MiB = 2**20
GiB = 2**30

EOD_VS_FLOOR_MAX = 1.5
NAIVE_SPEEDUP_MIN = 6.0
CEILING_MAX = 1.1
INTRADAY_MAX_S = 45.0
ANALYTICS_MAX_S = 5.0
PEAK_MAX = 2 * GiB

# Runs a command and reports the peak RSS of the largest process of its tree on stderr.
_PEAK_WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print('__peak_rss_kib__', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(rc)"
)


def run(script: str, *args: str) -> tuple[int, str, int]:
    """``(exit status, stdout, peak RSS in bytes)`` of ``python benchmarks/<script> args``."""
    cmd = [sys.executable, "-c", _PEAK_WRAPPER, sys.executable, str(HERE / script), *args]
    print(f"$ python benchmarks/{script} {' '.join(args)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True)
    found = re.search(r"__peak_rss_kib__ (\d+)", proc.stderr)
    if proc.returncode not in (0, 1):  # bench_eod exits 1 when a target is missed; that still has figures
        sys.stderr.write(proc.stderr[-4000:])
    return proc.returncode, proc.stdout, int(found.group(1)) * 1024 if found else 0


def _num(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1).replace(",", "")) if found else None


def _text(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text)
    return found.group(1) if found else None


def intraday_figures(out: str) -> dict[str, Any]:
    """The figures ``bench_intraday.py`` prints (its text format; ``None`` where a line is missing)."""
    return {
        "wall_s": _num(r"wall\s+([\d.]+) s", out),
        "requests": _num(r"requests\s+(\d+)", out),
        "contracts": _num(r"contracts\s+([\d,]+)", out),
        "symbols": _text(r"symbols\s+(\S+)", out),
    }


def analytics_figures(out: str) -> dict[str, Any]:
    times = {name: _num(rf"{name}:\s+([\d.]+) s", out) for name in ("gex_summary", "atm_iv", "iv_rank")}
    return {**times, "total_s": sum(times.values()) if None not in times.values() else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=712)
    parser.add_argument(
        "--repeat", type=int, default=1, help="bench_eod: runs of floor/client/asset, best kept"
    )
    parser.add_argument(
        "--skip-naive", action="store_true", help="leave out the ~2.5 min naive sequential run"
    )
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()

    rows: list[
        tuple[str, str, str, str, str, str, str]
    ] = []  # name, wall, requests, contracts, c/s, MiB, target
    verdicts: list[bool] = []
    report: dict[str, Any] = {"load_avg_1min_start": round(os.getloadavg()[0], 2)}

    def row(name, wall, requests, contracts, peak, target="", met=None):
        rate = f"{contracts / wall:,.0f}" if contracts and wall else "-"
        mark = "" if met is None else ("  met" if met else "  MISS")
        rows.append(
            (
                name,
                f"{wall:.1f}" if wall is not None else "-",
                f"{requests:.0f}" if requests else "-",
                f"{contracts:,.0f}" if contracts else "-",
                rate,
                f"{peak / MiB:.0f}" if peak else "-",
                f"{target}{mark}",
            )
        )
        if met is not None:
            verdicts.append(met)

    # --- end of day ----------------------------------------------------------------------------------
    phases = "floor,client,ceiling,asset,derived,cli,cli-ceiling" + ("" if args.skip_naive else ",naive")
    with tempfile.TemporaryDirectory() as tmp:
        out_json = Path(tmp) / "eod.json"
        rc, out, _ = run(
            "bench_eod.py", "--symbols", str(args.symbols), "--repeat", str(args.repeat), "--phases", phases,
            "--json", str(out_json),
        )  # fmt: skip
        eod = json.loads(out_json.read_text()) if out_json.exists() else None
    report["eod"] = eod
    if eod is None:
        print(out)
        verdicts.append(False)
    else:
        p = eod["phases"]
        floor = p["floor"]["wall_s"]
        q = p["floor"]
        row("EOD floor (fetch+parse)", q["wall_s"], q["requests"], q["contracts"], q["peak_rss"])
        e = p["cli"]  # the process's own figures: wall from spawn to exit, its tree's peak RSS
        ratio = e["wall_s"] / floor
        row(
            "aegis eod end to end (process)", e["wall_s"], e["requests"], e["contracts"], e["peak_rss"],
            f"÷ floor {ratio:.2f} ≤ {EOD_VS_FLOOR_MAX:g}", ratio <= EOD_VS_FLOOR_MAX,
        )  # fmt: skip
        # What the box allows: the run's and the server's CPU spread over every core, as if they overlapped
        # perfectly. A ratio to the floor above the target here means no change of code alone can meet it.
        least = (e["cpu_s"] + e["sim_cpu_s"]) / eod["config"]["cpus"]
        row(
            f"  its CPU ÷ {eod['config']['cpus']} cores (run+server)", least, None, None, None,
            f"÷ floor {least / floor:.2f} (least possible here)",
        )  # fmt: skip
        c = p["cli-ceiling"]
        bound = c["requests"] / c["ceiling_rps"]
        ratio = c["wall_s"] / bound
        row(
            f"aegis eod @ {c['ceiling_rps']:g} req/s (process)", c["wall_s"], c["requests"], c["contracts"],
            c["peak_rss"], f"÷ requests/rate ({bound:.1f} s) {ratio:.2f} ≤ {CEILING_MAX:g}",
            ratio <= CEILING_MAX,
        )  # fmt: skip
        q = p["client"]
        row("EOD client", q["wall_s"], q["requests"], q["contracts"], q["peak_rss"])
        q = p["ceiling"]
        row(
            f"EOD client @ {eod['config']['ceiling_rps']:g} req/s",
            q["wall_s"],
            q["requests"],
            q["contracts"],
            q["peak_rss"],
        )
        q = p["asset"]
        ratio = q["options_s"] / floor
        row(
            "EOD ldas/options (+files+lake)", q["options_s"], q["requests"], q["contracts"], q["peak_rss"],
            f"÷ floor {ratio:.2f} ≤ {EOD_VS_FLOOR_MAX:g}", ratio <= EOD_VS_FLOOR_MAX,
        )  # fmt: skip
        row("EOD vix+stocks+options run", q["wall_s"], None, None, q["peak_rss"])
        if "naive" in p:
            n = p["naive"]
            speedup = n["wall_s"] / q["options_s"]
            row(
                "EOD naive sequential", n["wall_s"], n["requests"], n["contracts"], n["peak_rss"],
                f"÷ ldas/options {speedup:.1f} ≥ {NAIVE_SPEEDUP_MIN:g}", speedup >= NAIVE_SPEEDUP_MIN,
            )  # fmt: skip
            speedup = n["wall_s"] / e["wall_s"]
            row(
                "EOD naive ÷ aegis eod end to end", None, None, None, None,
                f"{speedup:.1f} ≥ {NAIVE_SPEEDUP_MIN:g}", speedup >= NAIVE_SPEEDUP_MIN,
            )  # fmt: skip
        d = p["derived"]
        row(
            "derived assets (lake, 252 sess.)", d["analytics_s"], None, None, d["peak_rss"],
            f"< {ANALYTICS_MAX_S:g} s", d["analytics_s"] < ANALYTICS_MAX_S,
        )  # fmt: skip
        sim_peak = max(x["sim_peak_rss"] for x in p.values())
        row("sim server (separate process)", None, None, None, sim_peak)

    # --- intraday ------------------------------------------------------------------------------------
    rc, out, peak = run("bench_intraday.py", "--symbols", str(args.symbols))
    intraday = intraday_figures(out)
    report["intraday"] = {**intraday, "peak_rss_tree": peak, "exit": rc}
    if rc != 0 or intraday["wall_s"] is None:
        print(out)
        row("intraday slot (ldas/pt_snapshots)", None, None, None, peak, "unreadable", False)
    else:
        met = intraday["wall_s"] < INTRADAY_MAX_S
        name, wall = "intraday slot (ldas/pt_snapshots)", intraday["wall_s"]
        row(name, wall, intraday["requests"], intraday["contracts"], peak, f"< {INTRADAY_MAX_S:g} s", met)

    # --- analytics (pure functions) ----------------------------------------------------------------
    rc, out, peak = run("bench_analytics.py", "--symbols", str(args.symbols))
    analytics = analytics_figures(out)
    report["analytics"] = {**analytics, "peak_rss": peak, "exit": rc}
    total = analytics["total_s"]
    if rc != 0 or total is None:
        print(out)
        row("analytics (pure, in memory)", None, None, None, peak, "unreadable", False)
    else:
        row(
            "analytics (pure, in memory)",
            total,
            None,
            None,
            peak,
            f"< {ANALYTICS_MAX_S:g} s",
            total < ANALYTICS_MAX_S,
        )

    # --- memory over everything ----------------------------------------------------------------------
    peaks = [peak, report["intraday"]["peak_rss_tree"]]
    if eod:
        peaks += [max(x["peak_rss"], x["sim_peak_rss"]) for x in eod["phases"].values()]
    top = max(peaks)
    row("peak RSS, any process", None, None, None, top, f"< {PEAK_MAX // MiB} MiB", top < PEAK_MAX)
    report["load_avg_1min_end"] = round(os.getloadavg()[0], 2)

    head = ("benchmark", "wall s", "requests", "contracts", "contr/s", "peak MiB", "target")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i in (0, 6) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [head, *rows]
    ]
    cfg = eod["config"] if eod else {}
    print(
        f"AEGIS benchmarks: {args.symbols} symbols, sim latency {cfg.get('latency_ms', 50):g} ms, "
        f"concurrency {cfg.get('concurrency', 32)}, {os.cpu_count()} CPUs, load average "
        f"{report['load_avg_1min_start']:g} → {report['load_avg_1min_end']:g}"
    )
    print(lines[0])
    print("-" * len(lines[0]))
    print("\n".join(lines[1:]))
    print(f"\n{sum(verdicts)} of {len(verdicts)} targets met")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
