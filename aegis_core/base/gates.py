"""The result of every check and gate: ``GateResult``, and the one-line name lists its summaries use.

Each check is a pure function returning a ``GateResult``: passed or not, a one-line summary fit for
an alert, and the offenders by name (files, columns, symbols, slots), so one result maps onto one
Dagster asset check with its metadata (the asset layer's one adapter). The parity comparison
(``aegis_core.ldas.parity``) returns the same type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GateResult:
    """The outcome of one check or parity gate.

    ``offenders`` are bare names (file paths relative to the archive root, column names, symbols,
    ``SYMBOL@HH:MM`` slots); ``details`` are one readable line per finding with the values seen.
    ``pending`` marks a check that cannot fail yet (freshness before its deadline).
    """

    artefact: str
    gate: str
    passed: bool
    summary: str
    offenders: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    pending: bool = False

    @property
    def name(self) -> str:
        return f"{self.artefact}_{self.gate}"

    @property
    def status(self) -> str:
        if self.pending:
            return "pending"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "artefact": self.artefact,
            "gate": self.gate,
            "status": self.status,
            "passed": self.passed,
            "summary": self.summary,
            "offenders": list(self.offenders),
            "details": list(self.details),
        }


def name_list(names: Sequence[str], limit: int = 10) -> str:
    """``A, B, C (+N more)`` for summaries that must stay one line."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} (+{len(names) - limit} more)"
