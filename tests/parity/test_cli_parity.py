"""``aegis parity`` agrees with the library: exit 0/1 on the gates, 2 on usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aegis_core.ldas.parity import PARITY_ARTEFACTS, ParityTolerances, compare_archives
from aegis_pipelines.cli.parity import main

from .archive_builder import SESSION, chain_path, daily_path, drop_rows, make_gex_levels_nullable

ALL_TYPES = ",".join(PARITY_ARTEFACTS)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["parity", *argv])
    except SystemExit as exc:  # an argparse usage error
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def archives(py: Path, rs: Path, types: str = ALL_TYPES, date: str = "2026-04-10") -> list[str]:
    return ["--python-archive", str(py), "--rust-archive", str(rs), "--date", date, "--types", types]


def test_matching_archives_exit_0_with_a_table(
    capsys: pytest.CaptureFixture[str], python_root: Path, rust_root: Path
) -> None:
    code, out, err = run(capsys, *archives(python_root, rust_root))

    assert code == 0, out
    assert err == ""
    assert "ARTEFACT     GATE" in out
    assert out.rstrip().endswith("PARITY PASSED: all 29 gate(s)")


def test_json_output_parses_and_equals_the_library_report(
    capsys: pytest.CaptureFixture[str], python_root: Path, rust_root: Path
) -> None:
    code, out, _ = run(capsys, *archives(python_root, rust_root), "--json")

    assert code == 0
    payload = json.loads(out)
    assert payload == compare_archives(python_root, rust_root, SESSION, PARITY_ARTEFACTS).to_dict()
    assert payload["passed"] is True


def test_a_broken_archive_exits_1_and_agrees_with_the_library(
    capsys: pytest.CaptureFixture[str], python_root: Path, broken_rust: Path
) -> None:
    drop_rows(chain_path(broken_rust, "AAPL"), 7)
    make_gex_levels_nullable(broken_rust)
    library = compare_archives(python_root, broken_rust, SESSION, ["options", "gex_summary"])

    code, out, _ = run(capsys, *archives(python_root, broken_rust, "options,gex_summary"), "--json")
    table_code, table, _ = run(capsys, *archives(python_root, broken_rust, "options,gex_summary"))

    assert (code, table_code) == (1, 1)
    payload = json.loads(out)
    assert payload == library.to_dict()
    assert payload["failed_gates"] == ["options_row_count", "gex_summary_schema"]
    assert "options/AAPL/2026/04/10.parquet: python 44 rows, rust 37 rows (-7)" in table
    assert "PARITY FAILED: 2 of 9 gate(s)" in table


def test_tolerance_flags_reach_the_gates(
    capsys: pytest.CaptureFixture[str], python_root: Path, broken_rust: Path
) -> None:
    drop_rows(chain_path(broken_rust, "AAPL"), 7)

    code, out, _ = run(
        capsys, *archives(python_root, broken_rust, "options"), "--tolerance-row-count", "7", "--json"
    )

    assert code == 0
    assert json.loads(out)["tolerances"] == {
        "file_count": 1,
        "row_count": 7,
        "regime": 1,
        "iv_rank_abs": 1e-9,
    }
    lib = compare_archives(python_root, broken_rust, SESSION, ["options"], ParityTolerances(row_count=7))
    assert lib.passed


def test_a_missing_file_count_gate_obeys_its_flag(
    capsys: pytest.CaptureFixture[str], python_root: Path, broken_rust: Path
) -> None:
    daily_path(broken_rust, "vix").unlink()

    code, out, _ = run(
        capsys, *archives(python_root, broken_rust, "vix"), "--tolerance-file-count", "0", "--json"
    )

    assert code == 1
    failed = json.loads(out)["failed_gates"]
    assert failed == ["vix_file_count", "vix_file_names", "vix_row_count", "vix_schema"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rs": "missing"}, "--rust-archive {tmp}/missing does not exist"),
        ({"py": "missing"}, "--python-archive {tmp}/missing does not exist"),
        ({"date": "2026-13-01"}, "--date: invalid session date '2026-13-01': expected YYYY-MM-DD"),
        ({"types": "vix,greeks"}, "--types: unknown type(s) greeks; expected some of"),
        ({"types": " , "}, "--types: no types given"),
        (
            {"extra": ["--tolerance-row-count", "-1"]},
            "argument --tolerance-row-count: must be a whole number between 0 and 1000000, got -1",
        ),
        (
            {"extra": ["--tolerance-iv-rank", "nan"]},
            "argument --tolerance-iv-rank: must be between 0 and 100",
        ),
        (
            {"extra": ["--tolerance-iv-rank", "inf"]},
            "argument --tolerance-iv-rank: must be between 0 and 100",
        ),
    ],
)
def test_usage_errors_exit_2_naming_the_bad_input(
    capsys: pytest.CaptureFixture[str],
    python_root: Path,
    rust_root: Path,
    tmp_path: Path,
    change: dict,
    message: str,
) -> None:
    py = tmp_path / change["py"] if "py" in change else python_root
    rs = tmp_path / change["rs"] if "rs" in change else rust_root
    argv = archives(py, rs, change.get("types", ALL_TYPES), change.get("date", "2026-04-10"))

    code, out, err = run(capsys, *argv, *change.get("extra", []))

    assert code == 2
    assert out == ""
    assert message.format(tmp=tmp_path) in err
    assert err.startswith("aegis parity: error: ")


def test_a_file_given_as_archive_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], python_root: Path, tmp_path: Path
) -> None:
    not_a_dir = tmp_path / "archive.txt"
    not_a_dir.write_text("")

    code, _, err = run(capsys, *archives(python_root, not_a_dir))

    assert code == 2
    assert f"--rust-archive {not_a_dir} is not a directory" in err


def test_argparse_usage_errors_also_exit_2(capsys: pytest.CaptureFixture[str], python_root: Path) -> None:
    missing_flag = run(capsys, "--python-archive", str(python_root), "--date", "2026-04-10", "--types", "vix")
    assert missing_flag[0] == 2 and "--rust-archive" in missing_flag[2]
    bad_int = run(capsys, *archives(python_root, python_root), "--tolerance-row-count", "five")
    assert bad_int[0] == 2 and bad_int[2].count("\n") == 1  # one line, as every refusal


def test_main_runs_standalone(capsys: pytest.CaptureFixture[str], python_root: Path, rust_root: Path) -> None:
    assert main(["parity", *archives(python_root, rust_root, "vix")]) == 0
    assert "PARITY PASSED: all 4 gate(s)" in capsys.readouterr().out


def test_the_cli_module_does_not_import_dagster() -> None:
    code = (
        "import sys, aegis_pipelines.cli.parity;"
        "sys.exit(any(m.split('.')[0] == 'dagster' for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr or "aegis_pipelines.cli.parity imported dagster"
