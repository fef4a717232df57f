"""Moves the wall clock of the ``dagster dev`` daemon and of the runs it launches, never of the
webserver or the code server (this folder is on the PYTHONPATH of every process ``dagster dev``
starts; only the daemon and the run workers act on it).

The webserver and the code server keep the real clock: gRPC computes a call's deadline from
``time.time()`` and enforces it on the real clock, so a server with a moved clock loses its clients,
and a client whose clock is behind times out at once (the daemon's clock therefore only moves forward).

- ``AEGIS_TEST_DAEMON_CLOCK``: where the daemon's clock starts (an ISO time; it ticks on from there).
  The daemon first sees the schedules then, and fires only the ticks after it.
- ``AEGIS_TEST_DAEMON_CLOCK_JUMP`` (``ISO@FILE``): the daemon's clock moves forward to ISO once FILE
  exists, so the test decides when the next tick falls.
- ``AEGIS_TEST_CLOCK_OFFSET_FILE``: the daemon writes there how far ahead of the real clock it is; a
  run worker (a ``multiprocessing`` child of the code server) started later reads it and runs on the
  daemon's time, so a session the daemon scheduled has closed for its run too.
"""

import os


def _cmdline() -> list[bytes]:
    try:
        with open("/proc/self/cmdline", "rb") as cmdline:
            return cmdline.read().split(b"\0")
    except OSError:
        return []


def _travel(destination: float) -> None:
    import time_machine

    time_machine.travel(destination, tick=True).start()  # nested in an earlier one: no gap


def _write_offset(path: str, offset: float) -> None:
    with open(path + ".tmp", "w") as out:
        out.write(repr(offset))
    os.replace(path + ".tmp", path)


def _daemon() -> None:
    import datetime as dt
    import threading
    import time

    offset_file = os.environ.get("AEGIS_TEST_CLOCK_OFFSET_FILE", "")
    start = dt.datetime.fromisoformat(os.environ["AEGIS_TEST_DAEMON_CLOCK"]).timestamp()
    real = time.time()
    _travel(start)
    if offset_file:
        _write_offset(offset_file, start - real)
    to, _, trigger = os.environ.get("AEGIS_TEST_DAEMON_CLOCK_JUMP", "").partition("@")
    if not to:
        return

    def jump_when_told() -> None:
        while not os.path.exists(trigger):
            time.sleep(0.2)  # monotonic: not moved
        destination = dt.datetime.fromisoformat(to).timestamp()
        offset = destination - time.time() + (start - real)  # time.time() is the moved clock here
        _travel(destination)
        if offset_file:
            _write_offset(offset_file, offset)

    threading.Thread(target=jump_when_told, name="test-daemon-clock", daemon=True).start()


def _run_worker() -> None:
    import time

    try:
        with open(os.environ["AEGIS_TEST_CLOCK_OFFSET_FILE"]) as offset:
            _travel(time.time() + float(offset.read()))
    except (OSError, ValueError):
        pass  # the daemon has not moved yet: the real clock


if os.environ.get("AEGIS_TEST_DAEMON_CLOCK"):
    _args = _cmdline()
    if b"dagster._daemon" in _args:
        _daemon()
    elif b"--multiprocessing-fork" in _args and os.environ.get("AEGIS_TEST_CLOCK_OFFSET_FILE"):
        _run_worker()
