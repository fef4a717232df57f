"""One health evaluation end to end: status (given or fetched) + clock + calendar → ``Evaluation``.

The CLI and the Dagster job both call these, so the two can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import httpx
from pydantic import SecretStr

from aegis_core.calendar import NyseCalendar
from aegis_core.ops.pt_health.detector import detect
from aegis_core.ops.pt_health.events import Evaluation
from aegis_core.ops.pt_health.fetch import DEFAULT_TIMEOUT_SEC, FetchResult, fetch_status
from aegis_core.ops.pt_health.history import Observation, bounded
from aegis_core.ops.pt_health.market import session_on
from aegis_core.ops.pt_health.status import PtStatus
from aegis_core.ops.pt_health.thresholds import Thresholds


def evaluate_status(
    status: PtStatus,
    now: dt.datetime,
    thresholds: Thresholds,
    calendar: NyseCalendar | None = None,
    history: Sequence[Observation] = (),
) -> Evaluation:
    """Detect on a parsed status, with market hours from the NYSE calendar and earlier observations."""
    return detect(status, now, thresholds, session_on(now, calendar), history)


def evaluate_dashboard(
    urls: Sequence[str],
    now: dt.datetime,
    thresholds: Thresholds,
    *,
    token: SecretStr | str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SEC,
    transport: httpx.BaseTransport | None = None,
    calendar: NyseCalendar | None = None,
    history: Sequence[Observation] = (),
) -> Evaluation:
    """Fetch the status and detect; an unreadable dashboard is a critical ``dashboard_unreachable``."""
    result = fetch_status(urls, token, timeout=timeout, transport=transport)
    return evaluate_fetched(result, now, thresholds, calendar, history)


def evaluate_fetched(
    result: FetchResult,
    now: dt.datetime,
    thresholds: Thresholds,
    calendar: NyseCalendar | None = None,
    history: Sequence[Observation] = (),
) -> Evaluation:
    """Detect on a fetch result: its own events (fallbacks, failures) plus the status's.

    Without a status there is nothing to observe: the history passes through unchanged (bounded).
    """
    if result.status is None:
        return Evaluation.of(result.events(), bounded(history, now, thresholds), now)
    evaluation = evaluate_status(result.status, now, thresholds, calendar, history)
    return Evaluation.of([*result.events(), *evaluation.events], evaluation.history, now)
