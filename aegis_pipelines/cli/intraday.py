"""``aegis intraday``: capture one intraday slot's option-chain snapshots on the local Dagster instance."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from aegis_core.archive.universe import UniverseError, load_universe, select_symbols
from aegis_core.base.clock import wall_clock
from aegis_core.base.settings import SettingsError, load_settings
from aegis_core.calendar import NY, SLOT_LENGTH, CalendarRangeError, nyse, parse_slot_key, slot_key
from aegis_core.ldas.capture import CaptureWindowError, slot_capture_time
from aegis_pipelines.cli.local_run import ensure_dagster_home, run_partition


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("intraday", help="capture one intraday slot's option-chain snapshots")
    p.add_argument("--slot", help="slot start YYYY-MM-DD-HH:MM in New York time (default: the slot open now)")
    p.add_argument("--symbols", help="comma-separated subset of the universe (default: all)")
    p.set_defaults(func=run)


def resolve_slot(text: str | None, now: dt.datetime, *, live: bool = False) -> str:
    """The slot key to run; a malformed, non-slot or future slot is refused with the reason, and so
    is a ``live`` slot whose window has closed (Polygon keeps no historical chains)."""
    if text is None:
        session = nyse().session(now.astimezone(NY).date())
        open_now = [s for s in (session.slots if session else []) if s <= now < s + SLOT_LENGTH]
        if not open_now:
            raise ValueError(
                f"no intraday slot is open at {now.astimezone(NY):%Y-%m-%d %H:%M} ET; "
                "pass --slot YYYY-MM-DD-HH:MM"
            )
        return slot_key(open_now[0])
    start = parse_slot_key(text)
    nyse().slot(start)  # raises with the session's slot range
    if start > now:
        raise ValueError(
            f"the slot {text} has not started yet (it is {now.astimezone(NY):%Y-%m-%d %H:%M} ET)"
        )
    try:
        slot_capture_time(start, now, live=live)
    except CaptureWindowError as exc:
        raise ValueError(f"--slot {text}: {exc}") from None
    return slot_key(start)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        symbols = select_symbols(load_universe(settings.universe_file), args.symbols)
        key = resolve_slot(args.slot, wall_clock().astimezone(NY), live=not settings.is_simulated)
        home = ensure_dagster_home()
    except (SettingsError, UniverseError, ValueError, CalendarRangeError) as exc:
        print(f"aegis intraday: {exc}", file=sys.stderr)
        return 2

    header = f"aegis intraday: slot {key}, {len(symbols)} symbols, source {settings.source}, home {home}"
    return run_partition(
        settings,
        "ldas_intraday_job",
        key,
        symbols if args.symbols else None,
        command="intraday",
        header=header,
    )
