"""Vendor data validated at the door (issue 12): what the source sends that cannot be true is rejected,
counted by reason and never coerced into a default.

Rules, per contract of a chain (``screen_chain``): a contract whose ``underlying_asset.ticker`` is not
the symbol asked for; open interest or volume negative, non-finite or above ``MAX_CONTRACTS`` (no
listed option has ever had that many); a strike that is not a positive finite number; a negative or
non-finite price; greeks and implied volatility outside their physical bounds (``GREEK_BOUNDS``
below, contract §3); ``shares_per_contract`` outside ``1..MAX_SHARES_PER_CONTRACT``; a repeated
contract ticker (the first one in page order is kept, so the outcome is the same for the same
pages); an expiry before the session (``screen_session``). Per bar (``screen_bars``): a bar not dated
the session (New York date of its timestamp), open/high/low/close not positive and finite, high below
low, and a symbol listed twice (the first bar in the answer's order is kept). A VIX bar that fails,
or is dated another day, is an error (``check_vix``): there is one per session and nothing to keep.

A field that is absent (null) is never a reason: fields the source did not send stay null.

Each function returns the rows kept and ``reason -> count`` of those rejected; the counts go into the
asset's metadata and the ``source_sanity`` check fails when their share passes a configured limit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from aegis_core.base.gates import GateResult
from aegis_core.calendar import NY

if TYPE_CHECKING:  # the Polygon package imports this module (its parser screens at the door)
    from aegis_core.polygon.results import ChainsResult

MAX_CONTRACTS = 50_000_000  # open interest / day volume of one contract beyond this is not physical
# Shares one contract delivers: 100 for a standard equity option; adjusted contracts after splits and
# mergers deliver other whole numbers (5, 150, 1,000, ...). 10,000 is a hundred standard lots: beyond
# it (or below one share) the figure is not a contract size, and the GEX would scale with it.
MAX_SHARES_PER_CONTRACT = 10_000
# Greeks in Polygon's units (delta per 1.00 of the underlying, gamma per 1.00, vega per vol point,
# theta per calendar day). ``gamma · S`` is φ(d1)/(σ√T) ≤ 0.4/(σ√T): even at 1 % volatility one hour
# before expiry that is under 4,000, so 10,000 (with S the underlying's price, or 1.0 when the source
# sent none) is beyond any real contract. Vega (≤ 0.4·S·√T / 100) and the daily theta stay far below
# max(S, K); implied volatility above 2,000 % a year is not a quote.
MAX_GAMMA_TIMES_SPOT = 10_000.0
MAX_IMPLIED_VOLATILITY = 20.0
DELTA_TOLERANCE = 1e-6  # the source's rounding of |delta| = 1 deep in the money

UNDERLYING_MISMATCH = "underlying ticker is not the symbol asked for"
ABSURD_OPEN_INTEREST = "open interest negative, non-finite or absurd"
ABSURD_VOLUME = "day volume negative, non-finite or absurd"
ABSURD_QUOTE_SIZE = "bid or ask size negative, non-finite or absurd"
BAD_STRIKE = "strike not a positive finite number"
BAD_PRICE = "negative or non-finite price"
DUPLICATE = "duplicate contract (first kept)"
EXPIRED = "expiry before the session"
BAD_BAR = "open/high/low/close not positive and finite"
HIGH_BELOW_LOW = "high below low"
MISSING_IDENTITY = "no ticker/type/expiry/strike"
BAD_SHARES = "shares_per_contract not a whole number within 1..10,000"
BAD_DELTA = "delta non-finite or outside [-1, 1]"
BAD_GAMMA = "gamma negative, non-finite or beyond physical bounds"
BAD_VEGA = "vega negative, non-finite or beyond physical bounds"
BAD_THETA = "theta non-finite or beyond physical bounds"
BAD_IV = "implied volatility not positive, non-finite or above 2,000 %"
BAR_OTHER_DAY = "bar dated another day than the session"
DUPLICATE_BAR = "symbol listed twice (first bar kept)"

_PRICES: tuple[str, ...] = ("day_open", "day_high", "day_low", "day_close", "day_vwap", "bid", "ask")
_PRICES += ("last_price", "underlying_price", "break_even_price")


class VendorDataError(ValueError):
    """A value from the source that cannot be true and cannot be left out (the session's VIX bar)."""


@dataclass
class Rejections:
    """``reason -> count`` and ``symbol -> count`` of rejected rows, and how many rows were received."""

    received: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_symbol: Counter[str] = field(default_factory=Counter)
    first_reason: dict[str, str] = field(default_factory=dict)  # symbol -> the first reason it met

    @property
    def rejected(self) -> int:
        return sum(self.by_reason.values())

    @property
    def share(self) -> float:
        return self.rejected / self.received if self.received else 0.0

    def add(self, other: Rejections) -> None:
        self.received += other.received
        self.by_reason.update(other.by_reason)
        self.by_symbol.update(other.by_symbol)
        for symbol, reason in other.first_reason.items():
            self.first_reason.setdefault(symbol, reason)

    @classmethod
    def from_stats(cls, stats: Mapping[str, object], kept: int) -> Rejections:
        """The door's counts of a chain fetch (the client's request stats) with ``kept`` contracts."""
        by_reason: Counter[str] = Counter(_counts(stats.get("contracts_rejected")))
        by_symbol: Counter[str] = Counter(_counts(stats.get("contracts_rejected_by_symbol")))
        return cls(kept + sum(by_reason.values()), by_reason, by_symbol)

    def count(self, symbol: str, reasons: Mapping[str, int]) -> None:
        for reason, n in reasons.items():
            if n:
                self.by_reason[reason] += n
                self.by_symbol[symbol] += n
                self.first_reason.setdefault(symbol, reason)

    def as_metadata(self) -> dict[str, object]:
        return {
            "rows_received": self.received,
            "rows_rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.by_reason.items())),
            "rejected_by_symbol": dict(self.by_symbol.most_common(20)),
        }


def _counts(value: object) -> dict[str, int]:
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _first_reason(frame: pl.DataFrame, reasons: Mapping[str, pl.Expr]) -> tuple[pl.DataFrame, dict[str, int]]:
    """Drop rows matching any reason; each row is counted once, under the first reason it matches.

    One pass: each row's first matching reason as an index (null: none), so a clean chain, the usual
    case, costs the conditions and nothing more."""
    if frame.height == 0:
        return frame, {}
    names = list(reasons)
    first = frame.select(
        pl.coalesce([pl.when(c.fill_null(False)).then(pl.lit(i)) for i, c in enumerate(reasons.values())])
    ).to_series()
    if first.null_count() == frame.height:
        return frame, {}
    counts = {names[i]: n for i, n in first.drop_nulls().value_counts().iter_rows()}
    return frame.filter(first.is_null()), counts


def _bad_count(column: str) -> pl.Expr:
    c = pl.col(column)
    return c.is_not_null() & (~c.is_finite() | (c < 0) | (c > MAX_CONTRACTS))


def _sent(column: str, bad: pl.Expr) -> pl.Expr:
    """``bad`` for a value the source sent (a null is never a reason)."""
    return pl.col(column).is_not_null() & bad


def _greek_reasons() -> dict[str, pl.Expr]:
    """The physical bounds of the greeks and the implied volatility (see the constants above)."""
    spot = pl.col("underlying_price")
    scale = pl.when(spot.is_not_null() & spot.is_finite() & (spot > 0)).then(spot).otherwise(pl.lit(1.0))
    size = pl.max_horizontal(scale, pl.col("strike_price"))
    delta, gamma, vega, theta = (pl.col(g) for g in ("delta", "gamma", "vega", "theta"))
    iv = pl.col("implied_volatility")
    return {
        BAD_DELTA: _sent("delta", ~delta.is_finite() | (delta.abs() > 1.0 + DELTA_TOLERANCE)),
        BAD_GAMMA: _sent("gamma", ~gamma.is_finite() | (gamma < 0) | (gamma * scale > MAX_GAMMA_TIMES_SPOT)),
        BAD_VEGA: _sent("vega", ~vega.is_finite() | (vega < 0) | (vega > size)),
        BAD_THETA: _sent("theta", ~theta.is_finite() | (theta.abs() > size)),
        BAD_IV: _sent("implied_volatility", ~iv.is_finite() | (iv <= 0) | (iv > MAX_IMPLIED_VOLATILITY)),
    }


def screen_chain(frame: pl.DataFrame, symbol: str) -> tuple[pl.DataFrame, dict[str, int]]:
    """One chain as parsed (``underlying_ticker`` beside the contract columns; open interest and
    volume still as floats): the contracts kept and the rejected ones by reason."""
    price_bad = pl.any_horizontal([_sent(c, ~pl.col(c).is_finite() | (pl.col(c) < 0)) for c in _PRICES])
    shares = pl.col("shares_per_contract")
    reasons = {
        UNDERLYING_MISMATCH: pl.col("underlying_ticker").is_not_null()
        & (pl.col("underlying_ticker") != symbol),
        BAD_STRIKE: ~pl.col("strike_price").is_finite() | (pl.col("strike_price") <= 0),
        ABSURD_OPEN_INTEREST: _bad_count("open_interest"),
        ABSURD_VOLUME: _bad_count("day_volume"),
        ABSURD_QUOTE_SIZE: _bad_count("bid_size") | _bad_count("ask_size"),
        BAD_PRICE: price_bad,
        BAD_SHARES: _sent(
            "shares_per_contract",
            ~shares.is_finite()
            | (shares < 1)
            | (shares > MAX_SHARES_PER_CONTRACT)
            | (shares != shares.round()),
        ),
        **_greek_reasons(),
    }
    kept, counts = _first_reason(frame, reasons)
    tickers = kept.get_column("ticker")
    if tickers.n_unique() == kept.height:  # the usual case, cheaper to know than to dedupe
        return kept, counts
    unique = kept.filter(tickers.is_first_distinct())
    counts[DUPLICATE] = kept.height - unique.height
    return unique, counts


def screen_session(
    frame: pl.DataFrame, session: dt.date, rejections: Rejections
) -> tuple[pl.DataFrame, Rejections]:
    """Contracts of the session's chains (all symbols): those expired before the session are rejected
    and added to ``rejections`` (the door's counts so far)."""
    expired = frame.filter(pl.col("expiration_date") < session)
    if expired.height:
        for sym, n in expired.group_by("symbol").len().iter_rows():
            rejections.count(str(sym), {EXPIRED: int(n)})
        frame = frame.filter(pl.col("expiration_date") >= session)
    return frame, rejections


def unwritten(
    asked: list[str], written: set[str], failed: Mapping[str, str], rejections: Rejections
) -> dict[str, str]:
    """Symbols asked for that neither failed at the source nor got a row, and why."""

    def why(symbol: str) -> str:
        n = rejections.by_symbol.get(symbol, 0)
        return f"every row rejected at the door ({n})" if n else "the source sent no rows"

    return {s: why(s) for s in asked if s not in written and s not in failed}


def _other_day(session: dt.date) -> pl.Expr:
    """A bar whose ``timestamp`` (UTC) does not fall on ``session`` in New York."""
    return pl.col("timestamp").dt.convert_time_zone(NY.key).dt.date() != session


def screen_bars(frame: pl.DataFrame, session: dt.date) -> tuple[pl.DataFrame, Rejections]:
    """Daily bars (``STOCKS`` contract) of ``session``: bars dated another day or with impossible prices
    are rejected, by symbol; a symbol listed twice keeps its first remaining bar (answer order)."""
    rejections = Rejections(received=frame.height)
    ohlc = ("open", "high", "low", "close")
    bad = pl.any_horizontal([~pl.col(c).is_finite() | (pl.col(c) <= 0) for c in ohlc])
    marked = frame.with_columns(
        pl.when(_other_day(session).fill_null(True))
        .then(pl.lit(BAR_OTHER_DAY))
        .when(bad)
        .then(pl.lit(BAD_BAR))
        .when(pl.col("high") < pl.col("low"))
        .then(pl.lit(HIGH_BELOW_LOW))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("_reason")
    )
    for sym, reason in marked.filter(pl.col("_reason").is_not_null()).select("symbol", "_reason").iter_rows():
        rejections.count(str(sym), {str(reason): 1})
    kept = marked.filter(pl.col("_reason").is_null()).drop("_reason")
    first = kept.get_column("symbol").is_first_distinct()
    if not first.all():
        for sym in kept.filter(~first).get_column("symbol").to_list():
            rejections.count(str(sym), {DUPLICATE_BAR: 1})
        kept = kept.filter(first)
    return kept, rejections


def check_vix(frame: pl.DataFrame, session: dt.date) -> None:
    """Raise ``VendorDataError`` naming the value when the session's VIX bar cannot be true or is not
    the session's."""
    if frame.height > 1:
        raise VendorDataError(f"the source sent {frame.height} VIX bars for {session}, expected one")
    for row in frame.iter_rows(named=True):
        stamp = row.get("timestamp")
        day = stamp.astimezone(NY).date() if isinstance(stamp, dt.datetime) else None
        if day != session:
            raise VendorDataError(
                f"the source's VIX bar for {session} is dated {day or 'nowhere'} (timestamp {stamp!r}); "
                "refusing to archive another day's VIX as the session's"
            )
        values = {c: row[c] for c in ("open", "high", "low", "close")}
        bad = {c: v for c, v in values.items() if v is None or not math.isfinite(v) or v <= 0}
        if bad:
            listed = ", ".join(f"{c} {v!r}" for c, v in bad.items())
            raise VendorDataError(f"the source's VIX bar for {session} is not usable: {listed} (must be > 0)")
        if values["high"] < values["low"]:
            raise VendorDataError(
                f"the source's VIX bar for {session} has high {values['high']!r} below low {values['low']!r}"
            )


SOURCE_SANITY = "source_sanity"


def source_sanity(
    artefact: str,
    session: dt.date,
    door: Mapping[str, object] | None,
    threshold: float,
) -> GateResult:
    """The share of rows the door rejected for ``artefact`` on ``session`` stays within ``threshold``.

    ``door``: the asset's recorded ``rows_received``, ``rows_rejected`` and (when known)
    ``rejected_by_reason`` / ``rejected_by_symbol``; None when the session was never materialized.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"source_sanity: threshold {threshold} is not a share between 0 and 1")
    if door is None or "rows_received" not in door:
        # Files written by another tool (or before the door existed): nothing to judge, said so.
        return GateResult(
            artefact,
            SOURCE_SANITY,
            True,
            f"{artefact} {session}: no fetch recorded in this instance; nothing to judge",
        )
    received, rejected = int(str(door["rows_received"])), int(str(door.get("rows_rejected", 0)))
    share = rejected / received if received else 0.0
    reasons = _counts(door.get("rejected_by_reason"))
    symbols = sorted(_counts(door.get("rejected_by_symbol")))
    summary = (
        f"{artefact} {session}: {rejected} of {received} rows rejected at the door "
        f"({share:.2%}, limit {threshold:.2%})"
    )
    if reasons:
        summary += ": " + "; ".join(f"{r} {n}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
    details = tuple(f"{r}: {n}" for r, n in sorted(reasons.items()))
    return GateResult(artefact, SOURCE_SANITY, share <= threshold, summary, tuple(symbols), details)


def chains_outcome(
    batch: ChainsResult,
    stats: Mapping[str, object],
    expired: Rejections,
    asked: list[str],
    written: set[str],
) -> tuple[Rejections, dict[str, str]]:
    """The door's account of a session's chains, screened as they arrived (``screen_session`` per chain,
    counting into ``expired``): what was rejected, and every symbol asked for that has no file, with the
    reason (failed at the source, or every row rejected)."""
    rejections = Rejections.from_stats(stats, sum(batch.sizes.values()))
    rejections.add(expired)
    failed = {**batch.failures, **unwritten(asked, written, batch.failures, rejections)}
    return rejections, failed
