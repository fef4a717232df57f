"""Dagster partitions on the NYSE calendar: one key per session, one per intraday slot.

A session partition is anchored at 16:00 New York, the regular close (cron ``0 16 * * 1-5``): its
window runs from that session's 16:00 to the next session's, and ``end_offset=1`` makes the key exist
as soon as the window starts. So session D exists from D 16:00 — after the close, on 13:00 early-close
days too — never during the session (a midnight anchor made today's key exist, and show *Missing*,
from 00:00); the 17:15 schedule and ``aegis eod``'s default (the latest completed session) find it.
Holidays are excluded with naive 16:00 datetimes (Dagster replaces, not converts, the tzinfo of an
exclusion, and excludes the tick at exactly that instant). The current slot exists as soon as it
starts. Keys are validated with ``has_partition_key`` — never with ``time_window_for_partition_key``,
which silently maps a holiday to the next window. Both end with the calendar's horizon
(``HORIZON_END``, exclusive): a day past it would be a partition whose holidays nobody knows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import dagster as dg

from aegis_core.calendar import CALENDAR_END, FIRST_SLOT, nyse

SESSION_START = dt.date(2024, 1, 2)
SESSION_ANCHOR = dt.time(16, 0)  # the regular close; a session's partition exists from then on
SESSION_CRON = f"{SESSION_ANCHOR.minute} {SESSION_ANCHOR.hour} * * 1-5"
# Intraday snapshots are live-only, so slot partitions need no deep history.
SLOT_START = dt.date(2026, 1, 2)
SLOT_CRON = "5,20,35,50 9-15 * * 1-5"
# The first day past the calendar's horizon: no partition starts on or after it.
HORIZON_END = CALENDAR_END + dt.timedelta(days=1)
_BEFORE_FIRST_SLOT = "5,20 9 * * 1-5"  # 09:05 and 09:20 are not slots
_CRON_SLOTS = [dt.time(h, m) for h in range(9, 16) for m in (5, 20, 35, 50) if dt.time(h, m) >= FIRST_SLOT]


@cache
def session_partitions(start: dt.date = SESSION_START) -> dg.TimeWindowPartitionsDefinition:
    """The sessions from ``start`` (the history's first session, or the live archive's go-live)."""
    closed = nyse().closed_weekdays(start, CALENDAR_END)
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=SESSION_CRON,
        start=dt.datetime.combine(start, SESSION_ANCHOR),
        fmt="%Y-%m-%d",
        timezone="America/New_York",
        end=dt.datetime.combine(HORIZON_END, SESSION_ANCHOR),
        end_offset=1,
        exclusions=[dt.datetime.combine(d, SESSION_ANCHOR) for d in closed],
    )


def _slot_end() -> dt.datetime:
    """The first cron tick past the horizon (a weekday's 09:05): the end of the last slot's window,
    which Dagster runs to the next tick of the cron, excluded or not."""
    day = HORIZON_END
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(9, 5))


@cache
def slot_partitions(start: dt.date = SLOT_START) -> dg.TimeWindowPartitionsDefinition:
    """The intraday slots from the first slot of session ``start``."""
    cal = nyse()
    exclusions: list[str | dt.datetime] = [_BEFORE_FIRST_SLOT]
    for day in cal.closed_weekdays(start, CALENDAR_END):
        exclusions += [dt.datetime.combine(day, t) for t in _CRON_SLOTS]
    for session in cal.early_closes(start, CALENDAR_END):
        last = session.slots[-1].time()
        exclusions += [dt.datetime.combine(session.date, t) for t in _CRON_SLOTS if t > last]
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=SLOT_CRON,
        start=dt.datetime.combine(start, FIRST_SLOT).strftime("%Y-%m-%d-%H:%M"),
        fmt="%Y-%m-%d-%H:%M",
        timezone="America/New_York",
        end=_slot_end().strftime("%Y-%m-%d-%H:%M"),
        end_offset=1,
        exclusions=exclusions,
    )


@dataclass(frozen=True)
class ArchivePartitions:
    """The archive's partitions, from its go-live session (``aegis_core.ldas.go_live``) on: every
    session asset (the end-of-day ones, the cadence, readiness) and every slot. Option chains can be
    captured only live, so sessions before go-live could never fill, and "% filled" in the UI is the
    archive's coverage. One definition for every session asset, because Dagster 1.13 requires one for
    the assets of an asset job (``ldas_eod_job`` is one run at 17:15) and for the roots of a range
    back-fill (the Catalog's dialog). VIX and stock bars before go-live (they have history) are
    reached by setting an earlier go-live. The default (go-live at the history's start) is what the
    simulated market, which has every session, uses."""

    go_live: dt.date = SESSION_START

    @property
    def sessions(self) -> dg.TimeWindowPartitionsDefinition:
        """Every session from go-live (never before ``SESSION_START``)."""
        return session_partitions(max(self.go_live, SESSION_START))

    @property
    def slots(self) -> dg.TimeWindowPartitionsDefinition:
        """The intraday slots from go-live (never before ``SLOT_START``)."""
        return slot_partitions(max(self.go_live, SLOT_START))
