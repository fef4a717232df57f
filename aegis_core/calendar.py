"""NYSE sessions, early closes and intraday capture slots, all in America/New_York.

Built on pandas-market-calendars' ``schedule``, which knows ad-hoc closures (days of mourning) as
well as regular holidays, through ``aegis_core.nyse_table``: its output for the horizon, kept as data
(and checked against it by a test) because building it costs seconds of every process's start-up.
The calendar covers the table's horizon (``nyse_table.START``..``END``, a managed fact: the table is
regenerated and extended by ``uv run python -m aegis_core.nyse_table --write --end YYYY-12-31``);
asking outside it is an error that says so and names that command, never a guess. ``aegis doctor``
warns ``HORIZON_WARNING`` before the end.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from aegis_core import nyse_table

NY = ZoneInfo("America/New_York")
UTC = dt.UTC

CALENDAR_START = dt.date.fromisoformat(nyse_table.START)
# Holidays are baked into the Dagster partition definitions up to here; extend before it passes.
CALENDAR_END = dt.date.fromisoformat(nyse_table.END)
HORIZON_WARNING = dt.timedelta(days=365)
EXTEND_HINT = f"extend the table: {nyse_table.COMMAND} --end YYYY-12-31"

FIRST_SLOT = dt.time(9, 35)
SLOT_MINUTES = 15
SLOT_LENGTH = dt.timedelta(minutes=SLOT_MINUTES)


@dataclass(frozen=True, order=True)
class Session:
    """One NYSE trading session; ``open``/``close`` are aware datetimes in New York time."""

    date: dt.date
    open: dt.datetime
    close: dt.datetime

    @property
    def key(self) -> str:
        return self.date.isoformat()

    @property
    def early_close(self) -> bool:
        return self.close.time() < dt.time(16, 0)

    @property
    def slots(self) -> list[dt.datetime]:
        """Intraday slot starts: 09:35 and every 15 minutes while the slot starts before the close."""
        # Aware + timedelta is wall-clock arithmetic, so a DST change never shifts the grid.
        out, t = [], dt.datetime.combine(self.date, FIRST_SLOT, tzinfo=NY)
        while t < self.close:
            out.append(t)
            t += SLOT_LENGTH
        return out


class CalendarRangeError(ValueError):
    pass


def outside_horizon(what: object) -> str:
    """The one wording for "past the calendar": what was asked, the horizon, and how to extend it."""
    return f"{what} is outside the NYSE calendar horizon {CALENDAR_START}..{CALENDAR_END} ({EXTEND_HINT})"


def horizon_left(today: dt.date) -> dt.timedelta:
    """How long the calendar still covers from ``today`` (negative once it has ended)."""
    return CALENDAR_END - today


class NotASessionError(ValueError):
    """A date on which the exchange does not trade, where a session is required."""

    def __init__(self, day: dt.date):
        super().__init__(not_a_session(day))
        self.day = day


def not_a_session(day: dt.date) -> str:
    """The one wording for "no session that day", used by every asset, schedule, sensor and command."""
    return f"{day} is not an NYSE session (weekend or holiday)"


class NyseCalendar:
    """The NYSE calendar between ``CALENDAR_START`` and ``CALENDAR_END``."""

    def __init__(self, start: dt.date = CALENDAR_START, end: dt.date = CALENDAR_END):
        if not (CALENDAR_START <= start <= end <= CALENDAR_END):
            raise CalendarRangeError(outside_horizon(f"{start}..{end}"))
        self.start, self.end = start, end
        self._sessions: dict[dt.date, Session] = table_sessions(start, end)
        self._ordered = sorted(self._sessions)

    def _check(self, day: dt.date) -> None:
        if not (self.start <= day <= self.end):
            raise CalendarRangeError(outside_horizon(day))

    def session(self, day: dt.date) -> Session | None:
        self._check(day)
        return self._sessions.get(day)

    def is_session(self, day: dt.date) -> bool:
        return self.session(day) is not None

    def require_session(self, day: dt.date) -> Session:
        """The session of ``day``; ``NotASessionError`` (one wording everywhere) when there is none."""
        session = self.session(day)
        if session is None:
            raise NotASessionError(day)
        return session

    def sessions(self, start: dt.date, end: dt.date) -> list[Session]:
        """Sessions with ``start <= date <= end``."""
        self._check(start)
        self._check(end)
        return [self._sessions[d] for d in self._ordered if start <= d <= end]

    def closed_weekdays(self, start: dt.date | None = None, end: dt.date | None = None) -> list[dt.date]:
        """Monday–Friday dates on which the exchange does not trade (holidays, closures)."""
        start, end = start or self.start, end or self.end
        out, d = [], start
        while d <= end:
            if d.weekday() < 5 and d not in self._sessions:
                out.append(d)
            d += dt.timedelta(days=1)
        return out

    def early_closes(self, start: dt.date | None = None, end: dt.date | None = None) -> list[Session]:
        return [s for s in self.sessions(start or self.start, end or self.end) if s.early_close]

    def previous_session(self, day: dt.date) -> Session:
        """The last session strictly before ``day``."""
        self._check(day)
        d = day - dt.timedelta(days=1)
        while d >= self.start:
            if d in self._sessions:
                return self._sessions[d]
            d -= dt.timedelta(days=1)
        raise CalendarRangeError(f"no session before {day} within the calendar horizon")

    def next_session(self, day: dt.date) -> Session:
        """The first session strictly after ``day``; after the horizon's last session, the first one
        past it (the table records it: its open ends the last session's capture window)."""
        self._check(day)
        d = day + dt.timedelta(days=1)
        while d <= self.end:
            if d in self._sessions:
                return self._sessions[d]
            d += dt.timedelta(days=1)
        if self.end == CALENDAR_END:
            after, opens, closes = nyse_table.NEXT_AFTER_END
            return Session(
                dt.date.fromisoformat(after),
                _at(dt.date.fromisoformat(after), opens),
                _at(dt.date.fromisoformat(after), closes),
            )
        raise CalendarRangeError(
            f"no session after {day} within the calendar horizon {self.start}..{self.end}"
        )

    def latest_completed_session(self, now: dt.datetime) -> Session:
        """The most recent session whose close is at or before ``now`` (an aware datetime)."""
        local = now.astimezone(NY)
        today = self._sessions.get(local.date())
        if today is not None and today.close <= local:
            return today
        return self.previous_session(local.date())

    def sessions_before(self, day: dt.date, count: int) -> list[Session]:
        """Up to ``count`` sessions ending with ``day`` (inclusive, if it is a session), oldest first."""
        self._check(day)
        eligible = [d for d in self._ordered if d <= day]
        return [self._sessions[d] for d in eligible[-count:]]

    def slot(self, start: dt.datetime) -> Session:
        """The session that owns the intraday slot starting at ``start``; raise if it is not a slot."""
        local = start.astimezone(NY)
        session = self.require_session(local.date())
        if local not in session.slots:
            raise ValueError(
                f"{local:%Y-%m-%d %H:%M} is not an intraday slot of {session.key} "
                f"(slots run {FIRST_SLOT:%H:%M}–{session.slots[-1]:%H:%M} every {SLOT_MINUTES} minutes)"
            )
        return session


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=NY)


def table_sessions(start: dt.date = CALENDAR_START, end: dt.date = CALENDAR_END) -> dict[dt.date, Session]:
    """The sessions of ``start..end`` from ``aegis_core.nyse_table`` (milliseconds, no pandas)."""
    closed = {dt.date.fromisoformat(d) for d in nyse_table.CLOSED_WEEKDAYS}
    early = {dt.date.fromisoformat(d): t for d, t in nyse_table.EARLY_CLOSES.items()}
    out, d = {}, start
    while d <= end:
        if d.weekday() < 5 and d not in closed:
            out[d] = Session(d, _at(d, nyse_table.OPEN), _at(d, early.get(d, nyse_table.CLOSE)))
        d += dt.timedelta(days=1)
    return out


def exchange_sessions(start: dt.date = CALENDAR_START, end: dt.date = CALENDAR_END) -> dict[dt.date, Session]:
    """The sessions of ``start..end`` per pandas-market-calendars (the source ``nyse_table`` is checked
    against; seconds to import and build)."""
    import pandas_market_calendars as mcal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schedule = mcal.get_calendar("NYSE").schedule(start.isoformat(), end.isoformat())
    opens = schedule["market_open"].dt.tz_convert(NY).dt.to_pydatetime()
    closes = schedule["market_close"].dt.tz_convert(NY).dt.to_pydatetime()
    return {
        day.date(): Session(day.date(), o, c) for day, o, c in zip(schedule.index, opens, closes, strict=True)
    }


@cache
def nyse() -> NyseCalendar:
    """The shared calendar (built once per process, on first use)."""
    return NyseCalendar()


def parse_session_date(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` session key as a date, with an error that names the bad input."""
    try:
        # fromisoformat also takes 20261125 and 2026-W48-3; the key form is YYYY-MM-DD only.
        if len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid session date {text!r}: expected YYYY-MM-DD") from None


def slot_key(start: dt.datetime) -> str:
    return start.astimezone(NY).strftime("%Y-%m-%d-%H:%M")


def parse_slot_key(text: str) -> dt.datetime:
    try:
        naive = dt.datetime.strptime(text, "%Y-%m-%d-%H:%M")
    except ValueError:
        raise ValueError(
            f"invalid slot {text!r}: expected YYYY-MM-DD-HH:MM (e.g. 2026-11-20-09:35)"
        ) from None
    return naive.replace(tzinfo=NY)
