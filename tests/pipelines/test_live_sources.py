"""The polygon source, pointed at the simulated server over real HTTP: history works, live-only refuses."""

import dagster as dg
import pytest

from aegis_assets.ldas.eod import options, stocks, vix
from aegis_assets.resources import ArchiveResource, MarketDataResource
from aegis_core.sim import SimMarket, SimServer
from tests.conftest import SMALL_UNIVERSE

KEY = "pk-live-test-key-0123456789"


@pytest.fixture
def server():
    with SimServer(SimMarket(7, SMALL_UNIVERSE), api_key=KEY) as srv:
        yield srv


def resources(tmp_path, server, key=KEY):
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
    }


def test_history_backfills_but_past_chains_are_refused(tmp_path, server):
    with dg.instance_for_test() as instance:
        res = dg.materialize(
            [vix, stocks],
            partition_key="2026-11-18",
            resources=resources(tmp_path, server),
            instance=instance,
        )
        assert res.success
        res = dg.materialize(
            [options],
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
            [stocks],
            partition_key="2026-11-18",
            resources=resources(tmp_path, server, wrong),
            instance=instance,
            raise_on_error=False,
        )
        assert not res.success
        text = "\n".join(str(e) for e in instance.all_logs(res.run_id))
    assert "NOT_AUTHORIZED" in text or "401" in text
    assert wrong not in text and KEY not in text
