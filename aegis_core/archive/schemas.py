"""The column contract of every archive artefact (contract §2), defined once.

Every writer, reader and check derives its schema from ``ARTEFACTS``: column names, order, types
and nullability. Parquet files carry the nullability flags, so a consumer (or the Rust reader)
sees exactly this contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl
import pyarrow as pa

UTC_MICROS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    nullable: bool = True

    @cached_property  # built through polars: about 30 µs, and every write asks for every column's
    def arrow_field(self) -> pa.Field:
        arrow_type = pl.DataFrame(schema={self.name: self.dtype}).to_arrow().schema.field(0).type
        return pa.field(self.name, arrow_type, nullable=self.nullable)


@dataclass(frozen=True)
class Artefact:
    """One archive artefact: its name (also the Delta table name) and its columns."""

    name: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    @property
    def non_nullable(self) -> list[str]:
        return [c.name for c in self.columns if not c.nullable]

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([c.arrow_field for c in self.columns])

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Select and cast ``frame`` to this contract; raise naming what is missing or null."""
        missing = [c for c in self.column_names if c not in frame.columns]
        if missing:
            raise ValueError(f"{self.name}: missing columns {missing}")
        out = frame.select([pl.col(c.name).cast(c.dtype, strict=False) for c in self.columns])
        nulls = [c for c in self.non_nullable if out[c].null_count()]
        if nulls:
            raise ValueError(f"{self.name}: null values in non-nullable columns {nulls}")
        return out

    def to_arrow(self, frame: pl.DataFrame) -> pa.Table:
        """The frame as an Arrow table carrying this contract's types and nullability."""
        return self.conform(frame).to_arrow().cast(self.arrow_schema)

    def arrow_table(self, table: pa.Table) -> pa.Table:
        """An Arrow table holding this contract's columns (in any string layout, e.g. polars' views)
        as one carrying its types and nullability: what ``to_arrow`` does, without a polars round trip."""
        missing = [c for c in self.column_names if c not in table.column_names]
        if missing:
            raise ValueError(f"{self.name}: missing columns {missing}")
        table = table.select(self.column_names)
        nulls = [c for c in self.non_nullable if table.column(c).null_count]
        if nulls:
            raise ValueError(f"{self.name}: null values in non-nullable columns {nulls}")
        return table.cast(self.arrow_schema)


def _cols(spec: str, dtype: pl.DataType, nullable: bool = True) -> list[Column]:
    return [Column(name, dtype, nullable) for name in spec.split()]


F64 = pl.Float64()
I64 = pl.Int64()
STR = pl.String()

VIX = Artefact(
    "vix",
    (
        Column("timestamp", UTC_MICROS, nullable=False),
        Column("symbol", STR, nullable=False),
        *_cols("open high low close", F64, nullable=False),
    ),
)

STOCKS = Artefact(
    "stocks",
    (
        Column("timestamp", UTC_MICROS, nullable=False),
        Column("symbol", STR, nullable=False),
        *_cols("open high low close", F64, nullable=False),
        Column("volume", F64),
        Column("vwap", F64),
        Column("transactions", I64),
    ),
)

# One row per contract. Only the contract's identity is guaranteed; every market field may be
# absent from the source and is then null, never invented.
OPTIONS = Artefact(
    "options",
    (
        Column("timestamp", UTC_MICROS, nullable=False),
        Column("symbol", STR, nullable=False),
        Column("ticker", STR, nullable=False),
        Column("contract_type", STR, nullable=False),
        Column("expiration_date", pl.Date(), nullable=False),
        Column("strike_price", F64, nullable=False),
        Column("shares_per_contract", I64),
        Column("exercise_style", STR),
        Column("open_interest", I64),
        *_cols("implied_volatility delta gamma theta vega", F64),
        *_cols("day_open day_high day_low day_close", F64),
        Column("day_volume", I64),
        Column("day_vwap", F64),
        *_cols("bid ask", F64),
        *_cols("bid_size ask_size", I64),
        *_cols("last_price underlying_price break_even_price", F64),
    ),
)

# Intraday snapshots share the chain contract; they are a separate Delta table.
OPTIONS_INTRADAY = Artefact("options_intraday", OPTIONS.columns)

# Float columns are NON-NULL (undefined levels are 0.0), matching the Rust writer.
GEX_SUMMARY = Artefact(
    "gex_summary",
    (
        Column("timestamp", UTC_MICROS, nullable=False),
        Column("symbol", STR, nullable=False),
        *_cols("net_gex abs_gex zero_gamma_level gamma_wall put_wall", F64, nullable=False),
        Column("gex_regime", STR, nullable=False),
        Column("underlying_price", F64, nullable=False),
    ),
)

IV_RANK = Artefact(
    "iv_rank",
    (
        Column("timestamp", UTC_MICROS, nullable=False),
        Column("symbol", STR, nullable=False),
        *_cols("iv iv_low iv_high", F64, nullable=False),
        *_cols("iv_rank iv_percentile", F64),
        Column("observations", I64, nullable=False),
    ),
)

# Lake-only: the daily 30-day constant-maturity ATM IV that IV rank is computed from.
ATM_IV = Artefact(
    "atm_iv",
    (
        Column("timestamp", UTC_MICROS, nullable=False),
        Column("symbol", STR, nullable=False),
        Column("atm_iv", F64, nullable=False),
        Column("method", STR, nullable=False),
        *_cols("near_expiry far_expiry", pl.Date()),
    ),
)

ARTEFACTS: dict[str, Artefact] = {
    a.name: a for a in (VIX, STOCKS, OPTIONS, OPTIONS_INTRADAY, GEX_SUMMARY, IV_RANK, ATM_IV)
}

GEX_REGIMES = ("positive", "negative", "neutral")


# What a reader sees of a column's type, the same for a file and a table (used by the contract check and
# the lake guard).
_UTC_ALIASES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Z", "+00:00", "utc", "GMT", "Etc/GMT"}


def logical_type(arrow_type: pa.DataType) -> str:
    """The type a reader sees, ignoring physical variants (large/view strings, dictionaries)."""
    t = arrow_type
    if pa.types.is_dictionary(t):
        return logical_type(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return f"list<{logical_type(t.value_type)}>"
    if pa.types.is_struct(t):
        inner = ", ".join(f"{t.field(i).name}: {logical_type(t.field(i).type)}" for i in range(t.num_fields))
        return f"struct<{inner}>"
    if pa.types.is_timestamp(t):
        # Parquet stores only "adjusted to UTC"; spellings of UTC are the same column to a reader.
        tz = "UTC" if t.tz in _UTC_ALIASES else t.tz
        return f"timestamp[{t.unit}, tz={tz}]" if tz else f"timestamp[{t.unit}]"
    return str(t)
