"""``aegis eod``: materialize the end-of-day job for one session on the local Dagster instance."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from aegis_core.calendar import NY, CalendarRangeError, nyse, parse_session_date
from aegis_core.settings import SettingsError, load_settings
from aegis_core.universe import UniverseError, load_universe, select_symbols


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eod", help="run the end-of-day archive for one NYSE session")
    p.add_argument("--date", help="session date YYYY-MM-DD (default: the latest completed session)")
    p.add_argument("--symbols", help="comma-separated subset of the universe (default: all)")
    p.set_defaults(func=run)


def resolve_session(text: str | None, now: dt.datetime) -> str:
    """The session key to run; an unknown, future or non-session date is refused with the reason."""
    cal = nyse()
    if text is None:
        return cal.latest_completed_session(now).key
    day = parse_session_date(text)
    session = cal.session(day)
    if session is None:
        raise ValueError(
            f"{day} is not an NYSE session (weekend or holiday); "
            f"the previous session is {cal.previous_session(day).key}"
        )
    if session.close > now:
        raise ValueError(f"the session {day} has not closed yet (close {session.close:%H:%M} ET)")
    return session.key


def ensure_dagster_home() -> Path:
    """``DAGSTER_HOME``, defaulting to the project folder (the one holding dagster.yaml)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        if not Path("dagster.yaml").is_file():
            raise ValueError(
                "DAGSTER_HOME is not set and there is no dagster.yaml here; run from the project root"
            )
        home = str(Path.cwd())
        os.environ["DAGSTER_HOME"] = home
    return Path(home)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        symbols = select_symbols(load_universe(settings.universe_file), args.symbols)
        key = resolve_session(args.date, dt.datetime.now(NY))
        home = ensure_dagster_home()
    except (SettingsError, UniverseError, ValueError, CalendarRangeError) as exc:
        print(f"aegis eod: {exc}", file=sys.stderr)
        return 2

    import dagster as dg

    from aegis_assets.runs import SYMBOLS_TAG
    from aegis_pipelines.definitions import build_definitions

    print(f"aegis eod: session {key}, {len(symbols)} symbols, source {settings.source}, DAGSTER_HOME {home}")
    job = build_definitions(settings).resolve_job_def("ldas_eod_job")
    tags = {"aegis/trigger": "cli"}
    if args.symbols:
        tags[SYMBOLS_TAG] = ",".join(symbols)
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            partition_key=key,
            instance=instance,
            tags=tags,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    print_summary(result, settings, time.perf_counter() - started)
    return 0 if result.success else 1


def print_summary(result, settings, seconds: float) -> None:
    print()
    print(f"{'artefact':<22}{'files':>7}{'rows':>11}{'symbols':>11}{'seconds':>9}")
    order = ["ldas/vix", "ldas/stocks", "ldas/options", "ldas/gex_summary", "ldas/atm_iv", "ldas/iv_rank"]
    events = sorted(
        result.get_asset_materialization_events(),
        key=lambda e: order.index(k) if (k := e.asset_key.to_user_string()) in order else 99,
    )
    for event in events:
        meta = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
        files, rows = meta.get("files", "-"), meta.get("dagster/row_count", "-")
        covered, seconds = (
            meta.get("symbols_covered", "-"),
            meta.get("duration_s", meta.get("write_seconds", "-")),
        )
        print(f"{event.asset_key.to_user_string():<22}{files!s:>7}{rows!s:>11}{covered!s:>11}{seconds!s:>9}")
        failed = meta.get("symbols_failed")
        if isinstance(failed, dict) and failed:
            print(f"  failed: {', '.join(f'{s} ({r})' for s, r in list(failed.items())[:10])}")
    status = "SUCCESS" if result.success else "FAILURE"
    print(f"\n{status} in {seconds:.1f}s — run {result.run_id}")
    print(f"archive: {Path(settings.archive_root).resolve()}   lake: {settings.lake_root}")
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(
                    f"step {event.step_key} failed: {event.event_specific_data.error.message.strip()}",
                    file=sys.stderr,
                )
