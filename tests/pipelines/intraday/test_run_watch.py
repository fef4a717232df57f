"""The pure rules behind the timing alerts (``aegis_core.ops.run_watch``), on any clock."""

import datetime as dt

import pytest

from aegis_core.calendar import NY
from aegis_core.ops.run_watch import (
    EOD_BUDGET,
    SLOT_GRACE,
    SlotRun,
    due_slots,
    missed_slots,
    missed_summary,
    over_budget,
)


def ny(y, m, d, hh, mm, ss=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=NY)


def keys(slots) -> list[str]:
    return [f"{s:%Y-%m-%d-%H:%M}" for s in slots]


def test_a_slot_is_due_grace_after_its_start_and_only_after_watching_began():
    since = ny(2026, 11, 20, 9, 0)
    assert due_slots(ny(2026, 11, 20, 9, 37, 59), since) == []
    assert keys(due_slots(ny(2026, 11, 20, 9, 38), since)) == ["2026-11-20-09:35"]
    assert keys(due_slots(ny(2026, 11, 20, 10, 8), since)) == [
        "2026-11-20-09:35",
        "2026-11-20-09:50",
        "2026-11-20-10:05",
    ]
    # Watching began at 10:00: earlier slots (due 09:38 and 09:53) are not this watcher's to report.
    assert keys(due_slots(ny(2026, 11, 20, 10, 8), ny(2026, 11, 20, 10, 0))) == ["2026-11-20-10:05"]
    # The alert must go out within five minutes of the slot, with the sensor ticking every minute.
    assert SLOT_GRACE.total_seconds() + 60 <= 5 * 60


def test_early_close_holiday_and_daylight_saving():
    # 2026-11-27 closes at 13:00: its last slot is 12:50; nothing after.
    late = due_slots(ny(2026, 11, 27, 16, 0), ny(2026, 11, 27, 12, 0))
    assert keys(late) == ["2026-11-27-12:05", "2026-11-27-12:20", "2026-11-27-12:35", "2026-11-27-12:50"]
    # Thanksgiving: no slot is ever due, even with watching since the morning.
    assert due_slots(ny(2026, 11, 26, 15, 0), ny(2026, 11, 26, 8, 0)) == []
    # The Monday after the spring change: 09:35 New York is 13:35 UTC, not 14:35.
    (first,) = due_slots(ny(2026, 3, 9, 9, 38), ny(2026, 3, 9, 9, 0))
    assert first.astimezone(dt.UTC).hour == 13 and first.astimezone(NY).hour == 9
    # A watcher down overnight still sees the previous session's last slots on the next morning.
    morning = due_slots(ny(2026, 11, 23, 9, 0), ny(2026, 11, 20, 15, 40))
    assert keys(morning) == ["2026-11-20-15:50"]


def test_missed_means_no_started_run():
    due = due_slots(ny(2026, 11, 20, 10, 24), ny(2026, 11, 20, 10, 0))
    assert keys(due) == ["2026-11-20-10:05", "2026-11-20-10:20"]
    runs = {
        "2026-11-20-10:05": [SlotRun("aaaaaaaa-1", "FAILURE", True)],  # failed, but it ran: not missed
        "2026-11-20-10:20": [SlotRun("bbbbbbbb-2", "QUEUED", False)],
    }
    (missed,) = missed_slots(due, runs)
    assert missed.key == "2026-11-20-10:20"
    assert missed.reason == "its run never started (run bbbbbbbb QUEUED)"
    (nothing,) = missed_slots(due[1:], {})
    assert nothing.reason == "no run was requested (the schedule did not fire)"
    universe = [f"S{i:02d}" for i in range(12)]
    assert missed_summary(nothing, universe) == (
        "slot 2026-11-20 10:20 ET: no run was requested (the schedule did not fire) 3 min after its start; "
        "no snapshot for 12 symbol(s): S00, S01, S02, S03, S04, S05, S06, S07, S08, S09 (+2 more)"
    )


def test_over_budget_at_45_minutes():
    start = ny(2026, 11, 20, 17, 15)
    assert not over_budget(start, start + EOD_BUDGET - dt.timedelta(seconds=1))
    assert over_budget(start, start + EOD_BUDGET)
    with pytest.raises(ValueError, match="aware"):
        over_budget(dt.datetime(2026, 11, 20, 17, 15), start)
    with pytest.raises(ValueError, match="aware"):
        due_slots(dt.datetime(2026, 11, 20, 10, 0), start)
