"""Fault drills of the end-of-day run: a misbehaving source, a killed run, a looping cursor, a refused key.

Each drill materializes the real end-of-day assets (``ldas/vix``, ``ldas/stocks``, ``ldas/options``) with
the real Polygon client against the simulated server, on a persistent Dagster instance shared by all
drills, and returns a ``DrillResult`` (what was expected, what happened, the figures). The test suite
runs them on three symbols (``tests/drills``); ``benchmarks/drills.py`` runs them on the whole 712-symbol
universe:

    uv run python benchmarks/drills.py [--symbols 712] [--coverage-threshold 1.0] [--keep DIR]

1. source faults: 10 % 5xx, 5 % 429 with Retry-After, occasional stalls and cut bodies — every symbol
   is archived and the files are byte-identical to a fault-free run;
2. SIGKILL mid-write: the run is killed while it writes the chain files — no partial file is visible,
   a re-run completes and yields the same archive (files and lake rows);
3. repeated cursor: the source loops on one symbol's ``next_url`` — that symbol fails by name, the others
   complete, the universe-coverage check fails;
4. 401 (wrong key) and 403 (not entitled): the run stops within seconds with the source's message,
   having sent a handful of requests, not one per symbol;
5. live window: the production market resource (``source="polygon"``, no subclass) against the
   simulated server through the fault mix, with the ``clock`` resource moved to 30 minutes after the
   session's close — the chains are captured at that moment; with the clock moved past the next open
   the run refuses before asking the source for a chain, and archives none;
6. secrets: afterwards no key value appears in any file under the Dagster home (event log, run storage,
   captured Python logs, the killed child's output).

Exit status 0 when every drill passes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
KEY_VAR = "AEGIS_DRILL_POLYGON_KEY"
WRONG_KEY_VAR = "AEGIS_DRILL_WRONG_KEY"
SESSION = "2026-11-20"
FETCH_ASSETS = ("vix", "stocks", "options")
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # failures are expected

# The fault mix at full scale; "occasional" stalls and cut bodies.
FULL_SCALE_FAULTS: dict[str, float] = {
    "rate_5xx": 0.10,
    "rate_429": 0.05,
    "rate_stall": 0.005,
    "rate_truncate": 0.01,
}


@dataclass
class DrillSetup:
    """Where and how the drills run. ``source="process"`` serves the market from ``aegis sim serve``
    (its default 712-symbol universe); ``"thread"`` from a ``SimServer`` thread over ``symbols``."""

    work: Path
    symbols: list[str]
    key: str
    wrong_key: str
    session: str = SESSION
    source: str = "thread"
    concurrency: int = 32
    timeout_s: float = 5.0
    max_retries: int = 10
    backoff_base_s: float = 0.5
    retry_after_s: float = 1.0
    stall_s: float = 10.0
    faults: dict[str, float] = field(default_factory=lambda: dict(FULL_SCALE_FAULTS))
    fault_seed: int = 7
    coverage_threshold: float = 1.0

    @property
    def home(self) -> Path:
        """The Dagster home every drill run records into (and the secrets drill scans)."""
        return self.work / "dagster_home"

    @property
    def universe_file(self) -> Path:
        return self.work / "universe.txt"

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        (self.home / "logs").mkdir(exist_ok=True)
        self.universe_file.write_text("\n".join(self.symbols) + "\n")

    @property
    def environment(self) -> dict[str, str]:
        """The variables the runs read their keys from (``dg.EnvVar``); set them before ``run_all``."""
        return {KEY_VAR: self.key, WRONG_KEY_VAR: self.wrong_key}


@dataclass
class DrillResult:
    name: str
    passed: bool
    summary: str
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)


# --- the simulated source ------------------------------------------------------------------------------


@dataclass
class Source:
    url: str
    requests: Callable[[], int | None]  # requests served so far (None when not observable)


@contextmanager
def serve(
    setup: DrillSetup, faults: Any, *, thread: bool = False, as_of: dt.datetime | None = None
) -> Iterator[Source]:
    """The simulated Polygon API with ``faults`` (an ``aegis_core.sim.Faults``), requiring ``setup.key``.
    ``as_of`` is the server's "now" (a thread server only); by default the wall clock."""
    if setup.source == "process" and not thread and as_of is None and faults.force_status is None:
        from tests.drills.sim_process import sim_server

        extra = [
            "--seed", str(setup.fault_seed), "--fault-429", f"{faults.rate_429:g}",
            "--retry-after-s", f"{faults.retry_after_s:g}", "--fault-5xx", f"{faults.rate_5xx:g}",
            "--fault-stall", f"{faults.rate_stall:g}", "--stall-s", f"{faults.stall_s:g}",
            "--fault-truncate", f"{faults.rate_truncate:g}",
            "--repeat-cursor", ",".join(faults.repeat_cursor_symbols),
        ]  # fmt: skip
        with sim_server(0, KEY_VAR, extra, env={**os.environ, KEY_VAR: setup.key}) as sim:
            yield Source(sim.url, lambda: None)
        return
    from aegis_core.sim import SimMarket, SimServer

    market = SimMarket(setup.fault_seed, setup.symbols)
    with SimServer(market, api_key=setup.key, faults=faults, as_of=as_of) as server:
        yield Source(server.url, lambda: server.stats.total)


def fault_mix(setup: DrillSetup) -> Any:
    from aegis_core.sim import Faults

    return Faults(
        retry_after_s=setup.retry_after_s, stall_s=setup.stall_s, seed=setup.fault_seed, **setup.faults
    )


# --- one end-of-day run --------------------------------------------------------------------------------


def resources(
    setup: DrillSetup, url: str, target: Path, key_var: str = KEY_VAR, live_at: dt.datetime | None = None
) -> dict[str, Any]:
    """The run's resources. With ``live_at``: the production market resource on the live path
    (``source="polygon"``) and the ``clock`` resource standing at ``live_at``; without it: the simulated
    source (chains captured at the close) and the wall clock."""
    import dagster as dg

    from aegis_assets.clock import CLOCK_KEY
    from aegis_assets.resources import ArchiveResource, MarketDataResource, QualityResource
    from aegis_core.base.clock import fixed_clock, wall_clock
    from tests.drills.external_sim import ExternalSimMarket

    market_class, source = (ExternalSimMarket, "sim") if live_at is None else (MarketDataResource, "polygon")
    return {
        "market": market_class(
            source=source,
            universe_file=str(setup.universe_file),
            base_url=url,
            api_key=dg.EnvVar(key_var),
            max_concurrency=setup.concurrency,
            max_requests_per_second=0,
            timeout_s=setup.timeout_s,
            max_retries=setup.max_retries,
            backoff_base_s=setup.backoff_base_s,
        ),
        "archive": ArchiveResource(
            archive_root=str(target / "archive"), lake_root=str(target / "lake"), source=source
        ),
        CLOCK_KEY: wall_clock if live_at is None else fixed_clock(live_at),
        "quality": QualityResource(
            universe_file=str(setup.universe_file), coverage_threshold=setup.coverage_threshold
        ),
    }


def fetch_checks() -> list[Any]:
    """The quality checks of the end-of-day fetch assets (schema contract, universe coverage)."""
    from aegis_assets.ldas.checks import quality_checks
    from aegis_assets.partitions import session_partitions

    return [
        c
        for c in quality_checks(session_partitions())
        if {k.asset_key.path[-1] for k in c.check_keys} <= set(FETCH_ASSETS)
    ]


@contextmanager
def captured_logs(setup: DrillSetup, name: str) -> Iterator[Path]:
    """Every Python log record (INFO and up) of the block, in a file under the Dagster home."""
    path = setup.home / "logs" / f"{name}.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def materialize_eod(
    setup: DrillSetup,
    url: str,
    target: Path,
    *,
    checks: bool = False,
    key_var: str = KEY_VAR,
    live_at: dt.datetime | None = None,
    log_name: str,
):
    """``ldas/vix``, ``ldas/stocks``, ``ldas/options`` (and their checks) for the session into ``target``
    (on the live path with the clock at ``live_at`` when given)."""
    import dagster as dg

    from aegis_assets.ldas.eod import fetch_assets
    from aegis_assets.partitions import session_partitions

    assets: list[Any] = [*fetch_assets(session_partitions()), *(fetch_checks() if checks else [])]
    with captured_logs(setup, log_name), dg.DagsterInstance.from_config(str(setup.home)) as instance:
        return dg.materialize(
            assets,
            partition_key=setup.session,
            resources=resources(setup, url, target, key_var, live_at),
            instance=instance,
            raise_on_error=False,
            run_config=QUIET,
        )


def options_metadata(result) -> dict[str, Any]:
    mats = result.asset_materializations_for_node("ldas__options")
    return {k: getattr(v, "value", v) for k, v in mats[0].metadata.items()} if mats else {}


def failure_messages(result) -> list[str]:
    """Each failed step's error with its causes, on one line (what the UI shows for the step)."""
    out = []
    for event in result.all_events:
        if event.is_step_failure:
            error, chain = event.event_specific_data.error, []
            while error is not None:
                chain.append(" ".join(error.message.split()))
                error = error.cause
            out.append(" <- ".join(chain))
    return out


def archive_digest(target: Path) -> dict[str, str]:
    """sha256 of every visible parquet file of the archive under ``target``, by relative path."""
    root = target / "archive"
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
        if not p.name.startswith(".")
    }


def temp_files(target: Path) -> list[Path]:
    return sorted((target / "archive").rglob(".*.tmp"))


# --- the drills ------------------------------------------------------------------------------------------


def drill_source_faults(setup: DrillSetup) -> tuple[DrillResult, dict[str, str]]:
    """A fault-free run and a run through the fault mix: both complete, the files are identical.
    Returns the fault-free archive's digest too (the reference of the SIGKILL drill)."""
    from aegis_core.sim import Faults

    started = time.perf_counter()
    with serve(setup, Faults()) as source:
        clean = materialize_eod(setup, source.url, setup.work / "clean", log_name="faults-clean")
    reference = archive_digest(setup.work / "clean")
    faults = fault_mix(setup)
    with serve(setup, faults) as source:
        faulty_started = time.perf_counter()
        faulty = materialize_eod(setup, source.url, setup.work / "faulty", log_name="faults-faulty")
        faulty_s = time.perf_counter() - faulty_started
    meta = options_metadata(faulty)
    n = len(setup.symbols)
    identical = archive_digest(setup.work / "faulty") == reference
    facts = {
        "clean_success": clean.success,
        "faulty_success": faulty.success,
        "faulty_run_s": round(faulty_s, 1),
        "symbols_covered": meta.get("symbols_covered"),
        "symbols_failed": meta.get("symbols_failed"),
        "requests": meta.get("requests"),
        "retries": meta.get("retries"),
        "retries_by_reason": meta.get("retries_by_reason"),
        "files_compared": len(reference),
        "identical": identical,
        "faults": {
            k: v for k, v in vars(faults).items() if v and k.startswith(("rate_", "retry_after", "stall"))
        },
    }
    passed = (
        clean.success
        and faulty.success
        and meta.get("symbols_covered") == f"{n}/{n}"
        and meta.get("symbols_failed") == "none"
        and (meta.get("retries") or 0) > 0
        and identical
    )
    summary = (
        f"{meta.get('symbols_covered')} symbols archived through {meta.get('retries')} retries "
        f"{meta.get('retries_by_reason')}; {len(reference)} files {'identical' if identical else 'DIFFER'}"
    )
    return DrillResult("source faults", passed, summary, time.perf_counter() - started, facts), reference


def drill_kill_mid_write(setup: DrillSetup, reference: dict[str, str]) -> DrillResult:
    """SIGKILL the run (a child process) while it writes the chain files; check; re-run; compare."""
    from aegis_core.sim import Faults

    started = time.perf_counter()
    target = setup.work / "killed"
    kill_after = max(1, len(setup.symbols) // 2)
    log = setup.home / "logs" / "killed-child.log"
    with serve(setup, Faults()) as source:
        cmd = [
            sys.executable, "-m", "tests.drills.harness", "--child-eod", str(target), "--url", source.url,
            "--work", str(setup.work), "--kill-after-files", str(kill_after),
        ]  # fmt: skip
        with log.open("w") as out:
            child = subprocess.run(  # its own process group: the drill kills the run whole
                cmd,
                cwd=PROJECT,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=900,
                env=os.environ.copy(),
                start_new_session=True,
            )
        visible = archive_digest(target)
        temps = temp_files(target)
        chains = {p: d for p, d in visible.items() if p.startswith("options/")}
        unreadable = [p for p in visible if not _readable(target / "archive" / p)]
        differing = [p for p, d in visible.items() if reference.get(p) != d]
        rerun = materialize_eod(setup, source.url, target, log_name="killed-rerun")
    after = archive_digest(target)
    lake_rows = _lake_options_rows(setup, target)
    expected_rows = _lake_options_rows(setup, setup.work / "clean")
    facts = {
        "child_exit": child.returncode,
        "killed_after_files": kill_after,
        "visible_chain_files_after_kill": len(chains),
        "hidden_temp_files_after_kill": len(temps),
        "unreadable_visible_files": unreadable,
        "visible_files_differing": differing,
        "rerun_success": rerun.success,
        "rerun_identical": after == reference,
        "temp_files_after_rerun": len(temp_files(target)),
        "lake_options_rows": lake_rows,
        "expected_lake_rows": expected_rows,
    }
    passed = (
        child.returncode == -signal.SIGKILL
        and 0 < len(chains) < len(setup.symbols)
        and not unreadable
        and not differing
        and rerun.success
        and after == reference
        and not temp_files(target)
        and lake_rows == expected_rows
    )
    complete = "complete" if not unreadable and not differing else "NOT complete"
    summary = (
        f"killed (exit {child.returncode}) with {len(chains)}/{len(setup.symbols)} chain files visible, all "
        f"{complete}, {len(temps)} hidden temporaries; "
        f"re-run {'identical' if after == reference else 'DIFFERS'}, lake rows {lake_rows}/{expected_rows}"
    )
    return DrillResult("SIGKILL mid-write", passed, summary, time.perf_counter() - started, facts)


def drill_repeat_cursor(setup: DrillSetup, symbol: str) -> DrillResult:
    """The source repeats ``symbol``'s cursor forever: it fails by name, the rest complete, coverage fails."""
    from aegis_core.archive import layout
    from aegis_core.calendar import parse_session_date
    from aegis_core.sim import Faults

    started = time.perf_counter()
    target = setup.work / "cursor"
    with serve(setup, Faults(repeat_cursor_symbols=frozenset({symbol}))) as source:
        result = materialize_eod(setup, source.url, target, checks=True, log_name="repeat-cursor")
    meta = options_metadata(result)
    failed = meta.get("symbols_failed") if isinstance(meta.get("symbols_failed"), dict) else {}
    day = parse_session_date(setup.session)
    others = [s for s in setup.symbols if s != symbol]
    missing_others = [s for s in others if not layout.options_file(target / "archive", s, day).is_file()]
    coverage = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "universe_coverage" and e.asset_key.path[-1] == "options"
    ]
    cov = coverage[0] if coverage else None
    facts = {
        "run_success": result.success,
        "symbols_failed": failed,
        "others_missing": missing_others,
        "coverage_passed": cov.passed if cov else None,
        "coverage": cov.description if cov else None,
        "coverage_threshold": setup.coverage_threshold,
    }
    named = symbol in failed and "cursor" in failed[symbol]
    passed = named and set(failed) == {symbol} and not missing_others and cov is not None and not cov.passed
    summary = (
        f"{symbol}: {failed.get(symbol, 'NOT reported')}; {len(others) - len(missing_others)}/{len(others)} "
        f"others archived; coverage check {'failed' if cov and not cov.passed else 'PASSED'}: "
        f"{cov.description if cov else 'not evaluated'}"
    )
    return DrillResult("repeated cursor", passed, summary, time.perf_counter() - started, facts)


def drill_auth(setup: DrillSetup, status: int) -> DrillResult:
    """401 (a wrong key) or 403 (the key is not entitled): the run stops at once with the source's message."""
    from aegis_core.sim import Faults

    started = time.perf_counter()
    faults = Faults(force_status=403) if status == 403 else Faults()
    key_var = WRONG_KEY_VAR if status == 401 else KEY_VAR
    source_message = "Unknown API Key" if status == 401 else "not entitled"
    with serve(setup, faults, thread=True) as source:  # a thread: it counts the requests it answered
        run_started = time.perf_counter()
        result = materialize_eod(
            setup, source.url, setup.work / f"auth{status}", key_var=key_var, log_name=f"auth{status}"
        )
        run_s = time.perf_counter() - run_started
        requests = source.requests()
    messages = failure_messages(result)
    # At most one wave of concurrent requests per asset before the first answer trips the client.
    budget = setup.concurrency + 2
    facts = {
        "run_success": result.success,
        "run_s": round(run_s, 2),
        "requests_sent": requests,
        "request_budget": budget,
        "universe": len(setup.symbols),
        "failures": messages,
    }
    with_message = bool(messages) and all(f"HTTP {status}" in m and source_message in m for m in messages)
    passed = (
        not result.success and with_message and requests is not None and requests <= budget and run_s < 30
    )
    summary = (
        f"run failed in {run_s:.1f} s after {requests} requests (universe {len(setup.symbols)}): "
        f"{messages[0] if messages else 'no step failure'}"
    )
    return DrillResult(f"HTTP {status}", passed, summary, time.perf_counter() - started, facts)


def drill_live_window(setup: DrillSetup) -> DrillResult:
    """The live path through the production market resource and a moved clock: inside the end-of-day
    window the chains are captured at the clock's moment; past the next open the run refuses."""
    from aegis_core.calendar import nyse

    started = time.perf_counter()
    session = nyse().require_session(dt.date.fromisoformat(setup.session))
    inside = session.close + dt.timedelta(minutes=30)
    after_open = nyse().next_session(session.date).open + dt.timedelta(minutes=30)
    with serve(setup, fault_mix(setup), thread=True, as_of=inside) as source:
        live = materialize_eod(setup, source.url, setup.work / "live", live_at=inside, log_name="live-inside")
    with serve(setup, fault_mix(setup), thread=True, as_of=after_open) as source:
        late = materialize_eod(
            setup, source.url, setup.work / "live-late", live_at=after_open, log_name="live-late"
        )
        late_requests = source.requests()
    meta, n = options_metadata(live), len(setup.symbols)
    refusals = failure_messages(late)
    late_chains = sorted((setup.work / "live-late/archive").glob("options/*/*.parquet"))
    facts = {
        "inside_success": live.success,
        "inside_clock": inside.isoformat(),
        "captured_at": meta.get("captured_at"),
        "symbols_covered": meta.get("symbols_covered"),
        "retries": meta.get("retries"),
        "late_success": late.success,
        "late_clock": after_open.isoformat(),
        "late_failures": refusals,
        "late_requests": late_requests,
        "late_chain_files": [p.name for p in late_chains],
    }
    captured_ok = meta.get("captured_at") == inside.isoformat()
    refused = any("can be captured only between its close" in m for m in refusals)
    passed = (
        live.success
        and captured_ok
        and meta.get("symbols_covered") == f"{n}/{n}"
        and not late.success
        and refused
        and not late_chains
    )
    summary = (
        f"inside the window: {meta.get('symbols_covered')} chains captured at {meta.get('captured_at')}; "
        f"after the next open: {'refused' if refused else 'NOT refused'} ({refusals[:1]})"
    )
    return DrillResult("live window", passed, summary, time.perf_counter() - started, facts)


def drill_secrets(setup: DrillSetup) -> DrillResult:
    """No key value in any file under the Dagster home, after every other drill."""
    started = time.perf_counter()
    secrets = {KEY_VAR: setup.key, WRONG_KEY_VAR: setup.wrong_key}
    files = [p for p in setup.home.rglob("*") if p.is_file()]
    hits = [
        f"{p.relative_to(setup.home)}: {name}"
        for p in files
        for name, value in secrets.items()
        if value.encode() in p.read_bytes()
    ]
    logs = sorted((setup.home / "logs").iterdir())
    log_text = b"".join(p.read_bytes() for p in logs)
    facts = {"files_scanned": len(files), "bytes_scanned": sum(p.stat().st_size for p in files), "hits": hits}
    facts |= {
        "logs": [p.name for p in logs],
        "log_bytes": len(log_text),
        "retry_lines": log_text.count(b"retrying"),
    }
    log_bytes = len(log_text)
    passed = not hits and len(files) > 0 and log_bytes > 0
    summary = f"{len(files)} files ({facts['bytes_scanned']:,} bytes) scanned, {len(hits)} with a key value"
    return DrillResult("secrets", passed, summary, time.perf_counter() - started, facts)


def run_all(setup: DrillSetup, cursor_symbol: str) -> list[DrillResult]:
    setup.prepare()
    faults, reference = drill_source_faults(setup)
    results = [faults, drill_kill_mid_write(setup, reference), drill_repeat_cursor(setup, cursor_symbol)]
    results += [drill_auth(setup, 401), drill_auth(setup, 403), drill_live_window(setup)]
    results.append(drill_secrets(setup))
    return results


# --- helpers -----------------------------------------------------------------------------------------------


def _readable(path: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_table(path)
    except Exception:
        return False
    return True


def _lake_options_rows(setup: DrillSetup, target: Path) -> int | None:
    from aegis_core.archive.lake import Lake
    from aegis_core.calendar import parse_session_date

    day = parse_session_date(setup.session)
    frame = Lake(str(target / "lake")).read_sessions("options", day, day, ["ticker"])
    return None if frame is None else frame.height


class _KillingOs:
    """``os`` for ``aegis_core.base.atomic`` (the archive's file writer) whose ``replace`` SIGKILLs the whole
    run after the ``limit``-th chain file lands: the other writer threads are then mid-file. The files
    are written by the run's writer process; the run leads its own process group, which is killed
    whole, as ``kill -9 -PGID``, the OOM killer of a container or ``docker kill`` would."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._landed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def replace(self, src: Any, dst: Any) -> None:
        os.replace(src, dst)
        if "/options/" in str(dst):
            self._landed += 1
            if self._landed >= self._limit:
                run_group = os.getpgid(0) == os.getppid()  # the writer, in the group its run leads
                os.killpg(os.getpgid(0), signal.SIGKILL) if run_group else os.kill(
                    os.getpid(), signal.SIGKILL
                )


def arm_kill_after_files(limit: int) -> None:
    """Make this process's archive writes SIGKILL the run after ``limit`` chain files (the drill)."""
    import aegis_core.base.atomic as atomic

    atomic.os = _KillingOs(limit)  # type: ignore[assignment]


def _child_eod(args: argparse.Namespace) -> int:
    """The run the SIGKILL drill kills (a separate process; its setup comes from the parent's files)."""
    setup = DrillSetup(work=Path(args.work), symbols=[], key=os.environ[KEY_VAR], wrong_key="")
    setup.symbols = setup.universe_file.read_text().split()
    # The chain files are written by the run's writer process: it arms the kill (kill_hook/).
    hook = Path(__file__).with_name("kill_hook")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(hook), str(PROJECT)])
    os.environ["AEGIS_DRILL_KILL_AFTER_FILES"] = str(args.kill_after_files)
    result = materialize_eod(setup, args.url, Path(args.child_eod), log_name="killed-child-python")
    return 0 if result.success else 1


def print_results(results: list[DrillResult]) -> None:
    for r in results:
        print(f"{'pass' if r.passed else 'FAIL'}  {r.name:<18} {r.seconds:6.1f} s  {r.summary}")


def main() -> int:
    import secrets as secrets_module
    import warnings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--symbols", type=int, default=712, help="first N symbols of the sim's default universe"
    )
    parser.add_argument("--cursor-symbol", default="SPY", help="the symbol whose cursor the source repeats")
    parser.add_argument(
        "--coverage-threshold", type=float, default=1.0, help="of the coverage check (the profile default)"
    )
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    parser.add_argument("--child-eod", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--kill-after-files", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.child_eod:
        return _child_eod(args)

    from aegis_core.sim import default_universe

    with tempfile.TemporaryDirectory(prefix="aegis-drills-") as tmp:
        work = args.keep or Path(tmp)
        setup = DrillSetup(
            work=work,
            symbols=list(default_universe()[: args.symbols]),
            key=secrets_module.token_hex(16),
            wrong_key=secrets_module.token_hex(16),
            source="process",
            coverage_threshold=args.coverage_threshold,
        )
        print(f"drills: {args.symbols} symbols, session {setup.session}, work {work}", flush=True)
        os.environ.update(setup.environment)
        results = run_all(setup, args.cursor_symbol)
    print_results(results)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
