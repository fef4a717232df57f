"""Issue 16: `aegis parity` on a weekend date, a corrupt parquet, and two archives with nothing to compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from .archive_builder import chain_path
from .test_cli_parity import archives, run


def test_a_weekend_date_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], python_root: Path, rust_root: Path
) -> None:
    code, out, err = run(capsys, *archives(python_root, rust_root, date="2026-04-11"))
    assert (code, out) == (2, "")
    assert err == "aegis parity: error: --date 2026-04-11 is not an NYSE session (weekend or holiday)\n"


@pytest.mark.parametrize("date", ["20260410", "2026-W15-5"])
def test_a_date_not_in_key_form_is_a_usage_error(
    date: str, capsys: pytest.CaptureFixture[str], python_root: Path, rust_root: Path
) -> None:
    code, _, err = run(capsys, *archives(python_root, rust_root, date=date))
    assert code == 2 and f"invalid session date {date!r}: expected YYYY-MM-DD" in err


def test_a_corrupt_parquet_is_reported_as_such(
    capsys: pytest.CaptureFixture[str], python_root: Path, broken_rust: Path
) -> None:
    path = chain_path(broken_rust, "SPY")
    path.write_bytes(b"PAR1 this is not a parquet file PAR1")
    code, out, _ = run(capsys, *archives(python_root, broken_rust, types="options"))
    assert code == 1
    [row_line] = [line for line in out.splitlines() if line.startswith("options") and "row_count" in line]
    assert "1 of " in row_line and "unreadable (corrupt parquet): options/SPY/2026/04/10.parquet" in row_line
    assert "differ by more than" not in row_line
    assert "unreadable parquet" in out  # the reader's own words follow in the details


def test_both_sides_empty_is_a_usage_error_naming_the_date(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "py").mkdir()
    (tmp_path / "rs").mkdir()
    code, out, err = run(capsys, *archives(tmp_path / "py", tmp_path / "rs", types="vix,stocks"))
    assert (code, out) == (2, "")
    assert err == (
        "aegis parity: error: neither archive holds a vix, stocks file for 2026-04-10: nothing to compare "
        "(check --date and the archive roots)\n"
    )
