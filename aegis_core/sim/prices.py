"""Seeded price paths: a daily mean-reverting walk per symbol and a minute path inside each session.

The daily close follows an Ornstein–Uhlenbeck walk in log price around the symbol's base price
(so prices stay plausible over the whole calendar). Inside a session the price runs on a minute
grid from the open (previous close plus a small gap) to the close along a Brownian bridge; the
daily bar's open/high/low/close are read off that same path, so the bar, the intraday price and
the chain's underlying price always agree. Prices are rounded to cents.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from aegis_core.calendar import NY, Session, nyse
from aegis_core.sim.seeding import rng

TRADING_DAYS = 252.0


@dataclass(frozen=True)
class WalkParams:
    base: float  # level the walk reverts to
    volatility: float  # annualised
    reversion: float  # per session, in log space


@dataclass(frozen=True)
class DailyWalk:
    """Closes of every calendar session, plus the close before the first one."""

    dates: dict[dt.date, int]  # session date -> index
    closes: np.ndarray  # unrounded closes, same order as ``dates``
    first_previous_close: float
    daily_sigma: float

    def index(self, day: dt.date) -> int:
        return self.dates[day]

    def previous_close(self, i: int) -> float:
        return self.first_previous_close if i == 0 else float(self.closes[i - 1])


@cache
def _session_index() -> dict[dt.date, int]:
    """Every calendar session's position (shared by all walks)."""
    return {s.date: i for i, s in enumerate(nyse().sessions(nyse().start, nyse().end))}


def daily_walk(seed: int, name: str, params: WalkParams) -> DailyWalk:
    index = _session_index()
    n = len(index)
    sigma = params.volatility / math.sqrt(TRADING_DAYS)
    k = params.reversion
    g = rng(seed, "walk", name)
    start = g.normal() * sigma / math.sqrt(2 * k)  # a draw from the stationary distribution
    shocks = sigma * g.normal(size=n + 1)
    shocks[0] += (1 - k) * start
    # y[t] = (1 - k) * y[t-1] + shock[t]: the OU recursion as a linear filter (no Python loop).
    # scipy.signal is imported here, not at module level: it costs about a second of start-up
    # for every command that only needs the simulated market's names.
    from scipy.signal import lfilter

    deviation = lfilter([1.0], [1.0, -(1.0 - k)], shocks)
    levels = params.base * np.exp(deviation)
    return DailyWalk(
        dates=index,
        closes=levels[1:],
        first_previous_close=float(levels[0]),
        daily_sigma=sigma,
    )


@dataclass(frozen=True)
class SessionPath:
    """The minute path of one session: ``prices[i]`` is the price ``i`` minutes after the open."""

    session: Session
    prices: np.ndarray  # rounded to cents; prices[0] is the open, prices[-1] the close
    volume: float
    transactions: int

    def minutes_elapsed(self, moment: dt.datetime) -> float:
        return (moment - self.session.open).total_seconds() / 60.0

    def price_at(self, moment: dt.datetime) -> float:
        """Price at ``moment``: the open before the open, the close after the close, else interpolated."""
        m = self.minutes_elapsed(moment)
        last = len(self.prices) - 1
        if m <= 0:
            return float(self.prices[0])
        if m >= last:
            return float(self.prices[-1])
        i = int(m)
        frac = m - i
        return round(float(self.prices[i] * (1 - frac) + self.prices[i + 1] * frac), 2)

    def bar(self, moment: dt.datetime | None = None) -> dict[str, float | int]:
        """o/h/l/c/v/vw/n of the session as seen at ``moment`` (partial while the session runs)."""
        full = len(self.prices) - 1
        m = full if moment is None else self.minutes_elapsed(moment)
        upto = max(0, min(full, int(m)))
        seen = self.prices[: upto + 1]
        close = self.price_at(moment) if moment is not None and m < full else float(self.prices[-1])
        share = 1.0 if upto >= full else max(upto, 1) / full
        w = _volume_profile(len(seen), full)
        vwap = float(np.dot(seen, w) / w.sum())
        return {
            "o": float(self.prices[0]),
            "h": max(float(seen.max()), close),
            "l": min(float(seen.min()), close),
            "c": close,
            "v": int(self.volume * share),
            "vw": round(vwap, 4),
            "n": max(1, int(self.transactions * share)),
        }


def _volume_profile(count: int, full: int) -> np.ndarray:
    """U-shaped intraday volume weights (busy open and close)."""
    x = np.arange(count) / max(full, 1)
    return 1.0 + 3.0 * (x - 0.5) ** 2 * 4.0


def session_path(seed: int, name: str, walk: DailyWalk, session: Session, avg_volume: float) -> SessionPath:
    """The minute path of ``session`` from its open to the walk's close."""
    i = walk.index(session.date)
    previous, close = walk.previous_close(i), float(walk.closes[i])
    minutes = int((session.close - session.open).total_seconds() // 60)
    g = rng(seed, "path", name, session.date.isoformat())
    sigma = walk.daily_sigma
    open_ = previous * math.exp(0.25 * sigma * g.normal())
    steps = g.normal(size=minutes) * (0.8 * sigma / math.sqrt(minutes))
    brownian = np.concatenate(([0.0], np.cumsum(steps)))
    frac = np.arange(minutes + 1) / minutes
    bridge = brownian - frac * brownian[-1]
    log_path = math.log(open_) + frac * (math.log(close) - math.log(open_)) + bridge
    prices = np.round(np.exp(log_path), 2)
    prices = np.maximum(prices, 0.01)
    move = abs(math.log(close / previous)) / sigma
    volume = avg_volume * math.exp(0.35 * g.normal()) * (1.0 + 0.3 * move)
    if minutes < 390:  # early close: a shorter, quieter day
        volume *= minutes / 390
    transactions = int(volume / g.uniform(90, 260))
    return SessionPath(session, prices, float(round(volume)), transactions)


def session_midnight_ms(day: dt.date) -> int:
    """Polygon's daily-bar timestamp: the session date at 00:00 America/New_York, in epoch ms."""
    return int(dt.datetime.combine(day, dt.time(0, 0), tzinfo=NY).timestamp() * 1000)
