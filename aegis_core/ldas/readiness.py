"""Cutover readiness: consecutive business days of green parity, and the migration runbook's rule.

The runbook's pre-cutover rule is "2 business days EOD parity green + 2 business days intraday parity
green". A session is green for an artefact when every parity gate of ``aegis_core.ldas.parity`` holds for
it; it is EOD-green when all five end-of-day artefacts are green. Streaks count NYSE sessions (the
business days) backwards from the session asked about, inclusive, and stop at the first red one (or
after ``lookback`` sessions). The Dagster asset ``ldas/parity_readiness`` and ``aegis parity
readiness`` both call ``parity_readiness``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aegis_core.base.bounds import Range
from aegis_core.calendar import NyseCalendar, nyse
from aegis_core.ldas.parity import ParityTolerances, compare_archives

EOD_ARTEFACTS = ("vix", "stocks", "options", "gex_summary", "iv_rank")
INTRADAY_ARTEFACTS = ("intraday",)
# The runbook's rule: green business days required per group.
REQUIRED_DAYS = {"eod": 2, "intraday": 2}
GROUPS = {"eod": EOD_ARTEFACTS, "intraday": INTRADAY_ARTEFACTS}
DEFAULT_LOOKBACK = 10
LOOKBACK = Range(1, 2520, "sessions", integer=True)  # ten years of sessions at most


@dataclass(frozen=True)
class ArtefactStreak:
    """One artefact's consecutive green sessions ending at ``as_of``; the first red one, if seen."""

    artefact: str
    days: int
    capped: bool  # every session of the lookback was green: the streak may be longer
    red_session: dt.date | None = None
    red_gates: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"≥{self.days}" if self.capped else str(self.days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "artefact": self.artefact,
            "green_days": self.days,
            "capped": self.capped,
            "last_red_session": self.red_session.isoformat() if self.red_session else None,
            "last_red_gates": list(self.red_gates),
        }


@dataclass(frozen=True)
class GroupVerdict:
    group: str  # eod | intraday
    days: int
    required: int

    @property
    def met(self) -> bool:
        return self.days >= self.required


@dataclass(frozen=True)
class Readiness:
    as_of: dt.date
    python_root: Path
    rust_root: Path
    lookback: int
    tolerances: ParityTolerances
    artefacts: tuple[ArtefactStreak, ...]

    def streak(self, artefact: str) -> ArtefactStreak:
        return next(a for a in self.artefacts if a.artefact == artefact)

    @property
    def groups(self) -> tuple[GroupVerdict, ...]:
        return tuple(
            GroupVerdict(g, min(self.streak(a).days for a in arts), REQUIRED_DAYS[g])
            for g, arts in GROUPS.items()
        )

    @property
    def met(self) -> bool:
        return all(g.met for g in self.groups)

    @property
    def summary(self) -> str:
        eod, intraday = self.groups
        verdict = "MET" if self.met else "NOT MET"
        return (
            f"cutover rule {verdict} as of {self.as_of}: EOD parity green {eod.days}/{eod.required} "
            f"business day(s), intraday parity green {intraday.days}/{intraday.required}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "python_root": str(self.python_root),
            "rust_root": str(self.rust_root),
            "lookback_sessions": self.lookback,
            "tolerances": asdict(self.tolerances),
            "rule_met": self.met,
            "summary": self.summary,
            "groups": {
                g.group: {"green_days": g.days, "required": g.required, "met": g.met} for g in self.groups
            },
            "artefacts": {a.artefact: a.to_dict() for a in self.artefacts},
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per artefact: what the table, the CLI and the asset's metadata show."""
        out = []
        for a in self.artefacts:
            group = "eod" if a.artefact in EOD_ARTEFACTS else "intraday"
            red = f"{a.red_session} ({', '.join(a.red_gates)})" if a.red_session else "-"
            out.append({"artefact": a.artefact, "group": group, "green_days": a.label, "last_red": red})
        return out

    def render_table(self) -> str:
        rows = self.rows()
        widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in rows[0]}
        head = "  ".join(k.upper().ljust(w) for k, w in widths.items()).rstrip()
        lines = [
            f"Cutover readiness as of {self.as_of}  python={self.python_root}  rust={self.rust_root}",
            f"rule: {REQUIRED_DAYS['eod']} business days EOD parity green + {REQUIRED_DAYS['intraday']} "
            f"business days intraday parity green (looking back {self.lookback} sessions)",
            "",
            head,
            "  ".join("-" * w for w in widths.values()),
        ]
        lines += ["  ".join(str(r[k]).ljust(w) for k, w in widths.items()).rstrip() for r in rows]
        lines += ["", self.summary]
        return "\n".join(lines)


def parity_readiness(
    python_root: Path,
    rust_root: Path,
    as_of: dt.date,
    tolerances: ParityTolerances = ParityTolerances(),  # noqa: B008 (frozen: sharing it is safe)
    lookback: int = DEFAULT_LOOKBACK,
    calendar: NyseCalendar | None = None,
) -> Readiness:
    """Each artefact's consecutive green parity sessions ending at ``as_of`` (an NYSE session)."""
    calendar = calendar or nyse()
    LOOKBACK.check(lookback, "lookback")
    calendar.require_session(as_of)  # NotASessionError (a ValueError) names the day
    sessions = list(reversed(calendar.sessions_before(as_of, lookback)))  # newest first
    alive = [*EOD_ARTEFACTS, *INTRADAY_ARTEFACTS]
    days = dict.fromkeys(alive, 0)
    red: dict[str, tuple[dt.date, tuple[str, ...]]] = {}
    for session in sessions:
        if not alive:
            break
        report = compare_archives(python_root, rust_root, session.date, alive, tolerances)
        for artefact in list(alive):
            failed = tuple(g.gate for g in report.gates if g.artefact == artefact and not g.passed)
            if failed:
                red[artefact] = (session.date, failed)
                alive.remove(artefact)
            else:
                days[artefact] += 1
    streaks = tuple(ArtefactStreak(a, n, a not in red, *red.get(a, (None, ()))) for a, n in days.items())
    return Readiness(as_of, Path(python_root), Path(rust_root), len(sessions), tolerances, streaks)
