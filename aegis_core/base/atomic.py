"""Atomic, durable file replacement: the one way every writer in the project puts a file in place.

The content goes to a hidden temporary file in the target's folder, is fsynced, renamed over the
target, and the folder is fsynced so the rename itself survives a crash. A reader sees the old file or
the new one, never a part of either.

The sweep that clears a crashed writer's leftovers never removes the temporary of a writer that is
still running, whatever its pid namespace: the writer holds an exclusive ``flock`` on its temporary
from the moment it creates it until the rename, and the sweep takes only a temporary whose lock it can
take itself (the kernel releases a lock when its holder dies, so a free lock is a gone writer). A
pid says nothing across containers sharing a host name with separate pid namespaces, where it names
another process or none. Temporary names carry their writer's host and pid
(``.NAME.HOST-PID.RANDOM.tmp``). A temporary of this host whose lock is free is stale at once. A writer
caught between creating its temporary and locking it loses nothing: once it holds the lock it checks
that the name still leads to its file, and starts again under a new name when a sweep took it. One of
another host (whose file system may not share locks between hosts) or an unrecognised one is stale only
once ``STALE_AFTER_S`` old. Where the file system refuses locks, a temporary of this host is stale when
its pid is dead.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from aegis_core.base.processes import process_alive, this_host

STALE_AFTER_S = 3600.0
_CLAIMS = 5  # new temporaries a writer tries when sweeps keep taking them before its lock
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


def _lock(fd: int, *, wait: bool) -> bool | None:
    """Take the exclusive lock of ``fd``: True when taken, False when another holds it, None when the
    file system does not lock."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return None
        raise
    return True


def _is_stale(tmp: Path, now: float, locked: bool | None) -> bool:
    """``locked``: whether the sweep took the temporary's lock (None: the file system has none)."""
    m = _TEMP.match(tmp.name)
    try:
        found = tmp.stat()
    except FileNotFoundError:  # renamed or swept meanwhile
        return False
    mtime = found.st_mtime
    age = now - mtime
    if m is None or m["host"] != _host_token():  # an older writer's, or another host's: only age tells
        return age > STALE_AFTER_S
    if locked:  # nobody holds it: its writer is gone, whatever pid namespace it ran in (or has not
        return True  # locked it yet, and will see it gone: ``_locked_temp``)
    if not process_alive(int(m["pid"]), started_by=mtime):  # no locks here: the pid is all there is
        return True
    return age > STALE_AFTER_S


def sweep_temps(path: Path, now: float | None = None) -> int:
    """Remove stale temporaries of ``path`` (a crashed writer's); never a live writer's. Return how many."""
    removed = 0
    if path.parent.is_dir():
        at = time.time() if now is None else now
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            try:
                fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:  # renamed or swept meanwhile, or not ours to open
                continue
            try:
                locked = _lock(fd, wait=False)
                if locked is not False and _is_stale(tmp, at, locked):  # held: a live writer's
                    tmp.unlink(missing_ok=True)  # still holding its lock
                    removed += 1
            finally:
                os.close(fd)
    return removed


@contextlib.contextmanager
def _write_temp(
    target: Path, write: Callable[[BinaryIO], object], mode: int | None
) -> Iterator[tuple[Path, int]]:
    """A fsynced temporary of ``target`` in its folder holding what ``write`` wrote, and its size; the
    temporary stays locked (see the module notes) until the block ends, so its rename is done inside.
    Leaving the block on an exception removes the temporary."""
    make_dirs(target.parent)
    sweep_temps(target)
    tmp, fh = _locked_temp(target, mode)
    try:
        if mode is not None:
            os.fchmod(fh.fileno(), mode)
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
        yield tmp, fh.tell()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        fh.close()  # releases the lock


def _locked_temp(target: Path, mode: int | None) -> tuple[Path, BinaryIO]:
    """A new temporary of ``target``, open and locked, still under its name: a sweep that found it in
    the instant before the lock took it as a gone writer's, so the writer starts again under another."""
    for _ in range(_CLAIMS):
        tmp = temp_path(target)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        fh = os.fdopen(fd, "wb")
        try:
            locked = _lock(fd, wait=True)  # a sweep holding it lets go as soon as it has looked
            if locked is None or _still_named(tmp, fd):
                return tmp, fh
        except BaseException:
            fh.close()
            tmp.unlink(missing_ok=True)
            raise
        fh.close()
    raise OSError(f"{target}: every new temporary was swept away before it could be locked")


def _still_named(tmp: Path, fd: int) -> bool:
    try:
        return os.stat(tmp).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


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
    with _write_temp(target, write, mode) as (tmp, size):
        os.replace(tmp, target)
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
    with _write_temp(path, lambda fh: fh.write(data), mode) as (tmp, _):
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True
