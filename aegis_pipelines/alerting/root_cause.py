"""The root cause of a failed step, on one line, for the run summary and the run-failure alert.

Dagster wraps an exception raised in an asset in ``DagsterExecutionStepExecutionError: Error
occurred while executing op …`` (and resource set-up in ``DagsterResourceFunctionError``); the real
cause (a refused key, an archive root that is a file, a bad URL) sits in the error's ``cause`` chain,
and in the run log ~200 lines up. This walks the chain to the deepest error and names it.
"""

from __future__ import annotations

from typing import Any

# Errors that only say "something below failed": never the cause worth showing.
_WRAPPERS = {
    "DagsterExecutionStepExecutionError",
    "DagsterResourceFunctionError",
    "DagsterUserCodeExecutionError",
    "DagsterExecutionInterruptedError",
}
_MAX_DEPTH = 20


def describe(error: Any) -> str:
    """``ErrorClass: first line of its message`` for one ``SerializableErrorInfo``."""
    message = (getattr(error, "message", "") or "").strip()
    first = message.splitlines()[0].strip() if message else ""
    cls = getattr(error, "cls_name", None) or ""
    head, sep, rest = first.partition(": ")
    if sep and cls and head.endswith(cls):  # "package.module.ErrorClass: text" -> text
        first = rest
    if not cls:
        return first or "unknown error"
    return f"{cls}: {first}" if first else cls


def root_error(error: Any) -> Any:
    """The deepest error along ``cause`` (else ``context``) links, skipping nothing; None stays None."""
    current = error
    for _ in range(_MAX_DEPTH):
        below = getattr(current, "cause", None) or getattr(current, "context", None)
        if below is None:
            break
        current = below
    return current


def root_cause(error: Any) -> str:
    """One line naming the root cause of ``error`` (a ``SerializableErrorInfo``)."""
    if error is None:
        return "step failed (no error recorded)"
    root = root_error(error)
    if getattr(root, "cls_name", None) in _WRAPPERS and root is error:
        return describe(error)
    return describe(root)


def step_failure_cause(event: Any) -> str:
    """The cause of a STEP_FAILURE event: a ``dg.Failure``'s own description, else the root error."""
    data = event.step_failure_data
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return " ".join(user.description.split())
    return root_cause(data.error)


def failure_lines(result: Any) -> list[str]:
    """``step KEY failed: cause`` for each failed step of an ``execute_in_process`` result."""
    return [
        f"step {event.step_key} failed: {step_failure_cause(event)}"
        for event in result.all_events
        if event.is_step_failure
    ]
