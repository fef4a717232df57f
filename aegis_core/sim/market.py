"""The deterministic simulated market: prices, daily bars, VIX and option chains (contract §4).

Pure: the same seed, symbol and moment always give the same numbers. Nothing here knows about
HTTP; ``server.py`` renders these values in Polygon's JSON shapes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from aegis_core.archive.layout import is_valid_symbol
from aegis_core.calendar import NY, Session, nyse
from aegis_core.sim.chain import ChainInputs, OptionChain, build_chain
from aegis_core.sim.expiries import Expiry, expiries
from aegis_core.sim.lru import LRU
from aegis_core.sim.prices import (
    DailyWalk,
    SessionPath,
    WalkParams,
    daily_walk,
    session_midnight_ms,
    session_path,
)
from aegis_core.sim.seeding import rng
from aegis_core.sim.universe import SymbolProfile, default_universe, profile_of

VIX_TICKER = "I:VIX"
VIX_PARAMS = WalkParams(base=18.0, volatility=1.1, reversion=0.04)
VIX_NORMAL = 18.0


@dataclass(frozen=True)
class Bar:
    """One daily bar. ``v``/``vw``/``n`` are None for an index (Polygon sends only o/h/l/c/t)."""

    date: dt.date
    t: int  # the session date at 00:00 New York, epoch milliseconds
    o: float
    h: float
    l: float  # noqa: E741 — Polygon's field name
    c: float
    v: int | None = None
    vw: float | None = None
    n: int | None = None

    def polygon(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {}
        if self.v is not None:
            out["v"] = self.v
        if self.vw is not None:
            out["vw"] = self.vw
        out.update(o=self.o, c=self.c, h=self.h, l=self.l, t=self.t)
        if self.n is not None:
            out["n"] = self.n
        return out


def _aware(moment: dt.datetime, name: str = "moment") -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} has no UTC offset; give an aware datetime")
    return moment.astimezone(NY)


class SimMarket:
    """A seeded market over ``symbols`` (default: ``default_universe()``, 712 stand-in names)."""

    def __init__(self, seed: int = 7, symbols: Sequence[str] = (), *, chain_cache: int = 128):
        names = [s.strip().upper() for s in symbols] or list(default_universe())
        bad = [raw for raw, s in zip(symbols, names, strict=False) if not is_valid_symbol(s)]
        if bad:
            raise ValueError(f"SimMarket: invalid symbols {bad[:10]} (expected tickers like AAPL or BRK.B)")
        self.seed = int(seed)
        self.symbols: tuple[str, ...] = tuple(dict.fromkeys(names))
        self._known = frozenset(self.symbols)
        self._walks: LRU[DailyWalk] = LRU(max(len(self.symbols) + 1, 16))
        self._paths: LRU[SessionPath] = LRU(8192)
        self._chains: LRU[OptionChain] = LRU(chain_cache)

    def __repr__(self) -> str:
        return f"SimMarket(seed={self.seed}, symbols={len(self.symbols)})"

    # -- what is listed -----------------------------------------------------------------------

    def knows(self, symbol: str) -> bool:
        return symbol in self._known

    def profile(self, symbol: str) -> SymbolProfile:
        return profile_of(symbol)

    # -- prices -------------------------------------------------------------------------------

    def _walk(self, name: str) -> DailyWalk:
        def make() -> DailyWalk:
            if name == VIX_TICKER:
                return daily_walk(self.seed, name, VIX_PARAMS)
            p = profile_of(name)
            return daily_walk(self.seed, name, WalkParams(p.base_price, 0.8 * p.volatility, 0.01))

        return self._walks.get_or_make(name, make)

    def _path(self, name: str, session: Session) -> SessionPath:
        volume = 0.0 if name == VIX_TICKER else profile_of(name).avg_volume
        return self._paths.get_or_make(
            (name, session.date), lambda: session_path(self.seed, name, self._walk(name), session, volume)
        )

    @staticmethod
    def current_session(moment: dt.datetime) -> Session:
        """The latest session that has opened at ``moment`` (running or finished)."""
        local = _aware(moment)
        today = nyse().session(local.date())
        if today is not None and today.open <= local:
            return today
        return nyse().previous_session(local.date())

    def price_at(self, symbol: str, moment: dt.datetime) -> float:
        """Price of ``symbol`` (or ``I:VIX``) at ``moment``; the session close once it is over."""
        local = _aware(moment)
        return self._path(symbol, self.current_session(local)).price_at(local)

    def vix_at(self, moment: dt.datetime) -> float:
        return self.price_at(VIX_TICKER, moment)

    def daily_bar(self, symbol: str, day: dt.date, as_of: dt.datetime | None = None) -> Bar | None:
        """The bar of session ``day``; None for a non-session or one not yet open at ``as_of``.

        While the session runs (``as_of`` before its close) the bar is partial, as Polygon's is.
        """
        cal = nyse()
        if not (cal.start <= day <= cal.end):
            return None
        session = cal.session(day)
        if session is None:
            return None
        local = None if as_of is None else _aware(as_of, "as_of")
        if local is not None and local < session.open:
            return None
        if local is not None and local >= session.close:
            local = None
        values = self._path(symbol, session).bar(local)
        t = session_midnight_ms(day)
        if symbol == VIX_TICKER:
            return Bar(day, t, values["o"], values["h"], values["l"], values["c"])
        return Bar(
            day,
            t,
            values["o"],
            values["h"],
            values["l"],
            values["c"],
            int(values["v"]),
            float(values["vw"]),
            int(values["n"]),
        )

    def daily_bars(
        self, symbol: str, start: dt.date, end: dt.date, as_of: dt.datetime | None = None
    ) -> list[Bar]:
        cal = nyse()
        lo, hi = max(start, cal.start), min(end, cal.end)
        if lo > hi:
            return []
        bars = (self.daily_bar(symbol, s.date, as_of) for s in cal.sessions(lo, hi))
        return [b for b in bars if b is not None]

    def grouped(self, day: dt.date, as_of: dt.datetime | None = None) -> dict[str, Bar]:
        """Every listed symbol's bar for ``day`` (empty for a non-session or a future date)."""
        out: dict[str, Bar] = {}
        for symbol in self.symbols:
            bar = self.daily_bar(symbol, day, as_of)
            if bar is None:
                return {}
            out[symbol] = bar
        return out

    # -- option chains ------------------------------------------------------------------------

    def expiries(self, symbol: str, moment: dt.datetime) -> list[Expiry]:
        return expiries(profile_of(symbol).schedule, _aware(moment).date())

    def _vol_level(self, symbol: str, vix: float, day: dt.date) -> float:
        p = profile_of(symbol)
        noise = rng(self.seed, "vol-level", symbol, day.isoformat()).normal()
        return p.volatility * (vix / VIX_NORMAL) ** 0.8 * math.exp(0.05 * noise)

    def chain(self, symbol: str, moment: dt.datetime) -> OptionChain | None:
        """The chain of ``symbol`` at ``moment`` (None if the market does not list it)."""
        if not self.knows(symbol):
            return None
        local = _aware(moment)
        return self._chains.get_or_make((symbol, local.timestamp()), lambda: self._build_chain(symbol, local))

    def _build_chain(self, symbol: str, local: dt.datetime) -> OptionChain:
        cal = nyse()
        session = self.current_session(local)
        listing = cal.previous_session(local.date())  # last session before the moment's date
        spot = self.price_at(symbol, local)
        listing_close = self.daily_bar(symbol, listing.date)
        listing_vix = self.daily_bar(VIX_TICKER, listing.date)
        assert listing_close is not None and listing_vix is not None  # sessions always have bars
        elapsed = (min(local, session.close) - session.open) / (session.close - session.open)
        inputs = ChainInputs(
            profile=profile_of(symbol),
            seed=self.seed,
            moment=local,
            spot=spot,
            reference=listing_close.c,
            listing_vol=self._vol_level(symbol, listing_vix.c, listing.date),
            vol_level=self._vol_level(symbol, self.vix_at(local), session.date),
            session=session,
            session_fraction=float(elapsed),
            expiries=tuple(self.expiries(symbol, local)),
        )
        return build_chain(inputs)
