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
3. a run container killed (``docker kill``) mid-run: run monitoring fails the run, Slack is told, and
   the run queued behind it on the vendor lane starts;
4. ``deploy/stack eod DATE`` (a one-off container) with the daemon and run monitoring on: its run goes
   through the run queue into a container of its own, ends SUCCESS, and nothing alerts for it;
5. ``dagster asset materialize`` in the code location's container (a run no launcher started): left
   alone while it runs, failed once its process is killed;
6. a file removed from the host folder makes a check fail, and the alert sensor tells Slack;
7. the daemon stopped: the watchdog (its own container) tells Slack;
8. ``deploy/stack down -v`` leaves no container, network or volume; the images are removed.

The stack runs the project's image with one file changed: ``run_monitoring.poll_interval_seconds``
is 5 s in the instance policy instead of production's 30 s, so monitoring looks at each short run.

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
PRODUCTION_POLL = "  poll_interval_seconds: 30\n"
TEST_POLL_S = 5
# Sessions after FIRST: none before the first session the archive holds chains of.
KILLED, QUEUED_BEHIND, ONE_OFF, MATERIALIZED, MATERIALIZE_KILLED = (
    "2026-11-23",
    "2026-11-24",
    "2026-11-25",
    "2026-11-30",
    "2026-12-01",
)
LIMIT_S = 120  # a dead run is failed, and the next one starts, within two minutes
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
LOGS = """
query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
  __typename ... on MessageEvent { message } } } } }"""
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
        """The answer of the published UI port; a dropped connection is tried again for a minute
        (then the services' state and the webserver's last log lines say why)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.post(
                    f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
                )
                break
            except httpx.TransportError as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the UI port does not answer ({exc}):\n{self.diagnostics()}"
                    ) from exc
                time.sleep(1)
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def diagnostics(self) -> str:
        states = sh("docker", "ps", "-a", "--format", "{{.Names}} {{.Status}}", check=False, timeout=60)
        logs = subprocess.run(
            ["docker", "logs", "--tail", "40", self.container("webserver")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return f"{states}\n--- webserver:\n{logs.stdout[-4000:]}{logs.stderr[-4000:]}"

    def launch(self, session: str, checks: list[dict] | None = None, retries: bool = True) -> str:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": JOB}
        if checks is not None:  # only these checks, as "Execute checks" in the UI
            selector |= {"assetSelection": [], "assetCheckSelection": checks}
        run_tags = [{"key": "dagster/partition", "value": session}]
        if not retries:
            run_tags.append({"key": "dagster/max_retries", "value": "0"})
        params = {
            "selector": selector,
            "runConfigData": {},
            "executionMetadata": {"tags": run_tags},
        }
        answer = self.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        assert answer["__typename"] == "LaunchRunSuccess", answer
        return answer["run"]["runId"]

    def run(self, run_id: str) -> dict:
        return self.graphql(RUN, {"id": run_id})["runOrError"]

    def wait_status(self, run_id: str, done, what: str, timeout_s: float = LIMIT_S) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.run(run_id)
            if done(run["status"]):
                return run
            assert time.monotonic() < deadline, f"run {run_id[:8]} not {what} after {timeout_s}s: {run}"
            time.sleep(0.5)

    def failure_message(self, run_id: str) -> str:
        events = self.graphql(LOGS, {"id": run_id})["logsForRun"]["events"]
        return "\n".join(e["message"] for e in events if e["__typename"] == "RunFailureEvent")

    def monitoring_checks(self, run_id: str) -> int:
        """How many times the daemon's run monitoring looked at the run (its log says so)."""
        logs = subprocess.run(
            ["docker", "logs", self.container("daemon")], capture_output=True, text=True, timeout=60
        )
        return (logs.stdout + logs.stderr).count(f"Checking run {run_id}")

    def alerts_about(self, run_id: str) -> list[dict]:
        return [m for m in self.slack.messages if run_id[:8] in json.dumps(m)]

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


def with_test_poll_interval(image: str, folder: Path) -> None:
    """Re-tag ``image`` as itself plus one file: the instance policy with run monitoring's poll
    interval at ``TEST_POLL_S`` (production keeps its 30 s; everything else is the same file)."""
    policy = (PROJECT / "deploy/dagster.yaml").read_text()
    assert policy.count(PRODUCTION_POLL) == 1, "deploy/dagster.yaml: production's poll interval moved"
    folder.mkdir()
    (folder / "dagster.yaml").write_text(
        policy.replace(PRODUCTION_POLL, f"  poll_interval_seconds: {TEST_POLL_S}\n")
    )
    (folder / "Dockerfile").write_text(
        "ARG BASE\nFROM ${BASE}\nCOPY dagster.yaml /opt/dagster/home/dagster.yaml\n"
    )
    sh("docker", "build", "-q", "--build-arg", f"BASE={image}", "-t", image, str(folder), timeout=300)


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
        with_test_poll_interval(values["AEGIS_IMAGE"], root / "test-instance")
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
    # Nothing about this run (in market hours the intraday schedule runs beside the test, and its
    # slot watchdog may speak of its own slots).
    assert stack.alerts_about(run_id) == []
    assert not [m for m in stack.slack.messages if "ldas_eod_job" in json.dumps(m)]


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


def test_a_killed_run_container_is_failed_and_the_next_vendor_run_starts(stack):
    victim = stack.launch(KILLED, retries=False)  # not retried: the failure alerts
    stack.wait_status(victim, lambda st: st == "STARTED", "started", timeout_s=300)
    queued = stack.launch(QUEUED_BEHIND)
    (container,) = sh("docker", "ps", "-q", "--filter", f"label=dagster/run_id={victim}").split()
    time.sleep(1)
    assert stack.run(queued)["status"] == "QUEUED"  # behind the victim on the vendor lane
    sh("docker", "kill", container)
    killed = time.monotonic()
    failed = stack.wait_status(victim, lambda st: st != "STARTED", "failed")
    stack.seconds["killed_container_failed_after"] = round(time.monotonic() - killed, 1)
    assert failed["status"] == "FAILURE", failed
    assert "Detected run worker status" in stack.failure_message(victim)
    stack.wait_status(queued, lambda st: st not in ("QUEUED", "NOT_STARTED"), "dequeued")
    stack.seconds["next_vendor_run_started_after"] = round(time.monotonic() - killed, 1)
    assert stack.wait_run(queued)["status"] == "SUCCESS"
    message = stack.wait_slack(["Run failed", "ldas_eod_job", victim[:8]], timeout_s=120)
    assert message["channel"] == "#aegis-smoke"


def test_a_one_off_eod_run_ends_success_and_nothing_alerts(stack):
    mark = time.monotonic()
    out = stack.stack("eod", ONE_OFF, timeout=600)
    stack.seconds["one_off_eod"] = round(time.monotonic() - mark, 1)
    (run_id,) = {line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("run ")}
    assert "queued" in out and "SUCCESS in" in out and run_id in out.splitlines()[-2], out
    run = stack.run(run_id)
    assert run["status"] == "SUCCESS" and tags(run)["aegis/trigger"] == "cli"
    assert tags(run)["docker/container_id"]  # launched by the daemon into a container of its own
    assert stack.failure_message(run_id) == ""  # never marked failed, not even for a moment
    assert stack.monitoring_checks(run_id) >= 1  # run monitoring looked at it
    assert layout.options_file(stack.root / "archive", "CORN", parse_session_date(ONE_OFF)).is_file()
    time.sleep(35)  # one period of the alert sensors
    assert stack.alerts_about(run_id) == []


SLOW_PROFILE = "/tmp/slow.yaml"  # the smoke profile with a slow simulated market


def materialize_in_code_location(stack: Stack, session: str) -> subprocess.Popen:
    """``dagster asset materialize`` of the end-of-day fetches, inside the code location's container,
    on a simulated market that answers in 3 s: the run lasts several of monitoring's 5 s polls, so
    monitoring is seen to ask about it while it lives (a fast run could end between two polls)."""
    container = stack.container("code_location")
    profile = f"cat /config/production.yaml > {SLOW_PROFILE}; echo >> {SLOW_PROFILE}"
    sh(
        "docker",
        "exec",
        container,
        "sh",
        "-c",
        f"{profile}; echo 'sim: {{latency_ms: 3000}}' >> {SLOW_PROFILE}",
    )
    return subprocess.Popen(
        ["docker", "exec", "-e", f"AEGIS_CONFIG={SLOW_PROFILE}", container, "dagster", "asset", "materialize",
         "-m", "aegis_pipelines.definitions", "--select", "ldas/vix,ldas/stocks,ldas/options",
         "--partition", session],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def started_materialization(stack: Stack, session: str, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run in stack.graphql(RUNS)["runsOrError"]["results"]:
            run_tags = tags(run)
            if run_tags.get("dagster/partition") == session and "aegis/pid" in run_tags:
                return run
        time.sleep(0.5)
    raise AssertionError(f"no materialization of {session} recorded its worker after {timeout_s}s")


def test_a_run_no_launcher_started_is_watched_too(stack):
    living = materialize_in_code_location(stack, MATERIALIZED)
    output, _ = living.communicate(timeout=600)
    assert living.returncode == 0, output[-3000:]
    run = started_materialization(stack, MATERIALIZED)
    assert run["status"] == "SUCCESS" and "docker/container_id" not in tags(run)
    assert tags(run)["aegis/container"].startswith(stack.container("code_location"))
    assert stack.failure_message(run["runId"]) == ""
    assert stack.monitoring_checks(run["runId"]) >= 1  # asked about while it ran, and left alone

    doomed = materialize_in_code_location(stack, MATERIALIZE_KILLED)
    try:
        run = started_materialization(stack, MATERIALIZE_KILLED)
        pid = tags(run)["aegis/pid"]
        sh(
            "docker",
            "exec",
            stack.container("code_location"),
            "python",
            "-c",
            f"import os; os.kill({pid}, 9)",
        )
        killed = time.monotonic()
        failed = stack.wait_status(run["runId"], lambda st: st != "STARTED", "failed")
        stack.seconds["killed_materialization_failed_after"] = round(time.monotonic() - killed, 1)
        assert failed["status"] == "FAILURE", failed
        assert f"its process (pid {pid} in container" in stack.failure_message(run["runId"])
    finally:
        doomed.kill()
        doomed.wait(timeout=30)


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
