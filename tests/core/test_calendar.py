import datetime as dt

import pytest

from aegis_core.calendar import NY, UTC, CalendarRangeError, nyse, parse_slot_key, slot_key

D = dt.date


@pytest.mark.parametrize(
    "day, is_session",
    [
        (D(2026, 11, 26), False),  # Thanksgiving
        (D(2026, 11, 27), True),  # early close
        (D(2025, 1, 9), False),  # national day of mourning (ad-hoc closure)
        (D(2026, 7, 3), False),  # Independence Day observed
        (D(2026, 11, 21), False),  # Saturday
        (D(2026, 11, 20), True),
    ],
)
def test_sessions_know_holidays_and_closures(day, is_session):
    assert nyse().is_session(day) is is_session


def test_full_day_has_26_slots_from_0935_to_1550():
    slots = nyse().session(D(2026, 11, 25)).slots
    assert len(slots) == 26
    assert (slots[0].time(), slots[-1].time()) == (dt.time(9, 35), dt.time(15, 50))


def test_early_close_has_14_slots_ending_1250():
    session = nyse().session(D(2026, 11, 27))
    assert session.early_close and session.close.time() == dt.time(13, 0)
    assert len(session.slots) == 14 and session.slots[-1].time() == dt.time(12, 50)


@pytest.mark.parametrize("day", [D(2026, 3, 6), D(2026, 3, 9), D(2026, 10, 30), D(2026, 11, 2)])
def test_slots_keep_new_york_wall_time_across_dst(day):
    slots = nyse().session(day).slots
    assert [s.time() for s in slots[:2]] == [dt.time(9, 35), dt.time(9, 50)]
    offset = slots[0].utcoffset()
    assert all(s.utcoffset() == offset for s in slots)
    assert {slots[0].astimezone(UTC).hour} <= {13, 14}


def test_latest_completed_session():
    cal = nyse()
    assert cal.latest_completed_session(dt.datetime(2026, 11, 27, 12, 0, tzinfo=NY)).date == D(2026, 11, 25)
    assert cal.latest_completed_session(dt.datetime(2026, 11, 27, 13, 0, tzinfo=NY)).date == D(2026, 11, 27)
    assert cal.latest_completed_session(dt.datetime(2026, 11, 21, 9, 0, tzinfo=NY)).date == D(2026, 11, 20)


def test_previous_next_and_window():
    cal = nyse()
    assert cal.next_session(D(2026, 11, 25)).date == D(2026, 11, 27)
    assert cal.previous_session(D(2026, 11, 30)).date == D(2026, 11, 27)
    window = cal.sessions_before(D(2026, 11, 27), 252)
    assert len(window) == 252 and window[-1].date == D(2026, 11, 27)


def test_slot_validation_names_the_problem():
    cal = nyse()
    assert cal.slot(dt.datetime(2026, 11, 27, 12, 50, tzinfo=NY)).date == D(2026, 11, 27)
    with pytest.raises(ValueError, match="not an intraday slot"):
        cal.slot(dt.datetime(2026, 11, 27, 13, 5, tzinfo=NY))
    with pytest.raises(ValueError, match="not an NYSE session"):
        cal.slot(dt.datetime(2026, 11, 26, 9, 35, tzinfo=NY))


def test_outside_the_horizon_is_an_error():
    with pytest.raises(CalendarRangeError):
        nyse().session(D(2040, 1, 2))


def test_slot_keys_round_trip():
    t = dt.datetime(2026, 3, 9, 9, 35, tzinfo=NY)
    assert slot_key(t) == "2026-03-09-09:35"
    assert parse_slot_key("2026-03-09-09:35") == t
    with pytest.raises(ValueError, match="YYYY-MM-DD-HH:MM"):
        parse_slot_key("2026-03-09 09:35")
