"""``aegis eod``: materialize the end-of-day job for one session on the local Dagster instance."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from aegis_assets.partitions import SESSION_ANCHOR
from aegis_core.archive.guard import ArchiveKindError, LakeSchemaError, preflight
from aegis_core.archive.lake import Lake
from aegis_core.archive.universe import UniverseError, load_universe, select_symbols
from aegis_core.base.clock import wall_clock
from aegis_core.base.settings import SettingsError, load_settings
from aegis_core.base.store_errors import StoreError
from aegis_core.calendar import NY, CalendarRangeError, NotASessionError, Session, nyse, parse_session_date
from aegis_pipelines.cli.local_run import ensure_dagster_home, run_partition


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eod", help="run the end-of-day archive for one NYSE session")
    p.add_argument("--date", help="session date YYYY-MM-DD (default: the latest completed session)")
    p.add_argument("--symbols", help="comma-separated subset of the universe (default: all)")
    p.set_defaults(func=run)


def _partition_opens(session: Session) -> dt.datetime:
    """When the session's partition comes into existence: 16:00 New York (aegis_assets/partitions.py)."""
    return dt.datetime.combine(session.date, SESSION_ANCHOR, tzinfo=NY)


def resolve_session(text: str | None, now: dt.datetime) -> str:
    """The session key to run; an unknown, future or non-session date is refused with the reason.
    The default is the latest session whose partition exists (between a 13:00 early close and
    16:00, the session before it)."""
    cal = nyse()
    if text is None:
        session = cal.latest_completed_session(now)
        if _partition_opens(session) > now:
            session = cal.previous_session(session.date)
        return session.key
    day = parse_session_date(text)
    try:
        session = cal.require_session(day)
    except NotASessionError as exc:
        raise ValueError(f"{exc}; the previous session is {cal.previous_session(day).key}") from None
    if session.close > now:
        raise ValueError(f"the session {day} has not closed yet (close {session.close:%H:%M} ET)")
    if _partition_opens(session) > now:
        raise ValueError(
            f"the session {day} closed early at {session.close:%H:%M} ET; its partition exists from "
            f"{SESSION_ANCHOR:%H:%M} ET"
        )
    return session.key


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        symbols = select_symbols(load_universe(settings.universe_file), args.symbols)
        key = resolve_session(args.date, wall_clock().astimezone(NY))
        # The stores' guard, once, before the run fetches anything (one line, not one per asset); it
        # writes nothing, so it goes first: a store that must not be written is named whatever the home.
        lake = Lake(settings.lake_root, settings.lake_storage_options)
        preflight(Path(settings.archive_root), lake, settings.source)
        home = ensure_dagster_home()
    except (
        SettingsError,
        UniverseError,
        ValueError,
        CalendarRangeError,
        ArchiveKindError,
        LakeSchemaError,
        StoreError,
    ) as exc:
        print(f"aegis eod: {exc}", file=sys.stderr)
        return 2

    header = (
        f"aegis eod: session {key}, {len(symbols)} symbols, source {settings.source}, DAGSTER_HOME {home}"
    )
    return run_partition(
        settings, "ldas_eod_job", key, symbols if args.symbols else None, command="eod", header=header
    )
