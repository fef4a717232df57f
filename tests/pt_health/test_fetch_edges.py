"""Issue 16: the dashboard read is bounded in time and size, and odd --url/--timeout are refused."""

from __future__ import annotations

import time

import pytest

from aegis_core.ops.pt_health import fetch_status
from aegis_pipelines.cli import main
from tests.fakes.hostile import HostileServer
from tests.pt_health.test_cli import run


@pytest.mark.parametrize("mode", ["drip", "blackhole"])
def test_detect_ends_at_its_timeout(
    mode: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pt-health detect --url … --timeout 3` ran past 60 s against a drip-feeding server."""
    with HostileServer(mode, interval=0.3, path="/status_v3") as server:
        started = time.monotonic()
        code, output, _ = run(["--url", server.url, "--timeout", "1.5"], "", monkeypatch, capsys)
        seconds = time.monotonic() - started
    assert seconds < 3.5
    assert code == 0 and output is not None
    [event] = [e for e in output["events"] if e["signature"] == "dashboard_unreachable"]
    assert "timed out after 1.5s (total, connect and all reads)" in event["message"]


def test_a_status_document_past_the_cap_is_an_event() -> None:
    with HostileServer("huge", size=2 << 20, path="/status_v3") as server:
        result = fetch_status([server.url], timeout=10)
    assert result.status is None
    assert result.failures == (f"{server.url}: the dashboard sent more than 1048576 bytes (the size cap)",)


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (
            ["--url", "http://dashboard.example:8080/status_v3"],
            "must use https: plain http to dashboard.example",
        ),
        (["--url", "notaurl"], "must be an absolute https://host/... URL"),
    ],
)
def test_detect_refuses_odd_arguments_with_exit_2(
    argv: list[str], complaint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, err = run(argv, "", monkeypatch, capsys)
    assert code == 2 and output is None
    assert complaint in err and err.count("\n") == 1


@pytest.mark.parametrize("value", ["0", "nan", "inf", "1e30", "301", "ten"])
def test_detect_refuses_a_timeout_outside_its_range(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 24: the flag's range is the setting's (pt_health.timeout_s), refused in one line."""
    with pytest.raises(SystemExit) as exit_info:
        main(["pt-health", "detect", "--url", "https://127.0.0.1/x", "--timeout", value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith(
        "aegis pt-health detect: error: argument --timeout: must be more than 0 and at most 300 s, got "
    )
