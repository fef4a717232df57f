"""When a live-only snapshot may be captured (SPEC §3).

Polygon has no historical option chains with greeks, IV or open interest: the end-of-day chain of a
session exists only between its close and the next session's open, an intraday snapshot only inside
its 15-minute slot. Outside those windows a capture would archive the wrong moment's data, so it is
refused with the reason. The simulated market can produce any moment, deterministically.
"""

from __future__ import annotations

import datetime as dt

from aegis_core.calendar import NY, SLOT_LENGTH, Session, nyse


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
