"""The intraday cadence gate: one snapshot per universe symbol and expected slot of a session."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aegis_core.archive import layout
from aegis_core.base.gates import GateResult, name_list
from aegis_core.calendar import NY, SLOT_LENGTH, nyse
from aegis_core.ldas.slots import slot_of, slot_time

INTRADAY_CADENCE = "intraday_cadence"


def intraday_cadence(
    root: Path, session: dt.date, universe: Iterable[str], expected_slots: Sequence[dt.datetime | dt.time]
) -> GateResult:
    """Every symbol has exactly one snapshot per expected slot of ``session``.

    A file belongs to the slot whose 15-minute window holds its HHMMSS. Gaps are listed by slot
    (with the symbols) and duplicates by symbol and slot; snapshots outside every expected slot are
    reported in the details but do not fail the check (the caller may expect only slots so far).
    """
    symbols = sorted(set(universe))
    if not symbols:
        raise ValueError("intraday_cadence: the universe is empty")
    slots = sorted({slot_time(s) for s in expected_slots})
    expected = set(slots)
    gaps: dict[dt.time, list[str]] = defaultdict(list)
    duplicates: list[tuple[str, dt.time, list[Path]]] = []
    strays: list[str] = []
    for sym in symbols:
        in_slot: dict[dt.time, list[Path]] = defaultdict(list)
        for captured, path in layout.intraday_files(root, sym, session).items():
            slot = slot_of(captured)
            if slot in expected:
                in_slot[slot].append(path)
            else:
                strays.append(f"{sym}: {path.name} is outside every expected slot")
        for slot in slots:
            if not in_slot[slot]:
                gaps[slot].append(sym)
            elif len(in_slot[slot]) > 1:
                duplicates.append((sym, slot, in_slot[slot]))
    offenders = sorted(
        [f"{s}@{slot:%H:%M}" for slot, syms in gaps.items() for s in syms]
        + [f"{s}@{slot:%H:%M}" for s, slot, _ in duplicates]
    )
    details = [f"gap {slot:%H:%M}: {', '.join(syms)}" for slot, syms in sorted(gaps.items())]
    details += [
        f"duplicate {s} {slot:%H:%M}: {', '.join(p.name for p in paths)}" for s, slot, paths in duplicates
    ]
    details += strays
    n_gaps = sum(len(v) for v in gaps.values())
    scope = f"{len(symbols)} symbol(s) × {len(slots)} slot(s)"
    if not n_gaps and not duplicates:
        summary = f"intraday {session}: one snapshot per slot for {scope}"
    else:
        summary = (
            f"intraday {session}: {n_gaps} gap(s) in {len(gaps)} slot(s), {len(duplicates)} duplicate(s) "
            f"over {scope}: {name_list(offenders)}"
        )
    passed = not n_gaps and not duplicates
    return GateResult("intraday", INTRADAY_CADENCE, passed, summary, tuple(offenders), tuple(details))


def completed_slots(day: dt.date, now: dt.datetime) -> list[dt.datetime]:
    """The session's slots whose 15-minute window has ended by ``now``."""
    session = nyse().session(day)
    return [s for s in session.slots if s + SLOT_LENGTH <= now] if session else []


def captured_per_slot(
    root: Path, day: dt.date, symbols: Iterable[str], expected: Sequence[dt.datetime]
) -> dict[str, Counter[dt.time]]:
    """``symbol -> {slot start: snapshots in its window}`` over the expected slots."""
    wanted = {s.astimezone(NY).time() for s in expected}
    out = {}
    for symbol in symbols:
        slots = (slot_of(t) for t in layout.intraday_files(root, symbol, day))
        out[symbol] = Counter(s for s in slots if s in wanted)
    return out


def cadence_stats(counts: Mapping[str, Counter[dt.time]], expected: Sequence[dt.datetime]) -> dict[str, Any]:
    """What a session's snapshots look like: slots expected, symbols complete, gaps by slot, doubles."""
    slots = [s.astimezone(NY).time() for s in expected]
    per_symbol = Counter(len(c) for c in counts.values())
    gaps = [(t, [s for s, c in counts.items() if not c[t]]) for t in slots]
    complete = sum(1 for c in counts.values() if len(c) == len(slots))
    return {
        "slots_expected": len(slots),
        "symbols": len(counts),
        "symbols_complete": f"{complete}/{len(counts)}",
        "snapshots": sum(sum(c.values()) for c in counts.values()),
        "gaps": sum(len(m) for _, m in gaps),
        "duplicates": sum(1 for c in counts.values() for n in c.values() if n > 1),
        "slots_captured_per_symbol": {str(k): v for k, v in sorted(per_symbol.items())},
        "gaps_by_slot": [
            {"slot": f"{t:%H:%M}", "missing": len(m), "symbols": name_list(m, 8)} for t, m in gaps if m
        ],
    }
