"""The production stack started for real on a Docker engine, through the operator's own verbs.

``deploy/stack`` builds the stand-in base images (or uses the official ones when the engine has
them), builds the project image (the host's CA bundle as a build secret), and brings the compose
stack up with the smoke profile (``deploy/smoke``: simulated market, a small universe, alerts to a
stand-in Slack served over https on the docker0 bridge address, reachable from the containers).
Then, through the published UI port only:

1. the end-of-day job runs in a container of its own that has the ``.env`` values (the universe file
   and the Saxo cache path set there, not in the profile), its files appear in the host folder and
   its checks are evaluated and pass;
2. a second run survives a restart of the daemon container in the middle of it;
3. a file removed from the host folder makes a check fail, and the alert sensor tells Slack;
4. the daemon stopped: the watchdog (its own container) tells Slack;
5. ``deploy/stack down -v`` leaves no container, network or volume; the images are removed.

Skips, saying why, only where no Docker engine answers (``.ci/run`` installs and starts one).
Measured here (2 cores shared with four other test runs): see docs/production.md, "Deployment test".
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from aegis_core.archive import layout
from aegis_core.calendar import parse_session_date
from tests.conftest import PROJECT
from tests.fakes.slack import FakeSlack

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1500)]

STACK = PROJECT / "deploy" / "stack"
LOCATION, REPOSITORY, JOB = "aegis", "__repository__", "ldas_eod_job"
FIRST, SECOND = "2026-11-20", "2026-11-19"
# The profile's universe (deploy/smoke/universe.txt) has three names; .env names a file with two.
ENV_UNIVERSE = ["AAXJ", "CORN"]
NOT_IN_ENV_UNIVERSE = "BDRY"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
OFFICIAL = ("python:3.11-slim-bookworm", "postgres:16-bookworm")

LAUNCH_RUN = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on Error { message } } }"""
RUN = """
query($id: ID!) { runOrError(runId: $id) { __typename
  ... on Run { runId status tags { key value } } ... on PythonError { message } } }"""
RUNS = """
query { runsOrError(limit: 50) { ... on Runs { results { runId status tags { key value } } } } }"""
CHECK_EXECUTIONS = """
query($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 20) {
    runId status evaluation { success partition } } }"""
DAEMONS = """
query { instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"""


def docker_engine_or_skip() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client installed (.ci/run installs docker.io)")
    probe = subprocess.run(["docker", "info", "--format", "{{.Driver}}"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no Docker engine answers: {probe.stderr.strip().splitlines()[-1:]}")
    if probe.stdout.strip() == "vfs":
        pytest.skip("the Docker engine uses the vfs storage driver (copies every layer whole): use overlay2")


def sh(*args: str, env: dict[str, str] | None = None, timeout: float = 900, check: bool = True) -> str:
    done = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bridge_address() -> str:
    """The host's address on docker0: what the containers reach the stand-in Slack at."""
    answer = sh("docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}")
    return answer.strip() or "172.17.0.1"


@dataclass
class Stack:
    env: dict[str, str]  # for deploy/stack: AEGIS_ENV_FILE, AEGIS_PROJECT, AEGIS_CA_BUNDLE
    values: dict[str, str]  # the .env
    root: Path
    url: str
    slack: FakeSlack
    images: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    def stack(self, *args: str, timeout: float = 900) -> str:
        return sh(str(STACK), *args, env=self.env, timeout=timeout)

    def container(self, service: str) -> str:
        project = f"label=com.docker.compose.project={self.env['AEGIS_PROJECT']}"
        found = sh(
            "docker",
            "ps",
            "-aq",
            "--filter",
            project,
            "--filter",
            f"label=com.docker.compose.service={service}",
        )
        (container,) = found.split()
        return container

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        ).json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def launch(self, session: str, checks: list[dict] | None = None) -> str:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": JOB}
        if checks is not None:  # only these checks, as "Execute checks" in the UI
            selector |= {"assetSelection": [], "assetCheckSelection": checks}
        params = {
            "selector": selector,
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": session}]},
        }
        answer = self.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        assert answer["__typename"] == "LaunchRunSuccess", answer
        return answer["run"]["runId"]

    def run(self, run_id: str) -> dict:
        return self.graphql(RUN, {"id": run_id})["runOrError"]

    def wait_run(self, run_id: str, timeout_s: float = 300, on_container=None) -> dict:
        """Until the run (or the run retrying it) ends; ``on_container(id)`` when its container is seen."""
        deadline, seen = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                retry = self.retry_of(run_id)
                if run["status"] == "SUCCESS" or retry is None:
                    return run
                run_id = retry  # run monitoring failed it and run_retries launched another
                continue
            if seen is None and on_container is not None:
                ids = sh("docker", "ps", "-q", "--filter", f"label=dagster/run_id={run_id}").split()
                if ids:
                    seen = ids[0]
                    on_container(seen)
            time.sleep(0.5)
        raise AssertionError(f"run {run_id} not finished after {timeout_s}s: {self.run(run_id)['status']}")

    def retry_of(self, run_id: str) -> str | None:
        for run in self.graphql(RUNS)["runsOrError"]["results"]:
            if {t["key"]: t["value"] for t in run["tags"]}.get("dagster/parent_run_id") == run_id:
                return run["runId"]
        return None

    def wait_slack(self, words: list[str], timeout_s: float) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in self.slack.messages:
                if all(w in message.get("text", "") for w in words):
                    return message
            time.sleep(1)
        raise AssertionError(f"no Slack message with {words} after {timeout_s}s: {self.slack.messages}")


def tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def _base_images(token: str) -> tuple[str, str, bool]:
    """The official base images if the engine has them, else names for the stand-ins to build."""
    have = [sh("docker", "image", "inspect", i, check=False, timeout=30) for i in OFFICIAL]
    if all(h.strip() not in ("", "[]") for h in have):
        return OFFICIAL[0], OFFICIAL[1], False
    return f"aegis-test-python:{token}", f"aegis-test-postgres:{token}", True


def _leftovers(project: str) -> list[str]:
    found = sh("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").split()
    found += sh("docker", "ps", "-aq", "--filter", "label=dagster/run_id").split()
    found += [
        n for n in sh("docker", "network", "ls", "--format", "{{.Name}}").split() if n == "aegis_network"
    ]
    found += [
        v for v in sh("docker", "volume", "ls", "--format", "{{.Name}}").split() if v.startswith("aegis_")
    ]
    return found


def _clear_earlier_test_stacks() -> list[str]:
    """Remove what an earlier run of this test left behind when its teardown failed: containers,
    networks and volumes of a compose project ``aegistest…`` (this fixture's), never another stack's."""
    removed = []
    for kind, listing in (
        ("container", ["ps", "-a"]),
        ("network", ["network", "ls"]),
        ("volume", ["volume", "ls"]),
    ):
        key = "{{.ID}}" if kind == "container" else "{{.Name}}"
        rows = sh(
            "docker", *listing, "--format", key + ' {{.Label "com.docker.compose.project"}}'
        ).splitlines()
        ours = [
            name for name, _, project in (r.partition(" ") for r in rows) if project.startswith("aegistest")
        ]
        if ours:
            sh("docker", *(["rm", "-f"] if kind == "container" else [kind, "rm"]), *ours)
            removed += ours
    return removed


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    docker_engine_or_skip()
    _clear_earlier_test_stacks()
    if _leftovers("aegis"):
        pytest.fail(f"another aegis stack is on this engine (would share its volumes): {_leftovers('aegis')}")
    token = secrets.token_hex(4)
    project = f"aegistest{token}"
    root = tmp_path_factory.mktemp("stack")
    for name in ("archive", "lake", "tokens", "reference", "config"):
        (root / name).mkdir()
        if name in ("archive", "lake", "tokens"):
            if os.geteuid() == 0:
                os.chown(root / name, 10001, 10001)
            else:
                (root / name).chmod(0o777)
    shutil.copy(PROJECT / "deploy/smoke/production.yaml", root / "config/production.yaml")
    shutil.copy(PROJECT / "deploy/smoke/universe.txt", root / "config/universe.txt")
    (root / "config/universe-env.txt").write_text("\n".join(ENV_UNIVERSE) + "\n")
    python_image, postgres_image, standins = _base_images(token)
    port = free_port()
    # The stand-in Slack on the bridge address, over https (a Slack URL off loopback must be https):
    # a self-signed certificate for that address, trusted by the services through SSL_CERT_FILE.
    bridge = bridge_address()
    cert, key = root / "config/stand-in-slack.pem", root / "stand-in-slack.key"
    sh(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=stand-in-slack", "-addext", f"subjectAltName=IP:{bridge}",
        "-keyout", str(key), "-out", str(cert), timeout=60,
    )  # fmt: skip
    slack = FakeSlack(host=bridge, tls=(str(cert), str(key))).__enter__()
    values = {
        "AEGIS_IMAGE": f"aegis-test-pipelines:{token}",
        "AEGIS_PYTHON_IMAGE": python_image,
        "AEGIS_POSTGRES_IMAGE": postgres_image,
        "AEGIS_STANDIN_DEBIAN": f"aegis-test-debian:{token}",
        "AEGIS_WEBSERVER_PORT": str(port),
        "AEGIS_WEBSERVER_URL": f"http://127.0.0.1:{port}",
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        **{
            f"AEGIS_{n.upper()}_DIR": str(root / n)
            for n in ("archive", "lake", "tokens", "reference", "config")
        },
        "DAGSTER_POSTGRES_USER": "dagster",
        "DAGSTER_POSTGRES_PASSWORD": secrets.token_hex(12),
        "DAGSTER_POSTGRES_DB": "dagster",
        "POLYGON_API_KEY": "unused-with-the-simulated-market",
        "SLACK_BOT_TOKEN": f"xoxb-smoke-{token}",
        "AEGIS_SLACK_BASE_URL": slack.base_url,
        "SSL_CERT_FILE": "/config/stand-in-slack.pem",
        "SAXOBANK_APP_KEY_LIVE": "unused-keeper-disabled",
        "SAXOBANK_APP_SECRET_LIVE": "unused-keeper-disabled",
        "AEGIS_DASHBOARD_URLS": "http://127.0.0.1:9/unused-monitor-disabled",
        # Set only here, not in the profile: the runs must see these values.
        "AEGIS_UNIVERSE_FILE": "/config/universe-env.txt",
        "AEGIS_SAXO_TOKEN_CACHE_PATH": f"/data/tokens/from-env-{token}.json",
        "AEGIS_PT_HEARTBEAT_STALE_SEC": "123",
        "AEGIS_WATCHDOG_INTERVAL_S": "3",
        "AEGIS_WATCHDOG_HEARTBEAT_MAX_AGE_S": "45",
    }
    env_file = root / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    env_file.chmod(0o600)
    env = {"AEGIS_ENV_FILE": str(env_file), "AEGIS_PROJECT": project, "AEGIS_WAIT_S": "420"}
    if CA_BUNDLE.is_file():
        env["AEGIS_CA_BUNDLE"] = str(CA_BUNDLE)
    images = [values["AEGIS_IMAGE"]]
    if standins:
        images += [python_image, postgres_image, values["AEGIS_STANDIN_DEBIAN"]]
    s = Stack(env, values, root, f"http://127.0.0.1:{port}", slack, images)
    started = time.monotonic()
    try:
        if standins:
            s.stack("standins")
            s.seconds["standins"] = round(time.monotonic() - started, 1)
        mark = time.monotonic()
        s.stack("build")
        s.seconds["build"] = round(time.monotonic() - mark, 1)
        mark = time.monotonic()
        s.stack("up")
        s.seconds["up"] = round(time.monotonic() - mark, 1)
        yield s
    finally:
        mark = time.monotonic()
        sh(str(STACK), "down", "-v", env=env, check=False, timeout=300)
        s.seconds["down"] = round(time.monotonic() - mark, 1)
        sh("docker", "image", "rm", "-f", *images, check=False, timeout=300)
        sh("docker", "builder", "prune", "-f", check=False, timeout=300)
        slack.__exit__(None, None, None)
        s.seconds["total"] = round(time.monotonic() - started, 1)
        print(f"\ndeployment test seconds: {json.dumps(s.seconds)}")


def test_image_is_small_and_holds_no_build_secret(stack):
    image = stack.values["AEGIS_IMAGE"]
    size = int(sh("docker", "image", "inspect", image, "--format", "{{.Size}}"))
    stack.seconds["image_bytes"] = size
    assert size <= 1_000_000_000, f"{image} is {size / 1e9:.2f} GB"
    history = sh("docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
    assert "ca-certificates.crt" not in history
    if CA_BUNDLE.is_file():
        # The certificates the build trusted beyond the image's own bundle (the proxy's CA, if any)
        # are in no file of the image.
        own = sh("docker", "run", "--rm", image, "cat", "/etc/ssl/certs/ca-certificates.crt")
        extra = [pem for pem in pem_blocks(CA_BUNDLE.read_text()) if pem not in pem_blocks(own)]
        lines = [pem.splitlines()[len(pem.splitlines()) // 2] for pem in extra]
        if lines:
            found = subprocess.run(
                [
                    "docker",
                    "run",
                    "--rm",
                    "-u",
                    "0",
                    "--entrypoint",
                    "grep",
                    image,
                    "-rIlF",
                    "--exclude-dir=proc",
                    "--exclude-dir=sys",
                    *[a for line in lines for a in ("-e", line)],
                    "/",
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert found.stdout.strip() == "", f"the build's CA certificates are in the image: {found.stdout}"
        assert "/run/secrets" not in sh("docker", "run", "--rm", image, "sh", "-c", "ls -d /run/* || true")


def pem_blocks(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if "BEGIN CERTIFICATE" in line:
            current = []
        elif "END CERTIFICATE" in line:
            blocks.append("\n".join(current))
        else:
            current.append(line.strip())
    return blocks


def test_the_eod_run_starts_in_its_own_container_with_the_env_values(stack):
    seen: dict[str, dict] = {}

    def inspect(container: str) -> None:
        config = json.loads(sh("docker", "inspect", container))[0]["Config"]
        seen[container] = dict(item.split("=", 1) for item in config["Env"])

    mark = time.monotonic()
    run_id = stack.launch(FIRST)
    run = stack.wait_run(run_id, on_container=inspect)
    stack.seconds["first_run"] = round(time.monotonic() - mark, 1)
    assert run["status"] == "SUCCESS", run
    ((container, env),) = seen.items()
    assert tags(run)["docker/container_id"] == container or tags(run)["docker/container_id"].startswith(
        container
    )
    # The values of .env, forwarded by the launcher (not in the instance config, not in the profile).
    assert env["AEGIS_SAXO_TOKEN_CACHE_PATH"] == stack.values["AEGIS_SAXO_TOKEN_CACHE_PATH"]
    assert env["AEGIS_PT_HEARTBEAT_STALE_SEC"] == "123"
    assert env["AEGIS_UNIVERSE_FILE"] == "/config/universe-env.txt"
    assert env["AEGIS_SLACK_BASE_URL"] == stack.values["AEGIS_SLACK_BASE_URL"]
    assert "AEGIS_ARCHIVE_DIR" not in env and "DOCKER_GID" not in env  # host-side only
    # ... and the run acted on them: the files of the .env universe, in the host folder.
    day = parse_session_date(FIRST)
    archive = stack.root / "archive"
    for symbol in ENV_UNIVERSE:
        assert layout.options_file(archive, symbol, day).is_file(), symbol
        assert layout.stock_file(archive, symbol, day).is_file(), symbol
    assert not layout.options_file(archive, NOT_IN_ENV_UNIVERSE, day).exists()
    assert any((stack.root / "lake").rglob("*.parquet")), "nothing in the host's lake folder"
    # The checks were evaluated and passed; nothing was alerted.
    execution = stack.graphql(
        CHECK_EXECUTIONS, {"key": {"path": ["ldas", "options"]}, "name": "universe_coverage"}
    )["assetCheckExecutions"]
    assert [(e["runId"], e["evaluation"]["success"]) for e in execution] == [(run_id, True)]
    assert stack.slack.messages == []


def test_a_run_survives_a_restart_of_the_daemon_container(stack):
    restarted = []

    def restart(_container: str) -> None:
        sh("docker", "restart", "-t", "20", stack.container("daemon"))
        restarted.append(time.monotonic())

    mark = time.monotonic()
    run = stack.wait_run(stack.launch(SECOND), on_container=restart)
    stack.seconds["run_with_daemon_restart"] = round(time.monotonic() - mark, 1)
    assert restarted and run["status"] == "SUCCESS", run
    assert layout.options_file(stack.root / "archive", "CORN", parse_session_date(SECOND)).is_file()
    deadline = time.monotonic() + 120
    while True:  # the restarted daemon is healthy again
        statuses = stack.graphql(DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
        if all(d["healthy"] for d in statuses if d["required"]):
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(2)


def test_a_failing_check_reaches_slack(stack):
    gone = layout.options_file(stack.root / "archive", "CORN", parse_session_date(FIRST))
    gone.unlink()
    mark = time.monotonic()
    run = stack.wait_run(
        stack.launch(FIRST, checks=[{"assetKey": {"path": ["ldas", "options"]}, "name": "universe_coverage"}])
    )
    assert run["status"] == "SUCCESS", run  # a failed non-blocking check does not fail its run
    message = stack.wait_slack(["Asset check failed", "universe_coverage", FIRST], timeout_s=180)
    stack.seconds["check_alert"] = round(time.monotonic() - mark, 1)
    assert "CORN" in json.dumps(message) or "coverage" in message["text"]
    assert message["channel"] == "#aegis-smoke"
    assert stack.slack.auth_headers[-1] == f"Bearer {stack.values['SLACK_BOT_TOKEN']}"


def test_the_watchdog_alerts_when_the_daemon_is_stopped(stack):
    assert not any("Dagster daemon is down" in m["text"] for m in stack.slack.messages)
    daemon = stack.container("daemon")
    mark = time.monotonic()
    sh("docker", "stop", "-t", "20", daemon)
    try:
        message = stack.wait_slack(["Dagster daemon is down"], timeout_s=180)
        stack.seconds["watchdog_alert"] = round(time.monotonic() - mark, 1)
        assert message["channel"] == "#aegis-smoke"
    finally:
        sh("docker", "start", daemon)
    # `deploy/stack status`: the services, and the watchdog's verdict once the daemon beats again.
    deadline = time.monotonic() + 180
    while True:
        status = sh(str(STACK), "status", env=stack.env, check=False, timeout=120)
        if "ok: daemon alive" in status:
            break
        assert time.monotonic() < deadline, status
        time.sleep(5)
    assert "watchdog" in status and "daemon" in status


def test_down_leaves_nothing_behind(stack):
    mark = time.monotonic()
    stack.stack("down", "-v", timeout=300)
    stack.seconds["down_checked"] = round(time.monotonic() - mark, 1)
    assert _leftovers(stack.env["AEGIS_PROJECT"]) == []
