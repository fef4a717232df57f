"""Inputs of the derived analytics, read from the archive (never re-fetched from the source).

A session's chains come from its per-symbol chain files, a group of whole symbols at a time, so the
analytics never hold the session in memory whole (every figure of a symbol depends on its own
contracts only). Closes come from the ``stocks`` table, and IV history from the ``atm_iv`` table in
one partition-pruned scan over the whole window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from aegis_core.analytics import gex, iv
from aegis_core.archive import layout
from aegis_core.archive.lake import SESSION_COLUMN, Lake
from aegis_core.archive.schemas import OPTIONS

# The chain columns the analytics read: only these are loaded (a third of the contract's width).
CHAIN_INPUT_COLUMNS = list(dict.fromkeys((*gex.CHAIN_COLUMNS, *iv.CHAIN_COLUMNS)))
GROUP_CONTRACTS = 250_000  # chains are analysed in groups of whole symbols of about this many contracts

R = TypeVar("R")


class MissingInputError(RuntimeError):
    pass


@dataclass(frozen=True)
class SessionInputs:
    chain_files: list[Path]  # the session's chain files, by symbol
    spots: pl.DataFrame  # symbol, spot (the session close)
    as_of: dt.datetime  # when the chains were captured (latest capture time)

    def chain_groups(self, contracts: int | None = None) -> Iterator[pl.DataFrame]:
        """The chains (``CHAIN_INPUT_COLUMNS``) in groups of whole symbols of about ``contracts`` rows
        (default ``GROUP_CONTRACTS``; sized from the files' footers), symbols in order, each symbol's
        contracts in its file's order."""
        contracts = GROUP_CONTRACTS if contracts is None else contracts
        for paths in _groups(self.chain_files, contracts):
            try:
                yield pl.scan_parquet(paths).select(CHAIN_INPUT_COLUMNS).collect()
            except (OSError, pl.exceptions.PolarsError) as exc:
                where = f"{paths[0]}" if len(paths) == 1 else f"{paths[0]} … {paths[-1]}"
                raise MissingInputError(
                    f"chain files cannot be read for the analytics ({where}): {exc}"
                ) from None


def _groups(paths: list[Path], contracts: int) -> Iterator[list[Path]]:
    """``paths`` in consecutive groups of about ``contracts`` rows (a larger file alone)."""
    group: list[Path] = []
    rows = 0
    for path in paths:
        try:
            rows += pq.read_metadata(path).num_rows
        except (OSError, pa.ArrowException) as exc:
            raise MissingInputError(f"{path} cannot be read for the analytics: {exc}") from None
        group.append(path)
        if rows >= contracts:
            yield group
            group, rows = [], 0
    if group:
        yield group


def per_group(
    inputs: SessionInputs, compute: Callable[[pl.DataFrame, pl.DataFrame, dt.datetime], R]
) -> list[R]:
    """``compute(chains, spots, as_of)`` for each group of chains with the spots of its symbols, then
    once for the symbols with a spot and no chain (no chains at all): every symbol is judged once."""
    out, seen = [], set()
    for chains in inputs.chain_groups():
        symbols = chains.get_column("symbol").unique()
        seen.update(symbols.to_list())
        out.append(
            compute(chains, inputs.spots.filter(pl.col("symbol").is_in(symbols.implode())), inputs.as_of)
        )
    rest = inputs.spots.filter(~pl.col("symbol").is_in(sorted(seen)))
    if rest.height:
        empty = pl.DataFrame(schema={c: OPTIONS.polars_schema[c] for c in CHAIN_INPUT_COLUMNS})
        out.append(compute(empty, rest, inputs.as_of))
    return out


def _archived(root: Path, artefact: str, session: dt.date) -> dict[str, Path]:
    """``symbol -> file`` of the session's per-symbol files of ``artefact`` (``stocks``/``options``)."""
    path_of = layout.stock_file if artefact == "stocks" else layout.options_file
    return {
        symbol: path
        for symbol in layout.symbols_with(root, artefact)
        if (path := path_of(root, symbol, session)).is_file()
    }


def _require_same_symbols(
    artefact: str, session: dt.date, folder: Path, files: set[str], table: str, held: set[str]
) -> None:
    """Refuse, naming the store that lacks them, when the files and the lake table hold the session's
    ``artefact`` for different symbols: analysed as they are, the derived files would lose those rows."""
    for store, missing, have in (
        (f"the lake table {table}", files - held, len(files)),
        (f"the archive folder {folder}", held - files, len(held)),
    ):
        if missing:
            listed = ", ".join(sorted(missing)[:10]) + (" …" if len(missing) > 10 else "")
            raise MissingInputError(
                f"{store} lacks the {artefact} of {len(missing)} of the {have} symbols the other store holds "
                f"for {session} ({listed}): the derived files would lose their rows, so nothing is "
                f"derived; restore it (re-run ldas/{artefact} for the whole session) first"
            )


def session_inputs(root: Path, lake: Lake, session: dt.date) -> SessionInputs:
    """The session's archived chains (as groups, read when iterated) and closes; a missing artefact is
    named with what to run.

    Complete inputs only: the chains come from the chain files and the closes from the lake, so the
    files and the lake must hold the session's chains and bars for the same symbols. When one store
    lacks symbols the other has (a deleted lake and a subset run, a lost file), the analytics refuse
    and name that store, rather than write derived files with fewer rows than the archive allows."""
    chains = _archived(root, "options", session)
    if not chains:
        raise MissingInputError(
            f"no option chains for {session} in the archive {root / 'options'}: "
            "materialize ldas/options first"
        )
    closes = lake.read_sessions("stocks", session, session, ["symbol", "close"])
    if closes is None or closes.height == 0:
        raise MissingInputError(
            f"no stock closes for {session} in the lake table {lake.uri('stocks')}: "
            "materialize ldas/stocks first"
        )
    twice = closes.filter(pl.col("symbol").is_duplicated()).get_column("symbol").unique().sort()
    if twice.len():
        raise MissingInputError(
            f"the lake table {lake.uri('stocks')} holds more than one close for {session} of "
            f"{', '.join(twice.head(10).to_list())}: re-run ldas/stocks for the session"
        )
    captured = lake.scan("options")
    held = (
        captured.filter(pl.col(SESSION_COLUMN) == session)
        .group_by("symbol")
        .agg(pl.col("timestamp").max())
        .collect()
        if captured is not None
        else pl.DataFrame(schema={"symbol": pl.String, "timestamp": OPTIONS.polars_schema["timestamp"]})
    )
    if held.height == 0:
        raise MissingInputError(
            f"no option chains for {session} in the lake table {lake.uri('options')}: "
            "materialize ldas/options first"
        )
    _require_same_symbols(
        "options", session, root / "options", set(chains), lake.uri("options"), set(held["symbol"])
    )
    stock_files = set(_archived(root, "stocks", session))
    _require_same_symbols(
        "stocks", session, root / "stocks", stock_files, lake.uri("stocks"), set(closes["symbol"])
    )
    as_of = held.get_column("timestamp").max()
    assert isinstance(as_of, dt.datetime)
    return SessionInputs(list(chains.values()), closes.rename({"close": "spot"}), as_of)


def atm_iv_history(lake: Lake, sessions: Sequence[dt.date]) -> pl.DataFrame:
    """``symbol, session_date, atm_iv`` for ``sessions`` (one scan from the first to the last)."""
    empty = pl.DataFrame(schema={"symbol": pl.String, SESSION_COLUMN: pl.Date, "atm_iv": pl.Float64})
    if not sessions:
        return empty
    frame = lake.read_sessions("atm_iv", min(sessions), max(sessions), ["symbol", SESSION_COLUMN, "atm_iv"])
    if frame is None:
        return empty
    return frame.filter(pl.col(SESSION_COLUMN).is_in(list(sessions)))
