"""Issue 16: a whole fetch has a budget; a silent or drip-feeding source fails each symbol by name."""

from __future__ import annotations

import time

import pytest

from aegis_core.base.http_deadline import Deadline
from aegis_core.polygon import PolygonClient
from tests.fakes.hostile import HostileServer
from tests.polygon.test_client import chains, client

SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]


@pytest.mark.parametrize("mode", ["blackhole", "drip"])
def test_a_fetch_ends_at_its_budget_naming_every_symbol(mode: str) -> None:
    """Against a black hole, options alone took ~290 s (7 attempts x 30 s); the budget ends it."""
    with HostileServer(mode, interval=0.3) as server:
        started = time.monotonic()
        result = chains(server.base, SYMBOLS, timeout_s=30.0, max_retries=6, budget_s=2.0, max_concurrency=2)
        seconds = time.monotonic() - started
    assert seconds < 4
    assert result.frames == {}
    assert sorted(result.failures) == SYMBOLS
    for symbol, reason in result.failures.items():
        assert reason.startswith(
            f"{symbol}: no answer from /v3/snapshot/options/{symbol} within the 2 s run budget "
            "(polygon.run_budget_s)"
        ), reason


def test_a_page_past_the_size_cap_fails_the_symbol_without_retries() -> None:
    with HostileServer("huge", size=4 << 20) as server:
        result = chains(server.base, ["AAA"], max_response_bytes=1 << 20)
    assert result.failures == {
        "AAA": "AAA: request to /v3/snapshot/options/AAA failed: "
        "/v3/snapshot/options/AAA sent more than 1048576 bytes (the size cap)"
    }
    assert result.stats.requests == 1 and not result.stats.retries


def test_without_a_budget_the_attempt_timeout_still_bounds_each_request() -> None:
    with HostileServer("drip", interval=0.2) as server:
        started = time.monotonic()
        result = chains(server.base, ["AAA"], timeout_s=0.5, max_retries=1)
        assert time.monotonic() - started < 3
    assert result.failures["AAA"].endswith("last failure: timeout (TimeoutError)")


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive finite"):
        client("https://api.massive.com", budget_s=0)
    assert isinstance(client("https://api.massive.com", budget_s=5), PolygonClient)


def test_a_budget_can_start_before_the_client() -> None:
    """A run's budget counts from the run's start: a client made late gets only what is left."""
    with HostileServer("blackhole") as server:
        started = time.monotonic()
        run_budget = Deadline.since(time.time() - 9.0, 10.0)  # the run began 9 s ago
        result = chains(server.base, ["AAA"], timeout_s=30.0, budget_s=run_budget)
        assert time.monotonic() - started < 2.5
    assert "within the 10 s run budget (polygon.run_budget_s)" in result.failures["AAA"]
