"""Fault injection for the simulated Polygon server: what can go wrong upstream, on purpose.

Each request draws at most one of 429 / 5xx / stall / truncate from a seeded stream keyed by the
request target and how many times that target has been asked for, so a run with the same
requests sees the same faults and a retry of a URL gets a fresh (but reproducible) draw.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from aegis_core.sim.seeding import stable_unit


class Fault(StrEnum):
    RATE_LIMIT = "429"
    SERVER_ERROR = "5xx"
    STALL = "stall"
    TRUNCATE = "truncate"


SERVER_ERROR_STATUSES = (500, 502, 503)
LYING_SYMBOL_KNOBS = (
    "duplicate_contract_symbols",
    "wrong_underlying_symbols",
    "absurd_oi_symbols",
    "absurd_gamma_symbols",
    "absurd_shares_symbols",
    "grouped_duplicate_symbols",
)
ABSURD_GAMMA = 1e300
ABSURD_SHARES = 10**18
_DAY_MS = 86_400_000
WRONG_UNDERLYING = "ZZZZ"


@dataclass(frozen=True)
class Faults:
    """Fault knobs; rates are probabilities per request in [0, 1] and may not sum past 1.

    - ``latency_ms``: added to every response (the server keeps serving others meanwhile).
    - ``rate_429``: answer 429 with ``Retry-After: retry_after_s`` (integral values are sent as
      integer seconds, as RFC 9110 wants; fractional ones as a decimal, for fast tests).
    - ``rate_5xx``: answer 500, 502 or 503 with a JSON error body.
    - ``rate_stall``: hold the response ``stall_s`` seconds before sending it (trips timeouts).
    - ``rate_truncate``: announce the full Content-Length, send half the body, close.
    - ``repeat_cursor_symbols``: the upstream bug where ``next_url`` repeats the same cursor forever.
    - ``force_status``: answer every request with this status and Polygon's error body (e.g. 401, 403).
    - ``grouped_omit``: tickers the grouped-daily endpoint leaves out (the client must fetch them
      one by one).
    - ``duplicate_contract_symbols``: every snapshot page of these chains repeats its first contract.
    - ``wrong_underlying_symbols``: these chains' contracts name another underlying (``ZZZZ``).
    - ``absurd_oi_symbols``: the middle contract of every page of these chains has open interest 1e30.
    - ``absurd_gamma_symbols``: the middle contract of every page of these chains has gamma 1e300.
    - ``absurd_shares_symbols``: the middle contract of every page has shares_per_contract 10**18.
    - ``grouped_shift_days``: the grouped daily bars are dated this many days before the day asked.
    - ``grouped_duplicate_symbols``: these tickers are listed twice in the grouped answer (the second
      bar's close one dollar higher).
    - ``aggs_shift_days``: per-ticker daily bars (VIX included) are dated this many days earlier.
    - ``vix_close``: the VIX bars' close, whatever the market says (e.g. -1).
    - ``seed``: the seed of the fault draws.
    """

    latency_ms: float = 0.0
    rate_429: float = 0.0
    retry_after_s: float = 1.0
    rate_5xx: float = 0.0
    rate_stall: float = 0.0
    stall_s: float = 30.0
    rate_truncate: float = 0.0
    repeat_cursor_symbols: frozenset[str] = field(default_factory=frozenset)
    force_status: int | None = None
    grouped_omit: frozenset[str] = field(default_factory=frozenset)
    duplicate_contract_symbols: frozenset[str] = field(default_factory=frozenset)
    wrong_underlying_symbols: frozenset[str] = field(default_factory=frozenset)
    absurd_oi_symbols: frozenset[str] = field(default_factory=frozenset)
    absurd_gamma_symbols: frozenset[str] = field(default_factory=frozenset)
    absurd_shares_symbols: frozenset[str] = field(default_factory=frozenset)
    grouped_shift_days: int = 0
    grouped_duplicate_symbols: frozenset[str] = field(default_factory=frozenset)
    aggs_shift_days: int = 0
    vix_close: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "rate_stall", "rate_truncate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be within [0, 1], got {value}")
        if self.total_rate > 1.0 + 1e-12:
            raise ValueError(
                f"Faults: rates sum to {self.total_rate:.3f}; one fault per request at most (≤ 1)"
            )
        for name in ("latency_ms", "retry_after_s", "stall_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"Faults.{name} must not be negative, got {getattr(self, name)}")
        for name in ("grouped_shift_days", "aggs_shift_days"):
            if not 0 <= getattr(self, name) <= 366:
                raise ValueError(f"Faults.{name} must be within 0..366, got {getattr(self, name)}")
        if self.force_status is not None and not 400 <= self.force_status <= 599:
            raise ValueError(f"Faults.force_status must be within 400–599, got {self.force_status}")
        object.__setattr__(self, "repeat_cursor_symbols", _symbols(self.repeat_cursor_symbols))
        for name in ("grouped_omit", *LYING_SYMBOL_KNOBS):
            object.__setattr__(self, name, _symbols(getattr(self, name)))

    def lie_about(self, underlying: str, records: list[dict]) -> list[dict]:
        """The page of ``underlying`` as a lying source would send it (the data knobs above)."""
        if not records:
            return records
        if underlying in self.duplicate_contract_symbols:
            records = [*records, copy.deepcopy(records[0])]
        if underlying in self.wrong_underlying_symbols:
            for record in records:
                record.setdefault("underlying_asset", {})["ticker"] = WRONG_UNDERLYING
        middle = records[len(records) // 2]
        if underlying in self.absurd_oi_symbols:
            middle["open_interest"] = 1e30
        if underlying in self.absurd_gamma_symbols:
            middle.setdefault("greeks", {})["gamma"] = ABSURD_GAMMA
        if underlying in self.absurd_shares_symbols:
            middle.setdefault("details", {})["shares_per_contract"] = ABSURD_SHARES
        return records

    def lie_about_grouped(self, bars: list[dict]) -> list[dict]:
        """The grouped daily bars as a lying source would send them (re-dated, tickers repeated)."""
        out = []
        for bar in bars:
            if self.grouped_shift_days:
                bar = {**bar, "t": bar["t"] - self.grouped_shift_days * _DAY_MS}
            out.append(bar)
            if bar.get("T") in self.grouped_duplicate_symbols:
                out.append({**bar, "c": bar["c"] + 1.0})
        return out

    def lie_about_bars(self, bars: list[dict]) -> list[dict]:
        """Per-ticker daily bars (VIX too) re-dated ``aggs_shift_days`` earlier."""
        if not self.aggs_shift_days:
            return bars
        return [{**bar, "t": bar["t"] - self.aggs_shift_days * _DAY_MS} for bar in bars]

    @property
    def total_rate(self) -> float:
        return self.rate_429 + self.rate_5xx + self.rate_stall + self.rate_truncate

    @property
    def retry_after_header(self) -> str:
        s = self.retry_after_s
        return str(int(s)) if float(s).is_integer() else f"{s:g}"

    def draw(self, target: str, attempt: int) -> Fault | None:
        """The fault (if any) for the ``attempt``-th request of ``target``."""
        if self.total_rate <= 0.0:
            return None
        u = stable_unit("fault", self.seed, target, attempt)
        for fault, rate in (
            (Fault.RATE_LIMIT, self.rate_429),
            (Fault.SERVER_ERROR, self.rate_5xx),
            (Fault.STALL, self.rate_stall),
            (Fault.TRUNCATE, self.rate_truncate),
        ):
            if u < rate:
                return fault
            u -= rate
        return None

    def server_error_status(self, target: str, attempt: int) -> int:
        u = stable_unit("fault-status", self.seed, target, attempt)
        return SERVER_ERROR_STATUSES[int(u * len(SERVER_ERROR_STATUSES))]


def _symbols(value: Iterable[str] | str) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(s.strip().upper() for s in value if s.strip())
