"""The intraday schedules' decisions over Thanksgiving week 2026 (holiday Thursday, early close Friday)
and their ticks across the DST changes."""

import datetime as dt
from collections import Counter

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator  # the daemon's own tick generator

from aegis_core.base.skip import Skip, slot_or_skip
from aegis_core.calendar import NY, nyse, slot_key
from aegis_pipelines.ldas.intraday import INTRADAY_CRONS

# Every weekday tick of the intraday crons (09:35 … 15:50).
TICKS = [dt.time(9, 35), dt.time(9, 50)] + [dt.time(h, m) for h in range(10, 16) for m in (5, 20, 35, 50)]


def evaluate(defs, instance, name: str, when: dt.datetime):
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
    ) as ctx:
        return defs.resolve_schedule_def(name).evaluate_tick(ctx)


def test_intraday_schedule_over_thanksgiving_week(defs, instance):
    decisions: Counter[tuple[str, str]] = Counter()
    requested, run_keys, skips = [], [], {}
    for day in range(23, 28):
        for t in TICKS:
            when = dt.datetime(2026, 11, day, t.hour, t.minute, tzinfo=NY)
            data = evaluate(defs, instance, "ldas_intraday_schedule", when)
            for request in data.run_requests or []:
                assert request.partition_key == slot_key(when)
                assert request.tags["aegis/trigger"] == "ldas_intraday_schedule"
                requested.append(request.partition_key)
                run_keys.append(request.run_key)
            if data.skip_message:
                skips[slot_key(when)] = data.skip_message
            decisions[(f"{day}", "run" if data.run_requests else "skip")] += 1
    assert decisions == {
        ("23", "run"): 26,
        ("24", "run"): 26,
        ("25", "run"): 26,
        ("26", "skip"): 26,
        ("27", "run"): 14,
        ("27", "skip"): 12,
    }
    expected = [
        slot_key(s) for s in nyse().sessions(dt.date(2026, 11, 23), dt.date(2026, 11, 27)) for s in s.slots
    ]
    assert requested == expected
    assert len(set(run_keys)) == len(run_keys) == 92 and run_keys[0] == "intraday:2026-11-23-09:35"
    assert "2026-11-26 is not an NYSE session" in skips["2026-11-26-10:05"]
    assert "after the 13:00 ET close of 2026-11-27" in skips["2026-11-27-13:05"]


@pytest.mark.parametrize("start", [dt.date(2026, 3, 2), dt.date(2026, 10, 26)])  # weeks before DST changes
def test_cron_ticks_are_the_slots_across_dst(start):
    """Two weeks of the daemon's ticks in New York time: exactly the slots of every weekday."""
    begin = dt.datetime.combine(start, dt.time(0, 0), tzinfo=NY)
    end = begin + dt.timedelta(days=14)
    ticks = set()
    for cron in INTRADAY_CRONS:
        for tick in cron_string_iterator(begin.timestamp(), cron, "America/New_York"):
            if tick >= end:
                break
            ticks.add(tick.astimezone(NY))
    weekdays = [
        start + dt.timedelta(days=d) for d in range(14) if (start + dt.timedelta(days=d)).weekday() < 5
    ]
    assert sorted(ticks) == [dt.datetime.combine(d, t, tzinfo=NY) for d in weekdays for t in TICKS]
    assert {t.astimezone(dt.UTC).hour for t in ticks if t.time() == dt.time(9, 35)} == {13, 14}


def test_slot_or_skip_reasons():
    assert slot_or_skip(dt.datetime(2026, 3, 9, 14, 35, tzinfo=dt.UTC)) == dt.datetime(
        2026, 3, 9, 10, 35, tzinfo=NY
    )
    assert slot_or_skip(dt.datetime(2026, 11, 21, 10, 5, tzinfo=NY)) == Skip(
        "2026-11-21 is not an NYSE session (weekend or holiday)"
    )
    assert slot_or_skip(dt.datetime(2026, 11, 20, 9, 20, tzinfo=NY)) == Skip(
        "09:20 ET is not an intraday slot of 2026-11-20"
    )
    assert slot_or_skip(dt.datetime(2026, 11, 27, 13, 5, tzinfo=NY)) == Skip(
        "2026-11-27-13:05 is after the 13:00 ET close of 2026-11-27 (early close)"
    )


def test_cadence_schedule_over_thanksgiving_week(defs, instance):
    decisions = {}
    for day in range(23, 28):
        data = evaluate(
            defs, instance, "ldas_intraday_cadence_schedule", dt.datetime(2026, 11, day, 16, 20, tzinfo=NY)
        )
        decisions[day] = ([(r.partition_key, r.run_key) for r in data.run_requests or []], data.skip_message)
    assert decisions[25] == ([("2026-11-25", "intraday_cadence:2026-11-25")], None)
    assert decisions[26][0] == [] and "not an NYSE session" in decisions[26][1]
    assert decisions[27] == ([("2026-11-27", "intraday_cadence:2026-11-27")], None)  # early close too
