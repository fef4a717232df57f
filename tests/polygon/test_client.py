"""The client against scripted loopback servers, over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections import Counter
from collections.abc import Callable

import orjson
import pytest
from pydantic import SecretStr

from aegis_core.archive.schemas import OPTIONS, STOCKS, VIX
from aegis_core.polygon import (
    CaptureWindow,
    PolygonAuthError,
    PolygonClient,
    PolygonNoDataError,
)
from tests.polygon.chains import ChainScript
from tests.polygon.conftest import KEY
from tests.polygon.server import NOT_AUTHORIZED, LoopbackServer, Reply, Request, json_reply

CAPTURED = dt.datetime(2026, 1, 2, 21, 5, tzinfo=dt.UTC)
DAY = dt.date(2026, 1, 2)
Serve = Callable[..., LoopbackServer]


def client(base_url: str, **overrides: object) -> PolygonClient:
    """A client with test-sized timings: tiny backoff, no rate ceiling unless asked."""
    settings: dict = {
        "max_concurrency": 4,
        "max_requests_per_second": 0,
        "timeout_s": 5.0,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    settings.update(overrides)
    return PolygonClient(base_url, SecretStr(KEY), **settings)


def chains(base_url: str, symbols: list[str], **overrides: object):
    async def run():
        async with client(base_url, **overrides) as c:
            return await c.option_chains(symbols, CAPTURED)

    return asyncio.run(run())


def assert_key_only_in_auth_header(server: LoopbackServer) -> None:
    assert server.requests, "the server saw no request"
    for request in server.requests:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert KEY not in request.target
        assert "apikey" not in request.target.lower()
        assert all(KEY not in v for k, v in request.headers.items() if k != "authorization")


def test_pages_are_followed_behind_a_path_prefix_with_the_key_in_the_header_only(serve: Serve) -> None:
    prefix = "/asof/2026-01-02T21:05:00Z"
    script = ChainScript({"AAPL": 3, "MSFT": 1, "SPY": 2}, per_page=5, prefix=prefix)
    server = serve(script)
    result = chains(server.url + prefix, ["AAPL", "MSFT", "SPY"])

    assert result.failures == {}
    assert {s: f.height for s, f in result.frames.items()} == {"AAPL": 15, "MSFT": 5, "SPY": 10}
    frame = result.frame()
    assert frame.schema == OPTIONS.polars_schema
    assert frame.get_column("ticker").n_unique() == 30
    assert set(frame.get_column("timestamp")) == {CAPTURED}
    assert result.stats.requests == 6 and result.stats.pages == 6 and result.stats.contracts == 30
    assert result.stats.bytes_received == sum(len(script(r).body) for r in server.requests)
    assert_key_only_in_auth_header(server)
    assert all(r.path.startswith(prefix + "/v3/snapshot/options/") for r in server.requests)
    firsts = [r for r in server.requests if "cursor" not in r.query]
    assert {r.query["limit"] for r in firsts} == {"250"} and len(firsts) == 3
    assert sorted(r.query["cursor"] for r in server.requests if "cursor" in r.query) == ["1", "1", "2"]


def test_retry_after_is_honoured(serve: Serve) -> None:
    script = ChainScript({"AAPL": 2})
    seen: Counter[str] = Counter()

    def handler(request: Request) -> Reply:
        seen[request.target] += 1
        if request.query.get("cursor") == "1" and seen[request.target] == 1:
            return json_reply({"status": "ERROR", "message": "slow down"}, 429, **{"Retry-After": "1"})
        return script(request)

    server = serve(handler)
    result = chains(server.url, ["AAPL"])
    assert result.failures == {} and result.frames["AAPL"].height == 10
    assert result.stats.retries == {"429": 1}
    throttled, retried = [r for r in server.requests if r.query.get("cursor") == "1"]
    assert retried.at - throttled.at >= 1.0  # backoff alone would have waited ~0.01 s


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Reply(status=500, body=b'{"status":"ERROR","message":"internal"}'), "5xx"),
        (Reply(status=502, body=b"<html>Bad Gateway</html>"), "5xx"),
        (Reply(delay_s=4.0), "timeout"),  # stall beyond the client's 1 s timeout
        (Reply(drop=True), "disconnect"),  # connection closed without an answer
        ("truncate", "truncated"),  # full Content-Length announced, half the body sent
        ("cut_json", "invalid_json"),  # a cut body delivered as if complete
    ],
)
def test_transient_failures_are_retried(serve: Serve, fault: Reply | str, reason: str) -> None:
    script = ChainScript({"AAPL": 2})
    seen: Counter[str] = Counter()

    def handler(request: Request) -> Reply:
        seen[request.target] += 1
        good = script(request)
        if request.query.get("cursor") != "1" or seen[request.target] > 1:
            return good
        if fault == "truncate":
            return Reply(body=good.body, truncate_at=len(good.body) // 2)
        if fault == "cut_json":
            return Reply(body=good.body[: len(good.body) // 2])
        assert isinstance(fault, Reply)
        return fault

    server = serve(handler)
    result = chains(server.url, ["AAPL"], timeout_s=1.0)
    assert result.failures == {}
    assert result.frames["AAPL"].height == 10
    assert result.stats.retries == {reason: 1}
    assert result.stats.requests == 3


def test_a_symbol_that_keeps_failing_is_reported_by_name(serve: Serve) -> None:
    script = ChainScript({"AAPL": 1, "MSFT": 2})

    def handler(request: Request) -> Reply:
        if script.symbol_of(request) == "BAD":
            return json_reply({"status": "ERROR", "message": "upstream unavailable"}, 503)
        return script(request)

    server = serve(handler)
    result = chains(server.url, ["AAPL", "BAD", "MSFT"], max_retries=2)
    assert list(result.frames) == ["AAPL", "MSFT"]
    assert list(result.failures) == ["BAD"]
    reason = result.failures["BAD"]
    assert reason.startswith("BAD: gave up on /v3/snapshot/options/BAD after 3 attempts")
    assert "HTTP 503: upstream unavailable" in reason
    assert sum(script.symbol_of(r) == "BAD" for r in server.requests) == 3
    assert result.stats.retries == {"5xx": 2}


def test_other_4xx_fails_that_symbol_without_retrying(serve: Serve) -> None:
    script = ChainScript({"AAPL": 1})  # anything else answers 404 NOT_FOUND
    server = serve(script)
    result = chains(server.url, ["AAPL", "ZZZZ"])
    assert list(result.frames) == ["AAPL"]
    assert result.failures == {"ZZZZ": "ZZZZ: HTTP 404 at /v3/snapshot/options/ZZZZ: no chain for ZZZZ"}
    assert sum(script.symbol_of(r) == "ZZZZ" for r in server.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_not_authorized_stops_a_50_symbol_batch_at_once(serve: Serve, status: int) -> None:
    def handler(request: Request) -> Reply:
        return Reply(status=status, body=orjson.dumps(NOT_AUTHORIZED), delay_s=0.05)

    server = serve(handler)
    symbols = [f"S{i:02d}" for i in range(50)]
    progress: list[int] = []

    async def run() -> None:
        async with client(server.url, max_concurrency=8) as c:
            await c.option_chains(symbols, CAPTURED, on_progress=lambda d, t, s: progress.append(d))

    started = time.monotonic()
    with pytest.raises(PolygonAuthError) as caught:
        asyncio.run(run())
    assert time.monotonic() - started < 3
    assert len(server.requests) <= 8  # one wave of the concurrency bound, then nothing
    assert progress == []
    error = caught.value
    assert (error.status, error.message) == (status, "Unknown API Key")
    assert str(error).startswith(f"HTTP {status} NOT_AUTHORIZED at /v3/snapshot/options/S")


def test_not_authorized_stops_the_stock_fallback_and_later_calls(serve: Serve) -> None:
    universe = [f"S{i:02d}" for i in range(40)]

    def handler(request: Request) -> Reply:
        if "/grouped/" in request.path:
            return json_reply({"status": "OK", "resultsCount": 0, "queryCount": 0})
        return json_reply({**NOT_AUTHORIZED, "message": f"Unknown API Key {KEY}"}, 401)

    server = serve(handler)

    async def run() -> None:
        async with client(server.url, max_concurrency=4) as c:
            with pytest.raises(PolygonAuthError) as caught:
                await c.stocks(DAY, universe)
            assert KEY not in str(caught.value) and "Unknown API Key **********" in str(caught.value)
            with pytest.raises(PolygonAuthError):  # the client stays tripped: no new request is sent
                await c.vix(DAY)

    asyncio.run(run())
    assert 2 <= len(server.requests) <= 5  # grouped + at most one wave of per-ticker requests


def test_repeated_cursor_fails_that_symbol_by_name(serve: Serve) -> None:
    script = ChainScript({"AAPL": 2, "LOOP": 1, "MSFT": 3})

    def handler(request: Request) -> Reply:
        if script.symbol_of(request) == "LOOP":  # the upstream bug: the same cursor over and over
            return json_reply(
                {"status": "OK", "results": [], "next_url": script.next_url(request, "LOOP", "c7")}
            )
        return script(request)

    server = serve(handler)
    result = chains(server.url, ["AAPL", "LOOP", "MSFT"])
    assert list(result.frames) == ["AAPL", "MSFT"]
    assert result.failures["LOOP"].startswith("LOOP: pagination stopped at /v3/snapshot/options/LOOP")
    assert "repeats a cursor after page 2" in result.failures["LOOP"]
    assert sum(script.symbol_of(r) == "LOOP" for r in server.requests) == 2


def test_page_cap_per_symbol(serve: Serve) -> None:
    server = serve(ChainScript({"AAPL": 2, "SPY": 6}))
    result = chains(server.url, ["AAPL", "SPY"], max_pages_per_symbol=4)
    assert list(result.frames) == ["AAPL"]
    assert "more than 4 pages" in result.failures["SPY"]


def test_next_url_on_a_foreign_host_gets_no_key(serve: Serve) -> None:
    foreign = serve(ChainScript({"AAPL": 2}), host="127.0.0.2")
    script = ChainScript({"AAPL": 2, "MSFT": 1})

    def handler(request: Request) -> Reply:
        reply = script(request)
        if script.symbol_of(request) == "AAPL":
            doc = orjson.loads(reply.body)
            doc["next_url"] = f"{foreign.url}/v3/snapshot/options/AAPL?cursor=1"
            return json_reply(doc)
        return reply

    server = serve(handler)
    result = chains(server.url, ["AAPL", "MSFT"])
    assert list(result.frames) == ["MSFT"]
    assert "AAPL: pagination stopped" in result.failures["AAPL"]
    assert f"next_url points to {foreign.url}" in result.failures["AAPL"]
    assert "refusing to send the API key there" in result.failures["AAPL"]
    assert foreign.requests == []


def test_malformed_pages_name_symbol_and_endpoint_without_host(serve: Serve) -> None:
    script = ChainScript({"AAPL": 1})
    bodies = {
        "NORES": {"status": "OK", "request_id": "abc"},
        "TYPES": {"status": "OK", "results": [{"details": {"ticker": "O:X", "strike_price": "150"}}]},
    }

    def handler(request: Request) -> Reply:
        symbol = script.symbol_of(request)
        return json_reply(bodies[symbol]) if symbol in bodies else script(request)

    server = serve(handler)
    result = chains(server.url, ["AAPL", "NORES", "TYPES"])
    assert list(result.frames) == ["AAPL"]
    assert result.failures == {
        "NORES": "NORES: malformed response from /v3/snapshot/options/NORES: no 'results' list in the body",
        "TYPES": "TYPES: malformed response from /v3/snapshot/options/TYPES: "
        "$.results[0].details.strike_price should be Float64, got str '150'",
    }
    assert result.stats.retries == {}


def test_no_key_in_logs_reprs_or_errors(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # root: captures ours, httpx's and httpcore's records
    script = ChainScript({"AAPL": 2, "MSFT": 1})
    seen: Counter[str] = Counter()

    def handler(request: Request) -> Reply:
        seen[request.target] += 1
        symbol = script.symbol_of(request)
        if symbol == "AAPL" and seen[request.target] == 1:
            return json_reply({"status": "ERROR", "message": f"overloaded for key {KEY}"}, 500)
        if symbol == "ECHO":
            return json_reply({"status": "ERROR", "message": f"bad request for apiKey={KEY}"}, 400)
        if symbol == "FAIL":
            return Reply(drop=True)
        if symbol == "DENY":
            return json_reply({**NOT_AUTHORIZED, "message": f"Unknown API Key {KEY}"}, 401)
        return script(request)

    server = serve(handler)
    texts: list[str] = []

    async def run() -> None:
        async with client(server.url, max_retries=1) as c:
            texts.append(repr(c))
            texts.append(str(vars(c)))
            result = await c.option_chains(["AAPL", "MSFT", "ECHO", "FAIL"], CAPTURED)
            texts.extend(result.failures.values())
            texts.append(repr(result))
            with pytest.raises(PolygonAuthError) as caught:
                await c.option_chain("DENY", CAPTURED)
            texts.extend([str(caught.value), repr(caught.value), caught.value.reason])

    asyncio.run(run())
    texts += [r.getMessage() for r in caplog.records]
    texts += [caplog.text]
    assert any(r.name.startswith("httpx") for r in caplog.records)  # httpx's own logger was captured
    assert any(r.name.startswith("aegis_core.polygon") for r in caplog.records)
    assert len(texts) > 10
    leaks = [t for t in texts if KEY in t]
    assert leaks == []
    with pytest.raises(ValueError) as bad_url:
        PolygonClient(f"{server.url}/?apiKey={KEY}", KEY)
    assert KEY not in str(bad_url.value)


def test_concurrency_bound_and_rate_ceiling(serve: Serve) -> None:
    script = ChainScript({f"S{i}": 1 for i in range(12)})

    def slow(request: Request) -> Reply:
        reply = script(request)
        reply.delay_s = 0.1
        return reply

    server = serve(slow)
    result = chains(server.url, list(script.pages), max_concurrency=3)
    assert len(result.frames) == 12
    assert server.max_in_flight == 3

    paced = serve(ChainScript({f"S{i}": 1 for i in range(11)}))
    started = time.monotonic()
    result = chains(paced.url, [f"S{i}" for i in range(11)], max_concurrency=8, max_requests_per_second=20)
    assert len(result.frames) == 11
    arrivals = sorted(r.at for r in paced.requests)
    assert arrivals[-1] - arrivals[0] >= 0.45  # 11 requests at 20/s: 10 intervals of 50 ms
    assert time.monotonic() - started < 5


def test_progress_reports_every_symbol(serve: Serve) -> None:
    server = serve(ChainScript({"AAPL": 2, "MSFT": 1, "SPY": 3}))
    calls: list[tuple[int, int, str]] = []

    async def run():
        async with client(server.url) as c:
            return await c.option_chains(
                ["AAPL", "MSFT", "ZZZZ", "SPY"], CAPTURED, on_progress=lambda *a: calls.append(a)
            )

    result = asyncio.run(run())
    assert [done for done, _, _ in calls] == [1, 2, 3, 4]
    assert {total for _, total, _ in calls} == {4}
    assert sorted(s for _, _, s in calls) == ["AAPL", "MSFT", "SPY", "ZZZZ"]
    assert list(result.failures) == ["ZZZZ"]
    assert result.metadata()["symbols_ok"] == 3


def bar(t_ms: int, close: float, ticker: str | None = None) -> dict:
    b = {
        "v": 1000.0,
        "vw": close,
        "o": close - 1,
        "c": close,
        "h": close + 1,
        "l": close - 2,
        "t": t_ms,
        "n": 10,
    }
    return {"T": ticker, **b} if ticker else b


def test_stocks_grouped_then_per_ticker_only_for_the_missing(serve: Serve) -> None:
    t = 1767387600000  # 2026-01-02 16:00 ET
    grouped = {
        "queryCount": 3,
        "resultsCount": 3,
        "adjusted": True,
        "results": [bar(t, 250.0, "AAPL"), bar(t, 480.0, "MSFT"), bar(t, 10.0, "GIK")],
        "status": "OK",
    }

    def handler(request: Request) -> Reply:
        if request.path == f"/v2/aggs/grouped/locale/us/market/stocks/{DAY}":
            return json_reply(grouped)
        if request.path == f"/v2/aggs/ticker/NVDA/range/1/day/{DAY}/{DAY}":
            return json_reply({"ticker": "NVDA", "resultsCount": 1, "results": [bar(1767330000000, 140.5)]})
        if request.path == f"/v2/aggs/ticker/BRK.B/range/1/day/{DAY}/{DAY}":
            return json_reply({"status": "ERROR", "message": "internal"}, 500)
        return json_reply({"ticker": "x", "queryCount": 0, "resultsCount": 0, "status": "OK"})

    server = serve(handler)

    async def run():
        async with client(server.url, max_retries=1) as c:
            return await c.stocks(DAY, ["MSFT", "NVDA", "AAPL", "ZZZZ", "BRK.B"])

    result = asyncio.run(run())
    assert result.frame.schema == STOCKS.polars_schema
    assert result.frame.get_column("symbol").to_list() == ["MSFT", "NVDA", "AAPL"]
    nvda = result.frame.row(1, named=True)
    assert nvda == {
        "timestamp": dt.datetime(2026, 1, 2, 5, 0, tzinfo=dt.UTC),
        "symbol": "NVDA",
        "open": 139.5,
        "high": 141.5,
        "low": 138.5,
        "close": 140.5,
        "volume": 1000.0,
        "vwap": 140.5,
        "transactions": 10,
    }
    assert result.missing == ["ZZZZ"]
    assert list(result.failures) == ["BRK.B"] and "HTTP 500: internal" in result.failures["BRK.B"]
    paths = Counter(r.path for r in server.requests)
    assert paths == {
        f"/v2/aggs/grouped/locale/us/market/stocks/{DAY}": 1,
        f"/v2/aggs/ticker/NVDA/range/1/day/{DAY}/{DAY}": 1,
        f"/v2/aggs/ticker/ZZZZ/range/1/day/{DAY}/{DAY}": 1,
        f"/v2/aggs/ticker/BRK.B/range/1/day/{DAY}/{DAY}": 2,
    }
    assert all(r.query == {"adjusted": "true"} for r in server.requests)
    assert_key_only_in_auth_header(server)


def test_vix(serve: Serve) -> None:
    def handler(request: Request) -> Reply:
        if request.path == f"/v2/aggs/ticker/I:VIX/range/1/day/{DAY}/{DAY}":
            return json_reply(
                {
                    "ticker": "I:VIX",
                    "results": [{"o": 14.1, "h": 15.2, "l": 13.9, "c": 14.8, "t": 1767330000000}],
                }
            )
        return json_reply({"ticker": "I:VIX", "queryCount": 0, "resultsCount": 0, "status": "OK"})

    server = serve(handler)

    async def run():
        async with client(server.url) as c:
            frame = await c.vix(DAY)
            with pytest.raises(
                PolygonNoDataError, match="VIX: no bar for 2026-01-05 at /v2/aggs/ticker/I:VIX"
            ):
                await c.vix(dt.date(2026, 1, 5))
            return frame, c.stats

    frame, stats = asyncio.run(run())
    assert frame.schema == VIX.polars_schema
    assert frame.row(0) == (dt.datetime(2026, 1, 2, 5, 0, tzinfo=dt.UTC), "VIX", 14.1, 15.2, 13.9, 14.8)
    assert stats.requests == 2
    assert_key_only_in_auth_header(server)


def test_connection_refused_is_retried_then_reported(serve: Serve) -> None:
    gone = serve(ChainScript({}))
    url = gone.url
    gone.__exit__(None, None, None)  # nothing listens on that port any more
    result = chains(url, ["AAPL"], max_retries=2)
    assert result.frames == {}
    assert result.failures["AAPL"] == (
        "AAPL: gave up on /v3/snapshot/options/AAPL after 3 attempts; last failure: connect (ConnectError)"
    )
    assert result.stats.retries == {"connect": 2}


@pytest.mark.parametrize(
    ("base_url", "key", "complaint"),
    [
        ("api.massive.com", KEY, "absolute https://host/... URL"),
        ("ftp://api.massive.com", KEY, "absolute https://host/... URL"),
        ("http://api.massive.com", KEY, "must use https: plain http to api.massive.com"),
        (f"https://api.massive.com/?apiKey={KEY}", KEY, "must not carry credentials, a query"),
        (f"https://user:{KEY}@api.massive.com", KEY, "must not carry credentials, a query"),
        ("https://api.massive.com", "  ", "api_key is empty"),
    ],
)
def test_constructor_refuses_unsafe_settings(base_url: str, key: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)) as caught:
        PolygonClient(base_url, key)
    assert KEY not in str(caught.value)


def test_chains_handed_over_as_they_arrive_are_not_kept(serve: Serve) -> None:
    script = ChainScript({"AAPL": 3, "MSFT": 1, "SPY": 2}, per_page=5)
    server = serve(script)
    got: dict[str, int] = {}

    async def run():
        async with client(server.url) as c:
            return await c.option_chains(
                ["AAPL", "MSFT", "SPY"], CAPTURED, on_chain=lambda s, f: got.update({s: f.height})
            )

    result = asyncio.run(run())
    assert got == {"AAPL": 15, "MSFT": 5, "SPY": 10}
    assert result.frames == {}  # handed over, not held
    assert result.sizes == {"AAPL": 15, "MSFT": 5, "SPY": 10} and result.failures == {}


def test_a_receiver_that_fails_stops_the_batch_and_is_raised(serve: Serve) -> None:
    server = serve(ChainScript({s: 2 for s in ("AAPL", "MSFT", "SPY", "QQQ")}, per_page=5))

    def receiver(symbol, frame):
        raise OSError(28, "No space left on device")

    async def run():
        async with client(server.url, max_concurrency=1) as c:
            return await c.option_chains(["AAPL", "MSFT", "SPY", "QQQ"], CAPTURED, on_chain=receiver)

    with pytest.raises(OSError, match="No space left"):
        asyncio.run(run())
    assert len(server.requests) < 8  # not every chain fetched after the write failed


def test_a_chain_whose_fetch_runs_past_its_capture_window_fails_by_name(serve: Serve) -> None:
    # Issue 24: the window was checked at the start only. A clock read before each page and after the
    # last: AAPL's third page would be asked for after the window's end, so AAPL fails by name and no
    # request is made for it; MSFT, one page inside the window, is kept.
    server = serve(ChainScript({"MSFT": 1, "AAPL": 3}))
    end = CAPTURED + dt.timedelta(minutes=10)
    reads = iter(
        [CAPTURED] * 3 + [end] * 10
    )  # MSFT: before and after its page; AAPL: before page 1, then late

    async def run():
        async with client(server.url, max_concurrency=1) as c:
            window = CaptureWindow(end, lambda: next(reads), "the test window")
            return await c.option_chains(["MSFT", "AAPL"], CAPTURED, window=window)

    result = asyncio.run(run())
    assert result.sizes == {"MSFT": 5}
    assert result.failures["AAPL"].startswith(
        f"AAPL: the test window ended at {end.isoformat()} after 1 page(s) (it is {end.isoformat()})"
    )
    assert sum("AAPL" in r.target for r in server.requests) == 1  # nothing asked past the window
