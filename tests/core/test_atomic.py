"""The one atomic writer: durable (file and folder fsynced), never sweeps a live writer's temporary,
writes through a symlink, and concurrent writers of one file leave one whole file."""

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

from aegis_core import atomic


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
    live = atomic.temp_path(target)  # named for this (live) process
    live.write_bytes(b"half")
    atomic.replace_bytes(target, b"whole")
    assert live.exists() and target.read_bytes() == b"whole"


def test_a_dead_writers_temporary_is_swept_at_once_and_an_old_foreign_one_by_age(tmp_path):
    target = tmp_path / "f.parquet"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(dead.stdout)
    host = atomic._host_token()
    crashed = tmp_path / f".f.parquet.{host}-{dead_pid}.0123456789ab.tmp"
    crashed.write_bytes(b"x")
    foreign = tmp_path / ".f.parquet.otherhost-1.0123456789ab.tmp"
    foreign.write_bytes(b"x")
    atomic.replace_bytes(target, b"1")
    assert not crashed.exists() and foreign.exists()  # another host's writer may still be running
    old = time.time() - atomic.STALE_AFTER_S - 10
    os.utime(foreign, (old, old))
    atomic.replace_bytes(target, b"2")
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
