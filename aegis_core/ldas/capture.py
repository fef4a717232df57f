"""When a live-only snapshot may be captured (contract §3), and the capture of one intraday slot.

Polygon has no historical option chains with greeks, IV or open interest: the end-of-day chain of a
session exists only between its close and the next session's open, an intraday snapshot only inside
its 15-minute slot. Outside those windows a capture would archive the wrong moment's data, so it is
refused with the reason. The window holds for the whole fetch, not only its start: a chain whose fetch
does not end inside it (the next open, the slot's end, by the run's clock) fails by name
(``eod_window`` / ``slot_window``, enforced by the client page by page). The simulated market can
produce any moment, deterministically.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aegis_core.archive.store import Archive, WriteReport
from aegis_core.base.clock import Clock
from aegis_core.calendar import NY, SLOT_LENGTH, Session, nyse, slot_key
from aegis_core.polygon import CaptureWindow, PolygonClient


class CaptureWindowError(RuntimeError):
    pass


def _fmt(t: dt.datetime) -> str:
    return t.astimezone(NY).strftime("%Y-%m-%d %H:%M ET")


def eod_capture_time(session: Session, now: dt.datetime, *, live: bool) -> dt.datetime:
    """The capture moment of ``session``'s end-of-day chain: now (live) or the close (simulated)."""
    if not live:
        return session.close
    opens = nyse().next_session(session.date).open
    if not (session.close <= now < opens):
        raise CaptureWindowError(
            f"the end-of-day option chains of {session.key} can be captured only between its close "
            f"({_fmt(session.close)}) and the next open ({_fmt(opens)}); it is {_fmt(now)}. "
            "Polygon keeps no historical chains, so this partition cannot be produced now."
        )
    return now


def eod_window(session: Session, clock: Clock) -> CaptureWindow:
    """The end-of-day capture window of ``session``'s chains: every chain's fetch ends before the next
    open, by ``clock``."""
    opens = nyse().next_session(session.date).open
    return CaptureWindow(opens, clock, f"the capture window of {session.key}'s chains (the next open)")


def slot_window(slot_start: dt.datetime, clock: Clock) -> CaptureWindow:
    """An intraday slot's window: every chain's fetch ends inside the slot's 15 minutes, by ``clock``."""
    return CaptureWindow(
        slot_start + SLOT_LENGTH, clock, f"the 15-minute window of slot {slot_key(slot_start)}"
    )


def slot_capture_time(slot_start: dt.datetime, now: dt.datetime, *, live: bool) -> dt.datetime:
    """The capture moment of an intraday slot: now inside the slot (live) or the slot start (simulated)."""
    if not live:
        return slot_start
    end = slot_start + SLOT_LENGTH
    if not (slot_start <= now < end):
        raise CaptureWindowError(
            f"the intraday slot {_fmt(slot_start)} can be captured only inside its own 15-minute window "
            f"(until {_fmt(end)}); it is {_fmt(now)}. Polygon keeps no historical chains."
        )
    return now


class NoChainsError(RuntimeError):
    """Not one chain of the slot could be fetched: nothing to archive."""


@dataclass
class SlotCapture:
    """What one slot's capture did: the archive write, the chains that failed, the request figures."""

    slot: dt.datetime
    captured_at: dt.datetime
    symbols: int
    report: WriteReport
    failures: dict[str, str]
    stats: dict[str, Any]
    fetch_s: float
    write_s: float

    def figures(self) -> dict[str, Any]:
        """Plain figures for the run's metadata (counts, seconds, bytes)."""
        total = self.fetch_s + self.write_s
        return {
            "dagster/row_count": self.report.rows,
            "symbols_covered": f"{len(self.report.files)}/{self.symbols}",
            "captured_at": self.captured_at.astimezone(NY).isoformat(),
            "capture_delay_s": round((self.captured_at - self.slot).total_seconds(), 1),
            "duration_s": round(total, 2),
            "fetch_s": round(self.fetch_s, 2),
            "write_s": round(self.write_s, 2),
            "requests": self.stats["requests"],
            "retries": self.stats["retries"],
            "pages": self.stats["pages"],
            "bytes_received": self.stats["bytes_received"],
            "contracts_per_s": round(self.report.rows / max(total, 1e-9)),
            "files": len(self.report.files),
            "files_replaced": self.report.replaced,
            "bytes": self.report.bytes,
            "lake_version": self.report.lake_version,
        }


Fetch = Callable[[dt.datetime, Callable[[PolygonClient], Awaitable[Any]]], tuple[Any, dict[str, Any]]]
"""Runs a client call as of a moment and returns its result and the request figures."""


def capture_slot(
    fetch: Fetch,
    archive: Archive,
    symbols: list[str],
    slot: dt.datetime,
    captured_at: dt.datetime,
    on_progress: Callable[[int, int, str], None] | None = None,
    window: CaptureWindow | None = None,
) -> SlotCapture:
    """Fetch every symbol's chain as of ``captured_at`` and archive them as ``slot``'s snapshots.

    Chains that fail are reported, not fatal; when none could be fetched, ``NoChainsError`` names the
    first failures and nothing is written. With ``window`` (live), a chain whose fetch runs past the
    slot's end fails by name.
    """
    started = time.perf_counter()
    # Each chain is written to its file as it arrives; the slot is never held in memory whole.
    with archive.intraday_files(slot, captured_at, symbols, own_process=True) as files:
        batch, stats = fetch(
            captured_at,
            lambda c: c.option_chains(
                symbols, captured_at, on_progress=on_progress, on_chain=files.add, window=window
            ),
        )
        fetched = time.perf_counter()
        if not files.symbols:
            failed = "; ".join(f"{s}: {r}" for s, r in list(batch.failures.items())[:10])
            raise NoChainsError(f"no option chain could be fetched for slot {slot_key(slot)}: {failed}")
        report = archive.finish_intraday(files.close(), slot)
    return SlotCapture(
        slot,
        captured_at,
        len(symbols),
        report,
        dict(batch.failures),
        stats,
        fetched - started,
        time.perf_counter() - fetched,
    )
