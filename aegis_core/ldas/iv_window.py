"""Which sessions' IV rank is stale after ATM IV changed: the re-derivation decision (pure).

A session's IV rank reads the ATM IV of its own session and of the sessions before it, up to a window
(252 in all). Dagster sees only the same-session dependency (``ldas/iv_rank`` on ``ldas/atm_iv``, one
to one), so an asset back-fill never targets later sessions, which may have no ATM IV at all. When the
ATM IV of a session S changes (a back-fill, a re-run), the IV rank of a *later* session T whose window
holds S is out of date — if T has an IV rank at all (sessions that were never ranked are not
created here) and it was not written after that change. This module decides which: plain dates and
event-log positions in, the sessions to re-derive (grouped into runs of consecutive sessions) out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence


def stale_iv_ranks(
    changed: Mapping[dt.date, int],
    ranked: Mapping[dt.date, int],
    sessions: Sequence[dt.date],
    window: int,
) -> list[dt.date]:
    """The later sessions whose IV rank must be re-derived, oldest first.

    ``changed``: session -> event-log position of its newest ATM IV change being handled;
    ``ranked``: session -> event-log position of its newest IV rank (sessions without one are absent);
    ``sessions``: the calendar's sessions in order (at least those from the earliest change on);
    ``window``: sessions an IV rank looks at, its own included. T is stale when some S in its window,
    S < T, changed after T's IV rank was written. The changed session's own rank is not included: it
    follows its own ATM IV through the same-session dependency.
    """
    if window < 1:
        raise ValueError(f"the IV-rank window must hold at least one session, not {window}")
    index = {day: i for i, day in enumerate(sessions)}
    newest_change_seen: dict[dt.date, int] = {}  # T -> the newest change inside T's window
    for day, position in changed.items():
        if day not in index:
            continue
        start = index[day]
        for later in sessions[start + 1 : start + window]:
            if position > newest_change_seen.get(later, -1):
                newest_change_seen[later] = position
    return sorted(t for t, position in newest_change_seen.items() if t in ranked and ranked[t] < position)


def consecutive_runs(days: Sequence[dt.date], sessions: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """``days`` (sessions, any order) grouped into ranges of sessions consecutive in the calendar, so
    each range is one run that touches no session outside ``days``."""
    index = {day: i for i, day in enumerate(sessions)}
    ordered = sorted(set(days), key=lambda d: index[d])
    runs: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        if runs and index[day] == index[runs[-1][1]] + 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs
