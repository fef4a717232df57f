"""Cutover readiness on a built history of sessions (the independent writer, both flavours).

The runbook's rule: 2 business days EOD parity green + 2 business days intraday parity green.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from aegis_core.ldas.readiness import parity_readiness
from aegis_pipelines.cli.parity import main

from .archive_builder import PYTHON, RUST, SESSION, build_archive, daily_path, set_column, snapshot_path

# Mon 2026-04-06 … Fri 2026-04-10: five NYSE sessions (Good Friday was 04-03).
WEEK = [dt.date(2026, 4, d) for d in range(6, 11)]
assert WEEK[-1] == SESSION


def history(base: Path, days: list[dt.date]) -> tuple[Path, Path]:
    py, rs = base / "python", base / "rust"
    for day in days:
        build_archive(py, PYTHON, day=day)
        build_archive(rs, RUST, day=day)
    return py, rs


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:  # the module's own entry point, as `aegis parity readiness` parses it
        code = main(["parity", "readiness", *argv])
    except SystemExit as exc:  # an argparse usage error
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def roots(py: Path, rs: Path, day: dt.date = SESSION) -> list[str]:
    return ["--python-archive", str(py), "--rust-archive", str(rs), "--date", day.isoformat()]


def test_one_green_day_is_not_ready(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    py, rs = history(tmp_path, WEEK[-1:])
    ready = parity_readiness(py, rs, SESSION)

    assert not ready.met
    assert {a.artefact: a.days for a in ready.artefacts} == dict.fromkeys(
        ("vix", "stocks", "options", "gex_summary", "iv_rank", "intraday"), 1
    )
    assert ready.streak("intraday").red_session == WEEK[-2]  # nothing archived that day
    assert "file_count" in ready.streak("intraday").red_gates
    assert ready.summary == (
        "cutover rule NOT MET as of 2026-04-10: EOD parity green 1/2 business day(s), "
        "intraday parity green 1/2"
    )
    code, out, err = cli(capsys, *roots(py, rs))
    assert (code, err) == (1, "")
    assert out.rstrip().endswith(ready.summary)
    assert "intraday     intraday  1           2026-04-09 (file_count" in out


def test_two_eod_and_two_intraday_days_are_ready(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    py, rs = history(tmp_path, WEEK[-2:])
    ready = parity_readiness(py, rs, SESSION)

    assert ready.met
    assert [(g.group, g.days, g.required) for g in ready.groups] == [("eod", 2, 2), ("intraday", 2, 2)]
    code, out, _ = cli(capsys, *roots(py, rs), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload == json.loads(json.dumps(ready.to_dict()))
    assert payload["rule_met"] is True and payload["groups"]["intraday"] == {
        "green_days": 2,
        "required": 2,
        "met": True,
    }
    # The day before, only one day of history exists: not ready yet.
    code, out, _ = cli(capsys, *roots(py, rs, WEEK[-2]), "--json")
    assert code == 1 and json.loads(out)["groups"]["eod"]["green_days"] == 1


def test_a_red_day_in_between_resets_the_streak(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    py, rs = history(tmp_path, WEEK[1:])  # Tue … Fri
    # Thursday: the Rust daemon missed the 10:05 slot for SPY (intraday red), and its gex regime for
    # AAPL and MSFT disagrees (EOD red).
    snapshot_path(rs, "SPY", dt.time(10, 5, 47), WEEK[3]).unlink()
    set_column(daily_path(rs, "gex_summary", WEEK[3]), "gex_regime", {"AAPL": "negative", "MSFT": "negative"})

    ready = parity_readiness(py, rs, SESSION)
    assert not ready.met
    assert ready.streak("intraday").days == 1 and ready.streak("gex_summary").days == 1
    assert ready.streak("options").days == 4 and not ready.streak("options").capped
    assert set(ready.streak("intraday").red_gates) >= {"slots_per_symbol", "cadence"}
    assert ready.streak("gex_summary").red_gates == ("regime_distribution",)
    code, out, _ = cli(capsys, *roots(py, rs), "--json")
    assert code == 1
    assert json.loads(out)["groups"] == {
        "eod": {"green_days": 1, "required": 2, "met": False},
        "intraday": {"green_days": 1, "required": 2, "met": False},
    }
    # Wednesday, before the red day, had three green days behind it... and Tuesday is the first.
    assert parity_readiness(py, rs, WEEK[2]).met


def test_lookback_caps_the_streak(tmp_path: Path) -> None:
    py, rs = history(tmp_path, WEEK[-3:])
    ready = parity_readiness(py, rs, SESSION, lookback=2)
    assert ready.met and ready.lookback == 2
    assert all(a.capped and a.label == "≥2" for a in ready.artefacts)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--date", "2026-04-11"], "2026-04-11 is not an NYSE session"),
        (["--date", "11/04/2026"], "invalid session date '11/04/2026'"),
        (
            ["--lookback", "0"],
            "argument --lookback: must be a whole number between 1 and 2520 sessions, got 0",
        ),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    py, rs = history(tmp_path, WEEK[-1:])
    code, out, err = cli(capsys, "--python-archive", str(py), "--rust-archive", str(rs), *argv)
    assert code == 2 and out == "" and message in err


def test_missing_reference_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import PROJECT

    monkeypatch.setenv("AEGIS_CONFIG", str(PROJECT / "configs/local.yaml"))
    monkeypatch.delenv("AEGIS_PARITY_ROOT", raising=False)
    code, _, err = cli(capsys, "--python-archive", str(tmp_path))
    assert code == 2 and "pass --rust-archive or set AEGIS_PARITY_ROOT" in err
    code, _, err = cli(capsys, "--python-archive", str(tmp_path), "--rust-archive", str(tmp_path / "nope"))
    assert code == 2 and "--rust-archive" in err and "does not exist" in err


def test_the_profile_tolerances_are_the_ones_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import PROJECT

    from .archive_builder import chain_path, drop_rows

    py, rs = history(tmp_path, WEEK[-2:])
    drop_rows(chain_path(rs, "AAPL", SESSION), 7)  # 7 rows fewer: beyond the runbook's ±5
    assert not parity_readiness(py, rs, SESSION).met
    profile = tmp_path / "aegis.yaml"
    profile.write_text((PROJECT / "configs/local.yaml").read_text() + "parity:\n  row_count: 10\n")
    monkeypatch.setenv("AEGIS_CONFIG", str(profile))
    code, out, _ = cli(capsys, *roots(py, rs), "--json")
    assert code == 0 and json.loads(out)["tolerances"]["row_count"] == 10
