"""The end-of-day run for the whole universe against the simulated server, phase by phase (contract §11).

Starts ``aegis sim serve --latency-ms 50`` as a separate process (its default universe: 712 symbols,
~0.5 M contracts, chains from a few hundred contracts to SPY's ~12,900), then runs each phase in a
process of its own, one after the other, against that one server at the same concurrency:

- ``floor``   ``aegis_core.polygon.floor.fetch_and_parse_floor``: concurrent GETs of every chain page,
              decoded by the client's parser, nothing else (no retries, no ceiling, no frames).
- ``client``  ``PolygonClient.option_chains``: the floor plus retries, the request ceiling, the
              repeated-cursor guard and one ``OPTIONS`` frame per symbol.
- ``ceiling`` the client again under the production request ceiling (90 req/s): bound by design by
              requests ÷ ceiling, shown for scale (the targets are stated without a ceiling).
- ``asset``   ``dg.materialize([ldas/vix, ldas/stocks, ldas/options])`` for the session: the client plus
              the 712 atomic parquet files and the Delta commit (the ``ldas/options`` row is that
              asset's own duration; the ``eod assets`` row is the whole materialization).
- ``derived`` ``dg.materialize([ldas/gex_summary, ldas/atm_iv, ldas/iv_rank])`` on the archive the
              ``asset`` phase wrote, with 251 earlier sessions of ATM IV history seeded into the lake.
- ``naive``   ``benchmarks/naive_eod.py``: sequential GET, ``json.loads``, a dict per contract, a file
              per symbol.
- ``cli``     ``aegis eod --date SESSION`` as a process of its own, timed from the spawn to the exit
              (interpreter start, imports, definitions, the instance, the whole ``ldas_eod_job`` with
              its checks and derived assets, the summary): source ``polygon`` pointed at the server
              (a profile in a fresh temporary folder: archive, lake, ``DAGSTER_HOME`` with the
              project's ``dagster.yaml``), the production Polygon settings, no request ceiling.
- ``cli-ceiling`` the same under the production request ceiling (90 req/s), against requests ÷ 90 s.

Every phase meets a warm server: one floor pass, not measured, runs first (a fresh server draws each
symbol's price walk on its first request).

Reports wall time, requests, pages, contracts per second, CPU of the phase and of the sim server, peak
RSS of the phase's process (for ``cli``: of the ``aegis eod`` process tree) and the ratios the targets
are stated in.

    uv run python benchmarks/bench_eod.py [--latency-ms 50] [--concurrency 32] [--rps 0]
        [--ceiling-rps 90] [--symbols 712] [--session 2026-11-20]
        [--phases floor,client,ceiling,asset,derived,cli,cli-ceiling,naive]
        [--repeat 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from common import (
    FIRST_REQUEST_PROBE,
    PROJECT,
    MiB,
    proc_stats,
    run_child,
    self_stats,
    session_close,
    sim_server,
)

KEY_VAR = "AEGIS_BENCH_SIM_KEY"
PHASES = ("floor", "client", "ceiling", "asset", "derived", "cli", "cli-ceiling", "naive")
REPEATED = ("floor", "client", "asset", "cli")  # the phases --repeat runs again (best kept)
HISTORY_SESSIONS = 252  # IV rank window, today included

# Targets of the benchmark issue (2-core machine, 50 ms latency).
EOD_VS_FLOOR_MAX = 1.5
NAIVE_SPEEDUP_MIN = 6.0
DERIVED_MAX_S = 5.0
PEAK_RSS_MAX = 2 * 1024 * MiB
CEILING_MAX = 1.1  # aegis eod under the ceiling ÷ (requests ÷ ceiling)


# --- phases (each runs in a child process and prints one JSON object) --------------------------------


def _symbols(n: int) -> list[str]:
    from aegis_core.sim import default_universe

    return list(default_universe(n))  # the first 712 are the sim's default; beyond, made-up tickers


def phase_floor(args: argparse.Namespace, key: str) -> dict[str, Any]:
    from fetch_floor import fetch_and_parse_floor

    from aegis_core.sim import sim_base_url

    base = sim_base_url(args.url, session_close(args.session))
    result = asyncio.run(
        fetch_and_parse_floor(base, key, _symbols(args.symbols), max_concurrency=args.concurrency)
    )
    if result.failures:
        raise RuntimeError(
            f"floor: {len(result.failures)} symbols failed: {list(result.failures.items())[:3]}"
        )
    return {
        "wall_s": result.elapsed_s,
        "requests": result.pages,
        "pages": result.pages,
        "contracts": result.contracts,
        "bytes_received": result.bytes_received,
        "symbols_ok": result.symbols - len(result.failures),
    }


def phase_client(args: argparse.Namespace, key: str, rps: float | None = None) -> dict[str, Any]:
    from aegis_core.polygon import PolygonClient
    from aegis_core.sim import sim_base_url

    close = session_close(args.session)

    async def go():
        async with PolygonClient(
            sim_base_url(args.url, close),
            key,
            max_concurrency=args.concurrency,
            max_requests_per_second=args.rps if rps is None else rps,
        ) as client:
            started = time.perf_counter()
            batch = await client.option_chains(_symbols(args.symbols), close)
            return batch, time.perf_counter() - started

    batch, wall = asyncio.run(go())
    if batch.failures:  # a run with failures is not a measurement
        raise RuntimeError(
            f"client: {len(batch.failures)} symbols failed: {list(batch.failures.items())[:3]}"
        )
    stats = batch.stats
    return {
        "wall_s": wall,
        "requests": stats.requests,
        "pages": stats.pages,
        "contracts": stats.contracts,
        "retries": stats.retries_total,
        "bytes_received": stats.bytes_received,
        "symbols_ok": len(batch.frames),
    }


def phase_ceiling(args: argparse.Namespace, key: str) -> dict[str, Any]:
    """The client under the production request ceiling: bound by requests ÷ ceiling, by design."""
    return phase_client(args, key, rps=args.ceiling_rps)


def _resources(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import dagster as dg

    from aegis_assets.clock import CLOCK_KEY, wall_clock
    from aegis_assets.resources import AnalyticsResource, ArchiveResource
    from tests.drills.external_sim import ExternalSimMarket

    universe = work / "universe.txt"
    universe.write_text("\n".join(_symbols(args.symbols)) + "\n")
    return {
        "market": ExternalSimMarket(
            universe_file=str(universe),
            base_url=args.url,
            api_key=dg.EnvVar(KEY_VAR),
            max_concurrency=args.concurrency,
            max_requests_per_second=args.rps,
        ),
        "archive": ArchiveResource(
            archive_root=str(work / "archive"), lake_root=str(work / "lake"), source="sim"
        ),
        "analytics": AnalyticsResource(),
        CLOCK_KEY: wall_clock,  # the simulated source captures at the close, whatever the time
    }


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _step_seconds(instance, run_id: str) -> dict[str, float]:
    """Seconds from each step's start to its success, from the run's event log."""
    starts, out = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and event.step_key in starts:
            out[event.step_key] = entry.timestamp - starts[event.step_key]
    return out


def _metadata(result, node: str) -> dict[str, Any]:
    mats = result.asset_materializations_for_node(node)
    return {k: getattr(v, "value", v) for k, v in mats[0].metadata.items()} if mats else {}


def phase_asset(args: argparse.Namespace, key: str) -> dict[str, Any]:
    import dagster as dg

    from aegis_assets.ldas.eod import fetch_assets
    from aegis_assets.partitions import session_partitions

    work = Path(args.work)
    resources = _resources(args, work)
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = dg.materialize(
            fetch_assets(session_partitions()),
            partition_key=args.session,
            resources=resources,
            instance=instance,
            run_config=QUIET,
        )
        wall = time.perf_counter() - started
        steps = _step_seconds(instance, result.run_id)
    meta = _metadata(result, "ldas__options")
    if not result.success or meta.get("symbols_covered") != f"{args.symbols}/{args.symbols}":
        raise RuntimeError(f"asset: run success {result.success}, covered {meta.get('symbols_covered')}")
    return {
        "wall_s": wall,
        "options_s": float(meta["duration_s"]),
        "options_step_s": steps.get("ldas__options"),
        "write_s": float(meta["write_seconds"]),
        "steps_s": steps,
        "requests": meta["requests"],
        "retries": meta["retries"],
        "contracts": meta["dagster/row_count"],
        "files": meta["files"],
        "bytes_written": meta["bytes"],
        "bytes_received": meta["bytes_received"],
        "symbols_covered": meta["symbols_covered"],
    }


def seed_atm_iv_history(lake_root: str, symbols: list[str], session: dt.date, seed: int = 7) -> int:
    """Write ``HISTORY_SESSIONS - 1`` earlier sessions of synthetic ATM IV to the lake, in one commit."""
    import numpy as np
    import polars as pl

    from aegis_core.archive.lake import SESSION_COLUMN, Lake
    from aegis_core.archive.schemas import ATM_IV
    from aegis_core.calendar import NY, nyse

    days = [s.date for s in nyse().sessions_before(session, HISTORY_SESSIONS)][:-1]
    assert days and days[-1] < session, "history must end before the session"
    rng = np.random.default_rng(seed)
    n_sym, n_days = len(symbols), len(days)
    iv = rng.uniform(0.15, 0.6, size=(n_sym, 1)) * np.exp(
        np.cumsum(rng.normal(0, 0.03, (n_sym, n_days)), axis=1)
    )
    sym_idx, day_idx = np.nonzero(rng.random((n_sym, n_days)) > 0.02)  # ~2 % of days missing
    stamps = [dt.datetime.combine(d, dt.time(16, 0), NY).astimezone(dt.UTC) for d in days]
    frame = pl.DataFrame(
        {
            "timestamp": [stamps[j] for j in day_idx],
            "symbol": [symbols[i] for i in sym_idx],
            "atm_iv": iv[sym_idx, day_idx],
            "method": "interpolated",
            "near_expiry": None,
            "far_expiry": None,
            SESSION_COLUMN: [days[j] for j in day_idx],
        }
    )
    Lake(lake_root).replace(ATM_IV, frame, sessions=days)
    return frame.height


def phase_derived(args: argparse.Namespace, key: str) -> dict[str, Any]:
    import dagster as dg

    from aegis_assets.ldas.derived import derived_assets
    from aegis_assets.partitions import session_partitions
    from aegis_core.calendar import parse_session_date

    work = Path(args.work)
    resources = _resources(args, work)
    seeded = seed_atm_iv_history(str(work / "lake"), _symbols(args.symbols), parse_session_date(args.session))
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = dg.materialize(
            derived_assets(session_partitions()),
            partition_key=args.session,
            resources=resources,
            instance=instance,
            run_config=QUIET,
        )
        wall = time.perf_counter() - started
        steps = _step_seconds(instance, result.run_id)
    rank = _metadata(result, "ldas__iv_rank")
    return {
        "wall_s": wall,
        "steps_s": steps,
        "analytics_s": sum(steps.values()),
        "history_rows": seeded,
        "symbols_ranked": rank.get("symbols_ranked"),
        "median_observations": rank.get("median_observations"),
        "gex_rows": _metadata(result, "ldas__gex_summary").get("dagster/row_count"),
    }


def phase_naive(args: argparse.Namespace, key: str) -> dict[str, Any]:
    from naive_eod import naive_eod

    from aegis_core.sim import sim_base_url

    close = session_close(args.session)
    result = naive_eod(
        sim_base_url(args.url, close), key, _symbols(args.symbols), close, Path(args.work) / "naive"
    )
    return {
        "wall_s": result.wall_s,
        "requests": result.requests,
        "pages": result.requests,
        "contracts": result.contracts,
        "files": result.files,
        "bytes_received": result.bytes_received,
    }


# ``aegis eod`` in a process of its own (python -c, the same interpreter as ``uv run aegis``). Two
# additions, for the measurement only (the command itself runs unchanged): the seconds from the
# parent's spawn (argv[1]) to the first request httpx sends, on stderr; and the clock moved to argv[2]
# (30 minutes after the session's close, still moving), because the polygon source captures the
# end-of-day chains only between the close and the next open and the benchmark runs at any hour.
_CLI_CHILD = (
    FIRST_REQUEST_PROBE
    + """
import datetime as dt
import aegis_core.base.clock as clock
clock._bench_offset = dt.datetime.fromisoformat(sys.argv[2]) - dt.datetime.now(dt.UTC)
def moved():
    return dt.datetime.now(dt.UTC) + _bench_offset
clock.wall_clock.__code__ = moved.__code__  # every holder of wall_clock (defaults included)
from aegis_pipelines.cli import entry
sys.argv = ["aegis", *sys.argv[3:]]
entry()  # what the aegis executable runs
"""
)


def _cli_env(args: argparse.Namespace, key: str, work: Path, rps: float) -> dict[str, str]:
    """A fresh archive, lake and DAGSTER_HOME, and a profile: source polygon at the server, the
    production Polygon settings (retries, timeouts), ``--concurrency`` connections, ``rps`` req/s."""
    import shutil

    import yaml

    from aegis_core.sim import sim_base_url

    home = work / "home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    (work / "universe.txt").write_text("\n".join(_symbols(args.symbols)) + "\n")
    production = yaml.safe_load((PROJECT / "configs/production.yaml").read_text())["polygon"]
    profile = {
        "profile": "bench",
        "source": "polygon",
        "archive_root": str(work / "archive"),
        "lake_root": str(work / "lake"),
        "universe_file": str(work / "universe.txt"),
        "polygon": {
            **production,
            "base_url": sim_base_url(args.url, session_close(args.session)),
            "max_concurrency": args.concurrency,
            "max_requests_per_second": rps,
        },
        "alerts": {"require_slack": False},
    }
    (work / "profile.yaml").write_text(yaml.safe_dump(profile))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AEGIS_", "POLYGON_", "DAGSTER_"))}
    return env | {
        "AEGIS_CONFIG": str(work / "profile.yaml"),
        "POLYGON_API_KEY": key,
        "DAGSTER_HOME": str(home),
    }


def _run_events(home: Path) -> tuple[dict[str, float], dict[str, float], dict[str, dict[str, Any]]]:
    """From the run on the instance in ``home``: the run's start and end and each step's start (epoch
    seconds, by event or step name), each step's seconds, each asset's materialization metadata."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        marks: dict[str, float] = {}
        meta: dict[str, dict[str, Any]] = {}
        for entry in instance.all_logs(run.run_id):
            event, mat = entry.dagster_event, entry.asset_materialization
            if event and event.event_type in (dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS):
                marks[event.event_type.name] = entry.timestamp
            elif event and event.event_type == dg.DagsterEventType.STEP_START:
                marks[event.step_key or "?"] = entry.timestamp
            elif mat is not None:
                meta[mat.asset_key.to_user_string()] = {
                    k: getattr(v, "value", v) for k, v in mat.metadata.items()
                }
        return marks, _step_seconds(instance, run.run_id), meta


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # just ended
        return 0
    return next((int(x.split()[1]) * 1024 for x in status.splitlines() if x.startswith("VmRSS")), 0)


def phase_cli(args: argparse.Namespace, key: str, rps: float | None = None) -> dict[str, Any]:
    """``aegis eod --date SESSION`` end to end, process start included; peak RSS of its process tree."""
    rps = rps or args.rps or 1000.0  # 1000: the settings' largest, the local profile's "none"
    work = Path(tempfile.mkdtemp(prefix="cli-", dir=args.work))
    env = _cli_env(args, key, work, rps)
    moved = session_close(args.session) + dt.timedelta(minutes=30)
    with open(work / "stdout.txt", "w+") as out, open(work / "stderr.txt", "w+") as err:
        spawned = time.time()
        argv = [f"{spawned:.6f}", moved.isoformat(), "eod", "--date", args.session]
        proc = subprocess.Popen(
            [sys.executable, "-c", _CLI_CHILD, *argv], cwd=PROJECT, env=env, stdout=out, stderr=err
        )
        rss = []  # (seconds since the spawn, RSS): when the peak happens, to place it in the run's steps
        while True:
            rss.append((time.time() - spawned, _rss(proc.pid)))
            try:
                proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
        wall = time.time() - spawned
        rc = proc.returncode
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    n = args.symbols
    covered = re.search(r"^ldas/options\s+\d+\s+\d+\s+(\d+/\d+)", stdout, re.M)
    if rc != 0 or not covered or covered.group(1) != f"{n}/{n}":
        sys.stderr.write(stderr[-3000:] + stdout[-2000:])
        raise RuntimeError(f"aegis eod: exit {rc}, options covered {covered and covered.group(1)}")
    first = re.search(r"__first_request_s__ ([\d.]+)", stderr)
    marks, steps, meta = _run_events(work / "home")
    fetched = [meta[a] for a in ("ldas/vix", "ldas/stocks", "ldas/options")]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_at = max(rss, key=lambda x: x[1])[0]
    return {
        "wall_s": wall,
        "first_request_s": float(first.group(1)) if first else None,
        "run_start_s": marks["RUN_START"] - spawned,  # spawn → the run starts: imports, definitions, instance
        "run_s": marks["RUN_SUCCESS"] - marks["RUN_START"],
        "after_run_s": spawned + wall - marks["RUN_SUCCESS"],  # the run's end → exit: summary, teardown
        "steps_s": steps,
        "options_s": float(meta["ldas/options"]["duration_s"]),
        "write_s": float(meta["ldas/options"]["write_seconds"]),
        "peak_at_s": peak_at,
        "peak_step": max(
            (k for k, t in marks.items() if t - spawned <= peak_at), key=lambda k: marks[k], default=None
        ),
        "requests": sum(m["requests"] for m in fetched),
        "options_requests": meta["ldas/options"]["requests"],
        "retries": sum(m["retries"] for m in fetched),
        "contracts": meta["ldas/options"]["dagster/row_count"],
        "symbols_covered": covered.group(1),
        "ceiling_rps": rps,
        "cpu_s": children.ru_utime + children.ru_stime,
        "peak_rss": children.ru_maxrss * 1024,  # the largest process of the tree
    }


def phase_cli_ceiling(args: argparse.Namespace, key: str) -> dict[str, Any]:
    """``aegis eod`` under the production request ceiling: against requests ÷ ceiling."""
    return phase_cli(args, key, rps=args.ceiling_rps)


def run_phase(args: argparse.Namespace) -> None:
    warnings.simplefilter("ignore")
    key = os.environ[KEY_VAR]
    out = globals()[f"phase_{args.child.replace('-', '_')}"](args, key)
    cpu, rss = self_stats()
    out = {"cpu_s": cpu, "peak_rss": rss, **out}  # a phase that runs a command reports the command's own
    print(json.dumps(out, default=str))


# --- the parent: server, phases, table ------------------------------------------------------------------


def child_command(args: argparse.Namespace, phase: str, url: str, work: Path) -> list[str]:
    return [
        sys.executable, __file__, "--child", phase, "--url", url, "--work", str(work),
        "--concurrency", str(args.concurrency), "--rps", f"{args.rps:g}",
        "--symbols", str(args.symbols), "--session", args.session, "--ceiling-rps", f"{args.ceiling_rps:g}",
    ]  # fmt: skip


def _universe_args(n: int, tmp: Path) -> list[str]:
    """The server's universe when it is larger than the sim's default one (``--symbols`` above 712)."""
    if n <= 712:
        return []
    path = tmp / "server-universe.txt"
    path.write_text("\n".join(_symbols(n)) + "\n")
    return ["--universe", str(path)]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    key = secrets.token_hex(16)
    env = {**os.environ, KEY_VAR: key}
    phases = [p for p in args.phases.split(",") if p]
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        raise SystemExit(f"bench_eod: unknown phase(s) {unknown}; choose from {PHASES}")
    results: dict[str, Any] = {}
    load_start = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="bench-eod-") as tmp,
        sim_server(args.latency_ms, KEY_VAR, _universe_args(args.symbols, Path(tmp)), env=env) as sim,
    ):
        # One pass of the floor, not measured, first: a fresh server draws each symbol's price walk on
        # its first request, and the first phase would otherwise pay for that alone.
        run_child(child_command(args, "floor", sim.url, Path(tmp)), env=env)
        print("  (server warmed by one unmeasured floor pass)", file=sys.stderr, flush=True)
        for phase in phases:
            runs = []
            for _ in range(args.repeat if phase in REPEATED else 1):
                work = Path(tmp)
                sim_cpu0, _ = proc_stats(sim.pid)
                out = json.loads(
                    run_child(child_command(args, phase, sim.url, work), env=env).splitlines()[-1]
                )
                sim_cpu1, sim_rss = proc_stats(sim.pid)
                out.update(sim_cpu_s=sim_cpu1 - sim_cpu0, sim_peak_rss=sim_rss)
                runs.append(out)
                print(f"  {phase:<11} {out['wall_s']:7.1f} s", file=sys.stderr, flush=True)
            results[phase] = min(runs, key=lambda r: r["wall_s"])
            results[phase]["runs_wall_s"] = [round(r["wall_s"], 2) for r in runs]
    return {
        "config": {
            "symbols": args.symbols,
            "session": args.session,
            "latency_ms": args.latency_ms,
            "concurrency": args.concurrency,
            "rps": args.rps,
            "ceiling_rps": args.ceiling_rps,
            "cpus": os.cpu_count(),
            "repeat": args.repeat,
            "load_avg_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        },
        "phases": results,
        "targets": targets(results),
    }


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    floor, asset, naive = r.get("floor"), r.get("asset"), r.get("naive")
    if floor and asset:
        ratio = asset["options_s"] / floor["wall_s"]
        out.append(
            _target("EOD ldas/options ÷ floor", ratio, f"≤ {EOD_VS_FLOOR_MAX}", ratio <= EOD_VS_FLOOR_MAX)
        )
    if naive and asset:
        speedup = naive["wall_s"] / asset["options_s"]
        out.append(
            _target(
                "naive ÷ EOD ldas/options", speedup, f"≥ {NAIVE_SPEEDUP_MIN}", speedup >= NAIVE_SPEEDUP_MIN
            )
        )
    cli, ceil = r.get("cli"), r.get("cli-ceiling")
    if floor and cli:
        ratio = cli["wall_s"] / floor["wall_s"]
        out.append(
            _target("aegis eod end to end ÷ floor", ratio, f"≤ {EOD_VS_FLOOR_MAX}", ratio <= EOD_VS_FLOOR_MAX)
        )
    if naive and cli:
        speedup = naive["wall_s"] / cli["wall_s"]
        out.append(
            _target(
                "naive ÷ aegis eod end to end",
                speedup,
                f"≥ {NAIVE_SPEEDUP_MIN}",
                speedup >= NAIVE_SPEEDUP_MIN,
            )
        )
    if ceil:
        ratio = ceil["wall_s"] / ceiling_bound(ceil)
        name = f"aegis eod@{ceil['ceiling_rps']:g} ÷ (requests ÷ {ceil['ceiling_rps']:g})"
        out.append(_target(name, ratio, f"≤ {CEILING_MAX}", ratio <= CEILING_MAX))
    if r.get("derived"):
        s = r["derived"]["analytics_s"]
        out.append(_target("GEX + ATM IV + IV rank (s)", s, f"< {DERIVED_MAX_S}", s < DERIVED_MAX_S))
    if r:
        peak = max(max(p["peak_rss"], p["sim_peak_rss"]) for p in r.values())
        out.append(
            _target(
                "peak RSS of any process (MiB)", peak / MiB, f"< {PEAK_RSS_MAX // MiB}", peak < PEAK_RSS_MAX
            )
        )
    return out


def ceiling_bound(p: dict[str, Any]) -> float:
    """Seconds the run's requests take at the ceiling: (chain pages + stock and VIX requests) ÷ rate."""
    return p["requests"] / p["ceiling_rps"]


FETCH_STEPS = ("ldas__options", "ldas__stocks", "ldas__vix")
DERIVED_STEPS = ("ldas__gex_summary", "ldas__atm_iv", "ldas__iv_rank")


def cli_breakdown(p: dict[str, Any]) -> str:
    """Where the end-to-end seconds go: process start to the run's start, each fetch step, the checks,
    the derived assets, the rest of the run (between steps), the run's end to the exit. The job runs
    in process, one step after the other, so these add up to the wall time."""
    steps = p["steps_s"]
    fetch = " ".join(f"{k.removeprefix('ldas__')} {steps.get(k, 0):.1f}" for k in FETCH_STEPS)
    derived = sum(steps.get(k, 0) for k in DERIVED_STEPS)
    checks = sum(v for k, v in steps.items() if k not in FETCH_STEPS + DERIVED_STEPS)
    between = p["run_s"] - sum(steps.values())
    first = "-" if p["first_request_s"] is None else f"{p['first_request_s']:.1f}"
    return (
        f"start {p['run_start_s']:.1f} (1st request {first}), {fetch}, checks {checks:.1f}, "
        f"derived {derived:.1f}, between steps {between:.1f}, exit {p['after_run_s']:.1f}; "
        f"peak RSS in {str(p['peak_step']).removeprefix('ldas__')}"
    )


def _target(name: str, value: float, goal: str, met: bool) -> dict[str, Any]:
    return {"target": name, "value": round(value, 2), "goal": goal, "met": met}


def print_table(report: dict[str, Any]) -> None:
    c, r = report["config"], report["phases"]
    ceiling = "none" if c["rps"] <= 0 else f"{c['rps']:g} req/s"
    print(
        f"EOD benchmark: {c['symbols']} symbols, session {c['session']}, sim latency {c['latency_ms']:g} ms, "
        f"concurrency {c['concurrency']}, request ceiling {ceiling}, {c['cpus']} CPUs, best of {c['repeat']} "
        f"(load average {c['load_avg_1min'][0]:g} → {c['load_avg_1min'][1]:g})"
    )
    floor = r.get("floor", {}).get("wall_s")
    rows = []
    for phase in PHASES:
        if phase not in r:
            continue
        p = r[phase]
        if phase == "asset":
            rows.append(("ldas/options", p["options_s"], p, f"write {p['write_s']:.1f} s"))
            rows.append(("eod assets", p["wall_s"], p, "vix+stocks+options, dg.materialize"))
        elif phase == "ceiling":
            rows.append(
                ("client@ceil", p["wall_s"], p, f"{c['ceiling_rps']:g} req/s ceiling: ≥ requests ÷ ceiling")
            )
        elif phase in ("cli", "cli-ceiling"):
            note = cli_breakdown(p)
            if phase == "cli-ceiling":
                note = f"{p['ceiling_rps']:g} req/s, requests ÷ rate {ceiling_bound(p):.1f} s; {note}"
            rows.append(("aegis eod" if phase == "cli" else "eod@ceil", p["wall_s"], p, note))
        elif phase == "derived":
            steps = " ".join(f"{k.removeprefix('ldas__')} {v:.2f}" for k, v in p["steps_s"].items())
            rows.append(("derived", p["analytics_s"], p, steps))
        else:
            rows.append((phase, p["wall_s"], p, ""))
    head = (
        f"{'phase':<13}{'wall s':>8}{'requests':>10}{'contracts':>11}{'contr/s':>10}{'CPU s':>8}"
        f"{'sim CPU s':>10}{'peak MiB':>10}{'÷ floor':>9}  note"
    )
    print(head)
    print("-" * len(head))
    for name, wall, p, note in rows:
        contracts = p.get("contracts")
        rate = f"{contracts / wall:,.0f}" if contracts and wall else "-"
        ratio = f"{wall / floor:.2f}" if floor and "contracts" in p else "-"
        print(
            f"{name:<13}{wall:>8.1f}{p.get('requests', '-')!s:>10}{contracts or '-'!s:>11}{rate:>10}"
            f"{p['cpu_s']:>8.1f}{p['sim_cpu_s']:>10.1f}{p['peak_rss'] / MiB:>10.0f}{ratio:>9}  {note}"
        )
    print()
    for t in report["targets"]:
        print(f"{'met ' if t['met'] else 'MISS'}  {t['target']:<32} {t['value']:>9}  (target {t['goal']})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--concurrency", type=int, default=32, help="connections of every phase (production: 32)"
    )
    parser.add_argument(
        "--rps",
        type=float,
        default=0.0,
        help="client request ceiling, 0 = none (production: 90; the floor has none)",
    )
    parser.add_argument(
        "--ceiling-rps",
        type=float,
        default=90.0,
        help="request ceiling of the 'ceiling' phase (production: 90)",
    )
    parser.add_argument(
        "--symbols",
        type=int,
        default=712,
        help="first N symbols of the sim's default universe (beyond 712: made-up tickers)",
    )
    parser.add_argument("--session", default="2026-11-20")
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of floor/client/asset/cli; the best is kept"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    # Internal: run one phase in this process (the parent starts one child per phase).
    parser.add_argument("--child", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_phase(args)
        return 0
    report = measure(args)
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0 if all(t["met"] for t in report["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
