"""Is a run's worker gone? The pure decisions (``aegis_core.ops.run_watch``) and the facts they are given
(``aegis_core.base.processes``): a run is judged GONE only on proof, never because something could not be
checked — a living run must never be failed."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from aegis_core.base.processes import container_from_mountinfo, process_start_time, this_container
from aegis_core.ops.run_watch import RunWorker, Worker, judge_worker_here, judge_worker_in_container

HERE = "box-1"
CID = "0" * 12 + "a" * 52
OTHER = "f" * 64


def here(worker: RunWorker, *, age_s=60.0, local=True, container=None, alive=lambda pid: False):
    return judge_worker_here(
        worker,
        age_s=age_s,
        here_host=HERE,
        here_container=container,
        storage_is_local=local,
        alive=alive,
    )


def never_asked(pid: int) -> bool:
    raise AssertionError(f"pid {pid} must not be checked from here")


# --- on the local instance -------------------------------------------------------------------------


def test_a_dead_pid_of_this_host_is_gone_and_a_living_one_alive():
    gone = here(RunWorker(41, HERE))
    assert gone.worker is Worker.GONE and "pid 41 on box-1" in gone.reason and "gone" in gone.reason
    assert here(RunWorker(41, HERE), alive=lambda pid: pid == 41).worker is Worker.ALIVE


def test_the_start_event_pid_alone_is_judged_only_on_local_storage():
    assert here(RunWorker(41)).worker is Worker.GONE  # SQLite lives on this machine
    shared = here(RunWorker(41), local=False, alive=never_asked)
    assert shared.worker is Worker.UNKNOWN and "shared" in shared.reason


@pytest.mark.parametrize(
    "worker, container",
    [
        (RunWorker(41, "box-2"), None),  # another host
        (RunWorker(1, CID, CID), None),  # a container's pid namespace, judged from the host
        (RunWorker(1, CID, CID), OTHER),  # another container
        (RunWorker(41, HERE), CID),  # a host pid, judged from inside a container
        (RunWorker(None, HERE), None),  # nothing recorded its start
    ],
)
def test_never_fail_a_run_whose_pid_is_not_ours_to_check(worker, container):
    assert here(worker, container=container, alive=never_asked).worker is Worker.UNKNOWN


def test_a_run_that_just_started_is_left_alone():
    assert here(RunWorker(41, HERE), age_s=0.5, alive=never_asked).worker is Worker.UNKNOWN
    # a start recorded ahead of this clock (a clock stepped back) says nothing of its age: judged
    assert here(RunWorker(41, HERE), age_s=-3600).worker is Worker.GONE


def test_inside_the_same_container_its_pid_is_checked():
    worker = RunWorker(7, HERE, CID)
    assert here(worker, container=CID).worker is Worker.GONE
    assert here(worker, container=CID, alive=lambda pid: True).worker is Worker.ALIVE


# --- in production (the launcher, for runs it did not launch) ---------------------------------------


def test_a_container_gone_or_stopped_means_its_run_is_gone():
    worker = RunWorker(1, CID, CID)
    absent = judge_worker_in_container(worker, container_state=None, process_alive=None)
    assert absent.worker is Worker.GONE and "no longer exists" in absent.reason
    for state in ("exited", "dead", "removing", "restarting"):
        verdict = judge_worker_in_container(worker, container_state=state, process_alive=None)
        assert verdict.worker is Worker.GONE and state in verdict.reason


def test_a_running_container_is_asked_about_the_pid():
    worker = RunWorker(57, CID, CID)
    alive = judge_worker_in_container(worker, container_state="running", process_alive=True)
    gone = judge_worker_in_container(worker, container_state="running", process_alive=False)
    assert alive.worker is Worker.ALIVE
    assert gone.worker is Worker.GONE and "pid 57 in container 000000000000" in gone.reason


@pytest.mark.parametrize(
    "worker, state, alive",
    [
        (RunWorker(57, HERE, None), None, None),  # no container recorded: nothing to ask Docker
        (RunWorker(None, None, CID), "running", None),
        (RunWorker(57, CID, CID), "running", None),  # the pid check could not answer
        (RunWorker(57, CID, CID), "paused", None),
        (RunWorker(57, CID, CID), "created", None),
    ],
)
def test_never_fail_a_run_in_a_container_that_cannot_be_checked(worker, state, alive):
    verdict = judge_worker_in_container(worker, container_state=state, process_alive=alive)
    assert verdict.worker is Worker.UNKNOWN, verdict


# --- the facts ---------------------------------------------------------------------------------------

MOUNTINFO = f"""\
640 560 0:52 / / rw,relatime master:312 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X
641 640 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
663 640 8:1 /var/lib/docker/containers/{CID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw
664 640 8:1 /var/lib/docker/containers/{CID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw
665 640 8:1 /var/lib/docker/containers/{CID}/hosts /etc/hosts rw,relatime - ext4 /dev/vda rw
"""


def test_the_container_is_read_from_its_hostname_mount():
    assert container_from_mountinfo(MOUNTINFO) == CID
    moved_root = MOUNTINFO.replace("/var/lib/docker/", "/srv/docker-data/")
    assert container_from_mountinfo(moved_root) == CID


def test_outside_a_container_there_is_none():
    host = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n25 22 0:5 / /dev rw - devtmpfs udev rw\n"
    assert container_from_mountinfo(host) is None
    # a file of that name elsewhere is not the container's hostname mount
    other = f"30 22 8:1 /var/lib/docker/containers/{CID}/hostname /mnt/x rw - ext4 /dev/vda rw\n"
    assert container_from_mountinfo(other) is None
    assert this_container() is None or len(this_container()) == 64


def test_the_probe_answers_for_a_living_and_a_dead_process():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_start_time(child.pid) or time.time()
        probe = [sys.executable, "-m", "aegis_core.base.processes", str(child.pid), repr(started + 0.5)]
        alive = subprocess.run(probe, capture_output=True, text=True, timeout=30)
        assert (alive.returncode, alive.stdout.strip()) == (0, "alive")
        # a process that started after the run did cannot be its worker (a reused pid)
        later = subprocess.run([*probe[:-1], repr(started - 60)], capture_output=True, text=True, timeout=30)
        assert (later.returncode, later.stdout.strip()) == (1, "gone")
    finally:
        child.kill()
        child.wait()
    dead = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    assert (dead.returncode, dead.stdout.strip()) == (1, "gone")
    usage = subprocess.run([*probe[:3], "x"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1
