"""The freshness gate: the session's derived files exist by the deadline; pending before it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from aegis_core.archive import layout
from aegis_core.base.gates import GateResult
from aegis_core.calendar import NY

FRESHNESS = "freshness"
EOD_DEADLINE = dt.time(18, 0)
FRESHNESS_ARTEFACTS = ("gex_summary", "iv_rank")


def freshness(
    root: Path,
    session: dt.date,
    now: dt.datetime,
    deadline: dt.time | dt.datetime = EOD_DEADLINE,
    artefacts: Sequence[str] = FRESHNESS_ARTEFACTS,
) -> GateResult:
    """The session's gex_summary and iv_rank files exist by the deadline (18:00 ET on the session).

    Before the deadline a missing file is pending (``passed`` and ``pending``), not a failure.
    """
    if now.tzinfo is None:
        raise ValueError(f"freshness: now={now} is naive; pass an aware datetime")
    if isinstance(deadline, dt.datetime):
        if deadline.tzinfo is None:
            raise ValueError(f"freshness: deadline={deadline} is naive; pass an aware datetime")
        due = deadline
    else:
        due = dt.datetime.combine(session, deadline, tzinfo=NY)
    paths = {a: layout.daily_file(root, a, session) for a in artefacts}
    missing = [a for a, p in paths.items() if not p.is_file()]
    rel = {a: p.relative_to(root).as_posix() for a, p in paths.items()}
    details = [f"{rel[a]}: written {_mtime_ny(paths[a])}" for a in artefacts if a not in missing]
    details += [f"{rel[a]}: missing" for a in missing]
    label = ",".join(artefacts)
    due_text = f"{due.astimezone(NY):%Y-%m-%d %H:%M} ET"
    if not missing:
        return GateResult(
            label, FRESHNESS, True, f"{session}: {label} present (due {due_text})", (), tuple(details)
        )
    names = tuple(rel[a] for a in missing)
    if now < due:
        left = int((due - now).total_seconds() // 60)
        summary = (
            f"{session}: pending — {', '.join(missing)} not written yet; due {due_text} ({left} min left)"
        )
        return GateResult(label, FRESHNESS, True, summary, names, tuple(details), pending=True)
    summary = f"{session}: {', '.join(missing)} missing after the deadline {due_text}"
    return GateResult(label, FRESHNESS, False, summary, names, tuple(details))


def _mtime_ny(path: Path) -> str:
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).astimezone(NY)
    return f"{stamp:%Y-%m-%d %H:%M:%S} ET"
