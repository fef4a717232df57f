"""An independent archive writer for the parity and quality tests.

Written with pyarrow directly and explicit Arrow schemas (contract §2 restated on purpose), not with the
project's writer or contract, so a drift in either shows up as a failing test. ``Flavour`` models
the legitimate differences between the Python and the Rust daemon: string type, the capture second
of intraday snapshots, and a few rows of difference in a chain.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

NY = ZoneInfo("America/New_York")
SESSION = dt.date(2026, 4, 10)  # a Friday, a full NYSE session
SYMBOLS = ("AAPL", "MSFT", "NVDA", "QQQ", "SPY", "TSLA")
SPOTS = {"AAPL": 200.0, "MSFT": 400.0, "NVDA": 100.0, "QQQ": 450.0, "SPY": 520.0, "TSLA": 250.0}
NEGATIVE_GEX = {"SPY", "TSLA"}  # the rest are positive: 4 positive, 2 negative
FLAT_IV = "QQQ"  # too few observations: iv_rank and iv_percentile are null
SLOTS = tuple(
    (dt.datetime.combine(SESSION, dt.time(9, 35)) + dt.timedelta(minutes=15 * i)).time() for i in range(26)
)
TS = pa.timestamp("us", tz="UTC")


def _f(name: str, type_: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


def schemas(string: pa.DataType) -> dict[str, pa.Schema]:
    f64, i64 = pa.float64(), pa.int64()
    ident = [_f("timestamp", TS, False), _f("symbol", string, False)]
    ohlc = [_f(n, f64, False) for n in ("open", "high", "low", "close")]
    options = pa.schema(
        [
            *ident,
            _f("ticker", string, False),
            _f("contract_type", string, False),
            _f("expiration_date", pa.date32(), False),
            _f("strike_price", f64, False),
            _f("shares_per_contract", i64),
            _f("exercise_style", string),
            _f("open_interest", i64),
            *[_f(n, f64) for n in ("implied_volatility", "delta", "gamma", "theta", "vega")],
            *[_f(n, f64) for n in ("day_open", "day_high", "day_low", "day_close")],
            _f("day_volume", i64),
            _f("day_vwap", f64),
            _f("bid", f64),
            _f("ask", f64),
            _f("bid_size", i64),
            _f("ask_size", i64),
            *[_f(n, f64) for n in ("last_price", "underlying_price", "break_even_price")],
        ]
    )
    return {
        "vix": pa.schema([*ident, *ohlc]),
        "stocks": pa.schema([*ident, *ohlc, _f("volume", f64), _f("vwap", f64), _f("transactions", i64)]),
        "options": options,
        "gex_summary": pa.schema(
            [
                *ident,
                *[
                    _f(n, f64, False)
                    for n in ("net_gex", "abs_gex", "zero_gamma_level", "gamma_wall", "put_wall")
                ],
                _f("gex_regime", string, False),
                _f("underlying_price", f64, False),
            ]
        ),
        "iv_rank": pa.schema(
            [
                *ident,
                *[_f(n, f64, False) for n in ("iv", "iv_low", "iv_high")],
                _f("iv_rank", f64),
                _f("iv_percentile", f64),
                _f("observations", i64, False),
            ]
        ),
    }


@dataclass(frozen=True)
class Flavour:
    string: pa.DataType = field(default_factory=pa.string)
    capture_second: int = 12
    fewer_rows: dict[str, int] = field(default_factory=dict)  # symbol -> rows the chain lacks


PYTHON = Flavour()
RUST = Flavour(string=pa.large_string(), capture_second=47, fewer_rows={"TSLA": 3})


# --- paths (contract §2, restated) -----------------------------------------------------------------------


def daily_path(root: Path, artefact: str, day: dt.date = SESSION) -> Path:
    return root / artefact / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}.parquet"


def stock_path(root: Path, symbol: str, day: dt.date = SESSION) -> Path:
    return root / "stocks" / symbol / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}_poly.parquet"


def chain_path(root: Path, symbol: str, day: dt.date = SESSION) -> Path:
    return root / "options" / symbol / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}.parquet"


def snapshot_path(root: Path, symbol: str, captured: dt.time, day: dt.date = SESSION) -> Path:
    return root / "options" / symbol / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}_pt_{captured:%H%M%S}.parquet"


def _write(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


# --- content ------------------------------------------------------------------------------------------


def _stamp(t: dt.time = dt.time(16, 0), day: dt.date = SESSION) -> dt.datetime:
    return dt.datetime.combine(day, t, tzinfo=NY).astimezone(dt.UTC)


def strikes(symbol: str) -> list[float]:
    spot = SPOTS[symbol]
    return [round(spot * (0.8 + 0.04 * i), 2) for i in range(11)]  # 0.8 … 1.2 × spot


def chain_rows(symbol: str, captured: dt.datetime, expiries: int = 2) -> list[dict]:
    spot, rows = SPOTS[symbol], []
    for e in range(expiries):
        expiry = captured.astimezone(NY).date() + dt.timedelta(days=7 * (e + 1))
        for k in strikes(symbol):
            for kind in ("call", "put"):
                rows.append(
                    {
                        "timestamp": captured,
                        "symbol": symbol,
                        "ticker": f"O:{symbol}{expiry:%y%m%d}{kind[0].upper()}{int(k * 1000):08d}",
                        "contract_type": kind,
                        "expiration_date": expiry,
                        "strike_price": k,
                        "shares_per_contract": 100,
                        "exercise_style": "american",
                        "open_interest": 1000 + int(k),
                        "implied_volatility": 0.25,
                        "delta": 0.5 if kind == "call" else -0.5,
                        "gamma": None if abs(k - spot) > 0.15 * spot else 0.02,  # deep ITM: no greeks
                        "theta": -0.05,
                        "vega": 0.1,
                        "day_open": 1.0,
                        "day_high": 1.2,
                        "day_low": 0.9,
                        "day_close": 1.1,
                        "day_volume": 10,
                        "day_vwap": 1.05,
                        "bid": 1.0,
                        "ask": 1.2,
                        "bid_size": 5,
                        "ask_size": 7,
                        "last_price": 1.1,
                        "underlying_price": spot,
                        "break_even_price": k + 1.1 if kind == "call" else k - 1.1,
                    }
                )
    return rows


def gex_rows(day: dt.date = SESSION) -> list[dict]:
    rows = []
    for i, sym in enumerate(SYMBOLS):
        sign = -1.0 if sym in NEGATIVE_GEX else 1.0
        net = sign * 1e8 * (i + 1)
        ks = strikes(sym)
        rows.append(
            {
                "timestamp": _stamp(day=day),
                "symbol": sym,
                "net_gex": net,
                "abs_gex": abs(net) * 1.5,
                "zero_gamma_level": 0.0 if sym == "NVDA" else SPOTS[sym] * 0.97,  # NVDA: no crossing
                "gamma_wall": ks[6],
                "put_wall": ks[4],
                "gex_regime": "negative" if sign < 0 else "positive",
                "underlying_price": SPOTS[sym],
            }
        )
    return rows


def iv_rank_rows(day: dt.date = SESSION) -> list[dict]:
    rows = []
    for i, sym in enumerate(SYMBOLS):
        iv, low, high = 0.2 + 0.013 * i, 0.1, 0.5
        flat = sym == FLAT_IV
        rows.append(
            {
                "timestamp": _stamp(day=day),
                "symbol": sym,
                "iv": iv,
                "iv_low": low,
                "iv_high": high,
                "iv_rank": None if flat else 100 * (iv - low) / (high - low),
                "iv_percentile": None if flat else 40.0 + i,
                "observations": 12 if flat else 252,
            }
        )
    return rows


def build_archive(
    root: Path, flavour: Flavour, slots: tuple[dt.time, ...] = SLOTS, day: dt.date = SESSION
) -> Path:
    """One session of an archive (``day``, by default SESSION)."""
    s = schemas(flavour.string)
    eod = _stamp(day=day)
    _write(daily_path(root, "vix", day), [{"timestamp": eod, "symbol": "I:VIX", **_ohlc(17.0)}], s["vix"])
    for sym in SYMBOLS:
        bar = {
            "timestamp": eod,
            "symbol": sym,
            **_ohlc(SPOTS[sym]),
            "volume": 1e6,
            "vwap": SPOTS[sym],
            "transactions": 9,
        }
        _write(stock_path(root, sym, day), [bar], s["stocks"])
        rows = chain_rows(sym, eod)
        _write(chain_path(root, sym, day), rows[: len(rows) - flavour.fewer_rows.get(sym, 0)], s["options"])
        for slot in slots:
            captured = slot.replace(second=flavour.capture_second)
            snap = chain_rows(sym, dt.datetime.combine(day, captured, tzinfo=NY), expiries=1)[:6]
            _write(snapshot_path(root, sym, captured, day), snap, s["options"])
    _write(daily_path(root, "gex_summary", day), gex_rows(day), s["gex_summary"])
    _write(daily_path(root, "iv_rank", day), iv_rank_rows(day), s["iv_rank"])
    return root


def _ohlc(close: float) -> dict[str, float]:
    return {"open": close * 0.99, "high": close * 1.01, "low": close * 0.98, "close": close}


# --- deliberate breakage -------------------------------------------------------------------------------


def copy_archive(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def make_gex_levels_nullable(root: Path) -> None:
    """The historical Rust bug: zero_gamma_level, gamma_wall, put_wall written as nullable."""

    def change(t: pa.Table) -> pa.Table:
        loose = {"zero_gamma_level", "gamma_wall", "put_wall"}
        schema = pa.schema([f.with_nullable(True) if f.name in loose else f for f in t.schema])
        return t.cast(schema)

    rewrite(daily_path(root, "gex_summary"), change)


def drop_rows(path: Path, count: int) -> None:
    rewrite(path, lambda t: t.slice(0, t.num_rows - count))


def set_column(path: Path, column: str, values: dict[str, object]) -> None:
    """Replace ``column`` for the rows of the given symbols."""

    def change(t: pa.Table) -> pa.Table:
        symbols = t.column("symbol").to_pylist()
        old = t.column(column).to_pylist()
        new = [values.get(s, v) for s, v in zip(symbols, old, strict=True)]
        index = t.schema.get_field_index(column)
        return t.set_column(index, t.schema.field(index), pa.array(new, t.schema.field(index).type))

    rewrite(path, change)


def drop_symbol_row(path: Path, symbol: str) -> None:
    rewrite(path, lambda t: t.filter(pc.not_equal(t.column("symbol"), symbol)))


def snapshot_of(root: Path, symbol: str, slot: dt.time) -> Path:
    (match,) = [
        p
        for p in (root / "options" / symbol / f"{SESSION:%Y}" / f"{SESSION:%m}").glob(
            f"{SESSION:%d}_pt_*.parquet"
        )
        if p.name[6:10] == f"{slot:%H%M}"
    ]
    return match
