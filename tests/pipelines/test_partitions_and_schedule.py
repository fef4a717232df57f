import datetime as dt

import dagster as dg
import pytest

from aegis_assets.partitions import session_partitions, slot_partitions
from aegis_core.base.settings import load_settings
from aegis_core.calendar import NY, nyse
from aegis_pipelines.definitions import build_definitions


def keys_on(pdef, day, now):
    with dg.partition_loading_context(effective_dt=now):
        return [k for k in pdef.get_partition_keys() if k.startswith(day)]


def test_session_keys_are_exactly_the_sessions():
    now = dt.datetime(2026, 11, 30, 18, tzinfo=NY)
    with dg.partition_loading_context(effective_dt=now):
        keys = session_partitions().get_partition_keys()
    sessions = [s.key for s in nyse().sessions(dt.date(2024, 1, 2), dt.date(2026, 11, 30))]
    assert keys == sessions
    assert "2026-11-26" not in keys and "2026-11-27" in keys and "2025-01-09" not in keys


def test_today_exists_at_1715_with_end_offset():
    with dg.partition_loading_context(effective_dt=dt.datetime(2026, 11, 27, 17, 15, tzinfo=NY)):
        assert session_partitions().has_partition_key("2026-11-27")
        assert not session_partitions().has_partition_key("2026-11-30")


@pytest.mark.parametrize(
    "day, count",
    [("2026-11-25", 26), ("2026-11-27", 14), ("2026-11-26", 0), ("2026-03-09", 26), ("2026-11-02", 26)],
)
def test_slot_keys_per_day(day, count):
    keys = keys_on(slot_partitions(), day, dt.datetime(2026, 12, 1, tzinfo=NY))
    assert len(keys) == count
    if count:
        assert keys[0].endswith("09:35") and keys[-1].endswith("15:50" if count == 26 else "12:50")


def test_eod_schedule_over_thanksgiving_week(sim_env):
    defs = build_definitions(load_settings())
    schedule = defs.resolve_schedule_def("ldas_eod_schedule")
    decisions = {}
    with dg.instance_for_test() as instance:
        for day in range(23, 31):
            when = dt.datetime(2026, 11, day, 17, 15, tzinfo=NY)
            if when.weekday() >= 5:
                continue
            # Closing the context matters: an unclosed one leaves this instance as Dagster's current
            # definitions-state storage after the instance is gone, breaking later loads in the process.
            with dg.build_schedule_context(
                instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
            ) as ctx:
                data = schedule.evaluate_tick(ctx)
            decisions[day] = ([r.partition_key for r in data.run_requests or []], data.skip_message)
    assert decisions[25] == (["2026-11-25"], None)
    assert decisions[26][0] == [] and "not an NYSE session" in decisions[26][1]
    assert decisions[27] == (["2026-11-27"], None)  # early close still archives
    assert decisions[30] == (["2026-11-30"], None)
