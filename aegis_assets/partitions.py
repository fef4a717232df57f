"""Dagster partitions on the NYSE calendar: one key per session, one per intraday slot.

Holidays are excluded with naive local-midnight datetimes (Dagster replaces, not converts, the
tzinfo of an exclusion). Both end with the calendar's horizon (``HORIZON_END``, exclusive): a day
past it would be a partition whose holidays nobody knows. ``end_offset=1`` makes today's session
exist at 17:15 and the current slot exist as soon as it starts. Keys are validated with
``has_partition_key`` — never with ``time_window_for_partition_key``, which silently maps a holiday
to the next window.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg

from aegis_core.calendar import CALENDAR_END, FIRST_SLOT, nyse

SESSION_START = dt.date(2024, 1, 2)
# Intraday snapshots are live-only, so slot partitions need no deep history.
SLOT_START = dt.date(2026, 1, 2)
SLOT_CRON = "5,20,35,50 9-15 * * 1-5"
# The first day past the calendar's horizon: no partition starts on or after it.
HORIZON_END = CALENDAR_END + dt.timedelta(days=1)
_BEFORE_FIRST_SLOT = "5,20 9 * * 1-5"  # 09:05 and 09:20 are not slots
_CRON_SLOTS = [dt.time(h, m) for h in range(9, 16) for m in (5, 20, 35, 50) if dt.time(h, m) >= FIRST_SLOT]


@cache
def session_partitions() -> dg.TimeWindowPartitionsDefinition:
    closed = nyse().closed_weekdays(SESSION_START, CALENDAR_END)
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * 1-5",
        start=SESSION_START.isoformat(),
        fmt="%Y-%m-%d",
        timezone="America/New_York",
        end=HORIZON_END.isoformat(),
        end_offset=1,
        exclusions=[dt.datetime(d.year, d.month, d.day) for d in closed],
    )


def _slot_end() -> dt.datetime:
    """The first cron tick past the horizon (a weekday's 09:05): the end of the last slot's window,
    which Dagster runs to the next tick of the cron, excluded or not."""
    day = HORIZON_END
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(9, 5))


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
        end=_slot_end().strftime("%Y-%m-%d-%H:%M"),
        end_offset=1,
        exclusions=exclusions,
    )
