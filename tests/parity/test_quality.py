"""Data-quality checks on one archive: each passes on a good archive and fails, naming the
offenders, on a broken one."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aegis_core.calendar import NY, nyse
from aegis_core.ldas.cadence import intraday_cadence
from aegis_core.ldas.freshness import freshness
from aegis_core.ldas.quality import gex_sanity, strike_ranges, universe_coverage
from aegis_core.ldas.schema_contract import schema_contract
from aegis_core.ldas.slots import slot_of

from .archive_builder import (
    SESSION,
    SLOTS,
    SYMBOLS,
    chain_path,
    daily_path,
    drop_symbol_row,
    make_gex_levels_nullable,
    set_column,
    snapshot_of,
    stock_path,
)

# --- schema_contract ------------------------------------------------------------------------------


def artefact_files(root: Path) -> dict[str, Path]:
    return {
        "vix": daily_path(root, "vix"),
        "stocks": stock_path(root, "AAPL"),
        "options": chain_path(root, "AAPL"),
        "intraday": snapshot_of(root, "AAPL", dt.time(9, 35)),
        "gex_summary": daily_path(root, "gex_summary"),
        "iv_rank": daily_path(root, "iv_rank"),
    }


@pytest.mark.parametrize("artefact", ["vix", "stocks", "options", "intraday", "gex_summary", "iv_rank"])
def test_independently_written_files_meet_the_contract(
    artefact: str, python_root: Path, rust_root: Path
) -> None:
    for root in (python_root, rust_root):
        result = schema_contract(artefact_files(root)[artefact], artefact)
        assert result.passed, result.details
        assert result.offenders == ()


def test_nullable_gex_levels_break_the_contract(broken_rust: Path) -> None:
    make_gex_levels_nullable(broken_rust)

    result = schema_contract(daily_path(broken_rust, "gex_summary"), "gex_summary")

    assert not result.passed
    assert result.offenders == ("zero_gamma_level", "gamma_wall", "put_wall")
    assert result.details[1] == "gamma_wall: file double nullable, contract double not null"
    assert "gamma_wall" in result.summary and "10.parquet" in result.summary


def test_missing_extra_and_retyped_columns_break_the_contract(python_root: Path) -> None:
    table = pq.read_table(daily_path(python_root, "iv_rank"))
    table = table.drop_columns(["iv_low"]).append_column("note", pa.array(["x"] * table.num_rows))
    index = table.schema.get_field_index("observations")
    table = table.set_column(index, "observations", table.column(index).cast(pa.float64()))

    result = schema_contract(table, "iv_rank")

    assert not result.passed
    assert set(result.offenders) == {"iv_low", "note", "observations"}
    assert "iv_low: file absent, contract double not null" in result.details
    assert "note: file string nullable, contract absent" in result.details
    assert "observations: file double nullable, contract int64 not null" in result.details


def test_an_unreadable_file_fails_the_contract_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "10.parquet"
    bad.write_bytes(b"garbage")

    result = schema_contract(bad, "vix")

    assert not result.passed
    assert result.offenders == (str(bad),)


def test_an_unknown_artefact_is_named() -> None:
    with pytest.raises(ValueError, match="unknown artefact 'greeks'"):
        schema_contract(pa.schema([]), "greeks")


# --- universe_coverage ----------------------------------------------------------------------------


@pytest.mark.parametrize("artefact", ["stocks", "options", "gex_summary", "iv_rank"])
def test_full_coverage_passes(artefact: str, python_root: Path) -> None:
    result = universe_coverage(python_root, artefact, SESSION, SYMBOLS, threshold=1.0)
    assert result.passed
    assert result.offenders == ()
    assert "6/6 universe symbols (100.0%" in result.summary


def test_a_missing_stock_file_fails_coverage_naming_the_symbol(broken_rust: Path) -> None:
    stock_path(broken_rust, "MSFT").unlink()

    strict = universe_coverage(broken_rust, "stocks", SESSION, SYMBOLS, threshold=0.95)
    lenient = universe_coverage(broken_rust, "stocks", SESSION, SYMBOLS, threshold=0.8)

    assert not strict.passed
    assert strict.offenders == ("MSFT",)
    assert "5/6 universe symbols (83.3%, threshold 95.0%); missing MSFT" in strict.summary
    assert lenient.passed and lenient.offenders == ("MSFT",)


def test_a_missing_gex_row_and_a_symbol_outside_the_archive_fail_coverage(broken_rust: Path) -> None:
    drop_symbol_row(daily_path(broken_rust, "gex_summary"), "NVDA")

    result = universe_coverage(broken_rust, "gex_summary", SESSION, [*SYMBOLS, "XOM"], threshold=1.0)

    assert not result.passed
    assert result.offenders == ("NVDA", "XOM")


def test_a_missing_daily_file_misses_every_symbol(broken_rust: Path) -> None:
    daily_path(broken_rust, "iv_rank").unlink()

    result = universe_coverage(broken_rust, "iv_rank", SESSION, SYMBOLS, threshold=0.5)

    assert not result.passed
    assert result.offenders == tuple(sorted(SYMBOLS))
    assert "does not exist" in result.details[0]


def test_coverage_rejects_bad_arguments_by_name(python_root: Path) -> None:
    with pytest.raises(ValueError, match="'vix' has no per-symbol coverage"):
        universe_coverage(python_root, "vix", SESSION, SYMBOLS, 1.0)
    with pytest.raises(ValueError, match="threshold 95"):
        universe_coverage(python_root, "stocks", SESSION, SYMBOLS, 95)
    with pytest.raises(ValueError, match="universe is empty"):
        universe_coverage(python_root, "stocks", SESSION, [], 1.0)


# --- gex_sanity -----------------------------------------------------------------------------------


def gex_frame(root: Path) -> pl.DataFrame:
    return pl.read_parquet(daily_path(root, "gex_summary"))


def chains_frame(root: Path) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(chain_path(root, s)) for s in SYMBOLS], how="vertical_relaxed")


def test_good_gex_is_sane_against_chains_or_strike_ranges(python_root: Path) -> None:
    chains = chains_frame(python_root)

    by_frame = gex_sanity(gex_frame(python_root), chains)
    by_ranges = gex_sanity(pq.read_table(daily_path(python_root, "gex_summary")), strike_ranges(chains))

    assert by_frame.passed, by_frame.details
    assert by_ranges.passed, by_ranges.details
    assert by_frame.summary == "gex_summary: all 6 symbol(s) pass sanity"


def test_a_wrong_regime_for_two_symbols_fails_sanity(broken_rust: Path) -> None:
    set_column(daily_path(broken_rust, "gex_summary"), "gex_regime", {"AAPL": "negative", "MSFT": "negative"})

    result = gex_sanity(gex_frame(broken_rust), chains_frame(broken_rust))

    assert not result.passed
    assert result.offenders == ("AAPL", "MSFT")
    assert result.details[0] == "AAPL: gex_regime 'negative' but net_gex 100000000.0 says 'positive'"


def test_abs_below_net_and_walls_outside_the_strikes_fail_sanity(python_root: Path) -> None:
    ranges = strike_ranges(chains_frame(python_root))
    gex = gex_frame(python_root).with_columns(
        pl.when(pl.col("symbol") == "MSFT").then(1.0).otherwise(pl.col("abs_gex")).alias("abs_gex"),
        pl.when(pl.col("symbol") == "SPY").then(9999.0).otherwise(pl.col("gamma_wall")).alias("gamma_wall"),
        pl.when(pl.col("symbol") == "TSLA")
        .then(1.0)
        .when(pl.col("symbol") == "AAPL")
        .then(0.0)
        .otherwise(pl.col("put_wall"))
        .alias("put_wall"),
    )

    result = gex_sanity(gex, ranges)

    assert result.offenders == ("MSFT", "SPY", "TSLA")  # AAPL's 0.0 put wall means "undefined"
    details = "\n".join(result.details)
    assert "MSFT: abs_gex 1.0 < |net_gex| 200000000.0" in details
    lo, hi = ranges["SPY"]
    assert f"SPY: gamma_wall 9999.0 outside the chain's strikes {lo!r}–{hi!r}" in details
    assert "TSLA: put_wall 1.0 outside" in details


def test_nulls_duplicates_missing_chains_and_a_stray_zero_gamma_fail_sanity(python_root: Path) -> None:
    good = gex_frame(python_root)
    gex = pl.concat([good, good.filter(pl.col("symbol") == "QQQ")]).with_columns(
        pl.when(pl.col("symbol") == "AAPL").then(None).otherwise(pl.col("net_gex")).alias("net_gex"),
        pl.when(pl.col("symbol") == "MSFT")
        .then(1.0)
        .otherwise(pl.col("zero_gamma_level"))
        .alias("zero_gamma_level"),
    )
    ranges = {s: r for s, r in strike_ranges(chains_frame(python_root)).items() if s != "NVDA"}

    result = gex_sanity(gex, ranges)

    assert result.offenders == ("AAPL", "MSFT", "NVDA", "QQQ")
    details = "\n".join(result.details)
    assert "AAPL: net_gex is null (must be a finite number)" in details
    assert "MSFT: zero_gamma_level 1.0 outside 0.8–1.2 × spot 400.0" in details
    assert "NVDA: gamma_wall 104.0 but no chain strikes to check it against" in details
    assert "QQQ: 2 rows (expected one per symbol)" in details


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_infinite_or_nan_gamma_exposure_fails_sanity(python_root: Path, value: float) -> None:
    # Issue 24: an infinite net_gex/abs_gex (gamma 1e300 at the door) used to pass: only NaN was looked for.
    good = gex_frame(python_root)
    gex = good.with_columns(
        pl.when(pl.col("symbol") == "QQQ").then(value).otherwise(pl.col(c)).alias(c)
        for c in ("net_gex", "abs_gex")
    )
    result = gex_sanity(gex, strike_ranges(chains_frame(python_root)))
    assert result.offenders == ("QQQ",) and not result.passed
    assert f"QQQ: net_gex is {value!r} (must be a finite number)" in "\n".join(result.details)
    assert gex_sanity(good, strike_ranges(chains_frame(python_root))).passed


# --- intraday_cadence -----------------------------------------------------------------------------


def session_slots() -> list[dt.datetime]:
    session = nyse().session(SESSION)
    assert session is not None
    return session.slots


def test_one_snapshot_per_slot_passes(python_root: Path, rust_root: Path) -> None:
    for root in (python_root, rust_root):
        result = intraday_cadence(root, SESSION, SYMBOLS, session_slots())
        assert result.passed, result.details
        assert result.summary == "intraday 2026-04-10: one snapshot per slot for 6 symbol(s) × 26 slot(s)"
    assert intraday_cadence(python_root, SESSION, SYMBOLS, list(SLOTS)).passed  # New York times work too


def test_a_missing_slot_is_listed_by_slot_and_symbol(broken_rust: Path) -> None:
    snapshot_of(broken_rust, "SPY", dt.time(10, 5)).unlink()
    snapshot_of(broken_rust, "AAPL", dt.time(10, 5)).unlink()

    result = intraday_cadence(broken_rust, SESSION, SYMBOLS, session_slots())

    assert not result.passed
    assert result.offenders == ("AAPL@10:05", "SPY@10:05")
    assert result.details == ("gap 10:05: AAPL, SPY",)
    assert "2 gap(s) in 1 slot(s), 0 duplicate(s)" in result.summary


def test_a_duplicate_snapshot_in_one_slot_is_listed(broken_python: Path) -> None:
    original = snapshot_of(broken_python, "SPY", dt.time(10, 5))
    shutil.copy(original, original.with_name("10_pt_100901.parquet"))

    result = intraday_cadence(broken_python, SESSION, SYMBOLS, session_slots())

    assert not result.passed
    assert result.offenders == ("SPY@10:05",)
    assert result.details == ("duplicate SPY 10:05: 10_pt_100512.parquet, 10_pt_100901.parquet",)


def test_a_symbol_without_snapshots_and_strays_outside_the_slots(broken_python: Path) -> None:
    original = snapshot_of(broken_python, "AAPL", dt.time(9, 35))
    shutil.copy(original, original.with_name("10_pt_092000.parquet"))
    first_two = session_slots()[:2]

    result = intraday_cadence(broken_python, SESSION, ["AAPL", "XOM"], first_two)

    assert result.offenders == ("XOM@09:35", "XOM@09:50")
    assert "gap 09:35: XOM" in result.details
    assert "AAPL: 10_pt_092000.parquet is outside every expected slot" in result.details


def test_slot_windows() -> None:
    assert slot_of(dt.time(9, 34, 59)) is None
    assert slot_of(dt.time(9, 35)) == dt.time(9, 35)
    assert slot_of(dt.time(9, 49, 59)) == dt.time(9, 35)
    assert slot_of(dt.time(9, 50)) == dt.time(9, 50)
    assert slot_of(dt.time(15, 59, 59)) == dt.time(15, 50)


# --- freshness ------------------------------------------------------------------------------------


def at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(SESSION, dt.time(hour, minute), tzinfo=NY)


def test_files_present_are_fresh(python_root: Path) -> None:
    result = freshness(python_root, SESSION, now=at(19, 0))
    assert result.passed and not result.pending
    assert result.status == "passed"


def test_a_missing_file_is_pending_before_the_deadline_and_failed_after(broken_rust: Path) -> None:
    daily_path(broken_rust, "iv_rank").unlink()

    early = freshness(broken_rust, SESSION, now=at(17, 30))
    late = freshness(broken_rust, SESSION, now=at(18, 5))

    assert early.passed and early.pending and early.status == "pending"
    assert "30 min left" in early.summary
    assert not late.passed and late.status == "failed"
    assert late.offenders == ("iv_rank/2026/04/10.parquet",)
    assert "iv_rank missing after the deadline 2026-04-10 18:00 ET" in late.summary
    assert early.to_dict()["status"] == "pending"


def test_freshness_takes_a_custom_deadline_and_rejects_naive_times(broken_rust: Path) -> None:
    daily_path(broken_rust, "gex_summary").unlink()

    assert not freshness(broken_rust, SESSION, now=at(17, 30), deadline=dt.time(17, 0)).passed
    with pytest.raises(ValueError, match="naive"):
        freshness(broken_rust, SESSION, now=dt.datetime(2026, 4, 10, 19, 0))
