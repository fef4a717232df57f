"""Delta Lake tables, one per artefact, partitioned by session date (contract §2).

A write replaces exactly the partitions (or slot) it covers in one transaction, so a re-run never
duplicates rows and a reader sees either the old or the new partition. The root may be a local folder
or an object-store URI (``s3://…``) with delta-rs storage options.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from aegis_core.archive.schemas import ARTEFACTS, Artefact, Column
from aegis_core.base.store_errors import StoreError, is_panic, store_error

SESSION_COLUMN = "session_date"
KIND_PROPERTY = "aegis.source"  # the kind of data (sim/real): a table property and each commit's metadata
SLOT_COLUMN = "slot"

# Lake-only columns beyond the file contract: every table carries the session date it is
# partitioned by; intraday snapshots also carry their slot ("HH:MM", New York).
_EXTRA: dict[str, tuple[Column, ...]] = {
    "options_intraday": (Column(SLOT_COLUMN, pl.String(), nullable=False),)
}


def lake_columns(artefact: Artefact) -> tuple[Column, ...]:
    return (
        *artefact.columns,
        Column(SESSION_COLUMN, pl.Date(), nullable=False),
        *_EXTRA.get(artefact.name, ()),
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Lake:
    root: str
    storage_options: Mapping[str, str] = field(default_factory=dict)
    commit_retries: int = 8

    def uri(self, table: str) -> str:
        return f"{self.root.rstrip('/')}/{table}"

    def _options(self) -> dict[str, str] | None:
        return dict(self.storage_options) or None

    def replace(
        self,
        artefact: Artefact,
        frame: pl.DataFrame,
        *,
        sessions: Sequence[dt.date],
        slot: str | None = None,
        symbols: Sequence[str] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Replace the rows of ``sessions`` (and ``slot``) in ``artefact``'s table with ``frame``; return
        the new version. ``frame`` holds the contract columns plus ``session_date`` (and ``slot``)."""
        table = artefact.to_arrow(frame)
        for c in lake_columns(artefact)[len(artefact.columns) :]:
            if c.name not in frame.columns:
                raise ValueError(f"{artefact.name}: lake column {c.name!r} missing from the frame")
            table = table.append_column(c.name, frame[c.name].cast(c.dtype).to_arrow())
        return self.replace_batches(
            artefact,
            table.combine_chunks().to_batches,  # one batch, as the small daily tables always were
            sessions=sessions,
            slot=slot,
            symbols=symbols,
            metadata=metadata,
        )

    def replace_batches(
        self,
        artefact: Artefact,
        batches: Callable[[], Iterable[pa.RecordBatch]],
        *,
        sessions: Sequence[dt.date],
        slot: str | None = None,
        symbols: Sequence[str] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Replace the rows of ``sessions`` (and ``slot``) in ``artefact``'s table; return the new version.

        ``batches()`` yields the rows (the lake's columns); they are streamed into one transaction, so
        a session of any size is written in bounded memory (a retry after a lost commit race calls it
        again). Rows outside the replaced partitions are refused rather than silently kept (nothing is
        committed then). With ``symbols``, only those symbols' rows of the sessions are replaced and
        every other symbol's rows are kept (a subset run).
        """
        if not sessions:
            raise ValueError(f"{artefact.name}: a lake write needs at least one session")
        keys = sorted({d.isoformat() for d in sessions})
        predicate = f"{SESSION_COLUMN} IN ({', '.join(_quote(k) for k in keys)})"
        names: list[str] | None = None
        if symbols is not None:
            names = sorted(set(symbols))
            if not names:
                raise ValueError(f"{artefact.name}: a per-symbol lake write needs at least one symbol")
            predicate += f" AND symbol IN ({', '.join(_quote(n) for n in names)})"
        if slot is not None:
            predicate += f" AND {SLOT_COLUMN} = {_quote(slot)}"
        schema = pa.schema([c.arrow_field for c in lake_columns(artefact)])
        props = CommitProperties(custom_metadata={k: str(v) for k, v in (metadata or {}).items()})
        uri = self.uri(artefact.name)
        found = self._create_if_absent(artefact, schema, props)
        if metadata and KIND_PROPERTY in metadata:
            self._record_kind(found, artefact.name, str(metadata[KIND_PROPERTY]), props)

        def rows() -> pa.RecordBatchReader:
            checked = _inside(artefact.name, batches(), schema, keys, names)
            return pa.RecordBatchReader.from_batches(schema, checked)

        for attempt in range(self.commit_retries + 1):
            try:
                # A predicate overwrite of an existing table: two runs writing the same rows at once
                # conflict, and the one that commits second writes again over the first one's rows.
                write_deltalake(
                    uri,
                    rows(),
                    mode="overwrite",
                    predicate=predicate,
                    partition_by=[SESSION_COLUMN],
                    storage_options=self._options(),
                    commit_properties=props,
                )
                break
            except CommitFailedError:
                # Another run committed to the same table first (concurrent partitions): try again.
                if attempt == self.commit_retries:
                    raise
                time.sleep(0.05 * 2**attempt)
            except (DeltaError, OSError) as exc:  # the store itself (not a row of ours): one line
                raise self.store_error(artefact.name, exc) from None
        return self.version(artefact.name) or 0

    def _create_if_absent(self, artefact: Artefact, schema: pa.Schema, props: CommitProperties) -> DeltaTable:
        """The table, created empty if absent, so that every write is an overwrite that Delta checks for
        conflicts: two runs that both found no table and both created it by writing would both append
        their rows."""
        if (found := self.open_table(artefact.name)) is not None:
            return found
        try:
            return DeltaTable.create(
                self.uri(artefact.name),
                schema,
                mode="ignore",
                partition_by=[SESSION_COLUMN],
                storage_options=self._options(),
                commit_properties=props,
            )
        except Exception as exc:  # another run created it first: fine; anything else is raised
            if (found := self.open_table(artefact.name)) is None:
                raise self.store_error(artefact.name, exc) from None
            return found

    def _record_kind(self, found: DeltaTable, table: str, kind: str, props: CommitProperties) -> None:
        """Record ``kind`` as the table property ``aegis.source`` when the table has none yet (a new
        table, or one from before the property): a property lives in the table's metadata, which every
        checkpoint carries forward, so it survives any number of later commits and log clean-ups.
        ``found``: the table as just opened."""
        for attempt in range(self.commit_retries + 1):
            if attempt:
                found = DeltaTable(self.uri(table), storage_options=self._options())
            held = found.metadata().configuration.get(KIND_PROPERTY)
            if held is not None:
                return  # the guard (check_lake) has compared it with ``kind`` before this write
            try:
                found.alter.set_table_properties(
                    {KIND_PROPERTY: kind}, raise_if_not_exists=False, commit_properties=props
                )
                return
            except CommitFailedError:  # another run committed first: look again
                if attempt == self.commit_retries:
                    raise
                time.sleep(0.05 * 2**attempt)

    def with_partition_columns(
        self, artefact: Artefact, table: pa.Table, session: dt.date, slot: str | None = None
    ) -> pa.Table:
        """``table`` (the contract columns) with the lake's ``session_date`` (and ``slot``) added."""
        n = table.num_rows
        table = table.append_column(SESSION_COLUMN, pa.repeat(pa.scalar(session, pa.date32()), n))
        if slot is not None:
            table = table.append_column(SLOT_COLUMN, pa.repeat(pa.scalar(slot, pa.string()), n))
        return table

    # --- store errors in one line (aegis_core.base.store_errors) ---------------------------------------

    def store_error(self, table: str, exc: BaseException) -> StoreError:
        """``exc`` (delta-rs, object storage, a Rust panic) as one line naming the lake and the table."""
        error = store_error(f"lake {self.root}", f"table {table}", exc)
        if "://" in self.root and not self.root.startswith("file://"):
            hint = "object-storage credentials come from the environment (e.g. AWS_ACCESS_KEY_ID)"
            error = StoreError(f"{error} ({hint} or the task role)")
        return error

    def open_table(self, table: str) -> DeltaTable | None:
        """The Delta table (None when it does not exist yet); any other failure — a truncated or
        newer-protocol ``_delta_log``, object storage without credentials — is a ``StoreError``."""
        try:
            return DeltaTable(self.uri(table), storage_options=self._options())
        except TableNotFoundError:
            return None
        except BaseException as exc:
            if isinstance(exc, Exception) or is_panic(exc):
                raise self.store_error(table, exc) from None
            raise

    # -----------------------------------------------------------------------------------------------

    def version(self, table: str) -> int | None:
        found = self.open_table(table)
        return None if found is None else found.version()

    def kinds(self, required: str | None = None) -> dict[str, str]:
        """``table -> kind`` (``sim``/``real``) for every existing artefact table: its ``aegis.source``
        table property (recorded at creation, kept by every later commit and checkpoint), or for a
        table from before the property the ``aegis.source`` metadata of the newest commit in its whole
        history that has one (maintenance commits carry none). With ``required``, a table that cannot
        be read is skipped unless it is ``required`` (the table about to be written): a broken unrelated
        table must not block the run that does not touch it (the run that writes it fails naming it)."""
        out = {}
        for name in ARTEFACTS:
            try:
                table = self.open_table(name)
            except StoreError:
                if required is None or name == required:
                    raise
                continue
            if table is None:
                continue
            recorded = table.metadata().configuration.get(KIND_PROPERTY)
            if recorded is not None:
                out[name] = str(recorded)
                continue
            for commit in table.history():
                if KIND_PROPERTY in commit:
                    out[name] = str(commit[KIND_PROPERTY])
                    break
        return out

    def arrow_schema(self, table: str) -> pa.Schema | None:
        """The existing table's schema (None when it does not exist yet)."""
        found = self.open_table(table)
        return None if found is None else pa.schema(found.schema().to_arrow())

    def scan(self, table: str) -> pl.LazyFrame | None:
        """A lazy scan of ``table`` (None when it does not exist yet)."""
        if self.version(table) is None:
            return None
        return pl.scan_delta(self.uri(table), storage_options=self._options())

    def read_sessions(self, table: str, start: dt.date, end: dt.date, columns: Sequence[str] | None = None):
        """Rows of ``start <= session_date <= end`` in one scan (partition-pruned)."""
        lf = self.scan(table)
        if lf is None:
            return None
        lf = lf.filter(pl.col(SESSION_COLUMN).is_between(start, end))
        return (lf.select(columns) if columns else lf).collect()


def _inside(
    table: str,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    keys: list[str],
    symbols: list[str] | None,
) -> Iterator[pa.RecordBatch]:
    """``batches`` cast to the lake schema; a row outside the sessions (or symbols) stops the write."""
    sessions = pa.array([dt.date.fromisoformat(k) for k in keys], pa.date32())
    allowed = pa.array(symbols, pa.string()) if symbols is not None else None
    for batch in batches:
        batch = pa.Table.from_batches([batch]).select(schema.names).cast(schema).combine_chunks()
        outside = len(batch) - pc.sum(pc.is_in(batch[SESSION_COLUMN], sessions)).as_py() if len(batch) else 0
        if outside:
            raise ValueError(f"{table}: {outside} rows fall outside the sessions being replaced {keys}")
        if allowed is not None and len(batch):
            strays = len(batch) - pc.sum(pc.is_in(batch["symbol"].cast(pa.string()), allowed)).as_py()
            if strays:
                raise ValueError(f"{table}: {strays} rows belong to symbols not being replaced")
        yield from batch.to_batches()
