"""Every endpoint of the simulated Polygon server over real HTTP (httpx on loopback)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from aegis_core.calendar import NY
from aegis_core.sim import SimMarket, SimServer, parse_moment, sim_base_url
from tests.sim.conftest import API_KEY, AUTH, EOD, INTRADAY, SMALL, SYMBOLS


@pytest.fixture
def client() -> httpx.Client:
    with httpx.Client(headers=AUTH, timeout=30) as c:
        yield c


def pages(client: httpx.Client, url: str) -> list[dict]:
    out = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        out.append(response.json())
        url = out[-1].get("next_url")
    return out


# -- auth ---------------------------------------------------------------------------------------


def test_auth_is_required_and_the_key_never_echoed(server: SimServer) -> None:
    url = f"{server.url}/v2/aggs/ticker/SPY/range/1/day/2026-11-20/2026-11-20"
    cases = {
        "missing": httpx.get(url),
        "wrong": httpx.get(url, headers={"Authorization": "Bearer not-the-key"}),
        "not bearer": httpx.get(url, headers={"Authorization": f"Basic {API_KEY}"}),
        "empty bearer": httpx.get(url, headers={"Authorization": "Bearer"}),
        "query param": httpx.get(url, params={"apiKey": API_KEY}),
    }
    for case, response in cases.items():
        assert response.status_code == 401, case
        body = response.json()
        assert body["status"] == "NOT_AUTHORIZED" and body["request_id"] and body["message"], case
        assert API_KEY not in response.text and API_KEY not in str(response.headers), case
    assert httpx.get(url, headers=AUTH).status_code == 200
    assert API_KEY not in repr(server)


def test_any_bearer_is_accepted_without_a_configured_key(market: SimMarket) -> None:
    with SimServer(market, as_of=EOD) as srv:
        url = f"{srv.url}/v2/aggs/ticker/SPY/range/1/day/2026-11-20/2026-11-20"
        assert httpx.get(url, headers={"Authorization": "Bearer anything"}).status_code == 200
        assert httpx.get(url).status_code == 401


# -- bars ---------------------------------------------------------------------------------------


def test_vix_bars_have_only_ohlc_and_t(server: SimServer, client: httpx.Client) -> None:
    body = client.get(f"{server.url}/v2/aggs/ticker/I:VIX/range/1/day/2026-11-16/2026-11-20").json()
    assert body["status"] == "OK" and body["ticker"] == "I:VIX" and body["resultsCount"] == 5
    for bar in body["results"]:
        assert set(bar) == {"o", "h", "l", "c", "t"}
    encoded = client.get(f"{server.url}/v2/aggs/ticker/I%3AVIX/range/1/day/2026-11-20/2026-11-20").json()
    assert encoded["results"] == body["results"][-1:]


def test_stock_bars_match_the_market(server: SimServer, client: httpx.Client, market: SimMarket) -> None:
    url = f"{server.url}/v2/aggs/ticker/AAPL/range/1/day/2026-11-01/2026-11-30"
    body = client.get(url, params={"adjusted": "true"}).json()
    # Server "now" is the EOD moment of 2026-11-20: later sessions have no bars yet.
    expected = market.daily_bars("AAPL", dt.date(2026, 11, 1), dt.date(2026, 11, 20))
    assert body["resultsCount"] == body["count"] == len(expected) == 15 and body["adjusted"] is True
    assert body["results"] == [b.polygon() for b in expected]
    assert set(body["results"][0]) == {"v", "vw", "o", "c", "h", "l", "t", "n"}
    assert all(isinstance(b["t"], int) and isinstance(b["n"], int) for b in body["results"])
    desc = client.get(url, params={"sort": "desc", "limit": "2"}).json()
    assert desc["results"] == body["results"][::-1][:2]


@pytest.mark.parametrize(
    ("ticker", "start", "end"),
    [
        ("SPY", "2026-11-21", "2026-11-22"),  # weekend
        ("SPY", "2026-11-26", "2026-11-26"),  # Thanksgiving
        ("SPY", "2026-11-23", "2026-11-27"),  # after the server's "now"
        ("NOPE", "2026-11-16", "2026-11-20"),  # unknown ticker
    ],
)
def test_empty_bars_have_no_results_key(
    server: SimServer, client: httpx.Client, ticker: str, start: str, end: str
) -> None:
    body = client.get(f"{server.url}/v2/aggs/ticker/{ticker}/range/1/day/{start}/{end}").json()
    assert body["status"] == "OK" and body["resultsCount"] == 0 and "results" not in body


def test_grouped_daily(
    server: SimServer, client: httpx.Client, market: SimMarket, clean_faults: SimServer
) -> None:
    url = f"{server.url}/v2/aggs/grouped/locale/us/market/stocks/2026-11-20"
    body = client.get(url, params={"adjusted": "true"}).json()
    assert [r["T"] for r in body["results"]] == list(market.symbols) and body["resultsCount"] == len(SYMBOLS)
    assert body["results"][0] == {"T": "SPY", **market.daily_bar("SPY", dt.date(2026, 11, 20)).polygon()}
    server.faults = server.faults.__class__(grouped_omit=frozenset({"MSFT", SMALL}))
    body = client.get(url).json()
    assert {r["T"] for r in body["results"]} == set(SYMBOLS) - {"MSFT", SMALL}
    for day in ("2026-11-21", "2026-11-26", "2026-11-23"):
        empty = client.get(f"{server.url}/v2/aggs/grouped/locale/us/market/stocks/{day}").json()
        assert empty["resultsCount"] == 0 and "results" not in empty, day


def test_bad_requests_name_the_input(server: SimServer, client: httpx.Client) -> None:
    bad_date = client.get(f"{server.url}/v2/aggs/ticker/SPY/range/1/day/2026-13-01/2026-11-20")
    assert bad_date.status_code == 400 and "2026-13-01" in bad_date.json()["error"]
    minute = client.get(f"{server.url}/v2/aggs/ticker/SPY/range/1/minute/2026-11-20/2026-11-20")
    assert minute.status_code == 400 and "1/minute" in minute.json()["error"]
    limit = client.get(f"{server.url}/v3/snapshot/options/SPY", params={"limit": "1000"})
    assert limit.status_code == 400 and "limit" in limit.json()["error"]
    cursor = client.get(f"{server.url}/v3/snapshot/options/SPY", params={"cursor": "garbage!"})
    assert cursor.status_code == 400 and "cursor" in cursor.json()["error"]
    moment = client.get(f"{server.url}/asof/yesterday/v3/snapshot/options/SPY")
    assert moment.status_code == 400 and "yesterday" in moment.json()["error"]
    missing = client.get(f"{server.url}/v1/nothing")
    assert missing.status_code == 404 and missing.json()["status"] == "NOT_FOUND"


# -- option snapshots ---------------------------------------------------------------------------


def test_snapshot_pages_to_the_end_with_absolute_cursors(
    server: SimServer, client: httpx.Client, market: SimMarket
) -> None:
    base = sim_base_url(server.url, EOD)
    got = pages(client, f"{base}/v3/snapshot/options/AAPL?limit=250")
    chain = market.chain("AAPL", EOD)
    assert chain is not None
    assert len(got) == -(-len(chain) // 250)
    for page in got[:-1]:
        next_url = urlsplit(page["next_url"])
        assert page["next_url"].startswith(f"{base}/v3/snapshot/options/AAPL?")
        assert list(parse_qs(next_url.query)) == ["cursor"]
        assert len(page["results"]) == 250 and page["status"] == "OK" and page["request_id"]
    assert "next_url" not in got[-1]
    tickers = [r["details"]["ticker"] for p in got for r in p["results"]]
    assert tickers == chain.columns["ticker"].tolist()


def test_default_page_size_and_unknown_underlying(server: SimServer, client: httpx.Client) -> None:
    first = client.get(f"{server.url}/v3/snapshot/options/{SMALL}").json()
    assert len(first["results"]) == 10 and first["next_url"]
    assert client.get(f"{server.url}/v3/snapshot/options/ZZZZZ?limit=250").json() == {
        "results": [],
        "status": "OK",
        "request_id": client.get(f"{server.url}/v3/snapshot/options/ZZZZZ?limit=250").json()["request_id"],
    }


def test_asof_prefix_sets_the_moment_on_every_endpoint(
    server: SimServer, client: httpx.Client, market: SimMarket
) -> None:
    intraday = sim_base_url(server.url, INTRADAY)
    assert "/asof/2026-11-18T11:05:00-05:00" in intraday
    page = client.get(f"{intraday}/v3/snapshot/options/SPY?limit=5").json()
    assert page["results"][0]["underlying_asset"]["price"] == market.price_at("SPY", INTRADAY)
    assert page["next_url"].startswith(f"{intraday}/v3/snapshot/options/SPY?cursor=")
    # The cursor keeps the moment: following it serves the same snapshot.
    second = client.get(page["next_url"]).json()
    assert second["results"][0]["underlying_asset"]["price"] == market.price_at("SPY", INTRADAY)
    bars = client.get(f"{intraday}/v2/aggs/ticker/SPY/range/1/day/2026-11-17/2026-11-20").json()
    assert [b["t"] for b in bars["results"]] == [
        market.daily_bar("SPY", d).t for d in (dt.date(2026, 11, 17), dt.date(2026, 11, 18))
    ]
    assert bars["results"][-1]["c"] == market.price_at("SPY", INTRADAY)  # the partial bar of the day
    grouped = client.get(f"{intraday}/v2/aggs/grouped/locale/us/market/stocks/2026-11-19").json()
    assert grouped["resultsCount"] == 0
    # Without the prefix the server's as_of (EOD) applies; UTC and "Z" spellings are accepted too.
    plain = client.get(f"{server.url}/v3/snapshot/options/SPY?limit=1").json()
    assert plain["results"][0]["underlying_asset"]["price"] == market.price_at("SPY", EOD)
    utc = client.get(f"{server.url}/asof/2026-11-20T22:15:00Z/v3/snapshot/options/SPY?limit=1").json()
    assert utc["results"] == plain["results"]


def test_sim_base_url_and_parse_moment() -> None:
    assert sim_base_url("http://127.0.0.1:9/", EOD) == "http://127.0.0.1:9/asof/2026-11-20T17:15:00-05:00"
    assert sim_base_url("http://h", "2026-11-20T22:15:00+00:00") == "http://h/asof/2026-11-20T22:15:00+00:00"
    assert parse_moment("2026-11-20T16:00:00-05:00") == dt.datetime(2026, 11, 20, 16, tzinfo=NY)
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_moment("2026-11-20T16:00:00")
    with pytest.raises(ValueError, match="no UTC offset"):
        sim_base_url("http://h", dt.datetime(2026, 11, 20, 16))


def test_same_request_same_bytes_across_servers(market: SimMarket) -> None:
    """Determinism end to end: a fresh market and server with the same seed send identical bytes."""
    bodies = []
    for _ in range(2):
        with SimServer(SimMarket(seed=7, symbols=SYMBOLS)) as srv:
            headers = {**AUTH, "Host": "sim.test"}  # next_url is built from Host
            base = sim_base_url(srv.url, EOD)
            with httpx.Client(headers=headers) as c:
                first = c.get(f"{base}/v3/snapshot/options/QQQ?limit=250")
                nxt = orjson.loads(first.content)["next_url"].replace("http://sim.test", srv.url)
                bars = c.get(f"{base}/v2/aggs/grouped/locale/us/market/stocks/2026-11-20")
                bodies.append((first.content, c.get(nxt).content, bars.content))
    assert bodies[0] == bodies[1]
    with SimServer(SimMarket(seed=8, symbols=SYMBOLS)) as srv:
        other = httpx.get(
            f"{sim_base_url(srv.url, EOD)}/v3/snapshot/options/QQQ?limit=250",
            headers={**AUTH, "Host": "sim.test"},
        )
    assert other.content != bodies[0][0]


def test_keep_alive_and_stats(server: SimServer) -> None:
    before = server.stats.snapshot()
    with httpx.Client(headers=AUTH) as c:
        for _ in range(20):
            assert (
                c.get(f"{server.url}/v2/aggs/ticker/I:VIX/range/1/day/2026-11-20/2026-11-20").status_code
                == 200
            )
        assert c.get(f"{server.url}/v3/snapshot/options/SPY?limit=1").status_code == 200
    after = server.stats.snapshot()
    assert after["connections"] - before["connections"] == 1
    assert after["requests"]["vix"] - before["requests"].get("vix", 0) == 20
    assert after["requests"]["options"] - before["requests"].get("options", 0) == 1
    assert after["bytes_sent"] > before["bytes_sent"]
