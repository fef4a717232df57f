"""Paper-trading health monitor: status model, detector, temporal rules (history), dedup, dashboard fetch,

Read-only towards the trading runtime: it reads the dashboard and decides observe / notify /
escalate; it never stops or changes anything.
"""

from aegis_core.ops.pt_health.alert import health_alert, severity_counts
from aegis_core.ops.pt_health.detector import detect
from aegis_core.ops.pt_health.events import (
    Decision,
    Evaluation,
    Event,
    PreviousOutputError,
    Severity,
    decide,
    evidence_times,
    new_events,
    previous_signatures,
)
from aegis_core.ops.pt_health.fetch import FetchResult, display_url, fetch_status
from aegis_core.ops.pt_health.history import HistoryError, Observation, parse_history
from aegis_core.ops.pt_health.market import market_open, past_open_grace, session_on
from aegis_core.ops.pt_health.monitor import evaluate_dashboard, evaluate_fetched, evaluate_status
from aegis_core.ops.pt_health.status import PtStatus, StatusError, parse_status
from aegis_core.ops.pt_health.thresholds import ENV_NAMES, ThresholdError, Thresholds
from aegis_core.ops.pt_health.windows import Window, WindowPolicy, missed_windows, session_windows, window_at

__all__ = [
    "ENV_NAMES",
    "Decision",
    "Evaluation",
    "Event",
    "FetchResult",
    "HistoryError",
    "Observation",
    "PreviousOutputError",
    "PtStatus",
    "Severity",
    "StatusError",
    "ThresholdError",
    "Thresholds",
    "Window",
    "WindowPolicy",
    "decide",
    "detect",
    "display_url",
    "evaluate_dashboard",
    "evaluate_fetched",
    "evaluate_status",
    "evidence_times",
    "fetch_status",
    "health_alert",
    "market_open",
    "missed_windows",
    "new_events",
    "parse_history",
    "parse_status",
    "past_open_grace",
    "previous_signatures",
    "session_on",
    "session_windows",
    "severity_counts",
    "window_at",
]
