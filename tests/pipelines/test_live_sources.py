"""The polygon source, pointed at the simulated server over real HTTP: history works, live-only refuses.

The ``clock`` resource moves the run's "now": the end-of-day chains are captured inside their window
(between the session's close and the next open) and refused outside it, with the reason.
"""

import datetime as dt
import time

import dagster as dg
import polars as pl
import pytest

from aegis_assets.clock import CLOCK_KEY
from aegis_assets.ldas.eod import fetch_assets
from aegis_assets.partitions import session_partitions
from aegis_assets.resources import ArchiveResource, MarketDataResource
from aegis_core.archive import layout
from aegis_core.base.clock import Clock, fixed_clock, wall_clock
from aegis_core.calendar import NY
from aegis_core.sim import SimMarket, SimServer
from tests.conftest import SMALL_UNIVERSE

VIX, STOCKS_ASSET, OPTIONS_ASSET = fetch_assets(session_partitions())

KEY = "pk-live-test-key-0123456789"


@pytest.fixture
def server():
    with SimServer(SimMarket(7, SMALL_UNIVERSE), api_key=KEY) as srv:
        yield srv


def resources(tmp_path, server, key=KEY, clock: Clock = wall_clock):
    universe = tmp_path / "u.txt"
    universe.write_text("\n".join(SMALL_UNIVERSE))
    return {
        "market": MarketDataResource(
            source="polygon",
            universe_file=str(universe),
            base_url=server.url,
            api_key=key,
            max_retries=1,
            backoff_base_s=0.01,
        ),
        "archive": ArchiveResource(
            archive_root=str(tmp_path / "archive"), lake_root=str(tmp_path / "lake"), source="polygon"
        ),
        CLOCK_KEY: clock,
    }


def test_history_backfills_but_past_chains_are_refused(tmp_path, server):
    with dg.instance_for_test() as instance:
        res = dg.materialize(
            [VIX, STOCKS_ASSET],
            partition_key="2026-11-18",
            resources=resources(tmp_path, server),
            instance=instance,
        )
        assert res.success
        res = dg.materialize(
            [OPTIONS_ASSET],
            partition_key="2026-11-18",
            resources=resources(tmp_path, server),
            instance=instance,
            raise_on_error=False,
        )
    assert not res.success
    failure = next(e for e in res.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "can be captured only between its close" in message and "2026-11-18" in message
    assert not (tmp_path / "archive/options").exists()  # nothing archived for the wrong moment
    assert "options" not in server.stats.snapshot()["requests"]  # refused before asking the source


def test_bad_key_stops_the_run_with_the_source_message_and_no_key_leaks(tmp_path, server):
    wrong = "pk-wrong-key-ABCDEFGHIJ"
    with dg.instance_for_test() as instance:
        res = dg.materialize(
            [STOCKS_ASSET],
            partition_key="2026-11-18",
            resources=resources(tmp_path, server, wrong),
            instance=instance,
            raise_on_error=False,
        )
        assert not res.success
        text = "\n".join(str(e) for e in instance.all_logs(res.run_id))
    assert "NOT_AUTHORIZED" in text or "401" in text
    assert wrong not in text and KEY not in text


SESSION = dt.date(2026, 11, 20)  # a Friday: the window runs from its 16:00 close to Monday's 09:30 open


def capture_options(tmp_path, at: dt.datetime):
    """``ldas/options`` on the live path, the simulated server and the clock both standing at ``at``."""
    with SimServer(SimMarket(7, SMALL_UNIVERSE), api_key=KEY, as_of=at) as server:
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [OPTIONS_ASSET],
                partition_key=SESSION.isoformat(),
                resources=resources(tmp_path, server, clock=fixed_clock(at)),
                instance=instance,
                raise_on_error=False,
            )
        return result, server.stats.snapshot()["requests"]


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(2026, 11, 20, 16, 0, tzinfo=NY),  # the close itself
        dt.datetime(2026, 11, 22, 12, 0, tzinfo=NY),  # the Sunday in between
        dt.datetime(2026, 11, 23, 9, 29, 59, tzinfo=NY),  # just before the next open
    ],
)
def test_live_chains_inside_the_window_are_archived_at_the_clock_moment(tmp_path, at):
    result, _ = capture_options(tmp_path, at)
    assert result.success
    meta = result.asset_materializations_for_node("ldas__options")[0].metadata
    assert meta["captured_at"].value == at.isoformat()
    assert meta["symbols_covered"].value == f"{len(SMALL_UNIVERSE)}/{len(SMALL_UNIVERSE)}"
    for symbol in SMALL_UNIVERSE:
        frame = pl.read_parquet(layout.options_file(tmp_path / "archive", symbol, SESSION))
        assert frame.height > 0


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        (dt.datetime(2026, 11, 20, 15, 59, tzinfo=NY), "it is 2026-11-20 15:59 ET"),  # before the close
        (dt.datetime(2026, 11, 23, 9, 30, tzinfo=NY), "it is 2026-11-23 09:30 ET"),  # at the next open
    ],
)
def test_live_chains_outside_the_window_fail_saying_why_and_archive_nothing(tmp_path, at, shown):
    result, requests = capture_options(tmp_path, at)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.event_specific_data.error.message
    assert (
        "option chains of 2026-11-20 can be captured only between its close (2026-11-20 16:00 ET)" in message
    )
    assert "and the next open (2026-11-23 09:30 ET)" in message and shown in message
    assert "options" not in requests  # refused before asking the source
    assert not (tmp_path / "archive/options").exists()


def racing_clock(start: dt.datetime, speed: float) -> Clock:
    """A clock that says ``start`` when first read and then runs ``speed`` times faster than real time:
    a fetch that takes a second of real time takes ``speed`` seconds by it."""
    first: list[float] = []

    def read() -> dt.datetime:
        if not first:
            first.append(time.monotonic())
        return start + dt.timedelta(seconds=(time.monotonic() - first[0]) * speed)

    return read


def test_an_eod_fetch_that_runs_past_the_next_open_fails_by_name(tmp_path, server):
    # Probe (issue 24): at 4 requests/s an end-of-day fetch ran on past the next open, its chains stamped
    # before it, and the run was SUCCESS. The window now holds for the whole fetch, by the run's clock.
    opens = dt.datetime(2026, 11, 23, 9, 30, tzinfo=NY)
    res = resources(tmp_path, server, clock=racing_clock(opens - dt.timedelta(seconds=1), speed=3600))
    res["market"] = res["market"].model_copy(update={"max_requests_per_second": 4.0})
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [OPTIONS_ASSET],
            partition_key="2026-11-20",
            resources=res,
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert "no option chain could be fetched for 2026-11-20" in message
    window = "the capture window of 2026-11-20's chains (the next open) ended at 2026-11-23T09:30:00-05:00"
    for symbol in SMALL_UNIVERSE:
        assert f"{symbol}: {window}" in message
    assert not (tmp_path / "archive/options").exists()  # nothing archived as the session's close
