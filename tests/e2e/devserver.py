"""Start and stop ``dagster dev`` (webserver + daemon) on loopback, and talk GraphQL to it.

``dagster dev`` forks a webserver, a daemon and a code server. Started from a non-interactive shell
it ignores SIGINT/SIGTERM and its children outlive a SIGKILL of the parent (dagster-notes §7), so it
runs in its own session (process group) and is stopped with SIGINT to the whole group; whatever is
still alive after the grace period is killed, and the group is checked to be empty. A shell that
starts jobs in the background sets SIGINT to "ignore", and children inherit that (then Python never
raises KeyboardInterrupt), so the child resets SIGINT/SIGTERM to their defaults before exec.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

WORKSPACE_QUERY = """
query { workspaceOrError { __typename
  ... on Workspace { locationEntries { name loadStatus
      locationOrLoadError { __typename ... on PythonError { message } } } }
  ... on PythonError { message } } }
"""


class DevServerError(RuntimeError):
    pass


def default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid`` (read from /proc; zombies excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@dataclass
class DevServer:
    process: subprocess.Popen
    url: str
    log_path: Path
    startup_s: float = 0.0

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, timeout_s: float = 30.0
    ) -> dict:
        """The ``data`` of a GraphQL answer; transport or GraphQL errors raise with the message."""
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": dict(variables or {})},
            timeout=timeout_s,
        )
        body = response.json()
        if body.get("errors"):
            raise DevServerError(f"GraphQL errors (HTTP {response.status_code}): {body['errors']}")
        return body["data"]

    def wait_ready(self, timeout_s: float) -> None:
        """Until every code location has loaded (``loadStatus`` is LOADED even for a failed import)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DevServerError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                data = self.graphql(WORKSPACE_QUERY, timeout_s=5)["workspaceOrError"]
            except (httpx.HTTPError, ValueError, DevServerError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.5)
                continue
            entries = data.get("locationEntries") or []
            for entry in entries:
                located = entry.get("locationOrLoadError") or {}
                if located.get("__typename") == "PythonError":
                    raise DevServerError(
                        f"code location {entry['name']} failed to load: {located['message']}"
                    )
            if entries and all(
                (e.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"
                for e in entries
            ):
                return
            last = f"locations {[(e['name'], e['loadStatus']) for e in entries]}"
            time.sleep(0.5)
        raise DevServerError(f"dagster dev not ready after {timeout_s:.0f}s ({last}):\n{self.log_tail()}")

    def stop(self, grace_s: float = 30.0) -> int:
        """SIGINT to the process group, wait; SIGKILL what is left. Returns dagster dev's exit code."""
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGINT)
        try:
            code = self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=10)
            raise DevServerError(
                f"dagster dev did not stop within {grace_s:.0f}s of SIGINT:\n{self.log_tail()}"
            ) from None
        # Children finish their own shutdown a moment after the parent.
        deadline = time.monotonic() + 10
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = group_members(pgid)
        if left:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            raise DevServerError(f"processes {left} of dagster dev were still alive after it exited")
        return code

    def kill(self) -> list[int]:
        """SIGKILL the whole process group at once (a crash of everything, runs included), as the OOM
        killer or a power cut would; returns the pids that were in it. Nothing reports a run's end."""
        pgid = self.process.pid
        members = group_members(pgid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if group_members(pgid):
            raise DevServerError(f"processes {group_members(pgid)} survived SIGKILL of their group")
        return members


def start_dev_server(
    project: Path,
    home: Path,
    env: Mapping[str, str],
    *,
    workspace: str = "workspace.yaml",
    ready_timeout_s: float = 120.0,
) -> DevServer:
    """``dagster dev -w <workspace>`` from ``project`` with ``DAGSTER_HOME=home``, ready to answer."""
    port = free_port()
    log_path = home / "dagster-dev.log"
    command = [sys.executable, "-m", "dagster", "dev", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)]
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=project,
            env={**os.environ, **env, "DAGSTER_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=default_signals,
        )
    server = DevServer(process, f"http://127.0.0.1:{port}", log_path)
    try:
        server.wait_ready(ready_timeout_s)
    except BaseException:
        with contextlib.suppress(DevServerError):
            server.stop(grace_s=15)
        raise
    server.startup_s = time.monotonic() - started
    return server


@contextlib.contextmanager
def dev_server(project: Path, home: Path, env: Mapping[str, str], **kwargs: Any) -> Iterator[DevServer]:
    server = start_dev_server(project, home, env, **kwargs)
    try:
        yield server
    finally:
        if server.process.poll() is None or group_members(server.process.pid):
            server.stop()
