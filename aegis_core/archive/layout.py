"""Where each artefact lives under the archive root (contract §2). Paths are a contract with consumers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from aegis_core.calendar import NY

# Artefacts with one file per session (not per symbol).
_DAILY = {"vix", "gex_summary", "iv_rank"}
_INTRADAY_NAME = re.compile(r"^(\d{2})_pt_(\d{6})\.parquet$")
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


def _ymd(day: dt.date) -> tuple[str, str, str]:
    return f"{day:%Y}", f"{day:%m}", f"{day:%d}"


def daily_file(root: Path, artefact: str, day: dt.date) -> Path:
    """``vix|gex_summary|iv_rank/YYYY/MM/DD.parquet``."""
    if artefact not in _DAILY:
        raise ValueError(f"{artefact!r} is not a one-file-per-session artefact")
    y, m, d = _ymd(day)
    return root / artefact / y / m / f"{d}.parquet"


def stock_file(root: Path, symbol: str, day: dt.date) -> Path:
    y, m, d = _ymd(day)
    return root / "stocks" / symbol / y / m / f"{d}_poly.parquet"


def options_file(root: Path, symbol: str, day: dt.date) -> Path:
    """The end-of-day chain snapshot."""
    y, m, d = _ymd(day)
    return root / "options" / symbol / y / m / f"{d}.parquet"


def intraday_file(root: Path, symbol: str, captured_at: dt.datetime) -> Path:
    """``options/SYMBOL/YYYY/MM/DD_pt_HHMMSS.parquet``; HHMMSS is the capture time in New York."""
    local = captured_at.astimezone(NY)
    y, m, d = _ymd(local.date())
    return root / "options" / symbol / y / m / f"{d}_pt_{local:%H%M%S}.parquet"


def intraday_files(root: Path, symbol: str, day: dt.date) -> dict[dt.time, Path]:
    """Existing intraday snapshots of ``symbol`` on ``day``, by capture time (New York)."""
    y, m, d = _ymd(day)
    folder = root / "options" / symbol / y / m
    out: dict[dt.time, Path] = {}
    if folder.is_dir():
        for p in folder.glob(f"{d}_pt_*.parquet"):
            match = _INTRADAY_NAME.match(p.name)
            if match:
                hms = match.group(2)
                out[dt.time(int(hms[:2]), int(hms[2:4]), int(hms[4:]))] = p
    return dict(sorted(out.items()))


def symbols_with(root: Path, artefact: str) -> list[str]:
    """Symbols that have a folder under a per-symbol artefact (``stocks`` or ``options``)."""
    base = root / artefact
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and _SYMBOL.match(p.name))


def is_valid_symbol(symbol: str) -> bool:
    return bool(_SYMBOL.match(symbol))
