"""The per-slot checks of ``ldas/pt_snapshots`` on files the project writes (simulated market).

Each check passes on a clean slot and fails, naming what is wrong, on a broken one.
"""

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq

from aegis_assets.ldas.intraday_checks import CAPTURE_WINDOW_CHECK, SLOT_COVERAGE_CHECK, SLOT_SCHEMA_CHECK
from aegis_core.archive import layout
from aegis_core.calendar import NY
from tests.pipelines.intraday.conftest import SLOT, run_job

SLOT_START = dt.datetime(2026, 11, 20, 10, 5, tzinfo=NY)
PARTITION = {"dagster/partition": SLOT}


def checks(result) -> dict:
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert {e.asset_key.to_user_string() for e in evals.values()} == {"ldas/pt_snapshots"}
    assert {e.partition for e in evals.values()} == {SLOT}
    return evals


def rewrite(path, change) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def test_clean_slot_passes_every_check(defs, instance):
    result = run_job(defs, instance, "ldas_intraday_job", SLOT)
    assert result.success
    evals = checks(result)
    assert set(evals) == {SLOT_SCHEMA_CHECK, SLOT_COVERAGE_CHECK, CAPTURE_WINDOW_CHECK}
    assert all(e.passed for e in evals.values()), [e.description for e in evals.values()]
    assert evals[SLOT_COVERAGE_CHECK].description.startswith("slot 2026-11-20 10:05: 3/3 universe symbols")
    assert evals[SLOT_COVERAGE_CHECK].metadata["symbols_by_file_count"].value == {"1": 3}
    assert "inside 10:05–10:20 ET" in evals[CAPTURE_WINDOW_CHECK].description
    assert evals[SLOT_SCHEMA_CHECK].blocking


def test_under_covered_slot_fails_coverage_naming_the_missing_symbols(defs, instance):
    result = run_job(defs, instance, "ldas_intraday_job", SLOT, tags={"aegis/symbols": "CORN"})
    assert result.success  # non-blocking: the run stands, the check (and its alert) says what is wrong
    coverage = checks(result)[SLOT_COVERAGE_CHECK]
    assert not coverage.passed
    assert (
        "1/3 universe symbols captured (33.3%, threshold 100.0%); missing AAXJ, BDRY" in coverage.description
    )
    assert coverage.metadata["offenders"].value == ["AAXJ", "BDRY"]
    assert coverage.metadata["symbols_by_file_count"].value == {"0": 2, "1": 1}


def test_contract_break_blocks_and_names_the_file(defs, instance, tmp_path):
    assert run_job(defs, instance, "ldas_intraday_job", SLOT).success
    path = layout.intraday_file(tmp_path / "archive", "BDRY", SLOT_START)
    rewrite(
        path,
        lambda t: t.drop_columns(["vega"]).cast(_nullable(t.drop_columns(["vega"]).schema, "strike_price")),
    )

    result = run_job(defs, instance, "ldas_slot_checks_job", tags=PARTITION)
    schema = checks(result)[SLOT_SCHEMA_CHECK]
    assert not schema.passed and not result.success  # blocking, ERROR: the step fails
    assert "1 of 3 snapshot(s) break the contract in column(s) strike_price, vega" in schema.description
    assert "options/BDRY/2026/11/20_pt_100500.parquet" in schema.description
    details = schema.metadata["details"].value
    assert "vega: file absent, contract double nullable" in details
    assert "strike_price: file double nullable, contract double not null" in details


def test_unreadable_snapshot_fails_the_contract(defs, instance, tmp_path):
    assert run_job(defs, instance, "ldas_intraday_job", SLOT).success
    path = layout.intraday_file(tmp_path / "archive", "AAXJ", SLOT_START)
    path.write_bytes(path.read_bytes()[:100])
    schema = checks(run_job(defs, instance, "ldas_slot_checks_job", tags=PARTITION))[SLOT_SCHEMA_CHECK]
    assert not schema.passed and "options/AAXJ/2026/11/20_pt_100500.parquet" in schema.description
    assert "unreadable parquet" in schema.metadata["details"].value


def test_snapshot_stamped_outside_the_slot_fails_the_capture_window(defs, instance, tmp_path):
    assert run_job(defs, instance, "ldas_intraday_job", SLOT).success
    path = layout.intraday_file(tmp_path / "archive", "CORN", SLOT_START)
    late = dt.datetime(2026, 11, 20, 10, 21, 7, tzinfo=NY).astimezone(dt.UTC)

    def stamp_late(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("timestamp")
        return t.set_column(i, t.schema.field(i), pa.array([late] * t.num_rows, t.schema.field(i).type))

    rewrite(path, stamp_late)
    window = checks(run_job(defs, instance, "ldas_slot_checks_job", tags=PARTITION))[CAPTURE_WINDOW_CHECK]
    assert not window.passed
    assert "1 of 3 snapshot(s) captured outside 10:05–10:20 ET" in window.description
    assert (
        "options/CORN/2026/11/20_pt_100500.parquet: captured 10:21:07 ET" in window.metadata["details"].value
    )


def test_missing_slot_fails_every_check(defs, instance):
    evals = checks(run_job(defs, instance, "ldas_slot_checks_job", tags=PARTITION))
    assert not any(e.passed for e in evals.values())
    assert "no snapshot file" in evals[SLOT_SCHEMA_CHECK].description
    assert "0/3 universe symbols captured" in evals[SLOT_COVERAGE_CHECK].description


def _nullable(schema: pa.Schema, name: str) -> pa.Schema:
    return pa.schema([f.with_nullable(True) if f.name == name else f for f in schema])


def test_the_slot_checks_of_the_capturing_run_take_the_figures_it_wrote(defs, instance, monkeypatch):
    from aegis_assets.run_writes import known_capture_ranges, known_schemas
    from aegis_core.ldas import slot_quality

    reads: list[str] = []
    read_columns = slot_quality.read_columns
    monkeypatch.setattr(
        slot_quality, "read_columns", lambda p, c=None: reads.append(str(p)) or read_columns(p, c)
    )
    result = run_job(defs, instance, "ldas_intraday_job", SLOT)
    assert result.success and all(e.passed for e in checks(result).values())
    assert reads == []  # no snapshot's timestamp column read back by the run that wrote it

    root = defs.resources["archive"].archive().root
    times = known_capture_ranges(result.run_id, "options_intraday", SLOT)
    schemas = known_schemas(result.run_id, "options_intraday", SLOT)
    assert len(times) == len(schemas) == 3
    assert slot_quality.capture_window(root, SLOT_START, times) == slot_quality.capture_window(
        root, SLOT_START
    )
    assert len(reads) == 3  # read back when not known
    assert slot_quality.slot_schema_contract(root, SLOT_START, schemas) == slot_quality.slot_schema_contract(
        root, SLOT_START
    )
