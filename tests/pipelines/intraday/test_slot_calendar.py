"""Slot partitions are exactly the NYSE sessions' 15-minute slots, in New York time, across DST."""

import datetime as dt
import itertools
from collections import defaultdict

import dagster as dg
import pytest

from aegis_assets.partitions import slot_partitions
from aegis_core.calendar import NY, nyse, slot_key

UTC = dt.UTC


@pytest.fixture(scope="module")
def keys_2026() -> dict[str, list[str]]:
    """Every slot key of 2026 by day (one enumeration: it costs about two seconds)."""
    with dg.partition_loading_context(effective_dt=dt.datetime(2027, 1, 1, tzinfo=NY)):
        keys = slot_partitions().get_partition_keys()
    by_day = defaultdict(list)
    for key in keys:
        by_day[key[:10]].append(key)
    return by_day


def test_keys_are_the_calendar_slots_of_every_2026_session(keys_2026):
    sessions = nyse().sessions(dt.date(2026, 1, 2), dt.date(2026, 12, 31))
    assert sorted(keys_2026) == [s.key for s in sessions]  # no key on a holiday or weekend
    for session in sessions:
        assert keys_2026[session.key] == [slot_key(s) for s in session.slots], session.key


@pytest.mark.parametrize(
    "day, first, last, count",
    [
        ("2026-11-20", "09:35", "15:50", 26),  # full session (Friday)
        ("2026-11-27", "09:35", "12:50", 14),  # early close at 13:00 (day after Thanksgiving)
        ("2026-12-24", "09:35", "12:50", 14),  # early close (Christmas Eve)
        ("2026-11-26", None, None, 0),  # Thanksgiving
        ("2026-07-03", None, None, 0),  # Independence Day observed
        ("2026-11-21", None, None, 0),  # Saturday
    ],
)
def test_slots_of_a_day(keys_2026, day, first, last, count):
    keys = keys_2026.get(day, [])
    assert len(keys) == count
    if count:
        assert (keys[0][-5:], keys[-1][-5:]) == (first, last)
        steps = {
            dt.datetime.strptime(b, "%Y-%m-%d-%H:%M") - dt.datetime.strptime(a, "%Y-%m-%d-%H:%M")
            for a, b in itertools.pairwise(keys)
        }
        assert steps == {dt.timedelta(minutes=15)}


@pytest.mark.parametrize(
    "before, after",
    [
        ("2026-03-06", "2026-03-09"),  # DST starts Sun 2026-03-08: 09:35 ET moves from 14:35 to 13:35 UTC
        ("2026-10-30", "2026-11-02"),  # DST ends Sun 2026-11-01: 09:35 ET moves from 13:35 to 14:35 UTC
    ],
)
def test_dst_weeks_keep_new_york_wall_time(keys_2026, before, after):
    pdef = slot_partitions()
    assert len(keys_2026[before]) == len(keys_2026[after]) == 26
    with dg.partition_loading_context(effective_dt=dt.datetime(2027, 1, 1, tzinfo=NY)):
        assert pdef.get_next_partition_key(f"{before}-15:50") == f"{after}-09:35"
        windows = {day: pdef.time_window_for_partition_key(f"{day}-09:35") for day in (before, after)}
    for window in windows.values():
        assert window.start.astimezone(NY).strftime("%H:%M") == "09:35"
        assert window.end - window.start == dt.timedelta(minutes=15)
    shift = {w.start.astimezone(UTC).hour for w in windows.values()}
    assert shift == {13, 14}  # the same New York time is a different UTC hour across the change


@pytest.mark.parametrize(
    "key",
    [
        "2026-11-20-09:20",
        "2026-11-20-16:05",
        "2026-11-20-10:00",
        "2026-11-26-10:05",
        "2026-11-27-13:05",
        "2026-11-27-15:50",
        "2025-12-31-10:05",
    ],
)
def test_non_slots_are_not_keys(key):
    with dg.partition_loading_context(effective_dt=dt.datetime(2027, 1, 1, tzinfo=NY)):
        assert not slot_partitions().has_partition_key(key)


def test_a_slot_exists_as_soon_as_it_starts():
    pdef = slot_partitions()
    start = dt.datetime(2026, 11, 20, 10, 5, tzinfo=NY)
    with dg.partition_loading_context(effective_dt=start - dt.timedelta(seconds=1)):
        assert not pdef.has_partition_key("2026-11-20-10:05")
    with dg.partition_loading_context(effective_dt=start + dt.timedelta(seconds=1)):
        assert pdef.has_partition_key("2026-11-20-10:05")
        assert not pdef.has_partition_key("2026-11-20-10:20")
    # The day's first slot exists from 09:05, when the window of the previous session's last slot
    # ends (a window ends at the next cron tick, excluded or not); a live capture still waits for 09:35.
    with dg.partition_loading_context(effective_dt=dt.datetime(2026, 11, 20, 9, 4, tzinfo=NY)):
        assert not pdef.has_partition_key("2026-11-20-09:35")
    with dg.partition_loading_context(effective_dt=dt.datetime(2026, 11, 20, 9, 6, tzinfo=NY)):
        assert pdef.has_partition_key("2026-11-20-09:35")
