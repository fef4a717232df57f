"""Detector thresholds, read from the environment only when asked.

| variable                            | default | meaning                                               |
|-------------------------------------|---------|-------------------------------------------------------|
| AEGIS_PT_HEARTBEAT_STALE_SEC        | 300     | heartbeat older than this is stale (market hours)     |
| AEGIS_PT_PENDING_ORDER_WARN         | 2       | warn when this many orders are pending                |
| AEGIS_PT_PENDING_ORDER_CRITICAL     | 3       | critical pending-order build-up                       |
| AEGIS_PT_PENDING_ORDER_MAX_AGE_SEC  | 300     | an order older than this is no longer "normal"        |
| AEGIS_PT_MARKET_DATA_10197_WARN     | 10      | warn when recent 10197 notices reach this (past grace) |
| AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN     | 12      | warn when an exit was attempted this many times       |
| AEGIS_PT_HIGH_EXIT_ATTEMPT_CRITICAL | 20      | critical exit-attempt loop                            |
| AEGIS_PT_OPEN_GRACE_MINUTE          | 35      | open grace ends at 09:MM New York time (35 → 09:35)   |
| AEGIS_PT_CLOCK_SKEW_TOLERANCE_SEC   | 60      | a heartbeat or as_of further in the future is skew    |
| AEGIS_PT_PERSIST_EVALUATIONS        | 2       | "persists" / "does not clear": consecutive evaluations |
| AEGIS_PT_NO_RECOVERY_MINUTES        | 10      | "no self-recovery": heartbeat stale at least this long |
| AEGIS_PT_REPEATED_K / _M            | 2 / 3   | "repeated": in K of the last M evaluations             |
| AEGIS_PT_SUSTAINED_K / _M           | 2 / 3   | 10197 "sustained": above the warning in K of last M    |
| AEGIS_PT_LOG_BURST_LINES            | 3       | fatal + severe lines in one evaluation that are a burst |
| AEGIS_PT_HISTORY_MINUTES            | 60      | evaluations older than this are forgotten              |

The last seven are the runbook's temporal words made countable (see ``history``); with 10-minute
windows the defaults mean: a pending exit in two evaluations in a row (~10 min) notifies; a stale
heartbeat that has not recovered for 10 minutes escalates; a session conflict or a reconnect seen in
two of the last three evaluations (~30 min) escalates; 10197 above the warning in two of the last
three notifies.

Values are whole numbers inside the range ``RANGES`` gives each (the README lists them; K, the
persistence and the burst at least 1, K ≤ M, warn ≤ critical). A blank, malformed or out-of-range
value is an error that names the variable: a typo must not silently fall back to the default, and
``1e15`` minutes must not overflow the clock arithmetic of the temporal rules.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from aegis_core.base.bounds import Range, RangeError

HISTORY_CAP = 24  # observations kept at least (within HISTORY_MINUTES): ~1 KB of metadata


class ThresholdError(ValueError):
    pass


@dataclass(frozen=True)
class Thresholds:
    heartbeat_stale_sec: int = 300
    pending_order_warn: int = 2
    pending_order_critical: int = 3
    pending_order_max_age_sec: int = 300
    market_data_10197_warn: int = 10
    high_exit_attempt_warn: int = 12
    high_exit_attempt_critical: int = 20
    open_grace_minute: int = 35
    clock_skew_tolerance_sec: int = 60
    persist_evaluations: int = 2
    no_recovery_minutes: int = 10
    repeated_k: int = 2
    repeated_m: int = 3
    sustained_k: int = 2
    sustained_m: int = 3
    log_burst_lines: int = 3
    history_minutes: int = 60

    def __post_init__(self) -> None:
        for f in fields(self):
            value, name = getattr(self, f.name), ENV_NAMES[f.name]
            if isinstance(value, float):  # the fields are counts: whole numbers of the int type only
                raise ThresholdError(f"{name} must be {RANGES[f.name].describe()}, got {value!r}")
            try:
                RANGES[f.name].check(value, name)
            except RangeError as exc:
                raise ThresholdError(str(exc)) from None
        _require_order(self, "pending_order_warn", "pending_order_critical")
        _require_order(self, "high_exit_attempt_warn", "high_exit_attempt_critical")
        _require_order(self, "repeated_k", "repeated_m")
        _require_order(self, "sustained_k", "sustained_m")

    @property
    def history_limit(self) -> int:
        """The most evaluations kept: every K-of-M rule's M, and enough for a streak measured in minutes
        (no self-recovery) to span HISTORY_MINUTES at one evaluation every few minutes."""
        return max(self.persist_evaluations, self.repeated_m, self.sustained_m, HISTORY_CAP)


# Field name -> environment variable; the one place the names are spelled.
ENV_NAMES: dict[str, str] = {
    "heartbeat_stale_sec": "AEGIS_PT_HEARTBEAT_STALE_SEC",
    "pending_order_warn": "AEGIS_PT_PENDING_ORDER_WARN",
    "pending_order_critical": "AEGIS_PT_PENDING_ORDER_CRITICAL",
    "pending_order_max_age_sec": "AEGIS_PT_PENDING_ORDER_MAX_AGE_SEC",
    "market_data_10197_warn": "AEGIS_PT_MARKET_DATA_10197_WARN",
    "high_exit_attempt_warn": "AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN",
    "high_exit_attempt_critical": "AEGIS_PT_HIGH_EXIT_ATTEMPT_CRITICAL",
    "open_grace_minute": "AEGIS_PT_OPEN_GRACE_MINUTE",
    "clock_skew_tolerance_sec": "AEGIS_PT_CLOCK_SKEW_TOLERANCE_SEC",
    "persist_evaluations": "AEGIS_PT_PERSIST_EVALUATIONS",
    "no_recovery_minutes": "AEGIS_PT_NO_RECOVERY_MINUTES",
    "repeated_k": "AEGIS_PT_REPEATED_K",
    "repeated_m": "AEGIS_PT_REPEATED_M",
    "sustained_k": "AEGIS_PT_SUSTAINED_K",
    "sustained_m": "AEGIS_PT_SUSTAINED_M",
    "log_burst_lines": "AEGIS_PT_LOG_BURST_LINES",
    "history_minutes": "AEGIS_PT_HISTORY_MINUTES",
}


_SECONDS_A_DAY = Range(0, 86_400, "s", integer=True)
_COUNT = Range(0, 10_000, integer=True)
_EVALUATIONS = Range(1, 100, "evaluations", integer=True)
# Field name -> its range (whole numbers); the README's table states them.
RANGES: dict[str, Range] = {
    "heartbeat_stale_sec": _SECONDS_A_DAY,
    "pending_order_warn": _COUNT,
    "pending_order_critical": _COUNT,
    "pending_order_max_age_sec": _SECONDS_A_DAY,
    "market_data_10197_warn": Range(0, 1_000_000, integer=True),
    "high_exit_attempt_warn": _COUNT,
    "high_exit_attempt_critical": _COUNT,
    "open_grace_minute": Range(0, 59, "min", integer=True),
    "clock_skew_tolerance_sec": Range(0, 3600, "s", integer=True),
    "persist_evaluations": _EVALUATIONS,
    "no_recovery_minutes": Range(0, 1440, "min", integer=True),
    "repeated_k": _EVALUATIONS,
    "repeated_m": _EVALUATIONS,
    "sustained_k": _EVALUATIONS,
    "sustained_m": _EVALUATIONS,
    "log_burst_lines": Range(1, 1_000_000, integer=True),
    "history_minutes": Range(1, 10_080, "min", integer=True),
}


def _require_order(t: Thresholds, warn: str, critical: str) -> None:
    low, high = getattr(t, warn), getattr(t, critical)
    if low > high:
        raise ThresholdError(f"{ENV_NAMES[warn]}={low} must not exceed {ENV_NAMES[critical]}={high}")
