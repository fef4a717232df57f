"""Table-driven detector cases: every golden signal on both sides of its threshold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from aegis_core.ops.pt_health import Thresholds, detect, parse_status, session_on
from tests.pt_health.statuses import DELETE, EARLY_CLOSE, FULL_DAY, HOLIDAY, SATURDAY, ny, status_doc
from tests.pt_health.test_thresholds import thresholds

MARKET = ny(FULL_DAY, 10, 5)  # full session, open, past the 09:35 grace
W, C = "warn", "critical"


@dataclass(frozen=True)
class Case:
    id: str
    patch: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)  # signature -> severity, exactly
    decision: str = "observe"
    now: dt.datetime = MARKET
    heartbeat_age: float = 50
    env: dict[str, str] = field(default_factory=dict)


def entry(age: float, oid: str = "o1", side: str = "entry") -> dict[str, Any]:
    return {"id": oid, "side": side, "age_sec": age}


CASES = [
    Case("healthy"),
    # Runtime: exactly one primary.
    Case("runtime two running", {"runtime.running": 2}, {"runtime_not_single_primary": C}, "escalate"),
    Case("runtime none running", {"runtime.running": 0}, {"runtime_not_single_primary": C}, "escalate"),
    Case("runtime desired 0", {"runtime.desired": 0}, {"runtime_not_single_primary": C}, "escalate"),
    Case("runtime two ibkr tasks", {"runtime.ibkr_tasks": 2}, {"runtime_not_single_primary": C}, "escalate"),
    # One pending (replacement) task is the runtime's self-recovery: a loop is a temporal rule.
    Case("runtime pending task once", {"runtime.pending": 1}),
    # Gateway and trader.
    Case("gateway healthy lowercase", {"gateway": "healthy"}),
    Case("gateway unhealthy", {"gateway": "UNHEALTHY"}, {"gateway_unhealthy": W}, "notify"),
    Case("trader stopped", {"trader": "STOPPED"}, {"trader_not_running": W}, "notify"),
    # Cutover guard.
    Case("standby running", {"standby_containers_running": 1}, {"standby_containers_running": C}, "escalate"),
    # Heartbeat: stale only while the market is open.
    Case("heartbeat at threshold", heartbeat_age=300),
    # Heartbeat: stale notifies; stale with no self-recovery for 10 min (here: by its own age) escalates.
    Case("heartbeat stale", heartbeat_age=301, expected={"heartbeat_stale": W}, decision="notify"),
    Case(
        "heartbeat stale 9:59 past threshold",
        heartbeat_age=899,
        expected={"heartbeat_stale": W},
        decision="notify",
    ),
    Case(
        "heartbeat stale 10 min past threshold",
        heartbeat_age=900,
        expected={"heartbeat_stale": W, "heartbeat_stale:no_recovery": C},
        decision="escalate",
    ),
    Case("heartbeat old before open", now=ny(FULL_DAY, 9, 25), heartbeat_age=3600),
    Case(
        "heartbeat stale right at open",
        now=ny(FULL_DAY, 9, 30),
        heartbeat_age=3600,
        expected={"heartbeat_stale": W, "heartbeat_stale:no_recovery": C},
        decision="escalate",
    ),
    Case(
        "heartbeat stale before close",
        now=ny(FULL_DAY, 15, 59),
        heartbeat_age=600,
        expected={"heartbeat_stale": W},
        decision="notify",
    ),
    Case("heartbeat old after close", now=ny(FULL_DAY, 16, 0), heartbeat_age=3600),
    Case("heartbeat old on saturday", now=ny(SATURDAY, 11, 0), heartbeat_age=86400),
    Case("heartbeat old on holiday", now=ny(HOLIDAY, 11, 0), heartbeat_age=86400),
    Case(
        "early close: stale before 13:00",
        now=ny(EARLY_CLOSE, 12, 30),
        heartbeat_age=3600,
        expected={"heartbeat_stale": W, "heartbeat_stale:no_recovery": C},
        decision="escalate",
    ),
    Case("early close: old after 13:00", now=ny(EARLY_CLOSE, 13, 30), heartbeat_age=3600),
    Case(
        "heartbeat threshold from env",
        heartbeat_age=200,
        env={"AEGIS_PT_HEARTBEAT_STALE_SEC": "120"},
        expected={"heartbeat_stale": W},
        decision="notify",
    ),
    # Reconciliation flags.
    Case(
        "broker reconcile",
        {"broker_reconcile_pending": True},
        {"reconcile_pending:broker_reconcile_pending": C},
        "escalate",
    ),
    Case(
        "position reconcile",
        {"position_reconcile_pending": True},
        {"reconcile_pending:position_reconcile_pending": C},
        "escalate",
    ),
    Case(
        "entry-blocking reconcile",
        {"entry_blocking_reconcile_pending": True},
        {"reconcile_pending:entry_blocking_reconcile_pending": C},
        "escalate",
    ),
    # Pending orders: observe only for 0 or one normal-age entry order.
    Case("no pending orders", {"pending_orders": []}),
    Case("single entry at normal age limit", {"pending_orders": [entry(300)]}),
    Case("single entry stale", {"pending_orders": [entry(301)]}, {"pending_order_stale": W}, "notify"),
    Case(
        "single exit order",
        {"pending_orders": [entry(10, side="exit")]},
        {"pending_order_not_entry": W},
        "notify",
    ),
    Case(
        "two pending orders",
        {"pending_orders": [entry(10), entry(20, "o2")]},
        {"pending_orders:warn": W},
        "notify",
    ),
    Case(
        "three pending orders",
        {"pending_orders": [entry(10), entry(20, "o2"), entry(30, "o3")]},
        {"pending_orders:critical": C},
        "escalate",
    ),
    Case(
        "normal age from env",
        {"pending_orders": [entry(61)]},
        {"pending_order_stale": W},
        "notify",
        env={"AEGIS_PT_PENDING_ORDER_MAX_AGE_SEC": "60"},
    ),
    Case(
        "pending order without side",
        {"pending_orders": [{"id": "o1", "age_sec": 5}]},
        {"missing:pending_orders.side": W},
        "notify",
    ),
    Case(
        "pending order without age",
        {"pending_orders": [{"id": "o1", "side": "entry"}]},
        {"missing:pending_orders.age_sec": W},
        "notify",
    ),
    # Exit safety.
    Case("pending exit once", {"pending_exits": 1}),  # notifies once it persists (test_runbook_rules)
    Case("stuck exit", {"stuck_exits": 1}, {"stuck_exits": C}, "escalate"),
    Case(
        "broker confirmation",
        {"broker_confirmation_required": True},
        {"broker_confirmation_required": C},
        "escalate",
    ),
    Case("send outcome unknown", {"send_outcome_unknown": True}, {"send_outcome_unknown": C}, "escalate"),
    # High exit attempts.
    Case("exit attempts below warn", {"max_exit_attempt_count": 11}),
    Case("exit attempts at warn", {"max_exit_attempt_count": 12}, {"high_exit_attempts:warn": W}, "notify"),
    Case(
        "exit attempts below critical",
        {"max_exit_attempt_count": 19},
        {"high_exit_attempts:warn": W},
        "notify",
    ),
    Case(
        "exit attempts at critical",
        {"max_exit_attempt_count": 20},
        {"high_exit_attempts:critical": C},
        "escalate",
    ),
    # Exit attribution and broker imports: warnings.
    Case(
        "pnl unknown",
        {"recent_trades": [{"symbol": "COIN", "pnl_unknown": True}]},
        {"recent_trade_pnl_unknown:COIN": W},
        "notify",
    ),
    Case(
        "trade without pnl flag",
        {"recent_trades": [{"symbol": "COIN"}]},
        {"missing:recent_trades.pnl_unknown": W},
        "notify",
    ),
    Case(
        "broker tag",
        {"open_positions": [{"symbol": "SPY", "tags": ["Broker"]}]},
        {"open_position_broker_tag:SPY": W},
        "notify",
    ),
    Case(
        "reconcile-import tag",
        {"open_positions": [{"symbol": "QQQ", "tags": ["reconcile-import-0601"]}]},
        {"open_position_reconcile_import:QQQ": W},
        "notify",
    ),
    Case(
        "position without tags",
        {"open_positions": [{"symbol": "SPY"}]},
        {"missing:open_positions.tags": W},
        "notify",
    ),
    # Market data: 10197 counts only after the 09:35 grace and only while open.
    Case("isolated 10197 below threshold", {"market_data_10197_recent": 9}),
    Case("10197 at threshold once", {"market_data_10197_recent": 10}),  # not yet sustained
    Case("10197 before grace", {"market_data_10197_recent": 50}, now=ny(FULL_DAY, 9, 34, 59)),
    Case("10197 after close", {"market_data_10197_recent": 50}, now=ny(FULL_DAY, 16, 5)),
    Case(
        "10197 grace from env",
        {"market_data_10197_recent": 50},
        now=ny(FULL_DAY, 9, 40),
        env={"AEGIS_PT_OPEN_GRACE_MINUTE": "45"},
    ),
    Case("market data degraded", {"market_data_status": "degraded"}, {"market_data_status": W}, "notify"),
    Case("market data degraded before grace", {"market_data_status": "degraded"}, now=ny(FULL_DAY, 9, 31)),
    Case(
        "small 10197 with stale heartbeat",
        {"market_data_10197_recent": 3},
        heartbeat_age=600,
        expected={"heartbeat_stale": W, "market_data_10197:with_risk": W},
        decision="notify",
    ),
    Case(
        "small 10197 with IBKR 1100",
        {"market_data_10197_recent": 3, "log_signals.ibkr_1100": 1},
        {"ibkr_1100": W, "market_data_10197:with_risk": W},
        "notify",
    ),
    # Severe log signals.
    Case("existing session", {"log_signals.existing_session": 1}, {"session_conflict": W}, "notify"),
    Case("ibkr 1100", {"log_signals.ibkr_1100": 2}, {"ibkr_1100": W}, "notify"),
    Case("ibkr 1101", {"log_signals.ibkr_1101": 1}, {"ibkr_1101": W}, "notify"),
    Case("ibkr 1102", {"log_signals.ibkr_1102": 1}, {"ibkr_1102": W}, "notify"),
    Case("one fatal line", {"log_signals.fatal": 1}),  # not a burst
    Case("fatal plus severe below burst", {"log_signals.fatal": 1, "log_signals.severe": 1}),
    Case("fatal/severe burst", {"log_signals.fatal": 1, "log_signals.severe": 2}, {"log_burst": W}, "notify"),
    Case("severe burst", {"log_signals.severe": 4}, {"log_burst": W}, "notify"),
    # Warnings and criticals together: critical wins.
    Case(
        "warn plus critical",
        {"gateway": "UNHEALTHY", "stuck_exits": 2},
        {"gateway_unhealthy": W, "stuck_exits": C},
        "escalate",
    ),
]


def evaluate(case: Case):
    doc = status_doc(case.now, case.heartbeat_age, **case.patch)
    return detect(parse_status(doc), case.now, thresholds(case.env), session_on(case.now))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_detector_case(case: Case) -> None:
    evaluation = evaluate(case)
    assert {e.signature: str(e.severity) for e in evaluation.events} == case.expected
    assert str(evaluation.decision) == case.decision


GOLDEN_FIELDS = [
    "runtime", "runtime.desired", "runtime.running", "runtime.pending", "runtime.ibkr_tasks",
    "gateway", "trader", "standby_containers_running", "heartbeat_at",
    "broker_reconcile_pending", "position_reconcile_pending", "entry_blocking_reconcile_pending",
    "pending_orders", "pending_exits", "stuck_exits", "max_exit_attempt_count",
    "send_outcome_unknown", "broker_confirmation_required",
    "market_data_status", "market_data_10197_recent", "recent_trades", "open_positions",
    "log_signals", "log_signals.existing_session", "log_signals.ibkr_1100", "log_signals.ibkr_1101",
    "log_signals.ibkr_1102", "log_signals.fatal", "log_signals.severe",
]  # fmt: skip


@pytest.mark.parametrize("name", GOLDEN_FIELDS)
@pytest.mark.parametrize("value", [DELETE, None], ids=["absent", "null"])
def test_missing_golden_signal_is_a_warning(name: str, value: object) -> None:
    for now in (MARKET, ny(SATURDAY, 12, 0)):  # missing is never healthy, market open or not
        doc = status_doc(now, **{name: value})
        evaluation = detect(parse_status(doc), now, Thresholds(), session_on(now))
        assert [(e.signature, str(e.severity)) for e in evaluation.events] == [(f"missing:{name}", "warn")]
        assert "not assumed healthy" in evaluation.events[0].message
        assert str(evaluation.decision) == "notify"


def test_empty_document_reports_every_top_level_signal_missing() -> None:
    evaluation = detect(parse_status("{}"), MARKET, Thresholds(), session_on(MARKET))
    top_level = {n for n in GOLDEN_FIELDS if "." not in n}
    assert {e.signature for e in evaluation.events} == {f"missing:{n}" for n in top_level}
    assert str(evaluation.decision) == "notify"


def test_signatures_do_not_carry_changing_values() -> None:
    """The same condition with different ages/counts keeps its signature, so dedup works."""
    a = evaluate(Case("a", {"pending_orders": [entry(400)], "stuck_exits": 1}, heartbeat_age=400))
    b = evaluate(Case("b", {"pending_orders": [entry(900)], "stuck_exits": 3}, heartbeat_age=800))
    assert [e.signature for e in a.events] == [e.signature for e in b.events]
    assert [e.value for e in a.events] != [e.value for e in b.events]


def test_events_say_what_was_observed() -> None:
    evaluation = evaluate(Case("x", {"market_data_10197_recent": 17}, heartbeat_age=600))
    by_signature = {e.signature: e for e in evaluation.events}
    assert by_signature["heartbeat_stale"].value == 600
    assert "600s" in by_signature["heartbeat_stale"].message
    assert by_signature["market_data_10197:with_risk"].value == 17
    assert by_signature["market_data_10197:with_risk"].signal == "market_data"


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        detect(parse_status(status_doc(MARKET)), MARKET.replace(tzinfo=None), Thresholds(), None)
