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

Values are non-negative integers. A blank or malformed value is an error that names the variable:
a typo must not silently fall back to the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


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

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ThresholdError(f"{ENV_NAMES[f.name]} must be a non-negative integer, got {value!r}")
        _require_order(self, "pending_order_warn", "pending_order_critical")
        _require_order(self, "high_exit_attempt_warn", "high_exit_attempt_critical")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Thresholds:
        """Thresholds from ``environ`` (e.g. ``os.environ``); unset variables keep their defaults."""
        values: dict[str, int] = {}
        for name, variable in ENV_NAMES.items():
            raw = environ.get(variable)
            if raw is None:
                continue
            try:
                values[name] = int(raw.strip())
            except ValueError:
                raise ThresholdError(f"{variable} must be a non-negative integer, got {raw!r}") from None
        return cls(**values)


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
}


def _require_order(t: Thresholds, warn: str, critical: str) -> None:
    low, high = getattr(t, warn), getattr(t, critical)
    if low > high:
        raise ThresholdError(f"{ENV_NAMES[warn]}={low} must not exceed {ENV_NAMES[critical]}={high}")
