"""The one "nothing to do" result of a domain helper, and the session/slot decisions that return it.

A helper that decides whether a schedule or sensor tick has work returns either the work (a session,
a slot) or a ``Skip`` with the reason; the runtime turns a ``Skip`` into Dagster's ``SkipReason``.
Every "no session that day" reason is ``calendar.not_a_session`` (one wording everywhere).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aegis_core.calendar import NY, Session, not_a_session, nyse, slot_key


@dataclass(frozen=True)
class Skip:
    """Why there is nothing to do (shown to the operator as the tick's skip message)."""

    reason: str

    def __str__(self) -> str:
        return self.reason


def session_or_skip(when: dt.datetime) -> Session | Skip:
    """The NYSE session of ``when``'s New York date, or why there is none."""
    day = when.astimezone(NY).date()
    session = nyse().session(day)
    return session if session is not None else Skip(not_a_session(day))


def slot_or_skip(when: dt.datetime) -> dt.datetime | Skip:
    """The intraday slot starting at ``when``, or why there is none (holiday, weekend, early close)."""
    local = when.astimezone(NY).replace(second=0, microsecond=0)
    session = session_or_skip(local)
    if isinstance(session, Skip):
        return session
    if local in session.slots:
        return local
    if local >= session.close:
        return Skip(
            f"{slot_key(local)} is after the {session.close:%H:%M} ET close of {session.key} (early close)"
        )
    return Skip(f"{local:%H:%M} ET is not an intraday slot of {session.key}")
