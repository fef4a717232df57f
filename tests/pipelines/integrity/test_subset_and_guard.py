"""Issue 12 regressions: subset runs keep every other symbol, and the one sim/real guard covers the lake."""

import datetime as dt
import json

import dagster as dg
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aegis_core.archive import files, guard, layout
from aegis_core.archive.lake import Lake
from aegis_core.archive.store import Archive
from aegis_core.base.settings import load_settings
from aegis_core.base.store_errors import StoreError
from aegis_core.ldas import consistency as consistency_module
from aegis_pipelines.definitions import build_definitions
from tests.conftest import SMALL_UNIVERSE

SESSION = "2026-11-20"
DAY = dt.date(2026, 11, 20)


def run_eod(defs, instance, tags=None, raise_on_error=False):
    return defs.resolve_job_def("ldas_eod_job").execute_in_process(
        partition_key=SESSION, instance=instance, tags=tags or {}, raise_on_error=raise_on_error
    )


def lake_rows(lake: Lake, table: str) -> dict[str, int]:
    frame = lake.read_sessions(table, DAY, DAY, ["symbol"])
    return dict(sorted(frame.group_by("symbol").len().iter_rows())) if frame is not None else {}


def file_rows(root, artefact: str) -> dict[str, int]:
    path_of = {"stocks": layout.stock_file, "options": layout.options_file}[artefact]
    out = {}
    for s in layout.symbols_with(root, artefact):
        if path_of(root, s, DAY).is_file():
            out[s] = pl.read_parquet(path_of(root, s, DAY)).height
    return out


@pytest.fixture
def defs(sim_env):
    return build_definitions(load_settings())


def test_a_subset_run_replaces_its_symbols_and_keeps_the_others(defs, tmp_path):
    root, lake = tmp_path / "archive", Lake(str(tmp_path / "lake"))
    with dg.instance_for_test() as instance:
        assert run_eod(defs, instance, tags={"aegis/symbols": "AAXJ,BDRY"}).success
        assert run_eod(defs, instance, tags={"aegis/symbols": "CORN"}).success
    for artefact in ("stocks", "options"):
        assert sorted(file_rows(root, artefact)) == sorted(SMALL_UNIVERSE)
        assert lake_rows(lake, artefact) == file_rows(root, artefact), artefact
    # Derived artefacts come from the session's complete inputs, not from the subset just fetched.
    for artefact in ("gex_summary", "iv_rank"):
        frame = pl.read_parquet(layout.daily_file(root, artefact, DAY))
        assert sorted(frame["symbol"]) == sorted(SMALL_UNIVERSE), artefact
        assert sorted(lake_rows(lake, artefact)) == sorted(SMALL_UNIVERSE), artefact
    assert sorted(lake_rows(lake, "atm_iv")) == sorted(SMALL_UNIVERSE)


def test_sim_data_is_refused_by_a_real_lake_before_anything_is_written(defs, tmp_path):
    # A lake written from a real source (one stock bar is enough for the record).
    real = Archive(tmp_path / "real-archive", Lake(str(tmp_path / "lake")), "polygon")
    bar = pl.DataFrame(
        {
            "timestamp": [dt.datetime(2026, 11, 19, 21, tzinfo=dt.UTC)],
            "symbol": ["CORN"],
            **{c: [20.0] for c in ("open", "high", "low", "close", "volume", "vwap")},
            "transactions": [10],
        }
    )
    real.write_stocks(bar, dt.date(2026, 11, 19))
    lake = Lake(str(tmp_path / "lake"))
    assert lake.kinds() == {"stocks": "real"}
    before = lake.version("stocks")
    with dg.instance_for_test() as instance:
        result = run_eod(defs, instance)
    assert not result.success
    errors = [e.step_failure_data.error.cause.message for e in result.all_events if e.is_step_failure]
    assert errors and all("refusing to write simulated data into lake" in m for m in errors)
    assert str(tmp_path / "lake") in errors[0] and "real market data" in errors[0]
    assert lake.version("stocks") == before
    assert not list((tmp_path / "archive").rglob("*.parquet"))  # nothing half-written in the archive


def test_a_lake_table_off_contract_is_refused(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    archive = Archive(tmp_path / "archive", lake, "sim")
    from deltalake import write_deltalake

    write_deltalake(lake.uri("vix"), pl.DataFrame({"symbol": ["VIX"], "close": ["high"]}).to_arrow())
    vix = pl.DataFrame(
        {
            "timestamp": [dt.datetime(2026, 11, 20, 21, tzinfo=dt.UTC)],
            "symbol": ["VIX"],
            **{c: [15.0] for c in ("open", "high", "low", "close")},
        }
    )
    with pytest.raises(guard.LakeSchemaError, match=r"lake table .*vix.* close: table has string"):
        archive.write_vix(vix, DAY)
    assert not list((tmp_path / "archive").rglob("*.parquet"))


@pytest.mark.parametrize(
    ("content", "why"),
    [("{not json", "unreadable"), (json.dumps({"kinds": "sim"}), "does not record a kind"), ("[]", "kind")],
)
def test_a_corrupt_marker_gives_one_clear_line(tmp_path, content, why):
    (tmp_path / guard.MARKER).write_text(content)
    with pytest.raises(guard.ArchiveKindError, match=why) as info:
        guard.claim(tmp_path, "sim")
    message = str(info.value)
    assert str(tmp_path / guard.MARKER) in message and "\n" not in message


def consistency(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        e.asset_key.to_user_string(): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "lake_consistency"
    }


def test_lake_consistency_passes_after_runs_and_names_every_difference(defs, tmp_path):
    from deltalake import DeltaTable

    root, lake = tmp_path / "archive", Lake(str(tmp_path / "lake"))
    with dg.instance_for_test() as instance:
        first = run_eod(defs, instance)
        subset = run_eod(defs, instance, tags={"aegis/symbols": "BDRY"})
        for result in (first, subset):
            checks = consistency(result)
            assert len(checks) == 5 and all(e.passed for e in checks.values()), checks
        # The lake loses CORN's chain; the archive loses AAXJ's bar.
        DeltaTable(lake.uri("options")).delete("symbol = 'CORN'")
        corn = pl.read_parquet(layout.options_file(root, "CORN", DAY)).height
        layout.stock_file(root, "AAXJ", DAY).unlink()
        checked = defs.resolve_job_def("ldas_checks_job").execute_in_process(
            instance=instance, tags={"dagster/partition": SESSION}, raise_on_error=False
        )
    checks = consistency(checked)
    assert not checks["ldas/options"].passed and not checks["ldas/stocks"].passed
    assert checks["ldas/options"].metadata["offenders"].value == ["CORN"]
    assert f"CORN ({corn} vs 0)" in checks["ldas/options"].description
    assert "AAXJ: 0 row(s) in the files, 1 row(s) up to" in checks["ldas/stocks"].metadata["details"].value
    assert all(checks[k].passed for k in ("ldas/vix", "ldas/gex_summary", "ldas/iv_rank"))


def _recaptured(path, minutes: int) -> None:
    """Rewrite ``path`` with the same rows and metadata, as if captured ``minutes`` later."""
    table = pq.read_table(path)
    shifted = pc.add(table.column("timestamp"), pa.scalar(dt.timedelta(minutes=minutes), pa.duration("us")))
    files.write_table(path, table.set_column(0, "timestamp", shifted), files.read_metadata(path))


def test_lake_consistency_names_files_of_another_capture_with_as_many_rows(defs, tmp_path):
    """A re-capture that died between its files and its lake commit leaves equal counts over two captures
    (a chain rarely changes size between two captures): the check names each such symbol."""
    root = tmp_path / "archive"
    with dg.instance_for_test() as instance:
        assert all(e.passed for e in consistency(run_eod(defs, instance)).values())
        symbol = SMALL_UNIVERSE[0]
        _recaptured(layout.options_file(root, symbol, DAY), minutes=5)  # footer statistics
        _recaptured(layout.daily_file(root, "gex_summary", DAY), minutes=5)  # a daily file, read
        checked = defs.resolve_job_def("ldas_checks_job").execute_in_process(
            instance=instance, tags={"dagster/partition": SESSION}, raise_on_error=False
        )
    checks = consistency(checked)
    options, gex = checks["ldas/options"], checks["ldas/gex_summary"]
    assert not options.passed and options.metadata["offenders"].value == [symbol]
    assert f"{symbol} (another capture)" in options.description
    assert not gex.passed and sorted(gex.metadata["offenders"].value) == sorted(SMALL_UNIVERSE)
    assert all(checks[k].passed for k in ("ldas/vix", "ldas/stocks", "ldas/iv_rank"))


def test_lake_consistency_compares_content_not_only_counts_and_times(defs, tmp_path, monkeypatch):
    """Issue 24: a re-capture with other values whose lake commit failed left files and lake different in
    content with equal counts and timestamps, and the check passed. It now compares a digest of the
    rows, taken by the writer for the files and from the lake's own rows."""
    import aegis_core.archive.lake as lake_module

    root, lake = tmp_path / "archive", Lake(str(tmp_path / "lake"))
    store = Archive(root, lake, "sim")
    symbol = SMALL_UNIVERSE[1]
    with dg.instance_for_test() as instance:
        assert all(e.passed for e in consistency(run_eod(defs, instance)).values())
        chain = pl.read_parquet(layout.options_file(root, symbol, DAY))
        vix = pl.read_parquet(layout.daily_file(root, "vix", DAY))

        def commit_fails(*args, **kwargs):
            raise OSError("object store unavailable")  # the lake's commit fails; the files are written first

        monkeypatch.setattr(lake_module, "write_deltalake", commit_fails)
        other_oi = chain.with_columns(pl.col("open_interest") + 1)  # same contracts, same capture time
        with pytest.raises(StoreError, match=r"lake .*: table \w+: object store unavailable"):
            store.write_options(other_oi, DAY)
        with pytest.raises(StoreError, match=r"lake .*: table \w+: object store unavailable"):
            store.write_vix(vix.with_columns(pl.col("close") + 0.5), DAY)
        monkeypatch.undo()
        assert pl.read_parquet(layout.options_file(root, symbol, DAY)).equals(other_oi)
        checked = defs.resolve_job_def("ldas_checks_job").execute_in_process(
            instance=instance, tags={"dagster/partition": SESSION}, raise_on_error=False
        )
    # Counts and latest timestamps agree: what the check compared before.
    files_tally, lake_tally = (
        consistency_module.file_tallies(root, "options", DAY)[symbol],
        consistency_module.lake_tallies(lake, "options", DAY)[symbol],
    )
    assert (files_tally.rows, files_tally.latest) == (lake_tally.rows, lake_tally.latest)
    checks = consistency(checked)
    options, vix_check = checks["ldas/options"], checks["ldas/vix"]
    assert not options.passed and options.metadata["offenders"].value == [symbol]
    assert f"{symbol} (other values)" in options.description
    assert not vix_check.passed and "VIX (other values)" in vix_check.description
    assert all(checks[k].passed for k in ("ldas/stocks", "ldas/gex_summary", "ldas/iv_rank"))
