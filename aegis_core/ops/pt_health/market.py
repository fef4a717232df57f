"""Market-hours facts the detector needs, from the NYSE calendar (early closes included)."""

from __future__ import annotations

import datetime as dt

from aegis_core.calendar import NY, NyseCalendar, Session, nyse


def session_on(now: dt.datetime, calendar: NyseCalendar | None = None) -> Session | None:
    """The NYSE session on ``now``'s New York date, or None on a weekend or holiday."""
    return (calendar or nyse()).session(_local(now).date())


def market_open(now: dt.datetime, session: Session | None) -> bool:
    """True between the session's open (inclusive) and close (exclusive); 13:00 on early closes."""
    return session is not None and session.open <= _local(now) < session.close


def open_grace_end(session: Session, grace_minute: int) -> dt.datetime:
    """When the open grace ends: 09:00 New York time plus ``grace_minute`` (35 → 09:35)."""
    return dt.datetime.combine(session.date, dt.time(9, 0), tzinfo=NY) + dt.timedelta(minutes=grace_minute)


def past_open_grace(now: dt.datetime, session: Session | None, grace_minute: int) -> bool:
    """Market open and past the open grace: the only time market-data 10197 counts."""
    return (
        session is not None
        and market_open(now, session)
        and _local(now) >= open_grace_end(session, grace_minute)
    )


def _local(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now.isoformat()} given; the monitor needs aware times")
    return now.astimezone(NY)
