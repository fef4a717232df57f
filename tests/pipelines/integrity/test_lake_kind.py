"""Issue 24: the sim/real kind of a lake survives any number of maintenance commits.

The guard used to read the kind from the ``aegis.source`` metadata of a table's last 20 commits; after
20 maintenance commits (vacuum, optimize, table properties) a real lake looked new, a simulated run
was written into it, and the next real run was refused. The kind is now a table property recorded at
creation (kept by every later commit and checkpoint), and a table from before it is judged by its whole
history.
"""

import datetime as dt
import socket
import subprocess
import sys
import time
import urllib.request

import dagster as dg
import polars as pl
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from aegis_assets.ldas.eod import fetch_assets
from aegis_assets.partitions import session_partitions
from aegis_core.archive import guard
from aegis_core.archive.lake import KIND_PROPERTY, Lake
from aegis_core.archive.schemas import STOCKS
from aegis_core.archive.store import Archive
from aegis_core.base.settings import load_settings
from aegis_core.sim import SimMarket, SimServer
from aegis_pipelines.definitions import build_definitions
from tests.conftest import PROJECT, SMALL_UNIVERSE
from tests.e2e.devserver import free_port
from tests.pipelines.integrity.test_subset_and_guard import DAY, run_eod
from tests.pipelines.test_live_sources import KEY, resources

_, STOCKS_ASSET, _ = fetch_assets(session_partitions())

EARLIER = dt.date(2026, 11, 19)


def bar(day: dt.date) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "timestamp": [dt.datetime(day.year, day.month, day.day, 21, tzinfo=dt.UTC)],
            "symbol": ["CORN"],
            **{c: [20.0] for c in ("open", "high", "low", "close", "volume", "vwap")},
            "transactions": [10],
        }
    )


def maintain(uri: str, commits: int = 24) -> None:
    """What an operator's maintenance does to a table: properties, compaction, vacuum, checkpoints."""
    table = DeltaTable(uri)
    start = table.version()
    for i in range(commits):
        table.alter.set_table_properties({"delta.logRetentionDuration": f"interval {30 + i} days"})
        if i % 6 == 0:
            table.optimize.compact()
            table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
            table.create_checkpoint()
    assert DeltaTable(uri).version() - start > 20
    assert all(KIND_PROPERTY not in c for c in DeltaTable(uri).history(20))  # no kind in the last 20


@pytest.fixture
def server():
    with SimServer(SimMarket(7, SMALL_UNIVERSE), api_key=KEY) as srv:
        yield srv


def test_a_real_lake_after_many_maintenance_commits_refuses_sim_and_takes_the_next_real_run(
    sim_env, tmp_path, server
):
    lake = Lake(str(tmp_path / "lake"))
    Archive(tmp_path / "real-archive", lake, "polygon").write_stocks(bar(EARLIER), EARLIER)
    assert DeltaTable(lake.uri("stocks")).metadata().configuration[KIND_PROPERTY] == "real"
    maintain(lake.uri("stocks"))
    assert lake.kinds() == {"stocks": "real"}
    before = lake.version("stocks")

    defs = build_definitions(load_settings())  # the simulated market, into the same lake
    with dg.instance_for_test() as instance:
        result = run_eod(defs, instance)
    assert not result.success
    errors = [e.step_failure_data.error.cause.message for e in result.all_events if e.is_step_failure]
    assert errors and all("refusing to write simulated data into lake" in m for m in errors)
    assert lake.version("stocks") == before and not (tmp_path / "archive").exists()

    # The next real run (the polygon source over HTTP) is accepted and lands in the same table.
    with dg.instance_for_test() as instance:
        real = resources(tmp_path, server)
        real["archive"] = real["archive"].model_copy(update={"lake_root": str(tmp_path / "lake")})
        assert dg.materialize(
            [STOCKS_ASSET], partition_key=DAY.isoformat(), resources=real, instance=instance
        ).success
    assert sorted(lake.read_sessions("stocks", DAY, DAY)["symbol"]) == sorted(SMALL_UNIVERSE)
    assert lake.kinds() == {"stocks": "real"}


def test_a_table_from_before_the_property_is_judged_by_its_whole_history_then_stamped(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    # A table as the code before the property wrote it: the kind in its first commit's metadata only.
    frame = STOCKS.conform(bar(EARLIER)).with_columns(pl.lit(EARLIER).alias("session_date"))
    write_deltalake(
        lake.uri("stocks"),
        frame.to_arrow(),
        partition_by=["session_date"],
        commit_properties=CommitProperties(custom_metadata={KIND_PROPERTY: "sim"}),
    )
    maintain(lake.uri("stocks"))
    assert lake.kinds() == {"stocks": "sim"}
    with pytest.raises(guard.ArchiveKindError, match="already hold simulated market data"):
        Archive(tmp_path / "real-archive", lake, "polygon").write_stocks(bar(DAY), DAY)
    Archive(tmp_path / "archive", lake, "sim").write_stocks(bar(DAY), DAY)  # the same kind: written
    assert DeltaTable(lake.uri("stocks")).metadata().configuration[KIND_PROPERTY] == "sim"  # now durable


# --- the same on object storage: an S3-compatible server on loopback (moto, in a process of its own) ---


@pytest.fixture
def s3(monkeypatch):
    """``(lake root, storage options)`` of a bucket on a loopback S3 server; credentials in the
    environment only, as the settings require."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "test-key-id",
            "AWS_SECRET_ACCESS_KEY": "test-secret",
            "AWS_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        endpoint = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/lake", method="PUT"), timeout=10).close()
        options = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        }
        yield "s3://lake/aegis", options
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_on_object_storage_the_kind_survives_maintenance_and_guards_both_ways(
    sim_env, tmp_path, s3, monkeypatch
):
    root, options = s3
    lake = Lake(root, options)
    Archive(tmp_path / "real-archive", lake, "polygon").write_stocks(bar(EARLIER), EARLIER)
    table = DeltaTable(lake.uri("stocks"), storage_options=options)
    assert table.metadata().configuration[KIND_PROPERTY] == "real"
    for i in range(24):  # maintenance commits, as on a local folder
        table.alter.set_table_properties({"delta.logRetentionDuration": f"interval {30 + i} days"})
    table.create_checkpoint()
    assert all(
        KIND_PROPERTY not in c for c in DeltaTable(lake.uri("stocks"), storage_options=options).history(20)
    )
    assert lake.kinds() == {"stocks": "real"}
    before = lake.version("stocks")

    # A simulated end-of-day run pointed at that lake (the profile's lake_root and storage options).
    profile = tmp_path / "s3.yaml"
    opts = "".join(f"  {k}: '{v}'\n" for k, v in options.items())
    profile.write_text((PROJECT / "configs/local.yaml").read_text() + f"lake_storage_options:\n{opts}")
    monkeypatch.setenv("AEGIS_CONFIG", str(profile))
    monkeypatch.setenv("AEGIS_LAKE_ROOT", root)
    with dg.instance_for_test() as instance:
        result = run_eod(build_definitions(load_settings()), instance)
    assert not result.success
    errors = [e.step_failure_data.error.cause.message for e in result.all_events if e.is_step_failure]
    assert errors and all(f"refusing to write simulated data into lake {root}" in m for m in errors)
    assert lake.version("stocks") == before

    Archive(tmp_path / "real-archive", lake, "polygon").write_stocks(bar(DAY), DAY)  # the next real run
    assert lake.version("stocks") > before
    assert sorted(lake.read_sessions("stocks", EARLIER, DAY)["session_date"]) == [EARLIER, DAY]
