"""The trading runtime's dashboard status document (``status_v3``), as the monitor reads it.

Every golden signal is optional here so that a missing one can be reported as a warning by the
detector instead of being read as healthy (or crashing). Types are strict: ``"false"`` is not a
boolean and ``"1"`` is not a count, because guessing on a safety signal is worse than flagging it.
Fields the monitor does not know are ignored, so the dashboard can grow without breaking us.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

Count = Annotated[int, Field(strict=True, ge=0)]
Flag = Annotated[bool, Field(strict=True)]
Text = Annotated[str, Field(strict=True)]
Seconds = Annotated[float, Field(strict=True, ge=0)]


class StatusError(ValueError):
    """The status document is not JSON or does not match the model; the message names the field."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Runtime(_Doc):
    desired: Count | None = None
    running: Count | None = None
    pending: Count | None = None
    ibkr_tasks: Count | None = None


class PendingOrder(_Doc):
    id: Text | Count | None = None
    side: Text | None = None
    age_sec: Seconds | None = None
    # The last TWS message code for the order; 202 ("order cancelled") marks the normal
    # timeout → cancel → reprice path of an entry order.
    tws_code: Count | None = None


class RecentTrade(_Doc):
    symbol: Text | None = None
    pnl_unknown: Flag | None = None


class OpenPosition(_Doc):
    symbol: Text | None = None
    tags: list[Text] | None = None


class LogSignals(_Doc):
    existing_session: Count | None = None
    ibkr_1100: Count | None = None
    ibkr_1101: Count | None = None
    ibkr_1102: Count | None = None
    fatal: Count | None = None
    severe: Count | None = None


class PtStatus(_Doc):
    as_of: AwareDatetime | None = None
    runtime: Runtime | None = None
    gateway: Text | None = None
    trader: Text | None = None
    standby_containers_running: Count | None = None
    heartbeat_at: AwareDatetime | None = None
    broker_reconcile_pending: Flag | None = None
    position_reconcile_pending: Flag | None = None
    entry_blocking_reconcile_pending: Flag | None = None
    pending_orders: list[PendingOrder] | None = None
    pending_exits: Count | None = None
    stuck_exits: Count | None = None
    max_exit_attempt_count: Count | None = None
    send_outcome_unknown: Flag | None = None
    broker_confirmation_required: Flag | None = None
    market_data_status: Text | None = None
    market_data_10197_recent: Count | None = None
    recent_trades: list[RecentTrade] | None = None
    open_positions: list[OpenPosition] | None = None
    log_signals: LogSignals | None = None


def parse_status(document: bytes | str | dict[str, Any]) -> PtStatus:
    """A status document (raw JSON or already decoded) as a ``PtStatus``; ``StatusError`` otherwise."""
    if isinstance(document, bytes | str):
        try:
            document = orjson.loads(document)
        except orjson.JSONDecodeError as exc:
            raise StatusError(f"status document is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise StatusError(f"status document must be a JSON object, got {type(document).__name__}")
    try:
        return PtStatus.model_validate(document)
    except ValidationError as exc:
        raise StatusError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems: dict[str, str] = {}
    for err in exc.errors():
        where = _field_path(err["loc"])
        shown = repr(err.get("input"))
        if len(shown) > 60:
            shown = shown[:57] + "..."
        # A union reports once per member; the first message per field is enough.
        problems.setdefault(where, f"field {where!r}: {err['msg']} (got {shown})")
    return "invalid status document: " + "; ".join(problems.values())


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"str", "int", "float", "bool", "constrained-int", "constrained-float"}:
            continue  # union-member tags pydantic adds to the location
        else:
            out += f".{part}" if out else str(part)
    return out
