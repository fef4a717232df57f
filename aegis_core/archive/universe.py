"""The symbol universe file: one ticker per line, ``#`` comments, blank lines ignored."""

from __future__ import annotations

from pathlib import Path

from aegis_core.archive.layout import is_valid_symbol
from aegis_core.base.user_files import SETTINGS_MAX_BYTES, UserFileError, read_user_file


class UniverseError(ValueError):
    pass


def parse_universe(text: str, source: str = "<universe>") -> list[str]:
    """Symbols in file order; a bad or duplicate line is an error naming the file and line."""
    symbols: list[str] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not is_valid_symbol(line):
            raise UniverseError(f"{source} line {number}: {line!r} is not a valid ticker (e.g. AAPL, BRK.B)")
        if line in first_line:
            raise UniverseError(
                f"{source} line {number}: duplicate symbol {line!r} (first on line {first_line[line]})"
            )
        first_line[line] = number
        symbols.append(line)
    if not symbols:
        raise UniverseError(f"{source}: the universe is empty")
    return symbols


def load_universe(path: Path) -> list[str]:
    try:
        text = read_user_file(path, max_bytes=SETTINGS_MAX_BYTES, what="universe file").decode("utf-8")
    except UserFileError as exc:
        raise UniverseError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise UniverseError(f"universe file {path} is not UTF-8 text (byte {exc.start})") from None
    return parse_universe(text, str(path))


def select_symbols(universe: list[str], requested: str | None, what: str = "--symbols") -> list[str]:
    """``--symbols A,B`` narrowed to the universe; an unknown symbol, or a list naming none (``''``,
    ``','``), is an error naming it. ``None`` (not given) is the whole universe."""
    if requested is None:
        return universe
    chosen = [s.strip().upper() for s in requested.split(",") if s.strip()]
    if not chosen:
        raise UniverseError(f"{what} {requested!r} names no symbol; omit it to run the whole universe")
    unknown = [s for s in chosen if s not in universe]
    if unknown:
        raise UniverseError(f"symbols not in the universe: {', '.join(unknown)}")
    return list(dict.fromkeys(chosen))
