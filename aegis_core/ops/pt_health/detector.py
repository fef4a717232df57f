"""The paper-trading health detector: (status, now, thresholds, session, history) → events + decision.

Pure: no clock, no environment, no I/O. ``session`` is the NYSE session on ``now``'s New York date
(None on a closed day; see ``market.session_on``), so early closes end "market hours" at 13:00.

The decision follows the runbook's decision rules. Every event is a warning (→ notify) or critical
(→ escalate); conditions the runbook calls "observe only" produce no event at all. Rules that need
memory across evaluations ("persists", "no self-recovery", "does not clear", "repeated",
"sustained", "burst", "loop") are in ``history``: one occurrence is recorded as a condition of the
evaluation's observation and alerts only once the rule holds.

| signature                            | decision            | condition (thresholds: AEGIS_PT_*)           |
|--------------------------------------|---------------------|----------------------------------------------|
| missing:<field>                      | warn → notify       | a golden signal absent or null               |
| runtime_not_single_primary           | critical → escalate | runtime desired/running/ibkr_tasks ≠ 1       |
| standby_containers_running           | critical → escalate | standby containers > 0 (two primaries)       |
| gateway_unhealthy                    | warn → notify       | gateway ≠ HEALTHY                            |
| trader_not_running                   | warn → notify       | trader ≠ RUNNING                             |
| heartbeat_stale                      | warn → notify       | heartbeat age > HEARTBEAT_STALE_SEC, open    |
| clock_skew:heartbeat                 | warn → notify       | heartbeat > CLOCK_SKEW_TOLERANCE_SEC ahead   |
| clock_skew:as_of                     | warn → notify       | as_of > CLOCK_SKEW_TOLERANCE_SEC ahead       |
| status_stale                         | critical → escalate | as_of older than HEARTBEAT_STALE_SEC         |
| reconcile_pending:<flag>             | critical → escalate | a reconcile flag true (broker/state drift)   |
| pending_orders:critical              | critical → escalate | pending orders ≥ PENDING_ORDER_CRITICAL      |
| pending_orders:warn                  | warn → notify       | PENDING_ORDER_WARN ≤ orders < CRITICAL       |
| pending_order_stale                  | warn → notify       | order age > PENDING_ORDER_MAX_AGE_SEC (not a |
|                                      |                     | single entry order on the 202 cancel path)   |
| pending_order_not_entry              | warn → notify       | a pending order whose side is not entry      |
| stuck_exits                          | critical → escalate | stuck_exits > 0                              |
| broker_confirmation_required         | critical → escalate | broker_confirmation_required is true         |
| send_outcome_unknown                 | critical → escalate | send_outcome_unknown is true (unknown fill)  |
| high_exit_attempts:critical          | critical → escalate | exit attempts ≥ HIGH_EXIT_ATTEMPT_CRITICAL   |
| high_exit_attempts:warn              | warn → notify       | HIGH_EXIT_ATTEMPT_WARN ≤ attempts < CRITICAL |
| recent_trade_pnl_unknown:<SYM>       | warn → notify       | a recent trade has pnl_unknown               |
| open_position_broker_tag:<SYM>       | warn → notify       | an open position tagged Broker               |
| open_position_reconcile_import:<SYM> | warn → notify       | an open position tagged reconcile-import-*   |
| market_data_status                   | warn → notify       | market_data_status ≠ ok past the grace       |
| market_data_10197:with_risk          | warn → notify       | 10197 > 0, not sustained, plus a risk event  |
| session_conflict                     | warn → notify       | log: Existing session detected               |
| ibkr_1100 / ibkr_1101 / ibkr_1102    | warn → notify       | log: IBKR 1100 / 1101 / 1102                 |
| + the temporal rules of ``history``: pending_exits, pending_orders:not_clearing,                   |
|   heartbeat_stale:no_recovery, ibkr_reconnect:repeated, session_conflict:repeated,                  |
|   task_restart_loop, market_data_10197 (sustained), log_burst                                       |

"past grace" means the market is open and it is at least 09:00 + OPEN_GRACE_MINUTE (09:35) New York
time. The risk events that make a 10197 count notable before it is sustained: heartbeat_stale*,
session_conflict*, ibkr_*, pending_orders:*, reconcile_pending:*. The dashboard fetch adds
dashboard_unreachable (critical → escalate) and dashboard_fallback_used (warn → notify), see ``fetch``.

Observe only (no event): pending_orders empty or one entry order no older than the normal age, or
one entry order on the normal timeout → cancel → reprice path (TWS code 202); 10197 not sustained on
its own; any 10197 or degraded market data before the open grace (09:00 + OPEN_GRACE_MINUTE, i.e.
09:35) or outside market hours; heartbeat age outside market hours; a single pending exit, a single
pending runtime task, a few fatal/severe lines (each recorded, see ``history``).
Clock skew is never read as healthy: a heartbeat or ``as_of`` more than CLOCK_SKEW_TOLERANCE_SEC in
the future is reported, and a document whose ``as_of`` is older than HEARTBEAT_STALE_SEC is a stale
view of the runtime (as bad as an unreachable dashboard).
Where the runbook lists a condition under both "notify" and "stop and escalate" without a temporal
word (reconcile flags = broker/state drift, stuck exits), the stricter one applies; where it adds one
(stale heartbeat → "plus no self-recovery", session conflict → "repeated", buildup → "does not
clear"), one occurrence notifies and the rule escalates.
Any critical event makes the decision ``escalate``, else any warning ``notify``, else ``observe``.
The monitor never acts on the runtime: ``escalate`` means a person decides whether to stop it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from aegis_core.calendar import Session
from aegis_core.ops.pt_health import history as h
from aegis_core.ops.pt_health.events import Evaluation, Event, Severity
from aegis_core.ops.pt_health.market import market_open, past_open_grace
from aegis_core.ops.pt_health.status import PtStatus
from aegis_core.ops.pt_health.thresholds import Thresholds

WARN, CRITICAL = Severity.WARN, Severity.CRITICAL

RECONCILE_FLAGS = (
    "broker_reconcile_pending",
    "position_reconcile_pending",
    "entry_blocking_reconcile_pending",
)
RUNTIME_FIELDS = ("desired", "running", "pending", "ibkr_tasks")
LOG_SIGNAL_FIELDS = ("existing_session", "ibkr_1100", "ibkr_1101", "ibkr_1102", "fatal", "severe")
# Signatures that turn a small 10197 count from "isolated" into "notify" (runbook decision rules).
_RISK_PREFIXES = ("heartbeat_stale", "session_conflict", "ibkr_", "pending_orders:", "reconcile_pending:")
TWS_CANCELLED = 202  # TWS "order cancelled": the normal timeout → cancel → reprice path


@dataclass(frozen=True)
class _Context:
    status: PtStatus
    now: dt.datetime
    t: Thresholds
    market_open: bool
    past_grace: bool
    previous: tuple[h.Observation, ...]
    conditions: set[str]  # filled by the checks: this evaluation's raw conditions

    def history_with(self, conditions: set[str]) -> list[h.Observation]:
        current = h.Observation(self.now.astimezone(dt.UTC), frozenset(conditions))
        return h.bounded([*self.previous, current], self.now, self.t)


def detect(
    status: PtStatus,
    now: dt.datetime,
    thresholds: Thresholds,
    session: Session | None,
    history: Sequence[h.Observation] = (),
) -> Evaluation:
    """Evaluate one status document at ``now`` (aware); ``session`` is today's NYSE session or None.

    ``history`` holds the earlier evaluations' observations (any order; older than HISTORY_MINUTES
    or later than ``now`` are dropped); the result carries the bounded history including this one.
    """
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now.isoformat()} given; the detector needs an aware 'now'")
    ctx = _Context(
        status=status,
        now=now,
        t=thresholds,
        market_open=market_open(now, session),
        past_grace=past_open_grace(now, session, thresholds.open_grace_minute),
        previous=tuple(history),
        conditions=set(),
    )
    events = [event for check in _CHECKS for event in check(ctx)]
    kept = ctx.history_with(ctx.conditions)
    events.extend(h.temporal_events(kept, thresholds, _heartbeat_age(ctx)))
    burst = h.log_burst_event(_log_lines(ctx), kept, thresholds)
    if burst is not None:
        events.append(burst)
    events.extend(_market_data_with_risk(ctx, events))
    return Evaluation.of(events, kept, now)


def _missing(name: str, signal: str) -> Event:
    return Event(
        signature=f"missing:{name}",
        severity=WARN,
        signal=signal,
        value=None,
        message=f"golden signal {name!r} is missing from the status document; it is not assumed healthy",
    )


def _runtime(ctx: _Context) -> Iterator[Event]:
    runtime = ctx.status.runtime
    if runtime is None:
        yield _missing("runtime", "runtime")
        return
    observed = {name: getattr(runtime, name) for name in RUNTIME_FIELDS}
    for name, value in observed.items():
        if value is None:
            yield _missing(f"runtime.{name}", "runtime")
    off = [n for n in ("desired", "running", "ibkr_tasks") if observed[n] is not None and observed[n] != 1]
    if off:
        yield Event(
            "runtime_not_single_primary",
            CRITICAL,
            "runtime",
            observed,
            "runtime is not exactly one primary task: " + ", ".join(f"{n}={observed[n]}" for n in off),
        )
    if observed["pending"]:
        # One replacement is the runtime's normal self-recovery; a loop is a temporal rule.
        ctx.conditions.add(h.TASK_PENDING)


def _gateway(ctx: _Context) -> Iterator[Event]:
    for name, healthy, signature in (
        ("gateway", "HEALTHY", "gateway_unhealthy"),
        ("trader", "RUNNING", "trader_not_running"),
    ):
        value = getattr(ctx.status, name)
        if value is None:
            yield _missing(name, "gateway")
        elif value.strip().upper() != healthy:
            yield Event(signature, WARN, "gateway", value, f"{name} is {value!r}, expected {healthy}")


def _cutover_guard(ctx: _Context) -> Iterator[Event]:
    standby = ctx.status.standby_containers_running
    if standby is None:
        yield _missing("standby_containers_running", "cutover_guard")
    elif standby > 0:
        yield Event(
            "standby_containers_running",
            CRITICAL,
            "cutover_guard",
            standby,
            f"{standby} standby runtime container(s) running: two primaries must never trade at once",
        )


def _heartbeat_age(ctx: _Context) -> float | None:
    beat = ctx.status.heartbeat_at
    return None if beat is None else (ctx.now - beat).total_seconds()


def _heartbeat(ctx: _Context) -> Iterator[Event]:
    age = _heartbeat_age(ctx)
    if age is None:
        yield _missing("heartbeat_at", "heartbeat")
        return
    if -age > ctx.t.clock_skew_tolerance_sec:
        yield Event(
            "clock_skew:heartbeat",
            WARN,
            "heartbeat",
            round(-age),
            f"heartbeat is {-age:.0f}s in the future (tolerance {ctx.t.clock_skew_tolerance_sec}s): "
            "clock skew between the runtime and the monitor; its freshness cannot be trusted",
        )
    if ctx.market_open and age > ctx.t.heartbeat_stale_sec:
        ctx.conditions.add(h.HEARTBEAT_STALE)
        yield Event(
            "heartbeat_stale",
            WARN,
            "heartbeat",
            round(age),
            f"heartbeat is {age:.0f}s old during market hours (stale after {ctx.t.heartbeat_stale_sec}s)",
        )


def _document_age(ctx: _Context) -> Iterator[Event]:
    as_of = ctx.status.as_of
    if as_of is None:
        return
    age = (ctx.now - as_of).total_seconds()
    if -age > ctx.t.clock_skew_tolerance_sec:
        yield Event(
            "clock_skew:as_of",
            WARN,
            "dashboard",
            round(-age),
            f"status as_of {as_of.isoformat()} is {-age:.0f}s in the future "
            f"(tolerance {ctx.t.clock_skew_tolerance_sec}s): "
            "clock skew between the dashboard and the monitor",
        )
    elif age > ctx.t.heartbeat_stale_sec:
        yield Event(
            "status_stale",
            CRITICAL,
            "dashboard",
            round(age),
            f"status as_of {as_of.isoformat()} is {age:.0f}s old (stale after {ctx.t.heartbeat_stale_sec}s): "
            "the document does not describe the runtime now",
        )


def _reconciliation(ctx: _Context) -> Iterator[Event]:
    for flag in RECONCILE_FLAGS:
        value = getattr(ctx.status, flag)
        if value is None:
            yield _missing(flag, "reconciliation")
        elif value:
            yield Event(
                f"reconcile_pending:{flag}",
                CRITICAL,
                "reconciliation",
                True,
                f"{flag}=true: broker/state drift",
            )


def _pending_orders(ctx: _Context) -> Iterator[Event]:
    orders = ctx.status.pending_orders
    if orders is None:
        yield _missing("pending_orders", "pending_orders")
        return
    count = len(orders)
    if count >= ctx.t.pending_order_warn:
        ctx.conditions.add(h.PENDING_BUILDUP)
    if count >= ctx.t.pending_order_critical:
        yield Event(
            "pending_orders:critical",
            CRITICAL,
            "pending_orders",
            count,
            f"{count} pending orders: build-up at the critical threshold ({ctx.t.pending_order_critical})",
        )
    elif count >= ctx.t.pending_order_warn:
        yield Event(
            "pending_orders:warn",
            WARN,
            "pending_orders",
            count,
            f"{count} pending orders: more than the normal single entry order "
            f"(warn at {ctx.t.pending_order_warn})",
        )
    if any(o.side is None for o in orders):
        yield _missing("pending_orders.side", "pending_orders")
    if any(o.age_sec is None for o in orders):
        yield _missing("pending_orders.age_sec", "pending_orders")
    not_entry = [o for o in orders if o.side is not None and o.side.strip().lower() != "entry"]
    if not_entry:
        yield Event(
            "pending_order_not_entry",
            WARN,
            "pending_orders",
            [{"id": o.id, "side": o.side} for o in not_entry],
            f"{len(not_entry)} pending order(s) that are not entry orders: "
            + ", ".join(f"{o.id} ({o.side})" for o in not_entry),
        )
    stale = [o for o in orders if o.age_sec is not None and o.age_sec > ctx.t.pending_order_max_age_sec]
    if count == 1 and not not_entry and orders[0].tws_code == TWS_CANCELLED:
        # The runbook's normal path: the single entry order timed out and is being cancelled (202)
        # to be repriced. Quiet, unless the same order is still there evaluation after evaluation.
        order_id = str(orders[0].id)
        ctx.conditions.add(h.CANCEL_202 + order_id)
        if not h.cancel_202_not_clearing(ctx.history_with({h.CANCEL_202 + order_id}), order_id, ctx.t):
            stale = []
    if stale:
        yield Event(
            "pending_order_stale",
            WARN,
            "pending_orders",
            [{"id": o.id, "age_sec": o.age_sec} for o in stale],
            f"{len(stale)} pending order(s) older than the normal {ctx.t.pending_order_max_age_sec}s: "
            + ", ".join(f"{o.id} ({o.age_sec:.0f}s)" for o in stale),
        )


def _exit_safety(ctx: _Context) -> Iterator[Event]:
    s = ctx.status
    if s.pending_exits is None:
        yield _missing("pending_exits", "exit_safety")
    elif s.pending_exits > 0:
        ctx.conditions.add(h.PENDING_EXITS)  # notifies once it persists (history)
    if s.stuck_exits is None:
        yield _missing("stuck_exits", "exit_safety")
    elif s.stuck_exits > 0:
        yield Event("stuck_exits", CRITICAL, "exit_safety", s.stuck_exits, f"stuck_exits={s.stuck_exits}")
    if s.broker_confirmation_required is None:
        yield _missing("broker_confirmation_required", "exit_safety")
    elif s.broker_confirmation_required:
        yield Event(
            "broker_confirmation_required",
            CRITICAL,
            "exit_safety",
            True,
            "broker_confirmation_required=true: an order's state needs confirmation at the broker",
        )


def _exit_attempts(ctx: _Context) -> Iterator[Event]:
    attempts = ctx.status.max_exit_attempt_count
    if attempts is None:
        yield _missing("max_exit_attempt_count", "exit_attempts")
        return
    for level, severity, limit in (
        ("critical", CRITICAL, ctx.t.high_exit_attempt_critical),
        ("warn", WARN, ctx.t.high_exit_attempt_warn),
    ):
        if attempts >= limit:
            yield Event(
                f"high_exit_attempts:{level}",
                severity,
                "exit_attempts",
                attempts,
                f"an open position's exit was attempted {attempts} times ({level} at {limit})",
            )
            return


def _exit_attribution(ctx: _Context) -> Iterator[Event]:
    trades = ctx.status.recent_trades
    if trades is None:
        yield _missing("recent_trades", "exit_attribution")
        return
    if any(t.pnl_unknown is None for t in trades):
        yield _missing("recent_trades.pnl_unknown", "exit_attribution")
    unknown: dict[str, int] = {}
    for trade in trades:
        if trade.pnl_unknown:
            symbol = trade.symbol or "?"
            unknown[symbol] = unknown.get(symbol, 0) + 1
    for symbol, count in unknown.items():
        yield Event(
            f"recent_trade_pnl_unknown:{symbol}",
            WARN,
            "exit_attribution",
            count,
            f"{count} recent {symbol} trade(s) closed with unknown PnL",
        )


def _broker_imports(ctx: _Context) -> Iterator[Event]:
    positions = ctx.status.open_positions
    if positions is None:
        yield _missing("open_positions", "broker_imports")
        return
    if any(p.tags is None for p in positions):
        yield _missing("open_positions.tags", "broker_imports")
    for position in positions:
        tags = position.tags or []
        symbol = position.symbol or "?"
        if any(tag.strip().lower() == "broker" for tag in tags):
            yield Event(
                f"open_position_broker_tag:{symbol}",
                WARN,
                "broker_imports",
                tags,
                f"open position {symbol} is tagged Broker: broker/state drift was repaired after the fact",
            )
        if any(tag.strip().lower().startswith("reconcile-import-") for tag in tags):
            yield Event(
                f"open_position_reconcile_import:{symbol}",
                WARN,
                "broker_imports",
                tags,
                f"open position {symbol} carries a reconcile-import tag: imported from the broker",
            )


def _market_data(ctx: _Context) -> Iterator[Event]:
    s = ctx.status
    if s.market_data_status is None:
        yield _missing("market_data_status", "market_data")
    elif ctx.past_grace and s.market_data_status.strip().lower() != "ok":
        yield Event(
            "market_data_status",
            WARN,
            "market_data",
            s.market_data_status,
            f"market_data_status is {s.market_data_status!r} after the open grace",
        )
    count = s.market_data_10197_recent
    if count is None:
        yield _missing("market_data_10197_recent", "market_data")
    elif ctx.past_grace and count >= ctx.t.market_data_10197_warn:
        ctx.conditions.add(h.MD_10197_ABOVE)  # notifies once sustained (history)


def _market_data_with_risk(ctx: _Context, events: list[Event]) -> Iterator[Event]:
    count = ctx.status.market_data_10197_recent
    if not ctx.past_grace or not count or any(e.signature == "market_data_10197" for e in events):
        return
    risks = sorted({e.signature for e in events if e.signature.startswith(_RISK_PREFIXES)})
    if risks:
        yield Event(
            "market_data_10197:with_risk",
            WARN,
            "market_data",
            count,
            f"{count} recent 10197 notices together with {', '.join(risks)}: not isolated",
        )


def _severe_signals(ctx: _Context) -> Iterator[Event]:
    s = ctx.status
    if s.send_outcome_unknown is None:
        yield _missing("send_outcome_unknown", "severe_signals")
    elif s.send_outcome_unknown:
        yield Event(
            "send_outcome_unknown",
            CRITICAL,
            "severe_signals",
            True,
            "send_outcome_unknown=true: an order may have reached the broker unseen (unknown fill)",
        )
    logs = s.log_signals
    if logs is None:
        yield _missing("log_signals", "severe_signals")
        return
    for name in LOG_SIGNAL_FIELDS:
        if getattr(logs, name) is None:
            yield _missing(f"log_signals.{name}", "severe_signals")
    if logs.existing_session:
        ctx.conditions.add(h.SESSION_CONFLICT)
        yield Event(
            "session_conflict",
            WARN,
            "severe_signals",
            logs.existing_session,
            f"'Existing session detected' logged {logs.existing_session} time(s): session conflict",
        )
    for code in ("1100", "1101", "1102"):
        seen = getattr(logs, f"ibkr_{code}")
        if seen:
            ctx.conditions.add(h.RECONNECT)
            yield Event(f"ibkr_{code}", WARN, "severe_signals", seen, f"IBKR {code} logged {seen} time(s)")
    if _log_lines(ctx):
        ctx.conditions.add(h.LOG_LINES)  # a burst is a rule over lines and evaluations (history)


def _log_lines(ctx: _Context) -> int:
    logs = ctx.status.log_signals
    return 0 if logs is None else (logs.fatal or 0) + (logs.severe or 0)


_CHECKS: tuple[Callable[[_Context], Iterator[Event]], ...] = (
    _runtime,
    _gateway,
    _cutover_guard,
    _heartbeat,
    _document_age,
    _reconciliation,
    _pending_orders,
    _exit_safety,
    _exit_attempts,
    _exit_attribution,
    _broker_imports,
    _market_data,
    _severe_signals,
)
