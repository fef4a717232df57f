"""The one way to read a file the operator names: a regular file, under a size cap, never a hang.

A profile, a universe, a token cache, a ``--previous`` output: a path can name a FIFO (``open`` waits
for a writer forever), ``/dev/zero`` (``read`` fills memory until MemoryError), a folder or a
runaway file. ``read_user_file`` opens without blocking, looks at what it opened (``fstat`` of the
descriptor, so a swap between the check and the read changes nothing), refuses anything but a
regular file, and reads at most ``max_bytes`` (a file that grows past it while being read is refused
too). Every refusal is one ``UserFileError`` line naming what the file is for and its path;
``UserFileMissing`` lets a caller say in its own words what a missing file means.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

# Caps of the files the program reads: each is tens of times its real size.
SETTINGS_MAX_BYTES = 1 << 20  # a profile, a universe (712 symbols ≈ 4 KB)
TOKEN_MAX_BYTES = 64 * 1024  # a token cache (≈ 2 KB)
DOCUMENT_MAX_BYTES = 4 << 20  # a health detector output or status document


class UserFileError(ValueError):
    """A user-named file that cannot be read as one; the message names it and why."""


class UserFileMissing(UserFileError):
    pass


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_user_file(path: Path | str, *, max_bytes: int, what: str) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``); ``what`` names it in errors
    (e.g. ``"universe file"``)."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserFileMissing(f"{what} {path} not found") from None
    except IsADirectoryError:
        raise UserFileError(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise UserFileError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UserFileError(f"{what} {path} is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise UserFileError(f"{what} {path} is {_kind(mode)}, not a regular file: refusing to read it")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb", buffering=0) as handle:
        return _read_capped(handle, max_bytes, f"{what} {path}")


def read_stdin(*, max_bytes: int, what: str = "standard input") -> bytes:
    """Standard input, at most ``max_bytes`` (``< /dev/zero`` is refused, not read into memory)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream standing in for stdin (an embedding program, a test)
        data = sys.stdin.read(max_bytes + 1).encode()
        if len(data) > max_bytes:
            raise UserFileError(f"{what} is larger than its {max_bytes}-byte cap: refusing to read it")
        return data
    return _read_capped(stream, max_bytes, what)


def _read_capped(handle: BinaryIO, max_bytes: int, named: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = handle.read(min(1 << 16, max_bytes + 1 - size))
        except OSError as exc:
            if exc.errno == errno.EISDIR:
                raise UserFileError(f"{named} is a folder, not a file") from None
            raise UserFileError(f"{named} cannot be read ({exc.strerror or exc})") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise UserFileError(f"{named} is larger than its {max_bytes}-byte cap: refusing to read it")
