"""Option expiry calendars: dailies, weeklies (Fridays), monthlies (3rd Friday), quarter ends, LEAPS.

An expiry that falls on an exchange holiday moves to the previous session (as Good Friday
expiries do). Expiries on or after the moment's New York date are listed: today's (0DTE) are
included until midnight, expired ones are not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aegis_core.calendar import NY, nyse
from aegis_core.sim.universe import ExpirySchedule

REGULAR_CLOSE = dt.time(16, 0)


@dataclass(frozen=True, order=True)
class Expiry:
    date: dt.date
    close: dt.datetime  # when the contract stops trading (the session close, NY)
    kind: str  # daily | weekly | monthly | quarterly | leaps


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def _add_months(year: int, month: int, k: int) -> tuple[int, int]:
    m = month - 1 + k
    return year + m // 12, m % 12 + 1


def _session_on_or_before(day: dt.date) -> tuple[dt.date, dt.datetime]:
    cal = nyse()
    if day > cal.end:  # beyond the calendar horizon: assume an ordinary weekday session
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        return day, dt.datetime.combine(day, REGULAR_CLOSE, tzinfo=NY)
    session = cal.session(day)
    if session is None:
        session = cal.previous_session(day)
    return session.date, session.close


def expiries(schedule: ExpirySchedule, today: dt.date) -> list[Expiry]:
    """The listed expiries on ``today`` (NY date), sorted, each once (the longest-lived kind wins)."""
    rank = {"daily": 0, "weekly": 1, "quarterly": 2, "monthly": 3, "leaps": 4}
    found: dict[dt.date, Expiry] = {}

    def add(day: dt.date, kind: str) -> None:
        date, close = _session_on_or_before(day)
        if date < today:
            return
        old = found.get(date)
        if old is None or rank[kind] > rank[old.kind]:
            found[date] = Expiry(date, close, kind)

    for k in range(schedule.daily_days + 1 if schedule.daily_days else 0):
        day = today + dt.timedelta(days=k)
        if day.weekday() < 5 and (day > nyse().end or nyse().is_session(day)):
            add(day, "daily")
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7)
    for k in range(schedule.weeklies):
        add(friday + dt.timedelta(weeks=k), "weekly")
    for k in range(max(schedule.monthlies, schedule.cycle_months) + 1):
        y, m = _add_months(today.year, today.month, k)
        if k <= schedule.monthlies or m % 3 == 0:
            add(third_friday(y, m), "monthly")
    quarter_month = ((today.month - 1) // 3 + 1) * 3
    for k in range(schedule.quarter_ends):
        y, m = _add_months(today.year, quarter_month, 3 * k)
        last = dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)
        add(last, "quarterly")
    for k in range(1, schedule.leaps_years + 1):
        add(third_friday(today.year + k, 1), "leaps")
        if schedule.quarter_ends:  # index ETFs also list December LEAPS
            add(third_friday(today.year + k, 12), "leaps")
    return sorted(found.values())
