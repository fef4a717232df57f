"""Dagster partitions on the NYSE calendar: one key per session, one per intraday slot.

A session partition is anchored at 16:00 New York, the regular close (cron ``0 16 * * 1-5``): its
window runs from that session's 16:00 to the next session's, and ``end_offset=1`` makes the key exist
as soon as the window starts. So session D exists from D 16:00 — after the close, on 13:00 early-close
days too — never during the session (a midnight anchor made today's key exist, and show *Missing*,
from 00:00); the 17:15 schedule and ``aegis eod``'s default (the latest completed session) find it.
Holidays are excluded with naive 16:00 datetimes (Dagster replaces, not converts, the tzinfo of an
exclusion, and excludes the tick at exactly that instant). The current slot exists as soon as it
starts. Keys are validated with ``has_partition_key`` — never with ``time_window_for_partition_key``,
which silently maps a holiday to the next window.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg

from aegis_core.calendar import CALENDAR_END, FIRST_SLOT, nyse

SESSION_START = dt.date(2024, 1, 2)
SESSION_ANCHOR = dt.time(16, 0)  # the regular close; a session's partition exists from then on
SESSION_CRON = f"{SESSION_ANCHOR.minute} {SESSION_ANCHOR.hour} * * 1-5"
# Intraday snapshots are live-only, so slot partitions need no deep history.
SLOT_START = dt.date(2026, 1, 2)
SLOT_CRON = "5,20,35,50 9-15 * * 1-5"
_BEFORE_FIRST_SLOT = "5,20 9 * * 1-5"  # 09:05 and 09:20 are not slots
_CRON_SLOTS = [dt.time(h, m) for h in range(9, 16) for m in (5, 20, 35, 50) if dt.time(h, m) >= FIRST_SLOT]


@cache
def session_partitions() -> dg.TimeWindowPartitionsDefinition:
    closed = nyse().closed_weekdays(SESSION_START, CALENDAR_END)
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=SESSION_CRON,
        start=dt.datetime.combine(SESSION_START, SESSION_ANCHOR),
        fmt="%Y-%m-%d",
        timezone="America/New_York",
        end_offset=1,
        exclusions=[dt.datetime.combine(d, SESSION_ANCHOR) for d in closed],
    )


@cache
def slot_partitions() -> dg.TimeWindowPartitionsDefinition:
    cal = nyse()
    exclusions: list[str | dt.datetime] = [_BEFORE_FIRST_SLOT]
    for day in cal.closed_weekdays(SLOT_START, CALENDAR_END):
        exclusions += [dt.datetime.combine(day, t) for t in _CRON_SLOTS]
    for session in cal.early_closes(SLOT_START, CALENDAR_END):
        last = session.slots[-1].time()
        exclusions += [dt.datetime.combine(session.date, t) for t in _CRON_SLOTS if t > last]
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=SLOT_CRON,
        start=dt.datetime.combine(SLOT_START, FIRST_SLOT).strftime("%Y-%m-%d-%H:%M"),
        fmt="%Y-%m-%d-%H:%M",
        timezone="America/New_York",
        end_offset=1,
        exclusions=exclusions,
    )
