"""Each fault knob, observed by a real HTTP client."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from aegis_core.sim import Fault, Faults, SimMarket, SimServer, sim_base_url
from tests.sim.conftest import AUTH, EOD, SYMBOLS

VIX_URL = "/v2/aggs/ticker/I:VIX/range/1/day/2026-11-20/2026-11-20"


def test_latency_is_added_without_blocking_other_requests(clean_faults: SimServer) -> None:
    server = clean_faults
    server.faults = Faults(latency_ms=300)
    started = time.perf_counter()
    assert httpx.get(server.url + VIX_URL, headers=AUTH).status_code == 200
    assert time.perf_counter() - started >= 0.3

    async def many() -> list[int]:
        async with httpx.AsyncClient(headers=AUTH, limits=httpx.Limits(max_connections=16)) as c:
            responses = await asyncio.gather(*(c.get(server.url + VIX_URL) for _ in range(16)))
            return [r.status_code for r in responses]

    started = time.perf_counter()
    assert asyncio.run(many()) == [200] * 16
    assert time.perf_counter() - started < 1.5  # 16 × 0.3 s in sequence would take 4.8 s


def test_429_carries_retry_after(clean_faults: SimServer) -> None:
    server = clean_faults
    server.faults = Faults(rate_429=1.0, retry_after_s=2)
    before = server.stats.faults[Fault.RATE_LIMIT.value]
    response = httpx.get(server.url + VIX_URL, headers=AUTH)
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert response.json()["status"] == "ERROR" and "exceeded" in response.json()["error"]
    assert server.stats.faults[Fault.RATE_LIMIT.value] == before + 1
    server.faults = Faults(rate_429=1.0, retry_after_s=0.25)
    assert httpx.get(server.url + VIX_URL, headers=AUTH).headers["Retry-After"] == "0.25"


def test_5xx_with_json_bodies(clean_faults: SimServer) -> None:
    server = clean_faults
    server.faults = Faults(rate_5xx=1.0)
    statuses = set()
    with httpx.Client(headers=AUTH) as c:
        for day in range(2, 21):
            r = c.get(f"{server.url}/v2/aggs/ticker/SPY/range/1/day/2026-11-{day:02d}/2026-11-20")
            assert r.json()["status"] == "ERROR" and r.json()["request_id"]
            statuses.add(r.status_code)
    assert statuses == {500, 502, 503}


def test_stall_trips_the_client_timeout(clean_faults: SimServer) -> None:
    server = clean_faults
    server.faults = Faults(rate_stall=1.0, stall_s=1.5)
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.url + VIX_URL, headers=AUTH, timeout=0.3)
    assert time.perf_counter() - started < 1.0
    # A patient client gets the real answer after the stall.
    started = time.perf_counter()
    assert httpx.get(server.url + VIX_URL, headers=AUTH, timeout=5).status_code == 200
    assert time.perf_counter() - started >= 1.5


def test_truncated_body_is_detected(clean_faults: SimServer) -> None:
    server = clean_faults
    server.faults = Faults(rate_truncate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{server.url}/v3/snapshot/options/SPY?limit=250", headers=AUTH)
    server.faults = Faults()
    assert httpx.get(f"{server.url}/v3/snapshot/options/SPY?limit=250", headers=AUTH).status_code == 200


def test_repeat_cursor_bug(clean_faults: SimServer) -> None:
    server = clean_faults
    server.faults = Faults(repeat_cursor_symbols=frozenset({"SPY"}))
    base = sim_base_url(server.url, EOD)
    with httpx.Client(headers=AUTH) as c:
        first = c.get(f"{base}/v3/snapshot/options/SPY?limit=250").json()
        second = c.get(first["next_url"]).json()
        third = c.get(second["next_url"]).json()
        assert first["next_url"] == second["next_url"] == third["next_url"]  # the same cursor forever
        assert second["results"] == third["results"] != first["results"]
        # Other underlyings page normally.
        qqq = c.get(f"{base}/v3/snapshot/options/QQQ?limit=250").json()
        assert c.get(qqq["next_url"]).json()["next_url"] != qqq["next_url"]
    assert server.stats.faults["repeat_cursor"] >= 2


@pytest.mark.parametrize("status", [401, 403])
def test_forced_auth_failures_use_polygon_bodies(clean_faults: SimServer, status: int) -> None:
    server = clean_faults
    server.faults = Faults(force_status=status)
    response = httpx.get(server.url + VIX_URL, headers=AUTH)
    body = response.json()
    assert response.status_code == status
    assert body["status"] == "NOT_AUTHORIZED" and body["message"] and body["request_id"]


def test_fault_draws_are_seeded(market: SimMarket) -> None:
    """Two servers with the same fault seed fail the same requests in the same order."""
    outcomes = []
    for _ in range(2):
        with SimServer(SimMarket(seed=7, symbols=SYMBOLS), faults=Faults(rate_429=0.3, rate_5xx=0.2)) as srv:
            with httpx.Client(headers=AUTH) as c:
                codes = [
                    c.get(f"{srv.url}/v2/aggs/ticker/SPY/range/1/day/2026-11-{d:02d}/2026-11-20").status_code
                    for d in range(2, 21)
                    for _ in range(2)
                ]
            outcomes.append(codes)
    assert outcomes[0] == outcomes[1]
    assert {200, 429} <= set(outcomes[0]) and set(outcomes[0]) - {200, 429}


def test_fault_knobs_are_validated() -> None:
    with pytest.raises(ValueError, match="rate_429"):
        Faults(rate_429=1.5)
    with pytest.raises(ValueError, match="sum"):
        Faults(rate_429=0.6, rate_5xx=0.6)
    with pytest.raises(ValueError, match="force_status"):
        Faults(force_status=200)
    assert Faults(repeat_cursor_symbols="spy, qqq").repeat_cursor_symbols == frozenset({"SPY", "QQQ"})
