"""Issue 24: the probes of numbers, times and files given to the `aegis` commands, through `main`:
each refused in one line naming the flag, variable or file, exit 2, no traceback, no hang."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aegis_pipelines.cli import main

TOKEN = {
    "access_token": "acc-not-shown",
    "token_type": "Bearer",
    "expires_in": 1200,
    "refresh_token": "ref-not-shown",
    "refresh_token_expires_in": 3600,
    "issued_at": 1_780_000_000,
}


def refused(argv: list[str], capsys) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


@pytest.fixture
def cache(tmp_path) -> Path:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKEN))
    return path


@pytest.mark.parametrize("margin", ["1e30", "nan", "inf", "-1", "3601"])
def test_token_margin_outside_its_range(sim_env, cache, capsys, margin):
    err = refused(["token", "status", "--cache", str(cache), "--margin", margin], capsys)
    assert err.startswith("aegis token status: error: argument --margin: must be between 0 and 3600 s, got")


def test_token_deadline_outside_its_range(sim_env, cache, capsys):
    err = refused(["token", "refresh", "--cache", str(cache), "--deadline", "inf"], capsys)
    assert "argument --deadline: must be more than 0 and at most 600 s, got inf" in err


@pytest.mark.parametrize("variable", ["AEGIS_WATCHDOG_INTERVAL_S", "AEGIS_WATCHDOG_TICK_GRACE_S"])
@pytest.mark.parametrize("value", ["inf", "1e15"])
def test_watchdog_variables_outside_their_range(sim_env, monkeypatch, capsys, variable, value):
    monkeypatch.setenv(variable, value)
    err = refused(["watchdog", "--once"], capsys)
    assert err.startswith("aegis watchdog: invalid settings") and variable in err and "(range: " in err


@pytest.mark.parametrize("value", ["inf", "1000000000000000"])
def test_pt_history_minutes_outside_its_range(sim_env, monkeypatch, capsys, value):
    monkeypatch.setenv("AEGIS_PT_HISTORY_MINUTES", value)
    err = refused(["pt-health", "detect"], capsys)
    assert "AEGIS_PT_HISTORY_MINUTES" in err and "between 1 and 10080 min" in err


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_sim_serve_port_outside_its_range(capsys, port):
    err = refused(["sim", "serve", "--port", port], capsys)
    assert err.startswith(
        "aegis sim serve: error: argument --port: must be a whole number between 0 and 65535"
    )


def test_sim_serve_fault_rate_outside_its_range(capsys):
    err = refused(["sim", "serve", "--port", "0", "--fault-429", "nan"], capsys)
    assert "argument --fault-429: must be between 0 and 1, got nan" in err


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+05:00"])
def test_pt_health_now_outside_the_calendar(sim_env, capsys, now):
    err = refused(["pt-health", "detect", "--now", now], capsys)
    assert (
        "argument --now: " in err and "is outside the NYSE calendar's horizon 2020-01-01..2030-12-31" in err
    )


def test_watchdog_since_outside_the_calendar(sim_env, capsys):
    err = refused(["watchdog", "--once", "--since", "0001-01-01T00:00:00+05:00"], capsys)
    assert "argument --since: " in err and "outside the NYSE calendar's horizon" in err


def test_doctor_timeout_outside_its_range(capsys):
    assert "argument --timeout: must be more than 0 and at most 300 s, got inf" in refused(
        ["doctor", "--timeout", "inf"], capsys
    )


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("null", "it holds NoneType, not a detector output"),
        (
            json.dumps({"events": [], "history": [{"at": "0001-01-01T00:00:00+05:00", "conditions": []}]}),
            "history[0].at 0001-01-01T00:00:00+05:00 is outside the NYSE calendar's horizon",
        ),
    ],
)
@pytest.mark.parametrize("flag", ["--previous", "--history"])
def test_previous_or_history_holding_null_or_year_one(
    sim_env, tmp_path, monkeypatch, capsys, content, why, flag
):
    """The documented rule for a corrupt earlier output: one line on stderr, the file skipped (so a
    repeated alert at worst), the evaluation printed; never a traceback."""
    import io
    import sys

    earlier = tmp_path / "last.json"
    earlier.write_text(content)
    monkeypatch.setattr(sys, "stdin", io.StringIO("{}"))
    assert main(["pt-health", "detect", flag, str(earlier), "--now", "2026-06-01T14:05:00Z"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["decision"] in ("notify", "escalate")  # {} lacks every golden signal
    assert err.count("\n") == 1 and "Traceback" not in err and why in err and str(earlier) in err


# --- files that are not regular files ----------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_fifo_or_dev_zero_as_profile(sim_env, monkeypatch, capsys, fifo, kind):
    path = str(fifo) if kind == "fifo" else "/dev/zero"
    monkeypatch.setenv("AEGIS_CONFIG", path)
    what = "a FIFO (named pipe)" if kind == "fifo" else "a character device"
    for argv, prefix in ((["eod"], "aegis eod"), (["token", "status"], "error")):
        err = refused(argv, capsys)
        expected = (
            f"AEGIS_CONFIG: configuration file {path} is {what}, not a regular file: refusing to read it"
        )
        assert err == f"{prefix}: {expected}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_fifo_or_dev_zero_as_universe(sim_env, monkeypatch, capsys, fifo, kind):
    path = str(fifo) if kind == "fifo" else "/dev/zero"
    monkeypatch.setenv("AEGIS_UNIVERSE_FILE", path)
    for command in ("eod", "intraday"):
        assert refused([command], capsys).startswith(f"aegis {command}: universe file {path} is a ")
    assert refused(["sim", "serve", "--port", "0", "--universe", path], capsys).startswith(
        f"aegis sim serve: universe file {path} is a "
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "zero"])
@pytest.mark.parametrize("command", ["status", "refresh"])
def test_a_fifo_or_dev_zero_as_token_cache(sim_env, monkeypatch, capsys, fifo, kind, command):
    monkeypatch.setenv("SAXOBANK_APP_KEY_LIVE", "k")
    monkeypatch.setenv("SAXOBANK_APP_SECRET_LIVE", "s")
    path = str(fifo) if kind == "fifo" else "/dev/zero"
    err = refused(["token", command, "--cache", path], capsys)
    assert err.startswith(f"error: Token cache {path} is a ") and "not a regular file" in err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "zero"])
@pytest.mark.parametrize("flag", ["--previous", "--history"])
def test_a_fifo_or_dev_zero_as_previous_output(sim_env, capsys, fifo, kind, flag):
    path = str(fifo) if kind == "fifo" else "/dev/zero"
    err = refused(["pt-health", "detect", flag, path], capsys)
    assert err.startswith(f"pt-health detect: {flag} {path} is a ") and "not a regular file" in err


@pytest.mark.timeout(60)
def test_dev_zero_on_stdin_is_an_event_not_a_memory_error(sim_env, monkeypatch, capsys):
    import sys

    with open("/dev/zero", "rb") as zero:
        monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": zero})())
        assert main(["pt-health", "detect", "--now", "2026-06-01T14:05:00Z"]) == 0
    event = json.loads(capsys.readouterr().out)["events"][0]
    assert (
        event["signature"] == "status_invalid"
        and "stdin is larger than its 1048576-byte cap" in event["message"]
    )
