"""Columnar parsing of real Polygon samples (fixtures) and synthetic chains into the archive contract."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import orjson
import polars as pl
import pytest

from aegis_core.archive.schemas import OPTIONS, STOCKS, VIX
from aegis_core.ldas.validation import (
    ABSURD_OPEN_INTEREST,
    ABSURD_QUOTE_SIZE,
    ABSURD_VOLUME,
    BAD_GAMMA,
    BAD_IV,
    BAD_PRICE,
    BAD_SHARES,
    BAD_STRIKE,
    DUPLICATE,
    MAX_CONTRACTS,
    MISSING_IDENTITY,
    UNDERLYING_MISMATCH,
)
from aegis_core.polygon.parse import (
    ResponseShapeError,
    TruncatedJSONError,
    chain_frame,
    read_bars,
    read_chain_page,
    stocks_frame,
    vix_frame,
)
from tests.polygon.synthetic import synthetic_page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polygon"
CAPTURED = dt.datetime(2026, 1, 2, 21, 5, 7, 123456, tzinfo=dt.UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


CHAIN = "v3_snapshot_options_AAPL.json"


def chain_of(doc: dict) -> pl.DataFrame:
    frame, rejected = chain_frame([read_chain_page(orjson.dumps(doc))], "AAPL", CAPTURED)
    assert rejected == {}
    return frame


def test_real_chain_sample_maps_every_column() -> None:
    page = read_chain_page(fixture(CHAIN))
    assert (page.count, page.next_url) == (1, None)
    frame, rejected = chain_frame([page], "AAPL", CAPTURED)
    assert rejected == {}
    assert frame.schema == OPTIONS.polars_schema
    assert frame.to_dicts() == [
        {
            "timestamp": CAPTURED,
            "symbol": "AAPL",
            "ticker": "O:AAPL230616C00150000",
            "contract_type": "call",
            "expiration_date": dt.date(2023, 6, 16),
            "strike_price": 150.0,
            "shares_per_contract": 100,
            "exercise_style": "american",
            "open_interest": 8133,
            "implied_volatility": 0.3570277203465058,
            "delta": 0.6436614934293701,
            "gamma": 0.0061735291012820675,
            "theta": -0.028227189324641973,
            "vega": 0.6381159723175714,
            "day_open": 29.99,
            "day_high": 32.25,
            "day_low": 29.0,
            "day_close": 29.0,
            "day_volume": 8,
            "day_vwap": 30.7738,
            "bid": 28.9,
            "ask": 29.25,
            "bid_size": 294,
            "ask_size": 209,
            "last_price": 29.25,
            "underlying_price": 159.9606,
            "break_even_price": 179.075,
        }
    ]
    # The contract is what the archive writer will enforce.
    assert OPTIONS.conform(frame).equals(frame)


def test_missing_greeks_empty_day_and_no_trade_are_null_never_invented() -> None:
    doc = orjson.loads(fixture(CHAIN))
    deep_itm = doc["results"][0]
    del deep_itm["greeks"], deep_itm["implied_volatility"], deep_itm["last_trade"]
    deep_itm["day"] = {}
    row = chain_of(doc).row(0, named=True)
    for column in ("implied_volatility", "delta", "gamma", "theta", "vega", "last_price"):
        assert row[column] is None, column
    for column in ("day_open", "day_high", "day_low", "day_close", "day_volume", "day_vwap"):
        assert row[column] is None, column
    assert (row["ticker"], row["open_interest"], row["bid"]) == ("O:AAPL230616C00150000", 8133, 28.9)


def test_partial_greeks_keep_what_was_sent() -> None:
    doc = orjson.loads(fixture(CHAIN))
    doc["results"][0]["greeks"] = {"delta": 0.99}
    row = chain_of(doc).row(0, named=True)
    assert (row["delta"], row["gamma"], row["theta"], row["vega"]) == (0.99, None, None, None)


def test_counts_stay_exact_up_to_the_physical_bound_and_beyond_it_are_rejected() -> None:
    # Open interest and volume are read as floats so that an absurd value reaches the door's check
    # (1e30 used to become a silent null); every count up to the bound is exact in a float.
    big = MAX_CONTRACTS - 1
    doc = orjson.loads(fixture(CHAIN))
    doc["results"][0]["day"]["volume"] = big
    doc["results"][0]["open_interest"] = big
    row = chain_of(doc).row(0, named=True)
    assert row["day_volume"] == big
    assert row["open_interest"] == big
    doc["results"][0]["open_interest"] = 2**53 + 1
    frame, rejected = chain_frame([read_chain_page(orjson.dumps(doc))], "AAPL", CAPTURED)
    assert (frame.height, rejected) == (0, {ABSURD_OPEN_INTEREST: 1})


def test_contracts_without_identity_are_dropped_and_counted() -> None:
    doc = orjson.loads(fixture(CHAIN))
    anonymous = copy.deepcopy(doc["results"][0])
    del anonymous["details"]
    doc["results"].append(anonymous)
    frame, rejected = chain_frame([read_chain_page(orjson.dumps(doc))], "AAPL", CAPTURED)
    assert (frame.height, rejected) == (1, {MISSING_IDENTITY: 1})


def test_unreadable_expiry_is_an_error_naming_the_contract() -> None:
    doc = orjson.loads(fixture(CHAIN))
    doc["results"][0]["details"]["expiration_date"] = "16/06/2023"
    with pytest.raises(ResponseShapeError, match=r"16/06/2023.*O:AAPL230616C00150000"):
        chain_frame([read_chain_page(orjson.dumps(doc))], "AAPL", CAPTURED)


def test_columnar_parser_agrees_with_a_plain_walk_of_synthetic_pages() -> None:
    bodies = [synthetic_page(250, seed=s, start=250 * s, next_url=None) for s in range(3)]
    frame, rejected = chain_frame([read_chain_page(b) for b in bodies], "AAPL", CAPTURED)
    docs = [c for b in bodies for c in orjson.loads(b)["results"]]
    assert (frame.height, rejected) == (750, {})

    def walk(c: dict, outer: str, inner: str) -> object:
        return (c.get(outer) or {}).get(inner)

    expected = {
        "ticker": [walk(c, "details", "ticker") for c in docs],
        "strike_price": [float(walk(c, "details", "strike_price")) for c in docs],
        "gamma": [walk(c, "greeks", "gamma") for c in docs],
        "day_volume": [walk(c, "day", "volume") for c in docs],
        "ask_size": [walk(c, "last_quote", "ask_size") for c in docs],
        "last_price": [walk(c, "last_trade", "price") for c in docs],
        "implied_volatility": [c.get("implied_volatility") for c in docs],
    }
    for column, values in expected.items():
        assert frame.get_column(column).to_list() == values, column
    assert frame.get_column("gamma").null_count() > 0  # the sample does exercise missing greeks
    assert frame.get_column("day_volume").null_count() > 0


def test_page_without_results_or_with_wrong_types_is_a_shape_error() -> None:
    with pytest.raises(ResponseShapeError, match="no 'results' list"):
        read_chain_page(b'{"status":"OK","request_id":"x"}')
    with pytest.raises(
        ResponseShapeError, match=r"\$\.results\[0\]\.details\.strike_price should be Float64"
    ):
        read_chain_page(b'{"results":[{"details":{"strike_price":"150"}}]}')
    with pytest.raises(ResponseShapeError, match=r"\$\.results\[1\]\.day should be an object"):
        read_chain_page(b'{"results":[{}, {"day": 7}]}')


def test_cut_body_is_truncated_json_not_a_shape_error() -> None:
    body = fixture(CHAIN)
    with pytest.raises(TruncatedJSONError, match="invalid JSON"):
        read_chain_page(body[: len(body) // 2])


def test_grouped_sample_to_stocks() -> None:
    bars = read_bars(fixture("v2_aggs_grouped_locale_us_market_stocks_2005-04-04_adjusted_true.json"))
    frame = stocks_frame(bars, dt.date(2005, 4, 4), universe=["GIK", "AAPL"])
    assert frame.schema == STOCKS.polars_schema
    assert frame.to_dicts() == [
        {
            "timestamp": dt.datetime(2020, 10, 14, 20, 0, tzinfo=dt.UTC),  # t = 1602705600000 ms
            "symbol": "GIK",
            "open": 9.99,
            "high": 10.02,
            "low": 9.9,
            "close": 10.02,
            "volume": 895345.0,
            "vwap": 9.9979,
            "transactions": 96,
        }
    ]
    assert stocks_frame(bars, dt.date(2005, 4, 4), universe=["AAPL"]).is_empty()


def test_per_ticker_sample_picks_the_bar_of_the_day() -> None:
    bars = read_bars(fixture("v2_aggs_ticker_AAPL_range_1_day_2005-04-01_2005-04-04.json"))
    assert bars.height == 2
    frame = stocks_frame(bars, dt.date(2005, 4, 4), symbol="AAPL")
    assert frame.to_dicts() == [
        {
            "timestamp": dt.datetime(2005, 4, 4, 4, 0, tzinfo=dt.UTC),  # t = 1112587200000 ms
            "symbol": "AAPL",
            "open": 1.4639,
            "high": 1.4754,
            "low": 1.4343,
            "close": 1.4675,
            "volume": 578172308.0,
            "vwap": 1.4589,
            "transactions": 65543,
        }
    ]
    with pytest.raises(ResponseShapeError, match="2 bars and 0 of them dated 2005-04-05"):
        stocks_frame(bars, dt.date(2005, 4, 5), symbol="AAPL")


def test_index_bar_to_vix() -> None:
    # Index bars carry only o/h/l/c/t (contract §3).
    body = orjson.dumps(
        {
            "ticker": "I:VIX",
            "queryCount": 1,
            "resultsCount": 1,
            "adjusted": True,
            "results": [{"o": 14.82, "h": 15.9, "l": 14.5, "c": 15.3, "t": 1767330000000}],
            "status": "OK",
        }
    )
    frame = vix_frame(read_bars(body), dt.date(2026, 1, 2))
    assert frame.schema == VIX.polars_schema
    assert frame.to_dicts() == [
        {
            "timestamp": dt.datetime(2026, 1, 2, 5, 0, tzinfo=dt.UTC),
            "symbol": "VIX",
            "open": 14.82,
            "high": 15.9,
            "low": 14.5,
            "close": 15.3,
        }
    ]


def test_aggregates_without_results() -> None:
    empty = read_bars(b'{"ticker":"ZZZZ","queryCount":0,"resultsCount":0,"adjusted":true,"status":"OK"}')
    assert empty.is_empty()
    assert stocks_frame(empty, dt.date(2026, 1, 2), symbol="ZZZZ").is_empty()
    with pytest.raises(ResponseShapeError, match="resultsCount is 2 but there is no 'results' list"):
        read_bars(b'{"resultsCount":2,"status":"OK"}')
    with pytest.raises(ResponseShapeError, match="null values in non-nullable columns"):
        vix_frame(read_bars(b'{"results":[{"o":1,"h":2,"l":0.5,"t":1767330000000}]}'), dt.date(2026, 1, 2))


def _variant(doc: dict, ticker: str, change) -> dict:
    contract = copy.deepcopy(doc["results"][0])
    contract["details"]["ticker"] = ticker
    change(contract)
    return contract


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: c["underlying_asset"].__setitem__("ticker", "MSFT"), UNDERLYING_MISMATCH),
        (lambda c: c.__setitem__("open_interest", 1e30), ABSURD_OPEN_INTEREST),
        (lambda c: c.__setitem__("open_interest", -5), ABSURD_OPEN_INTEREST),
        (lambda c: c.setdefault("day", {}).__setitem__("volume", 9e18), ABSURD_VOLUME),
        (lambda c: c["details"].__setitem__("strike_price", 0), BAD_STRIKE),
        (lambda c: c.setdefault("last_quote", {}).__setitem__("bid", -1.5), BAD_PRICE),
        # Issue 24: integers read as floats too, so 1e30 reaches the door instead of becoming a null.
        (lambda c: c["details"].__setitem__("shares_per_contract", 1e30), BAD_SHARES),
        (lambda c: c["details"].__setitem__("shares_per_contract", 10**18), BAD_SHARES),
        (lambda c: c.setdefault("last_quote", {}).__setitem__("ask_size", 1e30), ABSURD_QUOTE_SIZE),
        (lambda c: c.setdefault("greeks", {}).__setitem__("gamma", 1e300), BAD_GAMMA),
        (lambda c: c.__setitem__("implied_volatility", -0.2), BAD_IV),
    ],
    ids=[
        "underlying",
        "oi 1e30",
        "negative oi",
        "volume",
        "strike 0",
        "negative bid",
        "shares 1e30",
        "shares 10**18",
        "ask size 1e30",
        "gamma 1e300",
        "negative iv",
    ],
)
def test_contracts_the_source_cannot_be_right_about_are_rejected_by_reason(change, reason) -> None:
    # Regression (issue 12): an open interest of 1e30 was archived as null and then read as GEX 0.
    doc = orjson.loads(fixture(CHAIN))
    doc["results"].append(_variant(doc, "O:AAPL230616C00155000", change))
    frame, rejected = chain_frame([read_chain_page(orjson.dumps(doc))], "AAPL", CAPTURED)
    assert rejected == {reason: 1}
    assert frame["ticker"].to_list() == [doc["results"][0]["details"]["ticker"]]
    assert frame.schema == OPTIONS.polars_schema


def test_duplicate_contracts_keep_the_first_in_page_order() -> None:
    doc = orjson.loads(fixture(CHAIN))
    first = doc["results"][0]
    twin = _variant(doc, first["details"]["ticker"], lambda c: c.__setitem__("open_interest", 7))
    pages = [read_chain_page(orjson.dumps(doc)), read_chain_page(orjson.dumps({**doc, "results": [twin]}))]
    frame, rejected = chain_frame(pages, "AAPL", CAPTURED)
    assert rejected == {DUPLICATE: 1}
    assert frame.height == 1 and frame["open_interest"].to_list() == [first["open_interest"]]
