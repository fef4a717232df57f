"""The checks of the end-of-day run take the figures gathered as the run wrote its files (schemas, strike
ranges) instead of reading the files back, and give the same answer as reading them; a check run on
its own still reads the files, and fails on a broken one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from aegis_assets.run_writes import known_schemas, known_strike_ranges
from aegis_core.archive import layout
from aegis_core.ldas import quality
from aegis_core.ldas.quality import archive_schema_contract, chain_strike_ranges
from tests.pipelines.checks.conftest import evaluations, load_defs, run_job

DAY = dt.date(2026, 11, 20)


def _count_reads(monkeypatch, root: Path) -> list[str]:
    """Every footer or strike column read of an archive file, by relative path (spied on, still read)."""
    seen: list[str] = []
    read_schema, read_columns = pq.read_schema, quality.read_columns

    def schema(source, *args, **kwargs):
        seen.append(f"schema {Path(source).relative_to(root)}")
        return read_schema(source, *args, **kwargs)

    def columns(path, names=None):
        if names == ["strike_price"]:
            seen.append(f"strikes {Path(path).relative_to(root)}")
        return read_columns(path, names)

    monkeypatch.setattr(pq, "read_schema", schema)
    monkeypatch.setattr(quality, "read_columns", columns)
    return seen


def test_the_eod_checks_use_the_figures_written_and_agree_with_reading(sim_env, monkeypatch, instance):
    for key in ("AEGIS_PARITY_ROOT", "SLACK_BOT_TOKEN", "AEGIS_SLACK_CHANNEL"):
        monkeypatch.delenv(key, raising=False)
    root = Path(sim_env["AEGIS_ARCHIVE_ROOT"])
    reads = _count_reads(monkeypatch, root)
    result = (
        load_defs()
        .resolve_job_def("ldas_eod_job")
        .execute_in_process(partition_key=DAY.isoformat(), instance=instance, raise_on_error=False)
    )
    assert result.success
    checks = evaluations(result)
    assert checks[("ldas/options", "schema_contract")].passed
    assert checks[("ldas/stocks", "schema_contract")].passed
    assert checks[("ldas/gex_summary", "gex_sanity")].passed
    per_symbol = [r for r in reads if r.split()[1].startswith(("options/", "stocks/"))]
    assert per_symbol == [], per_symbol[:5]  # not one chain or bar file read back by these checks

    run = result.run_id
    for artefact in ("options", "stocks"):
        known = known_schemas(run, artefact, DAY.isoformat())
        assert len(known) == len(list((root / artefact).glob(f"*/{DAY:%Y/%m/%d}*.parquet")))
        read_back = archive_schema_contract(root, artefact, DAY)
        assert archive_schema_contract(root, artefact, DAY, known) == read_back
    symbols = layout.symbols_with(root, "options")
    strikes = known_strike_ranges(run, DAY.isoformat())
    assert set(strikes) == set(symbols)
    assert chain_strike_ranges(root, DAY, symbols, strikes) == chain_strike_ranges(root, DAY, symbols)
    assert len([r for r in reads if r.startswith("strikes options/")]) == len(symbols)  # the spy sees reads


def test_a_check_run_on_its_own_reads_the_files_and_fails_on_a_broken_one(sim_env, monkeypatch, instance):
    for key in ("AEGIS_PARITY_ROOT", "SLACK_BOT_TOKEN", "AEGIS_SLACK_CHANNEL"):
        monkeypatch.delenv(key, raising=False)
    defs = load_defs()
    assert (
        defs.resolve_job_def("ldas_eod_job")
        .execute_in_process(partition_key=DAY.isoformat(), instance=instance, raise_on_error=False)
        .success
    )
    root = Path(sim_env["AEGIS_ARCHIVE_ROOT"])
    victim = sorted((root / "options").glob(f"*/{DAY:%Y/%m/%d}.parquet"))[0]
    pl.read_parquet(victim).drop("open_interest").write_parquet(victim)  # broken after the run

    checks = evaluations(run_job(defs, instance, partition=DAY.isoformat()))
    schema = checks[("ldas/options", "schema_contract")]
    assert not schema.passed
    assert victim.relative_to(root).as_posix() in str(schema.description) + str(schema.metadata)
