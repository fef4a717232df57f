"""The market-session runbook's "Decision Rules", one row per bullet, each with the decision it must give.

Each row is a short session: status documents evaluated 10 minutes apart (one per monitor window),
each evaluation handed the previous one's history, as the Dagster job and ``--previous`` do. The
row states the decision and the exact events of the last evaluation, and, where the runbook says
"one occurrence is not enough", that the first evaluations stay quiet. Removing any rule (or its
count) from ``detector`` / ``history`` makes its row fail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from aegis_core.ops.pt_health import (
    Evaluation,
    FetchResult,
    Thresholds,
    detect,
    evaluate_fetched,
    parse_status,
    session_on,
)
from tests.pt_health.statuses import FULL_DAY, ny, status_doc

START = ny(FULL_DAY, 10, 5)
STEP = dt.timedelta(minutes=10)
W, C = "warn", "critical"


def order(oid: str, age: float, side: str = "entry", code: int | None = None) -> dict[str, Any]:
    return {"id": oid, "side": side, "age_sec": age, **({"tws_code": code} if code is not None else {})}


@dataclass(frozen=True)
class Row:
    bullet: str  # the runbook's words
    steps: list[dict[str, Any]]  # one status patch per evaluation (``heartbeat_age`` allowed)
    decision: str
    events: dict[str, str] = field(default_factory=dict)  # the last evaluation's events, exactly
    quiet_before: bool = False  # every evaluation before the last one is "observe"


ROWS = [
    # --- Observe only -------------------------------------------------------------------------
    Row("observe: pending_orders is 0", [{"pending_orders": []}] * 3, "observe"),
    Row(
        "observe: exactly one normal-age entry order", [{"pending_orders": [order("o1", 120)]}] * 3, "observe"
    ),
    Row(
        "observe: the pending order follows the normal timeout/cancel/reprice path with TWS code 202",
        [
            {"pending_orders": [order("o1", 240)]},
            {"pending_orders": [order("o1", 420, code=202)]},  # timed out, being cancelled
            {"pending_orders": [order("o2", 30)]},  # repriced: a new order
            {"pending_orders": [order("o2", 330, code=202)]},
            {"pending_orders": []},
        ],
        "observe",
        quiet_before=True,
    ),
    Row("observe: heartbeat is fresh", [{"heartbeat_age": 60}] * 3, "observe"),
    Row("observe: reconciliation flags are false", [{}] * 2, "observe"),
    Row(
        "observe: pending_exits=0 and stuck_exits=0", [{"pending_exits": 0, "stuck_exits": 0}] * 2, "observe"
    ),
    Row(
        "observe: isolated market-data notices without order/reconcile harm",
        [{"market_data_10197_recent": 4}, {"market_data_10197_recent": 12}, {"market_data_10197_recent": 0}],
        "observe",
        quiet_before=True,
    ),
    Row(
        "observe: 10197 below the warning threshold, not combined with a risk",
        [{"market_data_10197_recent": 9}] * 3,
        "observe",
        quiet_before=True,
    ),
    Row(
        "observe: do not stop merely for a single pending exit seen once",
        [{"pending_exits": 1}, {"pending_exits": 0}, {"pending_exits": 1}],
        "observe",
        quiet_before=True,
    ),
    Row(
        "observe: one runtime task replacement is self-recovery, not a loop",
        [{"runtime.pending": 1}, {}, {}],
        "observe",
        quiet_before=True,
    ),
    # --- Notify / page ---------------------------------------------------------------------------
    Row(
        "notify: heartbeat stale for more than 5 minutes",
        [{"heartbeat_age": 420}],
        "notify",
        {"heartbeat_stale": W},
    ),
    Row(
        "notify: pending_orders accumulates beyond the single-order pattern",
        [{"pending_orders": [order("o1", 30), order("o2", 20)]}],
        "notify",
        {"pending_orders:warn": W},
    ),
    Row(
        "notify: a single order becomes stale",
        [{"pending_orders": [order("o1", 301)]}],
        "notify",
        {"pending_order_stale": W},
    ),
    Row(
        "notify: a 202 cancel that does not clear is a stale order",
        [{"pending_orders": [order("o1", 400, code=202)]}, {"pending_orders": [order("o1", 1000, code=202)]}],
        "notify",
        {"pending_order_stale": W},
        quiet_before=True,
    ),
    Row(
        "notify: pending_exits>0 persists",
        [{"pending_exits": 1}, {"pending_exits": 2}],
        "notify",
        {"pending_exits": W},
        quiet_before=True,
    ),
    Row(
        "notify: recent trades contain pnl_unknown=true",
        [{"recent_trades": [{"symbol": "COIN", "pnl_unknown": True}]}],
        "notify",
        {"recent_trade_pnl_unknown:COIN": W},
    ),
    Row(
        "notify: open positions include Broker / reconcile-import-* tags",
        [{"open_positions": [{"symbol": "SPY", "tags": ["Broker", "reconcile-import-1"]}]}],
        "notify",
        {"open_position_broker_tag:SPY": W, "open_position_reconcile_import:SPY": W},
    ),
    Row(
        "notify: Existing session detected",
        [{"log_signals.existing_session": 1}],
        "notify",
        {"session_conflict": W},
    ),
    Row("notify: IBKR 1100/1101/1102", [{"log_signals.ibkr_1101": 1}], "notify", {"ibkr_1101": W}),
    Row(
        "notify: fatal/severe burst (lines in one evaluation)",
        [{"log_signals.fatal": 1}, {"log_signals.severe": 3}],
        "notify",
        {"log_burst": W},
        quiet_before=True,
    ),
    Row(
        "notify: fatal/severe burst (lines again and again)",
        [{"log_signals.fatal": 1}, {}, {"log_signals.severe": 1}],
        "notify",
        {"log_burst": W},
        quiet_before=True,
    ),
    Row(
        "notify: task restart loop",
        [{"runtime.pending": 1}, {}, {"runtime.pending": 1}],
        "notify",
        {"task_restart_loop": W},
        quiet_before=True,
    ),
    Row(
        "notify: market_data_10197_recent sustained above the detector threshold",
        [{"market_data_10197_recent": 15}, {"market_data_10197_recent": 3}, {"market_data_10197_recent": 11}],
        "notify",
        {"market_data_10197": W},
        quiet_before=True,
    ),
    Row(
        "notify: a smaller 10197 count together with reconnect",
        [{"market_data_10197_recent": 3, "log_signals.ibkr_1100": 1}],
        "notify",
        {"ibkr_1100": W, "market_data_10197:with_risk": W},
    ),
    # --- Stop and escalate -----------------------------------------------------------------------
    Row(
        "escalate: broker/state drift (a reconciliation flag)",
        [{"position_reconcile_pending": True}],
        "escalate",
        {"reconcile_pending:position_reconcile_pending": C},
    ),
    Row(
        "escalate: stale heartbeat plus no self-recovery",
        [{"heartbeat_age": 360}, {"heartbeat_age": 960}],
        "escalate",
        {"heartbeat_stale": W, "heartbeat_stale:no_recovery": C},
    ),
    Row(
        "escalate: stale in every evaluation for 10 minutes, though the heartbeat trickles on",
        [{"heartbeat_age": 400}, {"heartbeat_age": 450}],
        "escalate",
        {"heartbeat_stale": W, "heartbeat_stale:no_recovery": C},
        quiet_before=False,
    ),
    Row(
        "notify, not escalate: a stale heartbeat that recovered in between",
        [{"heartbeat_age": 400}, {"heartbeat_age": 30}, {"heartbeat_age": 400}],
        "notify",
        {"heartbeat_stale": W},
    ),
    Row("escalate: stuck exit", [{"stuck_exits": 1}], "escalate", {"stuck_exits": C}),
    Row("escalate: unknown fill", [{"send_outcome_unknown": True}], "escalate", {"send_outcome_unknown": C}),
    Row(
        "escalate: repeated reconnect",
        [{"log_signals.ibkr_1100": 1}, {}, {"log_signals.ibkr_1102": 1}],
        "escalate",
        {"ibkr_1102": W, "ibkr_reconnect:repeated": C},
    ),
    Row(
        "escalate: repeated session conflict",
        [{"log_signals.existing_session": 1}, {"log_signals.existing_session": 1}],
        "escalate",
        {"session_conflict": W, "session_conflict:repeated": C},
    ),
    Row(
        "escalate: pending-order buildup that does not clear",
        [{"pending_orders": [order("o1", 30), order("o2", 20)]}] * 2,
        "escalate",
        {"pending_orders:warn": W, "pending_orders:not_clearing": C},
    ),
    Row(
        "notify, not escalate: a buildup that clears",
        [{"pending_orders": [order("o1", 30), order("o2", 20)]}, {"pending_orders": []}],
        "observe",
    ),
    Row(
        "escalate: the service cannot maintain exactly one primary task",
        [{"runtime.running": 2}],
        "escalate",
        {"runtime_not_single_primary": C},
    ),
]


def session(steps: list[dict[str, Any]], thresholds: Thresholds | None = None) -> list[Evaluation]:
    """Evaluate ``steps`` 10 minutes apart, each with the previous evaluation's history."""
    thresholds = thresholds or Thresholds()
    out: list[Evaluation] = []
    for i, patch in enumerate(steps):
        now = START + i * STEP
        patch = dict(patch)
        doc = status_doc(now, patch.pop("heartbeat_age", 50), **patch)
        history = out[-1].history if out else ()
        out.append(detect(parse_status(doc), now, thresholds, session_on(now), history))
    return out


@pytest.mark.parametrize("row", ROWS, ids=[r.bullet for r in ROWS])
def test_runbook_decision_rule(row: Row) -> None:
    evaluations = session(row.steps)
    last = evaluations[-1]
    assert {e.signature: str(e.severity) for e in last.events} == row.events
    assert str(last.decision) == row.decision
    if row.quiet_before:
        assert [str(e.decision) for e in evaluations[:-1]] == ["observe"] * (len(evaluations) - 1)


def test_counts_are_configurable() -> None:
    """The same session decides differently when the runbook's words are counted differently."""
    exits = [{"pending_exits": 1}] * 2
    assert str(session(exits)[-1].decision) == "notify"
    assert str(session(exits, Thresholds(persist_evaluations=3))[-1].decision) == "observe"
    assert str(session(exits * 2, Thresholds(persist_evaluations=3))[-1].decision) == "notify"

    stale = [{"heartbeat_age": 360}, {"heartbeat_age": 960}]
    assert "heartbeat_stale:no_recovery" not in {
        e.signature for e in session(stale, Thresholds(no_recovery_minutes=30))[-1].events
    }
    md = [{"market_data_10197_recent": 20}] * 3
    assert "market_data_10197" not in {
        e.signature for e in session(md, Thresholds(sustained_k=4, sustained_m=4))[-1].events
    }
    assert "market_data_10197" in {e.signature for e in session(md, Thresholds(sustained_k=3))[-1].events}


def test_history_is_bounded_and_forgets_old_evaluations() -> None:
    evaluations = session([{"pending_exits": 1}] * 8)  # 70 minutes: the first falls out of the hour
    assert len(evaluations[-1].history) == 7
    capped = session([{"pending_exits": 1}] * 8, Thresholds(history_minutes=600, repeated_m=5, repeated_k=1))
    assert len(capped[-1].history) == 8
    few = Thresholds(history_minutes=600)
    assert len(session([{}] * 30, few)[-1].history) == few.history_limit == 24
    # A pending exit at the last evaluation of one day and the first of the next does not "persist".
    (yesterday,) = session([{"pending_exits": 1}])
    tomorrow = START + dt.timedelta(days=1)
    doc = parse_status(status_doc(tomorrow, pending_exits=1))
    evaluation = detect(doc, tomorrow, Thresholds(), session_on(tomorrow), yesterday.history)
    assert str(evaluation.decision) == "observe" and len(evaluation.history) == 1


def test_an_evaluation_without_a_status_neither_continues_nor_breaks_a_streak() -> None:
    (first,) = session([{"pending_exits": 1}])
    blind = evaluate_fetched(
        FetchResult(status=None, failures=("http://127.0.0.1:9/status: HTTP 500",)),
        START + STEP,
        Thresholds(),
        history=first.history,
    )
    assert [o.at for o in blind.history] == [o.at for o in first.history]
    now = START + 2 * STEP
    third = detect(
        parse_status(status_doc(now, pending_exits=1)), now, Thresholds(), session_on(now), blind.history
    )
    assert "pending_exits" in {e.signature for e in third.events}


# --- Clock skew (issue 16): never read as healthy -----------------------------------------------


@pytest.mark.parametrize(
    ("patch", "heartbeat_age", "expected"),
    [
        ({}, -61, {"clock_skew:heartbeat": W}),  # 19:30Z when now is 18:05Z is this, 85 minutes over
        ({}, -60, {}),  # within the tolerance
        ({"as_of": "2026-06-01T14:15:00+00:00"}, 50, {"clock_skew:as_of": W}),  # 10 min ahead of now
        ({"as_of": "2026-05-01T14:05:00+00:00"}, 50, {"status_stale": C}),  # a month old
        ({"as_of": "2026-06-01T14:00:00+00:00"}, 50, {}),  # 5 min old: the threshold itself
    ],
    ids=[
        "heartbeat-future",
        "heartbeat-within-tolerance",
        "as_of-future",
        "as_of-month-old",
        "as_of-at-threshold",
    ],
)
def test_clock_skew_is_an_event(
    patch: dict[str, Any], heartbeat_age: float, expected: dict[str, str]
) -> None:
    doc = status_doc(START, heartbeat_age)
    doc.update(patch)
    evaluation = detect(parse_status(doc), START, Thresholds(), session_on(START))
    assert {e.signature: str(e.severity) for e in evaluation.events} == expected
    assert str(evaluation.decision) != "observe" or not expected


def test_a_month_old_document_outside_market_hours_is_not_healthy() -> None:
    now = ny(FULL_DAY, 18, 5)  # after the close: heartbeat age does not count, the document's does
    doc = status_doc(now, heartbeat_age=30 * 86400)
    doc["as_of"] = (now - dt.timedelta(days=30)).isoformat()
    evaluation = detect(parse_status(doc), now, Thresholds(), session_on(now))
    assert [e.signature for e in evaluation.events] == ["status_stale"]
    assert str(evaluation.decision) == "escalate"


def test_future_heartbeat_at_the_issue_example() -> None:
    now = dt.datetime(2026, 6, 1, 18, 5, tzinfo=dt.UTC)
    doc = status_doc(now)
    doc["heartbeat_at"] = "2026-06-01T19:30:00Z"
    evaluation = detect(parse_status(doc), now, Thresholds(), session_on(now))
    (event,) = evaluation.events
    assert event.signature == "clock_skew:heartbeat" and event.value == 85 * 60
    assert str(evaluation.decision) == "notify"
