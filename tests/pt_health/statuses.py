"""Status documents for the pt_health tests: the runbook's healthy document and ways to bend it."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from aegis_core.calendar import NY

# 2026-06-01 is a full session (Monday); 2026-11-27 closes early at 13:00.
FULL_DAY = dt.date(2026, 6, 1)
EARLY_CLOSE = dt.date(2026, 11, 27)
SATURDAY = dt.date(2026, 6, 6)
HOLIDAY = dt.date(2026, 6, 19)  # Juneteenth

DELETE = object()

HEALTHY: dict[str, Any] = {
    "as_of": "2026-06-01T14:05:00Z",
    "runtime": {"desired": 1, "running": 1, "pending": 0, "ibkr_tasks": 1},
    "gateway": "HEALTHY",
    "trader": "RUNNING",
    "standby_containers_running": 0,
    "heartbeat_at": "2026-06-01T14:04:10Z",
    "broker_reconcile_pending": False,
    "position_reconcile_pending": False,
    "entry_blocking_reconcile_pending": False,
    "pending_orders": [{"id": "o1", "side": "entry", "age_sec": 40}],
    "pending_exits": 0,
    "stuck_exits": 0,
    "max_exit_attempt_count": 2,
    "send_outcome_unknown": False,
    "broker_confirmation_required": False,
    "market_data_status": "ok",
    "market_data_10197_recent": 0,
    "recent_trades": [{"symbol": "COIN", "pnl_unknown": False}],
    "open_positions": [{"symbol": "SPY", "tags": ["strategy-a"]}],
    "log_signals": {
        "existing_session": 0,
        "ibkr_1100": 0,
        "ibkr_1101": 0,
        "ibkr_1102": 0,
        "fatal": 0,
        "severe": 0,
    },
    "some_future_field": {"ignored": True},
}


def ny(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=NY)


def status_doc(now: dt.datetime, heartbeat_age: float = 50, **patch: Any) -> dict[str, Any]:
    """The healthy document at ``now``; ``patch`` keys are dotted paths (``runtime.running``)."""
    doc = copy.deepcopy(HEALTHY)
    doc["as_of"] = now.isoformat()
    doc["heartbeat_at"] = (now - dt.timedelta(seconds=heartbeat_age)).isoformat()
    for path, value in patch.items():
        *parents, leaf = path.split(".")
        target = doc
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return doc
