"""``pt-health detect`` through a real argparse parser, with stdin, --previous and --url."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aegis_pipelines.cli import pt_health as cli_pt_health
from tests.fakes.dashboard import FakeDashboard
from tests.pt_health.statuses import FULL_DAY, ny, status_doc

NOW = ny(FULL_DAY, 10, 5)
TOKEN = "cli-t0ken-not-for-output"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aegis")
    cli_pt_health.register(p.add_subparsers(dest="command", required=True))
    return p


def run(
    argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict | None, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    args = parser().parse_args(["pt-health", "detect", "--now", NOW.isoformat(), *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


def test_healthy_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, output, _ = run([], json.dumps(status_doc(NOW)), monkeypatch, capsys)
    assert code == 0
    assert output is not None
    assert (output["events"], output["new_events"], output["decision"]) == ([], [], "observe")
    assert output["evaluated_at"]["jst"] == "2026-06-01T23:05:00+09:00"
    assert output["evaluated_at"]["et"] == "2026-06-01T10:05:00-04:00"


def test_previous_dedups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "previous.json"  # does not exist yet: a first run
    stdin = json.dumps(status_doc(NOW, stuck_exits=1))
    code, first, _ = run(["--previous", str(previous)], stdin, monkeypatch, capsys)
    assert code == 0 and first is not None
    assert first["decision"] == "escalate"
    assert [e["signature"] for e in first["new_events"]] == ["stuck_exits"]

    previous.write_text(json.dumps(first))
    doc = status_doc(NOW, stuck_exits=2, gateway="UNHEALTHY")
    code, second, _ = run(["--previous", str(previous)], json.dumps(doc), monkeypatch, capsys)
    assert code == 0 and second is not None
    assert [e["signature"] for e in second["events"]] == ["gateway_unhealthy", "stuck_exits"]
    assert [e["signature"] for e in second["new_events"]] == ["gateway_unhealthy"]


def test_corrupt_previous_is_a_first_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "previous.json"
    previous.write_text("{not json")
    stdin = json.dumps(status_doc(NOW, stuck_exits=1))
    code, output, err = run(["--previous", str(previous)], stdin, monkeypatch, capsys)
    assert code == 0 and output is not None
    assert [e["signature"] for e in output["new_events"]] == ["stuck_exits"]
    assert str(previous) in err


def test_invalid_stdin_is_a_critical_event(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, _ = run([], json.dumps({"runtime": {"running": "yes"}}), monkeypatch, capsys)
    assert code == 0 and output is not None
    [event] = output["events"]
    assert event["signature"] == "status_invalid" and "'runtime.running'" in event["message"]
    assert output["decision"] == "escalate"


def test_empty_object_is_not_healthy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, output, _ = run([], "{}", monkeypatch, capsys)
    assert output is not None and output["decision"] == "notify"
    assert "missing:heartbeat_at" in {e["signature"] for e in output["events"]}


def test_bad_threshold_variable_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AEGIS_PT_MARKET_DATA_10197_WARN", "ten")
    code, output, err = run([], json.dumps(status_doc(NOW)), monkeypatch, capsys)
    assert code == 2 and output is None
    assert "AEGIS_PT_MARKET_DATA_10197_WARN" in err


def test_thresholds_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN", "2")
    _, output, _ = run([], json.dumps(status_doc(NOW)), monkeypatch, capsys)
    assert output is not None and [e["signature"] for e in output["events"]] == ["high_exit_attempts:warn"]


def test_url_with_token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AEGIS_DASHBOARD_TOKEN", TOKEN)
    with FakeDashboard(status_doc(NOW, **{"log_signals.existing_session": 1})) as dashboard:
        code, output, err = run(["--url", dashboard.url], "", monkeypatch, capsys)
        assert dashboard.authorizations == [f"Bearer {TOKEN}"]
        dashboard.mode = "error"
        _, failed, err2 = run(["--url", dashboard.url, "--timeout", "1"], "", monkeypatch, capsys)
    assert code == 0 and output is not None
    assert [e["signature"] for e in output["events"]] == ["session_conflict"]
    assert failed is not None and failed["events"][0]["signature"] == "dashboard_unreachable"
    for text in (json.dumps(output), json.dumps(failed), err, err2):
        assert TOKEN not in text


@pytest.mark.parametrize("now", ["2026-06-01T10:05:00", "yesterday"])
def test_bad_now_is_a_usage_error(now: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["pt-health", "detect", "--now", now])
    assert exit_info.value.code == 2
    assert "--now" in capsys.readouterr().err


def test_cli_module_does_not_import_dagster() -> None:
    code = "import sys, aegis_pipelines.cli.pt_health; sys.exit('dagster' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def run_at(
    now: str, argv: list[str], doc: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(doc)))
    args = parser().parse_args(["pt-health", "detect", "--now", now, *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_previous_carries_the_memory_of_the_temporal_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrapper that writes each output to the file it passes back as --previous gets the job's decisions."""
    state = tmp_path / "last.json"
    decisions = []
    for minute in (5, 15, 25):
        now = ny(FULL_DAY, 10, minute)
        _, output, _ = run_at(
            now.isoformat(), ["--previous", str(state)], status_doc(now, pending_exits=1), monkeypatch, capsys
        )
        state.write_text(json.dumps(output))
        decisions.append((output["decision"], [e["signature"] for e in output["new_events"]]))
    assert decisions == [("observe", []), ("notify", ["pending_exits"]), ("notify", [])]
    assert len(output["history"]) == 3


def test_history_files_feed_the_rules_in_any_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = []
    for minute in (5, 15):
        now = ny(FULL_DAY, 10, minute)
        doc = status_doc(now, **{"log_signals.existing_session": 1})
        _, output, _ = run_at(now.isoformat(), [], doc, monkeypatch, capsys)
        assert output["decision"] == "notify"  # each alone: one session conflict
        files.append(tmp_path / f"{minute}.json")
        files[-1].write_text(json.dumps(output))
    now = ny(FULL_DAY, 10, 25)
    doc = status_doc(now, **{"log_signals.existing_session": 1})
    argv = ["--history", str(files[1]), str(files[0])]
    _, output, err = run_at(now.isoformat(), argv, doc, monkeypatch, capsys)
    assert output["decision"] == "escalate" and err == ""
    # The newest history file dedups: session_conflict is known, the repetition is new.
    assert [e["signature"] for e in output["new_events"]] == ["session_conflict:repeated"]
    assert [o["at"] for o in output["history"]] == [
        "2026-06-01T14:05:00+00:00",
        "2026-06-01T14:15:00+00:00",
        "2026-06-01T14:25:00+00:00",
    ]


def test_an_unreadable_history_file_is_named_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"events": [], "history": [{"at": "yesterday", "conditions": []}]}))
    missing = tmp_path / "missing.json"
    code, output, err = run_at(
        NOW.isoformat(), ["--history", str(bad), str(missing)], status_doc(NOW), monkeypatch, capsys
    )
    assert code == 0 and output["decision"] == "observe"
    assert f"{bad}: history[0].at" in err and str(missing) in err
