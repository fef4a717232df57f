"""An exclusive lock on a sidecar file next to the token cache, so two refreshes never race.

``flock`` locks belong to the open file description, so the lock excludes other threads of this
process as well as other processes. The lock file is never deleted: unlinking a lock file lets a
third party lock a fresh inode while the second still holds the old one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from aegis_core.ops.saxo.cache import CACHE_MODE, resolve_cache_path

_POLL_SECONDS = 0.02


class CacheLockTimeout(TimeoutError):
    """Another refresh held the lock for longer than the caller was willing to wait."""


class CacheLockUnavailable(OSError):
    """The lock file cannot be created or opened (missing folder, permissions)."""


def lock_path_for(cache_path: Path | str) -> Path:
    """The sidecar of the real cache file: keepers using a symbolic link and its target share it."""
    cache_path = resolve_cache_path(cache_path)
    return cache_path.with_name(cache_path.name + ".lock")


@contextlib.contextmanager
def cache_lock(cache_path: Path | str, timeout: float = 60.0) -> Iterator[Path]:
    """Hold the cache's exclusive lock; raise ``CacheLockTimeout`` after ``timeout`` seconds."""
    lock_path = lock_path_for(cache_path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, CACHE_MODE)
    except OSError as exc:
        raise CacheLockUnavailable(f"Token cache lock {lock_path} cannot be opened: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise CacheLockTimeout(
                    f"Token cache lock {lock_path} still held by another refresh after {timeout:g} s"
                )
            time.sleep(_POLL_SECONDS)
        try:
            yield lock_path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
