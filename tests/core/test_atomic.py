"""The one atomic writer: durable (file and folder fsynced), never sweeps a live writer's temporary,
writes through a symlink, and concurrent writers of one file leave one whole file."""

import fcntl
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aegis_core.base import atomic, processes
from tests.conftest import PROJECT


def test_file_and_folder_are_fsynced_after_the_rename(tmp_path, monkeypatch):
    synced: list[tuple[str, bool]] = []
    real_fsync, real_replace = os.fsync, os.replace
    renamed = []

    def recording_fsync(fd):
        synced.append(("after" if renamed else "before", stat.S_ISDIR(os.fstat(fd).st_mode)))
        real_fsync(fd)

    def recording_replace(src, dst):
        real_replace(src, dst)
        renamed.append(dst)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    atomic.replace_bytes(tmp_path / "a" / "b" / "f.bin", b"data")
    assert ("before", False) in synced  # the file's content before the rename
    assert synced[-1] == ("after", True)  # its folder after the rename
    # Folders created on the way are made durable in their parents too.
    assert sum(1 for when, is_dir in synced if is_dir and when == "before") >= 2


def test_a_live_writers_temporary_is_never_swept(tmp_path):
    target = tmp_path / "f.parquet"
    live = atomic.temp_path(target)  # named for this (live) process, locked as a writer locks it
    with open(live, "wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        held.write(b"half")
        held.flush()
        old = time.time() - atomic.STALE_AFTER_S - 10  # however old it looks
        os.utime(live, (old, old))
        atomic.replace_bytes(target, b"whole")
        assert live.exists() and target.read_bytes() == b"whole"
    atomic.replace_bytes(target, b"again")  # its writer gone (the lock with it): swept
    assert not live.exists()


def test_a_dead_writers_temporary_is_swept_at_once_empty_or_not_and_a_foreign_one_by_age(
    tmp_path,
):
    target = tmp_path / "f.parquet"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(dead.stdout)
    host = atomic._host_token()
    crashed = tmp_path / f".f.parquet.{host}-{dead_pid}.0123456789ab.tmp"
    crashed.write_bytes(b"x")  # bytes: written under a lock nobody holds any more
    empty = tmp_path / f".f.parquet.{host}-{dead_pid}.ba9876543210.tmp"
    empty.write_bytes(b"")  # killed between its creation and its first byte: unlocked all the same
    foreign = tmp_path / ".f.parquet.otherhost-1.0123456789ab.tmp"
    foreign.write_bytes(b"x")
    atomic.replace_bytes(target, b"1")
    assert not crashed.exists() and not empty.exists()
    assert foreign.exists()  # another host's writer may still be running (its locks may not reach here)
    atomic.replace_bytes(target, b"2")
    assert foreign.exists()
    old = time.time() - atomic.STALE_AFTER_S - 10
    os.utime(foreign, (old, old))
    atomic.replace_bytes(target, b"3")
    assert not foreign.exists()


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "store" / "token.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "token.json"
    link.symlink_to(real)
    atomic.replace_bytes(link, b"new", mode=0o600)
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_concurrent_writers_of_one_file_leave_one_whole_file(tmp_path):
    target = tmp_path / "f.bin"
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    errors = []

    def write(p):
        try:
            for _ in range(5):
                atomic.replace_bytes(target, p)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes() in payloads
    assert [p.name for p in Path(tmp_path).iterdir()] == ["f.bin"]


def test_create_never_replaces_and_leaves_a_whole_owner_only_file(tmp_path, monkeypatch):
    target = tmp_path / "seed.json"
    dir_syncs = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        dir_syncs.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    assert atomic.create_bytes(target, b"first", mode=0o600) is True
    assert dir_syncs[-1] is True  # the new entry is made durable in its folder
    assert target.read_bytes() == b"first" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert atomic.create_bytes(target, b"second") is False
    assert target.read_bytes() == b"first"
    dangling = tmp_path / "link.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    assert atomic.create_bytes(dangling, b"x") is False and not (tmp_path / "nowhere.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "seed.json"]  # no temporaries


WRITER = """
import pathlib, sys, time
from aegis_core.base import atomic
target, ready, go = map(pathlib.Path, sys.argv[1:4])

def write(fh):
    fh.write(b"first half ")
    fh.flush()
    ready.write_text(str(__import__("os").getpid()))
    while not go.exists():
        time.sleep(0.02)
    fh.write(b"second half")

atomic.replace_bytes(target, b"old") if not target.exists() else None
atomic.replace_file(target, write)
"""


def _free_pid() -> int:
    """A small pid no process has here: a writer that has it in its own namespace is 'dead' seen from here."""
    return next(p for p in range(20, 400) if not Path(f"/proc/{p}").exists())


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_a_live_writer_in_another_pid_namespace_survives_the_sweep(tmp_path):
    # Issue 24: two containers with one host name and their own pid namespaces: the sweep decided "writer
    # gone" by host name and pid, and deleted the other's live temporary (its pid is nobody here).
    target, ready, go = tmp_path / "f.parquet", tmp_path / "ready", tmp_path / "go"
    pid = _free_pid()
    # In its own pid namespace the shell is 1, each /bin/true takes the next pid, the writer gets ``pid``.
    spacers = "/bin/true; " * (pid - 2)
    command = f"{spacers}{shlex.quote(sys.executable)} -c {shlex.quote(WRITER)} {target} {ready} {go}"
    writer = subprocess.Popen(["unshare", "--pid", "--fork", "sh", "-c", command], cwd=PROJECT)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert writer.poll() is None, "the writer ended early (is unshare allowed here?)"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (live,) = tmp_path.glob(".f.parquet.*.tmp")
        m = atomic._TEMP.match(live.name)
        assert m is not None and m["host"] == atomic._host_token() and int(m["pid"]) == pid
        assert int(ready.read_text()) == pid and not processes.process_alive(pid)  # "dead" seen from here
        old = time.time() - atomic.STALE_AFTER_S - 10  # however old it looks
        os.utime(live, (old, old))
        assert atomic.sweep_temps(target) == 0 and live.exists()
        atomic.replace_bytes(target, b"ours")  # a writer here sweeps too, and writes beside it
        assert live.exists()
    finally:
        go.write_text("")
        assert writer.wait(timeout=60) == 0
    assert target.read_bytes() == b"first half second half"  # the other writer's file landed whole
    assert not list(tmp_path.glob(".f.parquet.*.tmp"))


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_a_killed_writer_in_another_pid_namespace_is_swept(tmp_path):
    target, ready, go = tmp_path / "f.parquet", tmp_path / "ready", tmp_path / "go"
    command = f"exec {shlex.quote(sys.executable)} -c {shlex.quote(WRITER)} {target} {ready} {go}"
    writer = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "sh", "-c", command], cwd=PROJECT
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert writer.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    writer.send_signal(signal.SIGKILL)  # unshare dies, and with it (--kill-child) the writer, mid-write
    writer.wait(timeout=30)
    (left,) = tmp_path.glob(".f.parquet.*.tmp")
    for _ in range(100):  # the kernel releases the lock as the writer's files close
        if atomic.sweep_temps(target):
            break
        time.sleep(0.05)
    assert not left.exists() and target.read_bytes() == b"old"


def test_a_writer_whose_new_temporary_is_swept_before_its_lock_writes_under_another(tmp_path, monkeypatch):
    """The instant between creating a temporary and locking it: a sweep that takes it then (its lock is
    free) does no harm, the writer sees its name gone once it holds the lock and starts again."""
    target = tmp_path / "f.parquet"
    swept, lock = [], atomic._lock

    def sweep_first(fd: int, *, wait: bool):
        if wait and not swept:  # the writer, about to lock its first temporary
            swept.append(atomic.sweep_temps(target))
        return lock(fd, wait=wait)

    monkeypatch.setattr(atomic, "_lock", sweep_first)
    atomic.replace_bytes(target, b"whole")
    assert swept == [1] and target.read_bytes() == b"whole"
    assert not list(tmp_path.glob(".f.parquet.*.tmp"))
