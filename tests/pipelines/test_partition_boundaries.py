"""When a session partition comes into existence, asked of Dagster itself (``has_partition_key`` at a
moved evaluation time): anchored at the 16:00 close, session D exists from D 16:00 and never before,
so a morning never shows today's session as *Missing* and nothing can target it before the close."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from aegis_assets.partitions import session_partitions
from aegis_core.calendar import NY, nyse


def exists(key: str, when: dt.datetime) -> bool:
    with dg.partition_loading_context(effective_dt=when):
        return session_partitions().has_partition_key(key)


def at(day: str, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hh, mm), tzinfo=NY)


@pytest.mark.parametrize(
    "key, when, expected",
    [
        ("2026-12-07", at("2026-12-07", 7), False),  # the morning of a session (the 07:00)
        ("2026-12-07", at("2026-12-07", 15, 59), False),
        ("2026-12-07", at("2026-12-07", 16), True),  # the close
        ("2026-12-07", at("2026-12-07", 17, 15), True),  # the end-of-day schedule's tick
        ("2026-12-04", at("2026-12-04", 15, 59), False),  # a Friday
        ("2026-12-04", at("2026-12-04", 16), True),
        ("2026-12-04", at("2026-12-05", 12), True),  # over the weekend
        ("2026-12-07", at("2026-12-05", 12), False),  # Monday's session on Saturday
        ("2026-11-25", at("2026-11-25", 15, 59), False),  # the day before Thanksgiving
        ("2026-11-25", at("2026-11-25", 16), True),
        ("2026-11-26", at("2026-11-26", 18), False),  # the holiday itself never exists
        ("2026-11-27", at("2026-11-27", 16), True),  # 13:00 early close: exists from 16:00
        ("2026-12-24", at("2026-12-24", 16), True),
        ("2026-03-06", at("2026-03-06", 16), True),  # the Friday before DST starts
        ("2026-03-09", at("2026-03-09", 15, 59), False),  # the Monday after (EDT)
        ("2026-03-09", at("2026-03-09", 16), True),
        ("2026-10-30", at("2026-10-30", 16), True),  # the Friday before DST ends
        ("2026-11-02", at("2026-11-02", 15, 59), False),  # the Monday after (EST)
        ("2026-11-02", at("2026-11-02", 16), True),
    ],
)
def test_a_session_exists_from_its_close(key, when, expected):
    assert exists(key, when) is expected


def test_the_latest_key_is_the_latest_completed_session_all_day():
    """At every hour of a week (a holiday and an early close in it), Dagster's last key is the session
    that closed last — except from a holiday's 16:00 to the next close, see the next test."""
    pdef, cal = session_partitions(), nyse()
    for day in range(23, 31):
        for hour in range(0, 24, 3):
            when = dt.datetime(2026, 11, day, hour, 30, tzinfo=NY)
            with dg.partition_loading_context(effective_dt=when):
                last = pdef.get_last_partition_key()
            expected = cal.latest_completed_session(when).key
            if at("2026-11-26", 16) <= when < at("2026-11-27", 16):
                assert last == "2026-11-27", when  # the Dagster limit below
                continue
            assert last == expected, when


def test_dagster_ends_a_window_at_an_excluded_tick():
    """A Dagster limit, pinned so a change shows: a window ends at the next cron tick even when that
    tick is an excluded holiday, so with ``end_offset=1`` the session after a holiday exists from the
    holiday's 16:00 (a day early; before the anchor moved it was every session, from midnight). The
    assets still refuse a session that has not closed (the capture window), and IV rank no longer
    maps a window onto it (``ldas/iv_rank`` depends on its own session's ATM IV only)."""
    assert not exists("2026-11-27", at("2026-11-26", 15, 59))
    assert exists("2026-11-27", at("2026-11-26", 16))


def test_keys_are_exactly_the_sessions_after_the_anchor_moved():
    with dg.partition_loading_context(effective_dt=at("2026-12-07", 7)):
        keys = session_partitions().get_partition_keys()
    assert keys == [s.key for s in nyse().sessions(dt.date(2024, 1, 2), dt.date(2026, 12, 4))]
