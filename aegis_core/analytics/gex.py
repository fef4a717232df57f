"""Gamma exposure per symbol and session (contract §6 "Gamma exposure"), vectorized over all symbols.

Per contract, in dollars per 1 % move of the underlying:
``gex = sign · gamma · open_interest · shares_per_contract · spot² · 0.01``
with sign +1 for calls and −1 for puts by default (dealers long calls, short puts).

Decisions the specification leaves open, made here:

- ``gamma`` is the source's reported gamma; ``spot`` is the session close from the stocks artefact
  (not the chain's ``underlying_price``).
- A contract contributes only when its gamma is a finite number, its open interest is > 0, its type
  is ``call``/``put`` and ``expiration_date >= session_date``. A null ``shares_per_contract`` is
  taken as ``GexParams.default_shares_per_contract`` (100, the standard equity option).
- ``gamma_wall``/``put_wall`` are the strikes with the largest MAGNITUDE of summed call/put gex
  (for the default signs the largest call gex is its magnitude anyway; with a custom sign the
  magnitude still finds the concentration). Ties go to the lower strike.
- ``zero_gamma_level``: every contributing contract is re-priced with Black-Scholes gamma at its own
  implied volatility over ``grid_points`` hypothetical spots ``s`` evenly spaced from
  ``grid_low·S`` to ``grid_high·S``, with ``s²`` in the gex formula. Expiry is the close of the
  expiration date's NYSE session in New York: 16:00, or 13:00 on an early-close day (options stop
  trading with the market: the day after Thanksgiving, Christmas Eve, ...); a date the calendar does
  not hold is taken as 16:00. Time to expiry runs from the chain's capture ``timestamp`` on an ACT/365 basis,
  floored at ``min_time_to_expiry_days`` (0DTE contracts captured near or after the close).
  Contracts without a usable IV (null, NaN, ≤ 0) still count in net/abs gex through their reported
  gamma but are left out of the re-priced profile. The level is the first sign change of the
  profile along the grid, linearly interpolated between the grid points around it (exact zeros:
  see ``first_zero_crossing``); 0.0 if none.
- Every undefined level is 0.0 and every float column is non-null (the Rust writer's contract), but
  a symbol without a chain or without a single contributing contract gets no row at all: a row of
  zeros would read as a "neutral" market that nobody measured.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from aegis_core.archive.schemas import GEX_SUMMARY, OPTIONS
from aegis_core.calendar import nyse

SECONDS_PER_YEAR = 365.0 * 86400.0
EXPIRY_TIME = dt.time(16, 0)  # the regular close; early-close days expire at their own close
EXPIRY_ZONE = "America/New_York"

# |d1| beyond this makes exp(-d1²/2) exactly 0.0 in float64: such a contract adds nothing anywhere.
_NEGLIGIBLE_D1 = 40.0
# Contracts per block of the contract × grid matrix (keeps each block in cache-friendly megabytes).
_BLOCK_CONTRACTS = 8192

CHAIN_COLUMNS = (  # what the computation reads of a chain (its inputs need no more)
    "timestamp",
    "symbol",
    "contract_type",
    "expiration_date",
    "strike_price",
    "shares_per_contract",
    "open_interest",
    "implied_volatility",
    "gamma",
)


@dataclass(frozen=True)
class GexParams:
    """Configuration of the gamma-exposure computation (defaults follow contract §6)."""

    call_sign: float = 1.0
    put_sign: float = -1.0
    grid_low: float = 0.8
    grid_high: float = 1.2
    # 81 points: one every 0.5 % of spot across 0.8·S..1.2·S.
    grid_points: int = 81
    rate: float = 0.0
    dividend: float = 0.0
    # One hour: a 0DTE contract captured at (or after) the close is re-priced as if one hour remained.
    min_time_to_expiry_days: float = 1.0 / 24.0
    default_shares_per_contract: int = 100

    def __post_init__(self) -> None:
        for name in ("call_sign", "put_sign", "grid_low", "grid_high", "rate", "dividend"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"GexParams.{name} must be finite, got {getattr(self, name)!r}")
        if not 0.0 < self.grid_low < self.grid_high:
            raise ValueError(
                f"GexParams grid must satisfy 0 < grid_low < grid_high, got {self.grid_low}..{self.grid_high}"
            )
        if self.grid_points < 2:
            raise ValueError(f"GexParams.grid_points must be >= 2, got {self.grid_points}")
        if not self.min_time_to_expiry_days > 0:
            raise ValueError(
                f"GexParams.min_time_to_expiry_days must be > 0, got {self.min_time_to_expiry_days}"
            )
        if self.default_shares_per_contract <= 0:
            raise ValueError(
                f"GexParams.default_shares_per_contract must be > 0, got {self.default_shares_per_contract}"
            )

    @property
    def grid(self) -> npt.NDArray[np.float64]:
        """Hypothetical spots as multiples of the actual spot."""
        return np.linspace(self.grid_low, self.grid_high, self.grid_points)


@dataclass(frozen=True)
class GexResult:
    """The ``GEX_SUMMARY`` frame plus what an operator needs to trust it."""

    frame: pl.DataFrame
    # symbol -> why it has no row (e.g. a chain but no spot).
    skipped: dict[str, str] = field(default_factory=dict)
    contracts_used: int = 0
    # reason -> number of contracts (of symbols with a spot) that contributed nothing.
    contracts_dropped: dict[str, int] = field(default_factory=dict)
    # Contributing contracts left out of the zero-gamma profile for lack of a usable IV.
    contracts_not_repriced: int = 0

    @classmethod
    def combine(cls, parts: Sequence[GexResult]) -> GexResult:
        """The results of disjoint groups of symbols as one (rows by symbol, counts added)."""
        dropped: Counter[str] = Counter()
        for part in parts:
            dropped.update(part.contracts_dropped)
        return cls(
            frame=(
                pl.concat([p.frame for p in parts]).sort("symbol")
                if parts
                else pl.DataFrame(schema=GEX_SUMMARY.polars_schema)
            ),
            skipped=dict(sorted(kv for p in parts for kv in p.skipped.items())),
            contracts_used=sum(p.contracts_used for p in parts),
            contracts_dropped=dict(dropped),
            contracts_not_repriced=sum(p.contracts_not_repriced for p in parts),
        )


def gex_summary(
    chains: pl.DataFrame,
    spots: pl.DataFrame,
    *,
    session_date: dt.date,
    as_of: dt.datetime,
    params: GexParams = GexParams(),  # frozen, so a shared default is safe
) -> GexResult:
    """One ``GEX_SUMMARY`` row per symbol with a valid spot, for all symbols at once.

    ``chains``: contracts in the ``OPTIONS`` contract (any number of symbols). ``spots``: columns
    ``symbol, spot`` (the session close). A symbol needs both a valid spot and at least one
    contributing contract to get a row; any other symbol (no chain, nothing usable in it, no
    positive finite spot) is reported in ``skipped`` with the reason, never guessed.
    """
    timestamp = _utc(as_of)
    valid_spots, skipped = _valid_spots(spots)
    chain = _select_chain(chains)
    for symbol in chain.get_column("symbol").unique().sort().to_list():
        if symbol not in valid_spots and symbol not in skipped:
            skipped[symbol] = "no spot (session close) for this symbol"

    spot_frame = pl.DataFrame(
        {"symbol": list(valid_spots), "spot": list(valid_spots.values())},
        schema={"symbol": pl.String, "spot": pl.Float64},
    ).sort("symbol")
    contracts, dropped = _contributing(chain, spot_frame, session_date, params)
    # Nothing fabricated: a symbol whose chain is absent (failed at the source) or has no contract
    # that contributes gets no row, never a "neutral" row of zeros; the reason is reported.
    in_chain = set(chain.get_column("symbol").unique().to_list())
    usable = set(contracts.get_column("symbol").unique().to_list())
    for symbol in spot_frame.get_column("symbol").to_list():
        if symbol not in in_chain:
            skipped[symbol] = "no option chain archived for this symbol"
        elif symbol not in usable:
            skipped[symbol] = "no usable contract (every one expired, without gamma or without open interest)"
    spot_frame = spot_frame.filter(pl.col("symbol").is_in(sorted(usable)))

    totals = contracts.group_by("symbol").agg(
        pl.col("gex").sum().alias("net_gex"), pl.col("gex").abs().sum().alias("abs_gex")
    )
    walls = _walls(contracts)
    levels, not_repriced = _zero_gamma_levels(contracts, spot_frame, params)

    frame = (
        spot_frame.join(totals, on="symbol", how="left")
        .join(walls, on="symbol", how="left")
        .join(levels, on="symbol", how="left")
        .with_columns(
            pl.col("net_gex", "abs_gex", "gamma_wall", "put_wall", "zero_gamma_level").fill_null(0.0),
            pl.lit(timestamp).alias("timestamp"),
            pl.col("spot").alias("underlying_price"),
        )
        .with_columns(
            pl.when(pl.col("net_gex") > 0)
            .then(pl.lit("positive"))
            .when(pl.col("net_gex") < 0)
            .then(pl.lit("negative"))
            .otherwise(pl.lit("neutral"))
            .alias("gex_regime")
        )
    )
    _refuse_non_finite(frame)
    return GexResult(
        frame=GEX_SUMMARY.conform(frame),
        skipped=dict(sorted(skipped.items())),
        contracts_used=contracts.height,
        contracts_dropped=dropped,
        contracts_not_repriced=not_repriced,
    )


class NonFiniteGexError(ValueError):
    """A symbol's figures came out infinite or NaN: its chain holds values no real contract has."""


_FIGURES = ("net_gex", "abs_gex", "zero_gamma_level", "gamma_wall", "put_wall", "underlying_price")


def _refuse_non_finite(frame: pl.DataFrame) -> None:
    """Raise naming every symbol with an infinite or NaN figure: such a row is never written."""
    bad = frame.filter(~pl.all_horizontal(pl.col(_FIGURES).is_finite()))
    if bad.height:
        listed = "; ".join(
            f"{row['symbol']}: " + ", ".join(f"{c} {row[c]!r}" for c in _FIGURES if not math.isfinite(row[c]))
            for row in bad.head(5).iter_rows(named=True)
        )
        raise NonFiniteGexError(
            f"gamma exposure is not finite for {bad.height} symbol(s) ({listed}): their chains hold "
            "gamma, open interest or contract sizes beyond any real contract; nothing written"
        )


def _utc(as_of: dt.datetime) -> dt.datetime:
    if as_of.tzinfo is None:
        raise ValueError(f"as_of must be timezone-aware, got naive {as_of.isoformat()}")
    return as_of.astimezone(dt.UTC)


def _valid_spots(spots: pl.DataFrame) -> tuple[dict[str, float], dict[str, str]]:
    missing = [c for c in ("symbol", "spot") if c not in spots.columns]
    if missing:
        raise ValueError(f"spots: missing columns {missing}")
    duplicated = spots.filter(pl.col("symbol").is_duplicated()).get_column("symbol").unique().sort()
    if duplicated.len():
        raise ValueError(f"spots: more than one spot for symbols {duplicated.to_list()}")
    valid: dict[str, float] = {}
    skipped: dict[str, str] = {}
    rows = spots.select(pl.col("symbol").cast(pl.String), pl.col("spot").cast(pl.Float64)).iter_rows()
    for symbol, spot in rows:
        if symbol is None:
            raise ValueError("spots: a row has a null symbol")
        if spot is None or not math.isfinite(spot) or spot <= 0:
            skipped[symbol] = f"spot is not a positive number: {spot!r}"
        else:
            valid[symbol] = spot
    return valid, skipped


def _select_chain(chains: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in CHAIN_COLUMNS if c not in chains.columns]
    if missing:
        raise ValueError(f"chains: missing columns {missing} (expected the {OPTIONS.name} contract)")
    schema = OPTIONS.polars_schema
    return chains.select(pl.col(c).cast(schema[c]) for c in CHAIN_COLUMNS)


def _contributing(
    chain: pl.DataFrame, spot_frame: pl.DataFrame, session_date: dt.date, params: GexParams
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The contracts that contribute, with their gex; and the counts of those that do not, by reason."""
    chain = chain.join(spot_frame, on="symbol", how="inner")
    is_call = pl.col("contract_type") == "call"
    known_type = is_call | (pl.col("contract_type") == "put")
    expired = pl.col("expiration_date") < session_date
    no_gamma = pl.col("gamma").is_null() | ~pl.col("gamma").is_finite()
    no_oi = pl.col("open_interest").fill_null(0) <= 0
    # Reasons are counted in this order; each contract is counted once, under its first reason.
    reasons = {
        "expired": expired,
        "unknown contract_type": ~known_type,
        "null gamma": no_gamma,
        "zero or null open_interest": no_oi,
    }
    counts, seen = [], pl.lit(False)
    for name, condition in reasons.items():
        counts.append((condition & ~seen).sum().alias(name))
        seen = seen | condition
    dropped = {k: int(v) for k, v in chain.select(counts).row(0, named=True).items() if v}

    sign = pl.when(is_call).then(pl.lit(params.call_sign)).otherwise(pl.lit(params.put_sign))
    shares = pl.col("shares_per_contract").fill_null(params.default_shares_per_contract)
    contracts = (
        chain.filter(~seen)
        .with_columns(
            is_call.alias("is_call"),
            (sign * pl.col("gamma") * pl.col("open_interest") * shares * pl.col("spot").pow(2) * 0.01).alias(
                "gex"
            ),
            (sign * pl.col("open_interest") * shares * 0.01).alias("weight"),
            _years_to_expiry(params).alias("years"),
        )
        .sort("symbol")
    )
    return contracts, dropped


@functools.cache
def _early_closes() -> tuple[list[dt.date], list[dt.datetime]]:
    """The calendar's early-close days and their close, in UTC (the expiry moment of those days)."""
    sessions = nyse().early_closes()
    return [s.date for s in sessions], [s.close.astimezone(dt.UTC) for s in sessions]


def _years_to_expiry(params: GexParams) -> pl.Expr:
    regular = (
        pl.col("expiration_date")
        .dt.combine(EXPIRY_TIME)
        .dt.replace_time_zone(EXPIRY_ZONE)
        .dt.convert_time_zone("UTC")
    )
    days, closes = _early_closes()
    early = pl.col("expiration_date").replace_strict(
        days,
        pl.Series(closes, dtype=pl.Datetime("us", "UTC")),
        default=None,
        return_dtype=pl.Datetime("us", "UTC"),
    )
    expiry = early.fill_null(regular)
    years = (expiry - pl.col("timestamp")).dt.total_microseconds() / (SECONDS_PER_YEAR * 1e6)
    return years.clip(lower_bound=params.min_time_to_expiry_days / 365.0)


def _walls(contracts: pl.DataFrame) -> pl.DataFrame:
    """Per symbol, the strike with the largest |Σ call gex| and the one with the largest |Σ put gex|."""
    by_strike = contracts.group_by("symbol", "is_call", "strike_price").agg(
        pl.col("gex").sum().abs().alias("size")
    )
    best = by_strike.group_by("symbol", "is_call").agg(
        pl.col("strike_price").sort_by("size", "strike_price", descending=[True, False]).first()
    )
    calls = best.filter(pl.col("is_call")).select("symbol", pl.col("strike_price").alias("gamma_wall"))
    puts = best.filter(~pl.col("is_call")).select("symbol", pl.col("strike_price").alias("put_wall"))
    return calls.join(puts, on="symbol", how="full", coalesce=True)


def _zero_gamma_levels(
    contracts: pl.DataFrame, spot_frame: pl.DataFrame, params: GexParams
) -> tuple[pl.DataFrame, int]:
    """Per symbol, the first zero crossing of the re-priced net gex profile (absent when none)."""
    iv_ok = pl.col("implied_volatility").is_finite() & (pl.col("implied_volatility") > 0)
    usable = contracts.filter(iv_ok)
    not_repriced = contracts.height - usable.height
    symbols = spot_frame.get_column("symbol")
    index = pl.DataFrame({"symbol": symbols, "row": np.arange(symbols.len(), dtype=np.int64)})
    usable = usable.join(index, on="symbol", how="inner")

    grid = params.grid
    profile = _gex_profile(
        row=usable.get_column("row").to_numpy(),
        spot=usable.get_column("spot").to_numpy(),
        strike=usable.get_column("strike_price").to_numpy(),
        years=usable.get_column("years").to_numpy(),
        vol=usable.get_column("implied_volatility").to_numpy(),
        weight=usable.get_column("weight").to_numpy(),
        n_rows=symbols.len(),
        grid=grid,
        rate=params.rate,
        dividend=params.dividend,
    )
    spots = spot_frame.get_column("spot").to_numpy()
    level = first_zero_crossing(profile, spots[:, None] * grid[None, :])
    return pl.DataFrame({"symbol": symbols, "zero_gamma_level": level}), not_repriced


def _gex_profile(
    *,
    row: npt.NDArray[np.int64],
    spot: npt.NDArray[np.float64],
    strike: npt.NDArray[np.float64],
    years: npt.NDArray[np.float64],
    vol: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    n_rows: int,
    grid: npt.NDArray[np.float64],
    rate: float,
    dividend: float,
) -> npt.NDArray[np.float64]:
    """Σ over contracts of ``weight · BS_gamma(g·S) · (g·S)²``, shape (n_rows, len(grid)).

    ``row`` is each contract's output row (sorted ascending). BS gamma times s² factors as
    ``g · [e^-qT · S / (σ√T·√(2π))] · exp(-d1²/2)`` with ``d1 = α + β·ln g``, where α and β are per
    contract; so the contract × grid work is one fused ``exp(-(α' + β'·ln g)²)`` per cell, and the
    per-symbol reduction is a segment sum.
    """
    profile = np.zeros((n_rows, grid.size))
    if row.size == 0:
        return profile
    sigma_sqrt_t = vol * np.sqrt(years)
    alpha = (np.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * years) / sigma_sqrt_t
    beta = 1.0 / sigma_sqrt_t
    log_grid = np.log(grid)
    d1_low, d1_high = alpha + beta * log_grid[0], alpha + beta * log_grid[-1]
    # d1 rises with g, so a contract whose d1 stays beyond ±40 over the whole grid adds exactly 0.
    live = ~((d1_low > _NEGLIGIBLE_D1) | (d1_high < -_NEGLIGIBLE_D1))
    scale = weight * np.exp(-dividend * years) * spot / (sigma_sqrt_t * math.sqrt(2.0 * math.pi))
    # Pre-divided by √2 so that a cell is exp(-(α' + β'·ln g)²).
    row, scale = row[live], scale[live]
    alpha, beta = alpha[live] / math.sqrt(2.0), beta[live] / math.sqrt(2.0)

    for start in range(0, row.size, _BLOCK_CONTRACTS):
        stop = min(start + _BLOCK_CONTRACTS, row.size)
        block = np.multiply.outer(beta[start:stop], log_grid)
        block += alpha[start:stop, None]
        np.square(block, out=block)
        np.negative(block, out=block)
        np.exp(block, out=block)
        block *= scale[start:stop, None]
        rows = row[start:stop]
        # Segment starts of each symbol inside this block (rows are sorted).
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        profile[rows[starts]] += np.add.reduceat(block, starts, axis=0)
    profile *= grid[None, :]
    return profile


def first_zero_crossing(
    profile: npt.NDArray[np.float64], spots: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Per row, the spot where ``profile`` first changes sign, linearly interpolated; 0.0 if never.

    A sign change is a pair of nonzero points with opposite signs and only exact zeros (if any)
    between them. Adjacent points are interpolated; across exact zeros the level is the first zero
    point. Zeros alone (where every gamma has underflowed) never make a crossing.
    """
    n_rows, n_points = profile.shape
    if n_rows == 0:
        return np.zeros(0)
    sign = np.sign(profile)
    index = np.broadcast_to(np.arange(n_points), profile.shape)
    # For every point, the index of the last nonzero point at or before it (-1 if none yet).
    last_nonzero = np.maximum.accumulate(np.where(sign != 0, index, -1), axis=1)
    prev = last_nonzero[:, :-1]
    prev_sign = np.take_along_axis(sign, np.maximum(prev, 0), axis=1)
    change = (prev >= 0) & (prev_sign * sign[:, 1:] < 0)
    has = change.any(axis=1)
    i = change.argmax(axis=1) + 1  # the first nonzero point past the change
    rows = np.arange(n_rows)
    j = last_nonzero[rows, i - 1]
    p0, p1 = profile[rows, j], profile[rows, i]
    s0, s1 = spots[rows, j], spots[rows, i]
    with np.errstate(invalid="ignore", divide="ignore"):
        interpolated = s0 + (s1 - s0) * p0 / (p0 - p1)
    first_zero = spots[rows, np.minimum(j + 1, n_points - 1)]
    level = np.where(j == i - 1, interpolated, first_zero)
    return np.where(has, level, 0.0)
