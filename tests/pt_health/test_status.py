from __future__ import annotations

import datetime as dt
import re

import pytest

from aegis_core.ops.pt_health import StatusError, parse_status
from tests.pt_health.statuses import HEALTHY, status_doc


def test_runbook_document_parses_and_ignores_unknown_fields() -> None:
    status = parse_status(HEALTHY)
    assert status.runtime is not None and status.runtime.ibkr_tasks == 1
    assert status.heartbeat_at == dt.datetime(2026, 6, 1, 14, 4, 10, tzinfo=dt.UTC)
    assert status.pending_orders is not None and status.pending_orders[0].age_sec == 40
    assert not hasattr(status, "some_future_field")


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"runtime.running": "1"}, "runtime.running"),
        ({"broker_reconcile_pending": "false"}, "broker_reconcile_pending"),
        ({"stuck_exits": -1}, "stuck_exits"),
        ({"stuck_exits": True}, "stuck_exits"),
        ({"gateway": 5}, "gateway"),
        ({"pending_orders": [{"id": "o1", "side": "entry", "age_sec": "old"}]}, "pending_orders[0].age_sec"),
        ({"open_positions": [{"symbol": "SPY", "tags": "Broker"}]}, "open_positions[0].tags"),
        ({"heartbeat_at": "2026-06-01T14:04:10"}, "heartbeat_at"),
        ({"log_signals.fatal": 1.5}, "log_signals.fatal"),
    ],
)
def test_wrong_type_names_the_field(patch: dict, field: str) -> None:
    now = dt.datetime(2026, 6, 1, 14, 5, tzinfo=dt.UTC)
    doc = status_doc(now, **patch)
    if "heartbeat_at" in patch:
        doc["heartbeat_at"] = patch["heartbeat_at"]
    with pytest.raises(StatusError, match=re.escape(f"field '{field}'")):
        parse_status(doc)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("{", "not valid JSON"), ("[1, 2]", "must be a JSON object"), (b"\xff", "not valid JSON")],
)
def test_not_a_document(raw: str | bytes, reason: str) -> None:
    with pytest.raises(StatusError, match=reason):
        parse_status(raw)
