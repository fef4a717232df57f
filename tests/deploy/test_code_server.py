"""The code_location service's command from docker-compose.yml, run as is (host and port aside) on
loopback: it serves the location workspace.yaml names, and the compose health check sees it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.deploy.compose import compose
from tests.e2e.devserver import default_signals, free_port, group_members

pytestmark = pytest.mark.e2e  # starts a Dagster gRPC server: seconds of import on a busy machine

BIN = Path(sys.executable).parent


def _on_loopback(command: list[str], port: int) -> list[str]:
    """The service's command with its host on 127.0.0.1 and its port on a free one."""
    out = list(command)
    out[out.index("-h") + 1] = "127.0.0.1"
    out[out.index("-p") + 1] = str(port)
    out[0] = str(BIN / out[0])  # the console script of this environment
    return out


def test_code_location_command_serves_the_workspace_location(sim_env, tmp_path):
    from dagster._grpc.client import DagsterGrpcClient

    service = compose()["services"]["code_location"]
    port = free_port()
    probe = [sys.executable if part == "python" else part for part in service["healthcheck"]["test"][1:]]
    probe[-1] = probe[-1].replace("4000", str(port))
    log = tmp_path / "code-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            _on_loopback(service["command"], port),
            cwd=PROJECT,
            env={**os.environ, **sim_env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=default_signals,
        )
    try:
        deadline = time.monotonic() + 150
        while subprocess.run(probe, capture_output=True).returncode != 0:
            assert server.poll() is None, (
                f"the code server exited with {server.returncode}:\n{log.read_text()[-3000:]}"
            )
            assert time.monotonic() < deadline, f"health check never passed:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
        listing = DagsterGrpcClient(port=port, host="127.0.0.1").list_repositories()
        assert "aegis_pipelines.definitions" in listing and "__repository__" in listing
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGINT)
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            raise
    assert code == 0
    deadline = time.monotonic() + 10
    while group_members(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_members(server.pid) == []
