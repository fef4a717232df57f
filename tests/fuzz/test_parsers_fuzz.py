"""Fuzz (Hypothesis) of every parser that reads input from outside: no input may end in a traceback
(an exception other than the parser's own error type) or a hang (each example has a deadline).

Bounded: a few hundred examples per parser, so the module runs in well under a minute.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegis_core.archive.universe import UniverseError, load_universe, parse_universe
from aegis_core.base.settings import SettingsError, load_settings
from aegis_core.ops.pt_health.status import StatusError, parse_status
from aegis_core.ops.saxo.cache import TokenCacheError, parse_token_cache
from aegis_core.polygon.parse import (
    ResponseShapeError,
    chain_frame,
    read_bars,
    read_chain_page,
    stocks_frame,
    vix_frame,
)

FUZZ = settings(
    max_examples=200,
    deadline=dt.timedelta(seconds=2),  # a hang or a pathological parse fails the example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,  # reproducible in CI; widen locally with --hypothesis-seed
)
DAY = dt.date(2026, 11, 20)
CAPTURED = dt.datetime(2026, 11, 20, 21, 5, tzinfo=dt.UTC)

# JSON values of every kind, including the ones that break naive code: huge and negative numbers,
# NaN/infinity spellings, deep nesting, empty containers, odd strings.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["NaN", "Infinity", "-1e309", "1e20", "", "2026-11-20T10:00:00Z", "0001-01-01"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def with_keys(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Documents made of the parser's real keys (so validation goes deep) with any values."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), json_values, max_size=len(keys) + 2)


def encoded(doc: Any) -> bytes:
    return json.dumps(doc).encode()


raw_bytes = st.binary(max_size=300)


# --- the dashboard status document -----------------------------------------------------------------

STATUS_KEYS = [
    "as_of", "runtime", "gateway", "trader", "standby_containers_running", "heartbeat_at",
    "broker_reconcile_pending", "pending_orders", "pending_exits", "stuck_exits", "max_exit_attempt_count",
    "send_outcome_unknown", "market_data_status", "recent_trades", "open_positions", "log_signals",
]  # fmt: skip


@FUZZ
@given(st.one_of(raw_bytes, with_keys(STATUS_KEYS).map(encoded)))
def test_status_parser(body: bytes) -> None:
    with contextlib.suppress(StatusError):
        parse_status(body)


# --- the Saxo token cache --------------------------------------------------------------------------

CACHE_KEYS = [
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "refresh_token_expires_in",
    "issued_at",
]
GOOD_CACHE = {
    "access_token": "a",
    "refresh_token": "r",
    "expires_in": 1200,
    "refresh_token_expires_in": 3600,
    "issued_at": 1_700_000_000,
}
numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),  # NaN and infinities included (json.dumps writes NaN/Infinity; the parser must cope)
    st.sampled_from(["NaN", "inf", "1e20", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"]),
)


@FUZZ
@given(
    st.one_of(
        raw_bytes,
        with_keys(CACHE_KEYS).map(encoded),
        st.fixed_dictionaries(
            {}, optional={k: numbers for k in ("expires_in", "refresh_token_expires_in", "issued_at")}
        ).map(lambda extra: encoded({**GOOD_CACHE, **extra})),
    )
)
def test_token_cache_parser(body: bytes) -> None:
    try:
        token = parse_token_cache(body, "cache.json")
    except TokenCacheError:
        return
    # Whatever parses must be usable: times computable, file content writable.
    _ = token.issued_at_dt, token.expires_at, token.refresh_expires_at
    assert parse_token_cache(token.to_json_bytes(), "again") == token


# --- Polygon pages ---------------------------------------------------------------------------------

CONTRACT_KEYS = ["details", "greeks", "day", "last_quote", "last_trade", "open_interest",
                 "implied_volatility", "underlying_asset", "break_even_price", "fmv"]  # fmt: skip
DETAIL_KEYS = [
    "ticker",
    "contract_type",
    "expiration_date",
    "strike_price",
    "shares_per_contract",
    "exercise_style",
]
contracts = st.fixed_dictionaries(
    {"details": with_keys(DETAIL_KEYS)}, optional={k: json_values for k in CONTRACT_KEYS if k != "details"}
)
pages = st.fixed_dictionaries(
    {},
    optional={
        "results": st.lists(contracts, max_size=3) | json_values,
        "next_url": json_values,
        "status": scalars,
        "request_id": scalars,
    },
).map(encoded)


@FUZZ
@given(st.one_of(raw_bytes, pages))
def test_chain_page_parser(body: bytes) -> None:
    try:
        page = read_chain_page(body)
        chain_frame([page], "SPY", CAPTURED)
    except ResponseShapeError:  # TruncatedJSONError is one
        pass


bars = st.fixed_dictionaries(
    {},
    optional={
        "results": st.lists(with_keys(["T", "o", "h", "l", "c", "v", "vw", "n", "t"]), max_size=3)
        | json_values,
        "resultsCount": scalars,
        "queryCount": scalars,
    },
).map(encoded)


@FUZZ
@given(st.one_of(raw_bytes, bars))
def test_bars_parser(body: bytes) -> None:
    try:
        frame = read_bars(body)
        vix_frame(frame, DAY)
    except ResponseShapeError:
        pass
    with contextlib.suppress(ResponseShapeError):
        stocks_frame(read_bars(body), DAY, universe=["SPY", "AAPL"])


# --- the universe file and the configuration profile -----------------------------------------------


@FUZZ
@given(st.text(max_size=200))
def test_universe_parser(text: str) -> None:
    with contextlib.suppress(UniverseError):
        parse_universe(text, "u.txt")


@FUZZ
@given(raw_bytes)
def test_universe_loader(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "u.txt"
        path.write_bytes(data)
        with contextlib.suppress(UniverseError):
            load_universe(path)


SETTING_KEYS = ["profile", "source", "archive_root", "lake_root", "lake_storage_options",
                "universe_file", "polygon", "sim", "gex", "iv", "parity", "quality", "alerts", "saxo",
                "pt_health"]  # fmt: skip
yaml_texts = st.one_of(
    raw_bytes,
    st.text(max_size=200).map(str.encode),
    with_keys(SETTING_KEYS).map(lambda doc: yaml.safe_dump(doc).encode()),
    st.sampled_from(
        [
            b"a: &x [*x]\n",
            b"a: 1\na: 2\n",
            b"{a: {b: {c: [[[[[[]]]]]]}}}",
            b"- [\n",
            b"!!python/object:os.system {}",
        ]
    ),
)


@FUZZ
@given(yaml_texts)
def test_config_loader(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "profile.yaml"
        path.write_bytes(data)
        with contextlib.suppress(SettingsError):
            load_settings({"AEGIS_CONFIG": str(path)})
