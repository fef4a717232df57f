"""Who the simulated market lists, and how big and lively each name is.

A symbol's profile (tier, base price, volatility, chain size, expiry schedule) depends only on
the symbol, so chain sizes are stable across seeds; the seed drives the prices. Tiers and their
chain sizes are calibrated so that a typical 712-symbol universe holds about 0.5 M contracts.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from aegis_core.sim.seeding import stable_unit


class Tier(StrEnum):
    GIANT = "giant"
    LARGE = "large"
    MID = "mid"
    SMALL = "small"


# Index-ETF-like giants list daily expiries.
INDEX_ETFS: frozenset[str] = frozenset({"SPY", "QQQ", "IWM"})

# Contract-count targets of the giants (SPY is the largest chain of the market).
GIANT_TARGETS: dict[str, int] = {
    "SPY": 12_900,
    "QQQ": 12_000,
    "IWM": 10_800,
    "TSLA": 11_300,
    "NVDA": 10_700,
    "AAPL": 10_300,
}

_LARGE_CAPS_TEXT = """
    MSFT AMZN META GOOGL GOOG AMD NFLX AVGO PLTR COIN MSTR BABA BAC JPM XOM INTC SMCI UBER DIA GLD
    SLV TLT XLF EEM HYG SMH XLE GDX KRE ARKK TQQQ SQQQ SOXL FXI EWZ XBI IBIT MU ORCL CRM DIS WMT COST
    V MA LLY UNH BA C WFC PYPL SHOP SOFI HOOD NIO F GM T PFE
"""
LARGE_CAPS: frozenset[str] = frozenset(_LARGE_CAPS_TEXT.split())

# Approximate price levels of well-known names; others get a deterministic level from their name.
BASE_PRICES: dict[str, float] = {
    "SPY": 660.0, "QQQ": 590.0, "IWM": 240.0, "TSLA": 420.0, "NVDA": 180.0, "AAPL": 250.0,
    "MSFT": 510.0, "AMZN": 225.0, "META": 720.0, "GOOGL": 250.0, "GOOG": 251.0, "AMD": 200.0,
    "NFLX": 1150.0, "AVGO": 340.0, "PLTR": 180.0, "COIN": 330.0, "MSTR": 320.0, "BAC": 50.0,
    "JPM": 300.0, "XOM": 115.0, "INTC": 37.0, "DIA": 460.0, "GLD": 370.0, "SLV": 45.0, "TLT": 90.0,
    "XLF": 53.0, "EEM": 53.0, "HYG": 81.0, "SMH": 320.0, "XLE": 90.0, "GDX": 75.0, "KRE": 62.0,
    "TQQQ": 100.0, "SQQQ": 15.0, "SOXL": 35.0, "F": 12.0, "SOFI": 28.0, "NIO": 7.0, "T": 28.0,
    "PFE": 25.0, "IBIT": 62.0, "WMT": 100.0, "COST": 920.0, "LLY": 800.0, "UNH": 330.0,
}  # fmt: skip

# Share of tiers among names that are in neither explicit list (by a hash of the name).
_HASHED_LARGE, _HASHED_MID = 0.01, 0.20

# Contract-count ranges per tier (the generator lands within a few percent of the target).
TIER_RANGES: dict[Tier, tuple[int, int]] = {
    Tier.GIANT: (10_000, 13_000),
    Tier.LARGE: (2_000, 4_000),
    Tier.MID: (600, 1_500),
    Tier.SMALL: (150, 500),
}

_AVG_VOLUME = {Tier.GIANT: 6.0e7, Tier.LARGE: 1.6e7, Tier.MID: 3.0e6, Tier.SMALL: 7.0e5}
_BASE_OI = {Tier.GIANT: 9_000.0, Tier.LARGE: 2_500.0, Tier.MID: 600.0, Tier.SMALL: 140.0}
_LIQUIDITY = {Tier.GIANT: 1.0, Tier.LARGE: 0.85, Tier.MID: 0.6, Tier.SMALL: 0.35}
_SPREAD = {Tier.GIANT: 0.015, Tier.LARGE: 0.035, Tier.MID: 0.07, Tier.SMALL: 0.12}


@dataclass(frozen=True)
class ExpirySchedule:
    """How many expiries of each kind a symbol lists (counted forward from the moment)."""

    daily_days: int  # calendar days ahead covered by daily expiries (0: none)
    weeklies: int  # Fridays ahead
    monthlies: int  # consecutive 3rd-Friday months ahead
    cycle_months: int  # beyond the monthlies, quarterly-cycle 3rd Fridays up to this many months
    leaps_years: int  # January 3rd-Friday LEAPS this many years ahead
    quarter_ends: int  # end-of-quarter expiries ahead (index ETFs)


@dataclass(frozen=True)
class SymbolProfile:
    symbol: str
    tier: Tier
    base_price: float
    volatility: float  # annualised; drives both the walk and the ATM implied volatility
    skew: float  # smile slope per standard deviation of moneyness (negative: put skew)
    smile: float  # smile curvature
    target_contracts: int
    schedule: ExpirySchedule
    avg_volume: float
    base_open_interest: float
    liquidity: float  # 0..1: how often contracts trade and how tight quotes are
    spread: float  # relative half-spread scale of option quotes
    penny_strikes: bool  # $1 strikes and penny ticks everywhere (index ETFs and giants)

    @property
    def occ_root(self) -> str:
        return self.symbol.replace(".", "").replace("-", "")


def tier_of(symbol: str) -> Tier:
    """The deterministic tier of ``symbol``: explicit for well-known names, else from its name's hash."""
    if symbol in GIANT_TARGETS:
        return Tier.GIANT
    if symbol in LARGE_CAPS:
        return Tier.LARGE
    u = stable_unit("tier", symbol)
    if u < _HASHED_LARGE:
        return Tier.LARGE
    if u < _HASHED_LARGE + _HASHED_MID:
        return Tier.MID
    return Tier.SMALL


def _schedule(symbol: str, tier: Tier) -> ExpirySchedule:
    u = stable_unit("schedule", symbol)
    if symbol in INDEX_ETFS:
        return ExpirySchedule(
            daily_days=14, weeklies=9, monthlies=12, cycle_months=24, leaps_years=3, quarter_ends=6
        )
    if tier is Tier.GIANT:
        return ExpirySchedule(0, weeklies=8, monthlies=9, cycle_months=18, leaps_years=3, quarter_ends=0)
    if tier is Tier.LARGE:
        return ExpirySchedule(0, weeklies=6, monthlies=6, cycle_months=12, leaps_years=2, quarter_ends=0)
    if tier is Tier.MID:
        return ExpirySchedule(
            0,
            weeklies=4 if u < 0.7 else 0,
            monthlies=4,
            cycle_months=9,
            leaps_years=1 if u < 0.5 else 0,
            quarter_ends=0,
        )
    return ExpirySchedule(
        0, weeklies=2 if u < 0.3 else 0, monthlies=3, cycle_months=6, leaps_years=0, quarter_ends=0
    )


@cache
def profile_of(symbol: str) -> SymbolProfile:
    """The profile of ``symbol`` (pure function of the name)."""
    tier = tier_of(symbol)
    u = [stable_unit("profile", symbol, i) for i in range(5)]
    if symbol in GIANT_TARGETS:
        target = GIANT_TARGETS[symbol]
    else:
        lo, hi = TIER_RANGES[tier]
        target = round(lo * 1.04 + (hi * 0.96 - lo * 1.04) * u[0] ** 1.6)  # most names near the low end
    base = BASE_PRICES.get(symbol) or math.exp(math.log(8.0) + (math.log(350.0) - math.log(8.0)) * u[1])
    if symbol in INDEX_ETFS or symbol in {"DIA", "XLF", "TLT", "HYG", "EEM", "GLD"}:
        vol, skew = 0.14 + 0.08 * u[2], -0.11 - 0.04 * u[3]
    else:
        lo_vol = {Tier.GIANT: 0.30, Tier.LARGE: 0.25, Tier.MID: 0.30, Tier.SMALL: 0.35}[tier]
        vol, skew = lo_vol + 0.35 * u[2], -0.03 - 0.06 * u[3]
    return SymbolProfile(
        symbol=symbol,
        tier=tier,
        base_price=round(base, 2),
        volatility=vol,
        skew=skew,
        smile=0.015 + 0.02 * u[4],
        target_contracts=target,
        schedule=_schedule(symbol, tier),
        avg_volume=_AVG_VOLUME[tier],
        base_open_interest=_BASE_OI[tier],
        liquidity=_LIQUIDITY[tier],
        spread=_SPREAD[tier],
        penny_strikes=tier is Tier.GIANT,
    )


def default_universe(size: int = 712) -> tuple[str, ...]:
    """A stand-in universe of ``size`` symbols: the well-known names, then made-up tickers.

    Used when the simulated market is given no universe, and by benchmarks. A real deployment
    passes its universe file instead.
    """
    known = sorted(GIANT_TARGETS, key=lambda s: -GIANT_TARGETS[s]) + sorted(LARGE_CAPS)
    out = known[:size]
    letters = string.ascii_uppercase
    i = 0
    while len(out) < size:
        # Deterministic pronounceable-ish 3–4 letter tickers, prefixed with Z to stay clear of
        # the well-known names above.
        a, b, c = letters[i % 26], letters[(i // 26) % 26], letters[(i // 676) % 26]
        out.append(f"Z{c}{b}{a}" if i >= 676 else f"Z{b}{a}")
        i += 1
    return tuple(out)
