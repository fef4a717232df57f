"""Archive-vs-archive parity: every gate passes on matching archives and fails, naming the offenders,
on a deliberately broken one."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aegis_core.ldas.parity import (
    PARITY_ARTEFACTS,
    ParityReport,
    ParityTolerances,
    compare_archives,
    gates_for,
)

from .archive_builder import (
    SESSION,
    SYMBOLS,
    chain_path,
    daily_path,
    drop_rows,
    drop_symbol_row,
    make_gex_levels_nullable,
    set_column,
    snapshot_of,
    stock_path,
)


def compare(py: Path, rs: Path, *artefacts: str, **tolerances: float) -> ParityReport:
    return compare_archives(py, rs, SESSION, artefacts or PARITY_ARTEFACTS, ParityTolerances(**tolerances))


def failed_names(report: ParityReport) -> list[str]:
    return [g.name for g in report.failures()]


def test_matching_archives_pass_every_gate(python_root: Path, rust_root: Path) -> None:
    report = compare(python_root, rust_root)

    assert report.passed, report.render_table()
    assert report.failures() == []
    expected = [(a, g) for a in PARITY_ARTEFACTS for g in gates_for(a)]
    assert [(g.artefact, g.gate) for g in report.gates] == expected
    assert report.gate("intraday", "file_names").summary == "156 symbol/slot(s) match 1:1"
    assert report.gate("options", "file_count").summary.startswith("python 6, rust 6 file(s)")
    assert "PARITY PASSED: all 29 gate(s)" in report.render_table()


def test_report_dict_is_json_safe(python_root: Path, rust_root: Path) -> None:
    report = compare(python_root, rust_root, "gex_summary", "iv_rank")

    payload = json.loads(json.dumps(report.to_dict()))

    assert payload["passed"] is True
    assert payload["session"] == "2026-04-10"
    assert payload["tolerances"] == {"file_count": 1, "row_count": 5, "regime": 1, "iv_rank_abs": 1e-9}
    assert [g["gate"] for g in payload["gates"]] == [*gates_for("gex_summary"), *gates_for("iv_rank")]
    assert all(g["status"] == "passed" for g in payload["gates"])


def test_string_and_large_string_are_the_same_logical_type(python_root: Path, rust_root: Path) -> None:
    py = pq.read_schema(daily_path(python_root, "gex_summary")).field("symbol").type
    rs = pq.read_schema(daily_path(rust_root, "gex_summary")).field("symbol").type
    assert (str(py), str(rs)) == ("string", "large_string")

    assert compare(python_root, rust_root, "gex_summary").gate("gex_summary", "schema").passed


def test_nullable_gex_floats_fail_the_schema_gate(python_root: Path, broken_rust: Path) -> None:
    make_gex_levels_nullable(broken_rust)

    report = compare(python_root, broken_rust, "gex_summary")

    gate = report.gate("gex_summary", "schema")
    assert failed_names(report) == ["gex_summary_schema"]
    assert {"zero_gamma_level", "gamma_wall", "put_wall"} <= set(gate.offenders)
    assert "gex_summary/2026/04/10.parquet" in gate.offenders
    assert "gamma_wall" in gate.summary
    assert any(
        d.startswith("gamma_wall: python double not null, rust double nullable") for d in gate.details
    ), gate.details


def test_schema_gate_sees_missing_and_retyped_columns_both_ways(python_root: Path, broken_rust: Path) -> None:
    path = daily_path(broken_rust, "iv_rank")
    table = pq.read_table(path)
    table = table.drop_columns(["iv_percentile"]).append_column("extra", table.column("iv"))
    pq.write_table(
        table.set_column(
            table.schema.get_field_index("observations"),
            "observations",
            table.column("observations").cast("float64"),
        ),
        path,
    )

    gate = compare(python_root, broken_rust, "iv_rank").gate("iv_rank", "schema")

    assert not gate.passed
    assert {"iv_percentile", "extra", "observations"} <= set(gate.offenders)
    details = "\n".join(gate.details)
    assert "iv_percentile: python double nullable, rust absent" in details
    assert "extra: python absent, rust double" in details
    assert "observations: python int64 not null, rust double" in details


def test_a_missing_file_fails_the_names_gate_but_not_the_count_within_one(
    python_root: Path, broken_rust: Path
) -> None:
    stock_path(broken_rust, "MSFT").unlink()

    report = compare(python_root, broken_rust, "stocks")

    assert failed_names(report) == ["stocks_file_names"]
    names = report.gate("stocks", "file_names")
    assert names.offenders == ("stocks/MSFT/2026/04/10_poly.parquet",)
    assert names.details == ("python only: stocks/MSFT/2026/04/10_poly.parquet",)
    assert report.gate("stocks", "file_count").summary.startswith("python 6, rust 5 file(s)")


def test_two_missing_files_fail_the_file_count_gate(python_root: Path, broken_rust: Path) -> None:
    stock_path(broken_rust, "MSFT").unlink()
    stock_path(broken_rust, "SPY").unlink()

    gate = compare(python_root, broken_rust, "stocks").gate("stocks", "file_count")

    assert not gate.passed
    assert "python 6, rust 4" in gate.summary
    assert set(gate.offenders) == {
        "stocks/MSFT/2026/04/10_poly.parquet",
        "stocks/SPY/2026/04/10_poly.parquet",
    }
    assert compare(python_root, broken_rust, "stocks", file_count=2).gate("stocks", "file_count").passed


def test_an_extra_file_fails_the_names_gate(python_root: Path, broken_rust: Path) -> None:
    extra = chain_path(broken_rust, "XOM")
    extra.parent.mkdir(parents=True)
    shutil.copy(chain_path(broken_rust, "AAPL"), extra)

    report = compare(python_root, broken_rust, "options")

    assert failed_names(report) == ["options_file_names"]
    assert report.gate("options", "file_names").offenders == ("options/XOM/2026/04/10.parquet",)
    assert report.gate("options", "file_names").details == ("rust only: options/XOM/2026/04/10.parquet",)


def test_seven_fewer_rows_fail_the_row_gate_naming_the_file_and_both_counts(
    python_root: Path, broken_rust: Path
) -> None:
    path = chain_path(broken_rust, "AAPL")
    before = pq.read_metadata(path).num_rows
    drop_rows(path, 7)

    report = compare(python_root, broken_rust, "options")

    gate = report.gate("options", "row_count")
    assert failed_names(report) == ["options_row_count"]
    assert gate.offenders == ("options/AAPL/2026/04/10.parquet",)  # TSLA's 3 missing rows are within ±5
    assert gate.details == (
        f"options/AAPL/2026/04/10.parquet: python {before} rows, rust {before - 7} rows (-7)",
    )
    assert compare(python_root, broken_rust, "options", row_count=7).passed


def test_a_wrong_regime_for_two_symbols_fails_the_distribution_gate(
    python_root: Path, broken_rust: Path
) -> None:
    set_column(daily_path(broken_rust, "gex_summary"), "gex_regime", {"AAPL": "negative", "MSFT": "negative"})

    report = compare(python_root, broken_rust, "gex_summary")

    gate = report.gate("gex_summary", "regime_distribution")
    assert failed_names(report) == ["gex_summary_regime_distribution"]
    assert gate.offenders == ("AAPL", "MSFT")
    assert "positive, negative" in gate.summary
    assert "positive: python 4, rust 2 (-2)" in gate.details
    assert "negative: python 2, rust 4 (+2)" in gate.details
    assert "AAPL: python positive, rust negative" in gate.details


def test_one_changed_regime_is_within_tolerance_but_named(python_root: Path, broken_rust: Path) -> None:
    set_column(daily_path(broken_rust, "gex_summary"), "gex_regime", {"AAPL": "neutral"})

    gate = compare(python_root, broken_rust, "gex_summary").gate("gex_summary", "regime_distribution")

    assert gate.passed
    assert gate.offenders == ("AAPL",)
    assert compare(python_root, broken_rust, "gex_summary", regime=0).failures()[0].offenders == ("AAPL",)


def test_an_iv_rank_off_by_a_millionth_fails_naming_the_symbol_and_both_values(
    python_root: Path, broken_rust: Path
) -> None:
    path = daily_path(broken_rust, "iv_rank")
    good = dict(zip(*pq.read_table(path, columns=["symbol", "iv_rank"]).to_pydict().values(), strict=True))
    set_column(path, "iv_rank", {"NVDA": good["NVDA"] + 1e-6})

    report = compare(python_root, broken_rust, "iv_rank")

    gate = report.gate("iv_rank", "iv_rank_values")
    assert failed_names(report) == ["iv_rank_iv_rank_values"]
    assert gate.offenders == ("NVDA",)
    assert gate.details == (f"NVDA: iv_rank python {good['NVDA']!r}, rust {good['NVDA'] + 1e-6!r}",)
    assert compare(python_root, broken_rust, "iv_rank", iv_rank_abs=1e-5).passed


def test_iv_rank_symbols_on_one_side_and_null_mismatches_fail(python_root: Path, broken_rust: Path) -> None:
    path = daily_path(broken_rust, "iv_rank")
    drop_symbol_row(path, "TSLA")
    set_column(path, "iv_rank", {"AAPL": None})

    gate = compare(python_root, broken_rust, "iv_rank").gate("iv_rank", "iv_rank_values")

    assert not gate.passed
    assert gate.offenders == ("AAPL", "TSLA")
    assert "TSLA: only in python" in gate.details
    assert any(d.startswith("AAPL: iv_rank python ") and d.endswith(", rust None") for d in gate.details)


def test_a_missing_intraday_slot_fails_slots_and_cadence(python_root: Path, broken_rust: Path) -> None:
    snapshot_of(broken_rust, "SPY", dt.time(10, 5)).unlink()

    report = compare(python_root, broken_rust, "intraday")

    assert failed_names(report) == ["intraday_file_names", "intraday_slots_per_symbol", "intraday_cadence"]
    slots = report.gate("intraday", "slots_per_symbol")
    assert slots.offenders == ("SPY",)
    assert slots.details == ("SPY: python 26 slot(s), rust 25 slot(s)",)
    cadence = report.gate("intraday", "cadence")
    assert cadence.offenders == ("SPY (rust)",)
    assert cadence.details == (
        "SPY (rust): gap: no capture in slot(s) 10:05 (between 09:50:47 and 10:20:47)",
    )
    names = report.gate("intraday", "file_names")
    assert names.offenders == ("options/SPY/2026/04/10_pt_100512.parquet",)
    assert names.details == ("python only: SPY@10:05 (options/SPY/2026/04/10_pt_100512.parquet)",)
    assert report.gate("intraday", "file_count").passed  # 156 vs 155 is within ±1


def test_a_duplicate_snapshot_in_one_slot_breaks_the_cadence(broken_python: Path, rust_root: Path) -> None:
    original = snapshot_of(broken_python, "SPY", dt.time(10, 5))
    shutil.copy(original, original.with_name("10_pt_100901.parquet"))

    report = compare(broken_python, rust_root, "intraday")

    assert failed_names(report) == ["intraday_file_names", "intraday_cadence"]
    assert report.gate("intraday", "slots_per_symbol").passed  # still 26 distinct slots on each side
    cadence = report.gate("intraday", "cadence")
    assert cadence.offenders == ("SPY (python)",)
    assert cadence.details == ("SPY (python): two captures in slot 10:05 (10:05:12, 10:09:01)",)
    assert report.gate("intraday", "file_names").details == (
        "python only: SPY@10:05#2 (options/SPY/2026/04/10_pt_100901.parquet)",
    )


def test_a_capture_before_the_first_slot_breaks_the_cadence(broken_python: Path, rust_root: Path) -> None:
    original = snapshot_of(broken_python, "AAPL", dt.time(9, 35))
    shutil.copy(original, original.with_name("10_pt_092000.parquet"))

    cadence = compare(broken_python, rust_root, "intraday").gate("intraday", "cadence")

    assert not cadence.passed
    assert cadence.details == ("AAPL (python): first capture 09:20:00 is before 09:35",)


def test_intraday_row_and_schema_gates_name_the_slot_and_both_files(
    python_root: Path, broken_rust: Path
) -> None:
    path = snapshot_of(broken_rust, "QQQ", dt.time(11, 5))
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["vega"]), path)
    short = snapshot_of(broken_rust, "AAPL", dt.time(10, 20))
    rows = pq.read_metadata(short).num_rows
    drop_rows(short, rows)  # beyond ±5 rows: every contract of the slot's chain
    python_file = snapshot_of(python_root, "AAPL", dt.time(10, 20)).relative_to(python_root).as_posix()
    rust_file = short.relative_to(broken_rust).as_posix()
    assert python_file != rust_file  # the two daemons' capture seconds differ: matched by slot

    report = compare(python_root, broken_rust, "intraday")

    assert failed_names(report) == ["intraday_row_count", "intraday_schema"]
    row_count = report.gate("intraday", "row_count")
    assert row_count.offenders == ("AAPL@10:20",)  # QQQ@11:05 lost a column, not rows
    assert row_count.details == (
        f"AAPL@10:20 (python {python_file}, rust {rust_file}): python {rows} rows, rust 0 rows (-{rows})",
    )
    schema = report.gate("intraday", "schema")
    assert schema.offenders == ("vega", "QQQ@11:05")
    assert schema.details == ("vega: python double nullable, rust absent — 1 file(s): QQQ@11:05",)


def test_unreadable_files_fail_rows_and_schema_by_name(python_root: Path, broken_rust: Path) -> None:
    daily_path(broken_rust, "vix").write_bytes(b"not a parquet file")

    report = compare(python_root, broken_rust, "vix")

    assert failed_names(report) == ["vix_row_count", "vix_schema"]
    rows = report.gate("vix", "row_count")
    assert rows.offenders == ("vix/2026/04/10.parquet",)
    assert rows.details[0].startswith("vix/2026/04/10.parquet rust: unreadable parquet")


def test_gates_that_need_both_files_fail_when_one_is_missing(python_root: Path, broken_rust: Path) -> None:
    daily_path(broken_rust, "gex_summary").unlink()

    report = compare(python_root, broken_rust, "gex_summary")

    assert report.gate("gex_summary", "file_count").passed  # 1 vs 0 is within ±1 …
    assert failed_names(report) == [  # … but nothing else can be shown to match
        "gex_summary_file_names",
        "gex_summary_row_count",
        "gex_summary_schema",
        "gex_summary_regime_distribution",
    ]
    regime = report.gate("gex_summary", "regime_distribution")
    assert regime.summary == "nothing to compare: no gex_summary file for 2026-04-10 on both sides"
    assert regime.offenders == ("gex_summary/2026/04/10.parquet",)


def test_a_date_with_no_files_on_either_side_fails(python_root: Path, rust_root: Path) -> None:
    report = compare_archives(python_root, rust_root, dt.date(2026, 4, 9), ["vix", "intraday"])

    assert not report.passed
    assert report.gate("vix", "file_count").summary == "no vix files for 2026-04-09 in either archive"
    assert not report.gate("intraday", "cadence").passed


def test_a_missing_root_is_named(python_root: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"rust archive root not found: .*nowhere"):
        compare_archives(python_root, tmp_path / "nowhere", SESSION, ["vix"])
    with pytest.raises(FileNotFoundError, match=r"python archive root not found: .*nowhere"):
        compare_archives(tmp_path / "nowhere", python_root, SESSION, ["vix"])


def test_an_unknown_artefact_or_negative_tolerance_is_named(python_root: Path, rust_root: Path) -> None:
    with pytest.raises(ValueError, match="unknown parity artefact 'greeks'"):
        compare_archives(python_root, rust_root, SESSION, ["vix", "greeks"])
    with pytest.raises(ValueError, match="parity tolerance row_count must be a whole number between 0 and"):
        ParityTolerances(row_count=-1)
    with pytest.raises(ValueError, match="parity tolerance iv_rank_abs must be between 0 and 100, got inf"):
        ParityTolerances(iv_rank_abs=float("inf"))


def test_the_table_shows_failures_with_their_offenders(python_root: Path, broken_rust: Path) -> None:
    drop_rows(chain_path(broken_rust, "AAPL"), 7)
    make_gex_levels_nullable(broken_rust)

    text = compare(python_root, broken_rust, "options", "gex_summary").render_table()

    assert "options      row_count            FAIL    1 of 6 file(s) differ by more than ±5 rows" in text
    assert "- options/AAPL/2026/04/10.parquet: python 44 rows, rust 37 rows (-7)" in text
    assert "- gamma_wall: python double not null, rust double nullable" in text
    assert text.endswith("PARITY FAILED: 2 of 9 gate(s): options_row_count, gex_summary_schema")


def test_metadata_only_artefacts_never_read_column_data(
    python_root: Path, rust_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("parity read column data for a metadata-only gate")

    monkeypatch.setattr(pq, "read_table", forbidden)
    monkeypatch.setattr(pq.ParquetFile, "read", forbidden)

    assert compare(python_root, rust_root, "vix", "stocks", "options", "intraday").passed


def test_universe_symbols_are_all_compared(python_root: Path, rust_root: Path) -> None:
    gate = compare(python_root, rust_root, "iv_rank").gate("iv_rank", "iv_rank_values")
    assert gate.summary == f"all {len(SYMBOLS)} symbol(s) identical within 1e-09"
