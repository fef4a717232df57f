"""``ldas/pt_snapshots`` end to end: real HTTP to the simulated market, real parquet and Delta files."""

import datetime as dt
import secrets

import dagster as dg
import polars as pl
import pytest

from aegis_assets.clock import CLOCK_KEY
from aegis_assets.ldas.intraday import build_pt_snapshots
from aegis_assets.resources import ArchiveResource, MarketDataResource
from aegis_core.archive import layout
from aegis_core.archive.files import read_metadata
from aegis_core.archive.lake import Lake
from aegis_core.base.clock import fixed_clock
from aegis_core.calendar import NY
from aegis_core.sim import SimMarket, SimServer, sim_base_url
from tests.conftest import SMALL_UNIVERSE
from tests.pipelines.intraday.conftest import SLOT, digest, metadata, run_job
from tests.pipelines.test_live_sources import racing_clock

DAY = dt.date(2026, 11, 20)
SLOT_START = dt.datetime(2026, 11, 20, 10, 5, tzinfo=NY)


def lake_slots(tmp_path) -> dict[str, int]:
    rows = Lake(str(tmp_path / "lake")).read_sessions("options_intraday", DAY, DAY)
    return dict(rows.group_by("slot").len().sort("slot").iter_rows())


def test_sim_slot_writes_files_and_lake_and_reruns_identically(defs, instance, tmp_path):
    root = tmp_path / "archive"
    result = run_job(defs, instance, "ldas_intraday_job", SLOT)
    assert result.success
    meta = metadata(result, "ldas/pt_snapshots")
    first = digest(root)
    assert sorted(first) == [f"options/{s}/2026/11/20_pt_100500.parquet" for s in sorted(SMALL_UNIVERSE)]
    chain = pl.read_parquet(layout.intraday_file(root, "CORN", SLOT_START))
    assert chain.height > 50 and set(chain["symbol"]) == {"CORN"}
    assert set(chain["timestamp"]) == {SLOT_START}  # simulated: captured at the slot start
    assert read_metadata(layout.intraday_file(root, "CORN", SLOT_START))["source"] == "sim"
    assert meta["symbols_covered"] == "3/3" and meta["symbols_failed"] == "none"
    assert meta["captured_at"] == "2026-11-20T10:05:00-05:00" and meta["capture_delay_s"] == 0.0
    assert meta["requests"] >= 3 and meta["duration_s"] > 0 and meta["files_replaced"] == 0
    assert lake_slots(tmp_path) == {"10:05": meta["dagster/row_count"]}

    # Another slot of the day sits beside it; re-running the first replaces only its own rows.
    assert run_job(defs, instance, "ldas_intraday_job", "2026-11-20-10:20").success
    again = run_job(defs, instance, "ldas_intraday_job", SLOT)
    assert again.success and metadata(again, "ldas/pt_snapshots")["files_replaced"] == 0
    assert {k: v for k, v in digest(root).items() if "_pt_1005" in k} == first
    slots = lake_slots(tmp_path)
    assert set(slots) == {"10:05", "10:20"} and slots["10:05"] == meta["dagster/row_count"]
    tags = again.dagster_run.tags
    assert tags["aegis/vendor"] == "market_data" and tags["dagster/partition"] == SLOT


def test_symbols_tag_and_hand_submitted_non_slot(defs, instance, tmp_path):
    assert run_job(defs, instance, "ldas_intraday_job", SLOT, tags={"aegis/symbols": "CORN"}).success
    assert [p.name for p in (tmp_path / "archive/options").iterdir()] == ["CORN"]
    with pytest.raises(dg.DagsterUnknownPartitionError):
        run_job(defs, instance, "ldas_intraday_job", "2026-11-26-10:05")  # Thanksgiving


# --- the live path (Polygon source) against the simulated server on loopback ---------------------


@pytest.fixture
def live(tmp_path):
    """A loopback server requiring a key, and resources of the live source pointed at it."""
    key = secrets.token_hex(16)
    server = SimServer(SimMarket(seed=7, symbols=SMALL_UNIVERSE), api_key=key)
    server.start()
    universe = tmp_path / "universe.txt"
    universe.write_text("\n".join(SMALL_UNIVERSE) + "\n")

    def resources(now: dt.datetime) -> dict:
        return {
            "market": MarketDataResource(
                source="polygon",
                universe_file=str(universe),
                api_key=key,
                base_url=sim_base_url(server.url, now),
                max_retries=0,
            ),
            "archive": ArchiveResource(
                archive_root=str(tmp_path / "archive"), lake_root=str(tmp_path / "lake"), source="sim"
            ),
        }

    yield server, key, resources
    server.stop()


def capture(resources, now: dt.datetime, instance):
    return dg.materialize(
        [build_pt_snapshots()],
        partition_key=SLOT,
        resources={**resources(now), CLOCK_KEY: fixed_clock(now)},
        instance=instance,
        raise_on_error=False,
    )


@pytest.mark.parametrize("offset", [dt.timedelta(minutes=-1), dt.timedelta(minutes=15), dt.timedelta(days=1)])
def test_live_slot_outside_its_window_fails_at_once(live, instance, tmp_path, offset):
    server, key, resources = live
    result = capture(resources, SLOT_START + offset, instance)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.event_specific_data.error.message
    assert (
        "can be captured only inside its own 15-minute window" in message and "2026-11-20 10:05 ET" in message
    )
    assert server.stats.total == 0  # refused before any request
    assert not (tmp_path / "archive").exists()
    assert not any(key in str(e) for e in result.all_events)


def test_live_rerun_inside_the_window_replaces_the_slot(live, instance, tmp_path):
    server, key, resources = live
    root = tmp_path / "archive"
    first = capture(resources, SLOT_START + dt.timedelta(minutes=1), instance)
    assert first.success
    assert sorted(p.name for p in root.rglob("*.parquet")) == ["20_pt_100600.parquet"] * 3
    meta = metadata(first, "ldas/pt_snapshots")
    assert meta["capture_delay_s"] == 60.0 and meta["window_left_s"] == 840.0

    second = capture(resources, SLOT_START + dt.timedelta(minutes=12, seconds=30), instance)
    assert second.success
    assert metadata(second, "ldas/pt_snapshots")["files_replaced"] == 3
    for symbol in SMALL_UNIVERSE:  # one snapshot per symbol and slot, never two
        assert [p.name for p in layout.intraday_files(root, symbol, DAY).values()] == ["20_pt_101730.parquet"]
    chain = pl.read_parquet(
        layout.intraday_file(root, "CORN", SLOT_START + dt.timedelta(minutes=12, seconds=30))
    )
    assert set(chain["timestamp"]) == {SLOT_START + dt.timedelta(minutes=12, seconds=30)}
    assert lake_slots(tmp_path) == {"10:05": metadata(second, "ldas/pt_snapshots")["dagster/row_count"]}
    assert server.stats.total >= 6
    assert not any(key in str(e) for e in [*first.all_events, *second.all_events])


def test_a_slot_whose_fetch_runs_past_its_15_minutes_fails_by_name(live, instance, tmp_path):
    # Probe (issue 24): a slot's fetch ran 15 minutes past its slot and the run was SUCCESS, its snapshots
    # stamped inside the slot. The slot's window now holds for the whole fetch, by the run's clock.
    _server, key, resources = live
    start = SLOT_START + dt.timedelta(minutes=14, seconds=59)
    result = dg.materialize(
        [build_pt_snapshots()],
        partition_key=SLOT,
        resources={**resources(start), CLOCK_KEY: racing_clock(start, speed=3600)},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert "no option chain could be fetched for slot 2026-11-20-10:05" in message
    for symbol in SMALL_UNIVERSE:
        assert (
            f"{symbol}: the 15-minute window of slot 2026-11-20-10:05 ended at 2026-11-20T10:20:00-05:00"
            in message
        )
    assert not list(tmp_path.glob("archive/**/*.parquet"))  # nothing archived as the slot's snapshot
    assert not any(key in str(e) for e in result.all_events)
