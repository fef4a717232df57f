"""The one way a store's failure is told: one line naming the store and the table or file.

delta-rs raises ``DeltaError`` / ``OSError`` / a pyo3 panic with a Rust backtrace in the message
(``RUST_BACKTRACE`` set), pyarrow an ``ArrowInvalid`` that names no file, SQLAlchemy a paragraph with
the SQL and a link. ``StoreError`` carries what an operator needs instead: which store (the lake
root, the archive root, the Dagster instance), which table or file, and the first meaningful line of
the cause. ``aegis`` commands print it and exit 2; in a run it is the step's failure message.
"""

from __future__ import annotations

import re

# Lines of a library's message that are not the reason: Rust backtrace frames, SQLAlchemy's links.
_NOISE = re.compile(r"^\s*(\d+: |at |Stack backtrace|\(Background on this error|\[SQL: |\[parameters: )")
_PREFIXES = ("Generic error: ", "Kernel error: ", "Kernel error -> ")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MAX = 400


class StoreError(RuntimeError):
    """A store that cannot be read or written; the message is one line naming it."""


def first_line(exc: BaseException) -> str:
    """The reason in ``exc``'s message, on one line, without backtraces or the library's prefixes."""
    text = _ANSI.sub("", str(exc))
    if "↳" in text:  # object_store's chain of causes, one per line: keep them all, on one line
        text = ": ".join(part.strip() for part in re.split(r"\s*↳\s*", text) if part.strip())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _NOISE.match(line)]
    text = lines[0] if lines else type(exc).__name__
    for prefix in _PREFIXES:
        text = text.removeprefix(prefix)
    return text[:_MAX]


def store_error(store: str, what: str, exc: BaseException) -> StoreError:
    """``StoreError("<store>: <what>: <reason>")`` for ``exc``."""
    return StoreError(f"{store}: {what}: {first_line(exc)}")


def is_panic(exc: BaseException) -> bool:
    """A pyo3 ``PanicException`` (a ``BaseException``, not an ``Exception``): a Rust library crashed."""
    return type(exc).__name__ == "PanicException"
