"""30-day ATM implied volatility and IV rank / percentile (contract §6 "ATM IV and IV rank").

ATM IV per symbol and session, decisions the specification leaves open:

- Usable quotes: a finite ``implied_volatility`` > 0 on a contract expiring at least
  ``min_days_to_expiry`` (1) calendar day after ``session_date``. 0DTE expiries are left out: their
  IV is noise and their total variance is zero.
- Per expiry, the ATM strike is the strike nearest the spot among strikes with a usable IV on at
  least one side (ties: the lower strike). Its IV is the mean of the call and put IV; if only one
  side has an IV, that side alone. Duplicate contracts at one (expiry, strike, side) are averaged.
- Expiry time is counted in calendar days from ``session_date``. ``near`` is the latest expiry with
  days ≤ target, ``far`` the earliest with days ≥ target:
  * both, different → ``method="interpolated"``: σ² = [w_n + (w_f − w_n)·(t − t_n)/(t_f − t_n)] / t
    with total variance w = σ²·t (never extrapolated);
  * an expiry at exactly ``target_days`` → ``method="exact"``: its IV, near = far = that expiry;
  * only expiries before the target → ``method="near_only"``: the latest one's IV, flat;
  * only expiries after the target → ``method="far_only"``: the earliest one's IV, flat.
- A symbol with no spot or no usable IV gets no row and is reported in ``skipped``.

IV rank is in ``iv_rank`` below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from aegis_core.archive.schemas import ATM_IV, IV_RANK, OPTIONS

CHAIN_COLUMNS = ("symbol", "contract_type", "expiration_date", "strike_price", "implied_volatility")


@dataclass(frozen=True)
class AtmIvResult:
    frame: pl.DataFrame
    # symbol -> why it has no row.
    skipped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def combine(cls, parts: Sequence[AtmIvResult]) -> AtmIvResult:
        """The results of disjoint groups of symbols as one (rows by symbol)."""
        frames = [p.frame for p in parts]
        return cls(
            frame=pl.concat(frames).sort("symbol") if frames else pl.DataFrame(schema=ATM_IV.polars_schema),
            skipped=dict(sorted(kv for p in parts for kv in p.skipped.items())),
        )


@dataclass(frozen=True)
class IvRankResult:
    frame: pl.DataFrame
    # symbol -> why it has no row (it has history in the window but no ATM IV today).
    skipped: dict[str, str] = field(default_factory=dict)


def _utc(as_of: dt.datetime) -> dt.datetime:
    if as_of.tzinfo is None:
        raise ValueError(f"as_of must be timezone-aware, got naive {as_of.isoformat()}")
    return as_of.astimezone(dt.UTC)


def atm_iv(
    chains: pl.DataFrame,
    spots: pl.DataFrame,
    *,
    session_date: dt.date,
    as_of: dt.datetime,
    target_days: int = 30,
    min_days_to_expiry: int = 1,
) -> AtmIvResult:
    """One ``ATM_IV`` row per symbol with a spot and a usable IV (see the module docstring)."""
    timestamp = _utc(as_of)
    if target_days < min_days_to_expiry:
        raise ValueError(f"target_days ({target_days}) must be >= min_days_to_expiry ({min_days_to_expiry})")
    missing = [c for c in CHAIN_COLUMNS if c not in chains.columns]
    if missing:
        raise ValueError(f"chains: missing columns {missing} (expected the {OPTIONS.name} contract)")
    missing = [c for c in ("symbol", "spot") if c not in spots.columns]
    if missing:
        raise ValueError(f"spots: missing columns {missing}")
    duplicated = spots.filter(pl.col("symbol").is_duplicated()).get_column("symbol").unique().sort()
    if duplicated.len():
        raise ValueError(f"spots: more than one spot for symbols {duplicated.to_list()}")

    schema = OPTIONS.polars_schema
    chain = chains.select(pl.col(c).cast(schema[c]) for c in CHAIN_COLUMNS)
    good_spots = spots.select(pl.col("symbol").cast(pl.String), pl.col("spot").cast(pl.Float64)).filter(
        pl.col("spot").is_finite() & (pl.col("spot") > 0)
    )
    days = (pl.col("expiration_date") - pl.lit(session_date)).dt.total_days()
    quotes = (
        chain.filter(
            pl.col("implied_volatility").is_finite()
            & (pl.col("implied_volatility") > 0)
            & pl.col("contract_type").is_in(["call", "put"])
            & (days >= min_days_to_expiry)
        )
        .join(good_spots, on="symbol", how="inner")
        .with_columns(days.alias("days"))
    )

    # Per (symbol, expiry, strike): mean of the per-side means, i.e. call and put weigh equally.
    per_strike = (
        quotes.group_by("symbol", "expiration_date", "days", "strike_price", "contract_type", "spot")
        .agg(pl.col("implied_volatility").mean())
        .group_by("symbol", "expiration_date", "days", "strike_price", "spot")
        .agg(pl.col("implied_volatility").mean().alias("iv"))
    )
    per_expiry = per_strike.group_by("symbol", "expiration_date", "days").agg(
        pl.col("iv").sort_by((pl.col("strike_price") - pl.col("spot")).abs(), pl.col("strike_price")).first()
    )
    near = (
        per_expiry.filter(pl.col("days") <= target_days)
        .group_by("symbol")
        .agg(pl.all().sort_by("days").last())
        .select(
            "symbol",
            pl.col("expiration_date").alias("near_expiry"),
            pl.col("days").alias("near_days"),
            pl.col("iv").alias("near_iv"),
        )
    )
    far = (
        per_expiry.filter(pl.col("days") >= target_days)
        .group_by("symbol")
        .agg(pl.all().sort_by("days").first())
        .select(
            "symbol",
            pl.col("expiration_date").alias("far_expiry"),
            pl.col("days").alias("far_days"),
            pl.col("iv").alias("far_iv"),
        )
    )
    t = float(target_days)
    w_near = pl.col("near_iv").pow(2) * pl.col("near_days")
    w_far = pl.col("far_iv").pow(2) * pl.col("far_days")
    fraction = (t - pl.col("near_days")) / (pl.col("far_days") - pl.col("near_days"))
    interpolated = ((w_near + (w_far - w_near) * fraction) / t).sqrt()
    both = pl.col("near_iv").is_not_null() & pl.col("far_iv").is_not_null()
    exact = pl.col("near_days") == target_days
    frame = (
        near.join(far, on="symbol", how="full", coalesce=True)
        .with_columns(
            pl.when(exact)
            .then(pl.col("near_iv"))
            .when(both)
            .then(interpolated)
            .otherwise(pl.coalesce("near_iv", "far_iv"))
            .alias("atm_iv"),
            pl.when(exact)
            .then(pl.lit("exact"))
            .when(both)
            .then(pl.lit("interpolated"))
            .when(pl.col("near_iv").is_not_null())
            .then(pl.lit("near_only"))
            .otherwise(pl.lit("far_only"))
            .alias("method"),
            pl.lit(timestamp).alias("timestamp"),
        )
        .sort("symbol")
    )
    frame = ATM_IV.conform(frame)

    covered = set(frame.get_column("symbol").to_list())
    skipped: dict[str, str] = {}
    spot_ok = set(good_spots.get_column("symbol").to_list())
    in_chain = set(chain.get_column("symbol").unique().to_list())
    for symbol in spots.get_column("symbol").cast(pl.String).to_list():
        if symbol not in spot_ok:
            skipped[symbol] = "spot is not a positive number"
        elif symbol not in in_chain:
            skipped[symbol] = "no option chain archived for this symbol"
        elif symbol not in covered:
            skipped[symbol] = "no usable implied volatility in the chain"
    for symbol in chain.get_column("symbol").unique().to_list():
        if symbol not in spot_ok and symbol not in skipped:
            skipped[symbol] = "no spot (session close) for this symbol"
    return AtmIvResult(frame=frame, skipped=dict(sorted(skipped.items())))


def iv_rank(
    history: pl.DataFrame,
    *,
    session_date: dt.date,
    window_sessions: Sequence[dt.date],
    as_of: dt.datetime,
    min_observations: int,
) -> IvRankResult:
    """One ``IV_RANK`` row per symbol with an ATM IV on ``session_date``.

    ``history``: ``symbol, session_date, atm_iv`` for any dates (only those in the window count; a
    null/NaN/≤ 0 IV is no observation). ``window_sessions``: the last N NYSE sessions ending with
    ``session_date`` (the caller takes them from the calendar). Over the window's observed days,
    today included: ``iv_low``/``iv_high``, ``observations`` and
    ``iv_rank = 100·(iv − low)/(high − low)``; ``iv_percentile`` = 100 · (earlier observed days with
    IV strictly below today's) / (earlier observed days). Both are null when ``observations <
    min_observations`` or the window is flat (high == low). Missing days are not forward-filled.
    """
    timestamp = _utc(as_of)
    if min_observations < 1:
        raise ValueError(f"min_observations must be >= 1, got {min_observations}")
    window = sorted(set(window_sessions))
    if not window or window[-1] != session_date:
        last = window[-1] if window else None
        raise ValueError(f"window_sessions must end with session_date {session_date}, its last day is {last}")
    missing = [c for c in ("symbol", "session_date", "atm_iv") if c not in history.columns]
    if missing:
        raise ValueError(f"history: missing columns {missing}")

    observed = history.select(
        pl.col("symbol").cast(pl.String),
        pl.col("session_date").cast(pl.Date),
        pl.col("atm_iv").cast(pl.Float64),
    ).filter(pl.col("session_date").is_in(window) & pl.col("atm_iv").is_finite() & (pl.col("atm_iv") > 0))
    dup = observed.filter(pl.struct("symbol", "session_date").is_duplicated())
    if dup.height:
        first = dup.sort("symbol", "session_date").row(0, named=True)
        raise ValueError(
            f"history: {dup.height} duplicate (symbol, session_date) rows, e.g. "
            f"{first['symbol']} on {first['session_date']}"
        )

    today = observed.filter(pl.col("session_date") == session_date).select(
        "symbol", pl.col("atm_iv").alias("iv")
    )
    earlier = observed.filter(pl.col("session_date") < session_date).join(today, on="symbol", how="inner")
    earlier_stats = earlier.group_by("symbol").agg(
        pl.len().alias("earlier"),
        (pl.col("atm_iv") < pl.col("iv")).sum().alias("below"),
        pl.col("atm_iv").min().alias("earlier_low"),
        pl.col("atm_iv").max().alias("earlier_high"),
    )
    ranked = (pl.col("observations") >= min_observations) & (pl.col("iv_high") > pl.col("iv_low"))
    frame = (
        today.join(earlier_stats, on="symbol", how="left")
        .with_columns(
            pl.min_horizontal("iv", "earlier_low").alias("iv_low"),
            pl.max_horizontal("iv", "earlier_high").alias("iv_high"),
            (pl.col("earlier").fill_null(0) + 1).alias("observations"),
        )
        .with_columns(
            pl.when(ranked)
            .then(100.0 * (pl.col("iv") - pl.col("iv_low")) / (pl.col("iv_high") - pl.col("iv_low")))
            .alias("iv_rank"),
            pl.when(ranked)
            .then(100.0 * pl.col("below").fill_null(0) / pl.col("earlier"))
            .alias("iv_percentile"),
            pl.lit(timestamp).alias("timestamp"),
        )
        .sort("symbol")
    )
    frame = IV_RANK.conform(frame)

    ranked_symbols = set(frame.get_column("symbol").to_list())
    skipped = {
        s: f"no ATM IV on {session_date} (history has earlier days in the window)"
        for s in observed.get_column("symbol").unique().sort().to_list()
        if s not in ranked_symbols
    }
    return IvRankResult(frame=frame, skipped=skipped)
