"""The go-live session: where the archive's partitions start (pure decision + one scan).

Option chains (end of day and intraday) can be captured only live, so the archive's partitions — the
chains', what derives from them, and, since Dagster wants one partitions definition per asset job,
VIX's and the stock bars' too — start at the session the live archive began, and "% filled" in the
UI is the archive's coverage. The session is, in order: the ``go_live`` setting (``AEGIS_GO_LIVE``);
for the simulated market, which can make every past session, the history's first session; the first
session the archive holds chains for; on an empty archive fed by Polygon, the latest completed
session (tonight's run fills it). Decided when the code location loads; it moves only while the live
archive is still empty (a past chain can never be captured, so the first one stays the first).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from aegis_core.calendar import nyse

_YEAR, _MONTH = re.compile(r"^\d{4}$"), re.compile(r"^\d{2}$")
_CHAIN_FILE = re.compile(r"^(\d{2})(?:_pt_\d{6})?\.parquet$")


def first_chain_session(root: Path) -> dt.date | None:
    """The earliest session with an option-chain file (``options/SYMBOL/YYYY/MM/DD[_pt_HHMMSS].parquet``)
    under the archive ``root``; None when there is none. Reads folder names only, the earliest year
    and month of each symbol."""
    options = Path(root) / "options"
    if not options.is_dir():
        return None
    best: dt.date | None = None
    for symbol in options.iterdir():
        years = sorted(p for p in symbol.iterdir() if _YEAR.match(p.name)) if symbol.is_dir() else []
        for year in years:
            found = _first_in_year(year)
            if found is not None:
                best = found if best is None or found < best else best
                break
    return best


def _first_in_year(year: Path) -> dt.date | None:
    for month in sorted(p for p in year.iterdir() if _MONTH.match(p.name) and p.is_dir()):
        days = sorted(int(m.group(1)) for f in month.iterdir() if (m := _CHAIN_FILE.match(f.name)))
        for day in days:
            try:
                return dt.date(int(year.name), int(month.name), day)
            except ValueError:
                continue
    return None


def go_live_session(
    configured: dt.date | None,
    archived: dt.date | None,
    *,
    simulated: bool,
    history_start: dt.date,
    now: dt.datetime,
) -> dt.date:
    """The go-live session (see the module docstring), never before ``history_start``."""
    cal = nyse()
    if configured is not None:
        day = configured
    elif simulated:
        day = history_start
    elif archived is not None:
        day = archived if cal.is_session(archived) else cal.next_session(archived).date
    else:
        day = cal.latest_completed_session(now).date
    return max(day, history_start)
