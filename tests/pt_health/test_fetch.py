"""The dashboard client against a real loopback dashboard: success, fallbacks and every failure."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from aegis_core.ops.pt_health import Thresholds, display_url, evaluate_dashboard, fetch_status
from tests.fakes.dashboard import FakeDashboard
from tests.pt_health.statuses import FULL_DAY, ny, status_doc

NOW = ny(FULL_DAY, 10, 5)
TOKEN = "tok-5ecret-value"


@pytest.fixture
def dashboard() -> Iterator[FakeDashboard]:
    with FakeDashboard(status_doc(NOW)) as fake:
        yield fake


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/status_v3"


def assert_no_token(*texts: object) -> None:
    for text in texts:
        assert TOKEN not in str(text)


def test_reads_status_with_bearer_token(dashboard: FakeDashboard, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = fetch_status([dashboard.url], SecretStr(TOKEN), timeout=2)
    assert result.status is not None and result.status.gateway == "HEALTHY"
    assert result.events() == [] and result.failures == ()
    assert dashboard.authorizations == [f"Bearer {TOKEN}"]
    assert dashboard.paths == ["/status_v3"]
    assert_no_token(result, repr(result), caplog.text)


def test_no_token_sends_no_authorization(dashboard: FakeDashboard) -> None:
    assert fetch_status([dashboard.url], timeout=2).status is not None
    assert dashboard.authorizations == [None]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("error", "HTTP 500"), ("bad_json", "not valid JSON"), ("stall", "timed out after 0.3s")],
)
def test_failure_is_a_clear_critical_event(
    dashboard: FakeDashboard, caplog: pytest.LogCaptureFixture, mode: str, reason: str
) -> None:
    dashboard.mode = mode  # type: ignore[assignment]
    started = time.monotonic()
    evaluation = evaluate_dashboard([dashboard.url], NOW, Thresholds(), token=TOKEN, timeout=0.3)
    assert time.monotonic() - started < 3
    [event] = evaluation.events
    assert event.signature == "dashboard_unreachable" and str(event.severity) == "critical"
    assert reason in event.message and dashboard.url in event.message
    assert str(evaluation.decision) == "escalate"
    assert_no_token(event, evaluation.output(None), caplog.text)


def test_schema_error_names_the_field(dashboard: FakeDashboard) -> None:
    dashboard.status = status_doc(NOW, **{"runtime.running": "yes"})
    [event] = fetch_status([dashboard.url], timeout=2).events()
    assert event.signature == "dashboard_unreachable"
    assert "'runtime.running'" in event.message


def test_refused_connection(closed_port_url: str) -> None:
    [event] = fetch_status([closed_port_url], timeout=2).events()
    assert event.signature == "dashboard_unreachable"
    assert "ConnectError" in event.message


def test_falls_back_to_the_next_url(dashboard: FakeDashboard, closed_port_url: str) -> None:
    with FakeDashboard() as broken:
        broken.mode = "error"
        result = fetch_status([closed_port_url, broken.url, dashboard.url], TOKEN, timeout=2)
        assert broken.authorizations == [f"Bearer {TOKEN}"]
    assert result.status is not None and result.url == dashboard.url
    [event] = result.events()
    assert (event.signature, str(event.severity)) == ("dashboard_fallback_used", "warn")
    assert len(event.value) == 2 and "HTTP 500" in event.value[1]


def test_healthy_dashboard_evaluates_to_observe(dashboard: FakeDashboard) -> None:
    evaluation = evaluate_dashboard([dashboard.url], NOW, Thresholds(), timeout=2)
    output = evaluation.output(None)
    assert (output["events"], output["new_events"], output["decision"]) == ([], [], "observe")


def test_unhealthy_dashboard_evaluates(dashboard: FakeDashboard) -> None:
    dashboard.status = status_doc(NOW, stuck_exits=1)
    evaluation = evaluate_dashboard([dashboard.url], NOW, Thresholds(), timeout=2)
    assert [e.signature for e in evaluation.events] == ["stuck_exits"]


def test_no_url_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="no dashboard URL"):
        fetch_status([])


def test_display_url_drops_credentials_and_query() -> None:
    assert display_url("https://user:pw@dash.example:8443/status_v3?token=x#f") == (
        "https://dash.example:8443/status_v3"
    )
