"""The NYSE calendar read from ``aegis_core.nyse_table`` is exactly pandas-market-calendars' schedule."""

import datetime as dt

import pytest

from aegis_core.calendar import (
    CALENDAR_END,
    CALENDAR_START,
    CalendarRangeError,
    NyseCalendar,
    exchange_sessions,
    table_sessions,
)


def test_table_matches_the_exchange_calendar_over_the_whole_horizon():
    exchange, table = exchange_sessions(), table_sessions()
    differ = sorted(set(exchange) ^ set(table)) + sorted(
        d for d in set(exchange) & set(table) if exchange[d] != table[d]
    )
    assert not differ, f"aegis_core/nyse_table.py is out of date for {differ[:10]}"
    for day in exchange:  # same instants, same time zone object, same wall-clock times
        assert (table[day].open.tzinfo, table[day].close.time()) == (
            exchange[day].open.tzinfo,
            exchange[day].close.time(),
        )


def test_known_days():
    cal = NyseCalendar()
    assert not cal.is_session(dt.date(2026, 11, 26))  # Thanksgiving
    assert cal.require_session(dt.date(2026, 11, 27)).close.time() == dt.time(13, 0)
    assert not cal.is_session(dt.date(2025, 1, 9))  # national day of mourning (ad-hoc closure)


def test_a_horizon_beyond_the_table_is_refused():
    with pytest.raises(CalendarRangeError, match="outside the NYSE calendar horizon"):
        NyseCalendar(CALENDAR_START, CALENDAR_END + dt.timedelta(days=1))
