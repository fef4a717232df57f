"""Atomic, durable file replacement: the one way every writer in the project puts a file in place.

The content goes to a hidden temporary file in the target's folder, is fsynced, renamed over the
target, and the folder is fsynced so the rename itself survives a crash. A reader sees the old file or
the new one, never a part of either.

Temporary names carry their writer's host and pid (``.NAME.HOST-PID.RANDOM.tmp``), so the sweep that
clears a crashed writer's leftovers never removes the temporary of a writer that is still running: a
temporary is stale when its writer is provably gone (same host, pid dead) or when it is older than
``STALE_AFTER_S`` (a writer on another host, or in another pid namespace, that cannot be asked).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from aegis_core.processes import process_alive, this_host

STALE_AFTER_S = 3600.0
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<host>[^.]*)-(?P<pid>\d+)\.[0-9a-f]{12}\.tmp$")


def _host_token() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", this_host())


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{_host_token()}-{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")


def fsync_dir(folder: Path) -> None:
    """Make the entries of ``folder`` (renames, new files) durable."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(folder: Path) -> None:
    """``mkdir -p`` that also makes each folder it creates durable in its parent."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        fsync_dir(created.parent)


def _is_stale(tmp: Path, now: float) -> bool:
    m = _TEMP.match(tmp.name)
    try:
        mtime = tmp.stat().st_mtime
    except FileNotFoundError:  # renamed or swept meanwhile
        return False
    age = now - mtime
    if m is None:  # an unrecognised name (an older writer's): only age can tell
        return age > STALE_AFTER_S
    if m["host"] == _host_token() and not process_alive(int(m["pid"]), started_by=mtime):
        return True
    return age > STALE_AFTER_S


def sweep_temps(path: Path, now: float | None = None) -> int:
    """Remove stale temporaries of ``path`` (a crashed writer's); never a live writer's. Return how many."""
    removed = 0
    if path.parent.is_dir():
        at = time.time() if now is None else now
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            if _is_stale(tmp, at):
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


def _write_temp(target: Path, write: Callable[[BinaryIO], object], mode: int | None) -> tuple[Path, int]:
    """A fsynced temporary of ``target`` in its folder holding what ``write`` wrote; its size."""
    make_dirs(target.parent)
    sweep_temps(target)
    tmp = temp_path(target)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        fd = os.open(tmp, flags, 0o666 if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            return tmp, fh.tell()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _target(path: Path) -> Path:
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def replace_file(
    path: Path,
    write: Callable[[BinaryIO], object],
    mode: int | None = None,
    *,
    folder_sync_best_effort: bool = False,
) -> int:
    """Write ``path`` atomically and durably through ``write(fh)``; return the new file's size.

    ``mode`` sets the permissions before any byte is written (e.g. 0o600 for secrets). A symlink at
    ``path`` is written through: its target is replaced and the link stays. With
    ``folder_sync_best_effort`` a folder that refuses fsync after the rename (some network
    filesystems) is not an error: the new file is already in place, and a caller for whom "not
    saved" would be a false alarm (the token cache) must not report it.
    """
    target = _target(path)
    tmp, size = _write_temp(target, write, mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        fsync_dir(target.parent)
    except OSError:
        if not folder_sync_best_effort:
            raise
    return size


def replace_bytes(
    path: Path, data: bytes, mode: int | None = None, *, folder_sync_best_effort: bool = False
) -> int:
    best_effort = folder_sync_best_effort
    return replace_file(path, lambda fh: fh.write(data), mode, folder_sync_best_effort=best_effort)


def create_bytes(path: Path, data: bytes, mode: int | None = None) -> bool:
    """Create ``path`` holding ``data`` atomically and durably, unless it exists: never replaces a file.

    The complete, fsynced temporary is hard-linked into place (a link fails where a rename would
    replace). Return False, leaving the existing file alone, when ``path`` exists (a dangling
    symlink included) or appears while the data is being written.
    """
    if path.exists() or path.is_symlink():
        return False
    tmp, _ = _write_temp(path, lambda fh: fh.write(data), mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True
