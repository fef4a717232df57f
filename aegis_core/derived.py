"""Inputs of the derived analytics, read from the lake (never re-fetched from the source).

A session's chains and closes come from the ``options`` and ``stocks`` tables; IV history comes
from the ``atm_iv`` table in one partition-pruned scan over the whole window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from aegis_core.analytics import gex, iv
from aegis_core.archive.lake import SESSION_COLUMN, Lake

# The chain columns the analytics read: only these are loaded (a third of the contract's width).
CHAIN_INPUT_COLUMNS = list(dict.fromkeys((*gex.CHAIN_COLUMNS, *iv.CHAIN_COLUMNS)))


class MissingInputError(RuntimeError):
    pass


@dataclass(frozen=True)
class SessionInputs:
    chains: pl.DataFrame  # the OPTIONS columns the analytics read (CHAIN_INPUT_COLUMNS), all symbols
    spots: pl.DataFrame  # symbol, spot (the session close)
    as_of: dt.datetime  # when the chains were captured (latest capture time)


def session_inputs(lake: Lake, session: dt.date) -> SessionInputs:
    """The session's archived chains and closes; a missing artefact is named with what to run."""
    chains = lake.read_sessions("options", session, session, CHAIN_INPUT_COLUMNS)
    if chains is None or chains.height == 0:
        raise MissingInputError(
            f"no option chains for {session} in the lake table {lake.uri('options')}: "
            "materialize ldas/options first"
        )
    closes = lake.read_sessions("stocks", session, session, ["symbol", "close"])
    if closes is None or closes.height == 0:
        raise MissingInputError(
            f"no stock closes for {session} in the lake table {lake.uri('stocks')}: "
            "materialize ldas/stocks first"
        )
    return SessionInputs(chains, closes.rename({"close": "spot"}), chains["timestamp"].max())


def atm_iv_history(lake: Lake, sessions: Sequence[dt.date]) -> pl.DataFrame:
    """``symbol, session_date, atm_iv`` for ``sessions`` (one scan from the first to the last)."""
    empty = pl.DataFrame(schema={"symbol": pl.String, SESSION_COLUMN: pl.Date, "atm_iv": pl.Float64})
    if not sessions:
        return empty
    frame = lake.read_sessions("atm_iv", min(sessions), max(sessions), ["symbol", SESSION_COLUMN, "atm_iv"])
    if frame is None:
        return empty
    return frame.filter(pl.col(SESSION_COLUMN).is_in(list(sessions)))
