"""deploy/: the compose file, .env.example, the production dagster.yaml, workspace.yaml and the Dockerfile
agree with each other and with the settings (no Docker engine here: static, but complete)."""

from __future__ import annotations

import tomllib
from pathlib import PurePosixPath

import pytest
import yaml

from aegis_core.base.settings import (
    SECRET_VARIABLES,
    load_settings,
    requirements,
    settings_variables,
)
from aegis_pipelines.doctor import profile_supplies
from aegis_pipelines.instance.launcher import forwarded_variables
from tests.conftest import PROJECT
from tests.deploy.compose import (
    DEPLOY,
    MissingVariable,
    all_references,
    compose,
    dockerfile_instructions,
    env_example,
    instance_config,
    interpolate,
    mounts,
    service_environment,
)

SERVICES = {"postgres", "code_location", "webserver", "daemon", "watchdog"}
# The services that load the settings: they get the whole .env (env_file).
SETTINGS_SERVICES = ["code_location", "daemon", "watchdog"]
DAGSTER_SERVICES = ["code_location", "webserver", "daemon"]
STORAGE_VARIABLES = {
    "DAGSTER_POSTGRES_HOST",
    "DAGSTER_POSTGRES_USER",
    "DAGSTER_POSTGRES_PASSWORD",
    "DAGSTER_POSTGRES_DB",
}
DATA_VOLUMES = {"archive", "lake", "tokens", "reference", "config"}


@pytest.fixture(scope="module")
def spec() -> dict:
    return compose()


@pytest.fixture(scope="module")
def filled_env() -> dict[str, str]:
    """.env.example with a stand-in for every empty value (what an operator's .env looks like)."""

    def stand_in(name: str) -> str:  # a URL where a URL is expected: the settings check its form
        if name.endswith(("_URL", "_URLS")):
            return f"https://{name.lower().replace('_', '-')}.example/"
        return f"value-of-{name.lower()}"

    return {k: v or stand_in(k) for k, v in env_example().items()}


def configured() -> list[str]:
    return instance_config()["run_launcher"]["config"]["env_vars"]


def forwarded(environ: dict[str, str]) -> list[str]:
    """What the production launcher passes a run container, with the daemon's environment ``environ``."""
    return forwarded_variables(configured(), environ)


def test_every_service_volume_and_network_is_there(spec):
    assert set(spec["services"]) == SERVICES
    postgres = spec["services"]["postgres"]
    assert postgres["image"] == "${AEGIS_POSTGRES_IMAGE:-postgres:16-bookworm}"  # official by default
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert mounts(postgres)["/var/lib/postgresql/data"] == "postgres"
    for name, service in spec["services"].items():
        assert service["networks"] == ["aegis"], name
        assert service["restart"] == "unless-stopped", name
    for name in DAGSTER_SERVICES:
        assert spec["services"][name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("webserver", "daemon"):
        assert spec["services"][name]["depends_on"]["code_location"]["condition"] == "service_healthy"
    network = spec["networks"]["aegis"]["name"]
    assert instance_config()["run_launcher"]["config"]["network"] == network
    assert set(spec["volumes"]) == {"postgres", "dagster_logs", *DATA_VOLUMES}
    build = spec["services"]["code_location"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
    assert build["args"] == {"PYTHON_IMAGE": "${AEGIS_PYTHON_IMAGE:-python:3.11-slim-bookworm}"}
    assert "name" not in spec  # docker-compose 1.29 rejects a top-level name (the project is -p aegis)
    watchdog = spec["services"]["watchdog"]
    assert watchdog["command"] == ["aegis", "watchdog"] and watchdog["image"] == spec["x-image"]
    assert watchdog["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert watchdog["depends_on"]["daemon"]["condition"] == "service_started"
    assert "/var/run/docker.sock" not in mounts(watchdog)


def test_code_location_serves_what_workspace_yaml_points_at(spec):
    service = spec["services"]["code_location"]
    grpc = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"][0]["grpc_server"]
    command = service["command"]
    assert grpc["host"] == "code_location"
    assert command[command.index("-p") + 1] == str(grpc["port"])
    assert command[command.index("--location-name") + 1] == grpc["location_name"] == "aegis"
    assert command[command.index("-m") + 1] == "aegis_pipelines.definitions"
    assert service["environment"]["DAGSTER_CURRENT_IMAGE"] == service["image"]  # the image runs start from
    assert f"('127.0.0.1', {grpc['port']})" in service["healthcheck"]["test"][-1]
    # The image's default command is the same server.
    cmd = next(args for instr, args in dockerfile_instructions() if instr == "CMD")
    assert yaml.safe_load(cmd) == command
    for name in ("webserver", "daemon"):
        workspace = spec["services"][name]["command"][-1]
        assert workspace == "/opt/dagster/home/workspace.yaml"


def test_ui_is_published_on_localhost_only(spec):
    published = {name: s.get("ports") for name, s in spec["services"].items() if s.get("ports")}
    assert list(published) == ["webserver"]
    for port in published["webserver"]:
        assert port.startswith("127.0.0.1:") and port.endswith(":3000")


def test_docker_socket_only_where_the_run_launcher_needs_it(spec):
    with_socket = {name for name, s in spec["services"].items() if "/var/run/docker.sock" in mounts(s)}
    assert with_socket == {
        "webserver",
        "daemon",
    }  # daemon launches and monitors runs; webserver terminates them
    for name in with_socket:
        (group,) = spec["services"][name]["group_add"]
        assert group.startswith("${DOCKER_GID:?")  # the socket's group, so the non-root user may use it


def required_variables() -> set[str]:
    return {name for name, op, _ in all_references(compose()) if op == ":?"}


def test_every_variable_is_listed_in_env_example_and_required_ones_name_themselves():
    refs = all_references(compose())
    declared = env_example()
    referenced = {name for name, _, _ in refs}
    assert referenced <= set(declared), f"not in .env.example: {referenced - set(declared)}"
    # The others reach the services through env_file: only settings variables may be among them.
    assert set(declared) - referenced <= set(settings_variables()), set(declared) - referenced
    required = {name for name, op, _ in refs if op == ":?"}
    for name, op, message in refs:
        if op == ":?":
            assert message.startswith(name), f"the message of ${{{name}:?…}} must name it: {message!r}"
    assert SECRET_VARIABLES - {"MASSIVE_API_KEY", "AEGIS_DASHBOARD_TOKEN"} <= required
    assert {
        "DAGSTER_POSTGRES_PASSWORD",
        "DOCKER_GID",
        "AEGIS_ARCHIVE_DIR",
        "AEGIS_LAKE_DIR",
        "AEGIS_TOKENS_DIR",
        "AEGIS_CONFIG_DIR",
    } <= required


def test_env_example_holds_no_secret_values():
    declared = env_example()
    for name in [*SECRET_VARIABLES, "DAGSTER_POSTGRES_PASSWORD"]:
        if name in declared:
            assert declared[name] == "", f"{name} must be empty in .env.example"


def test_compose_resolves_and_each_missing_required_variable_is_named(spec, filled_env):
    resolved = interpolate(spec, filled_env)
    daemon = service_environment(resolved["services"]["daemon"])
    assert daemon["POLYGON_API_KEY"] == "value-of-polygon_api_key"
    assert resolved["volumes"]["archive"]["driver_opts"]["device"] == "value-of-aegis_archive_dir"
    required = sorted(required_variables())
    for name in required:
        env = {k: v for k, v in filled_env.items() if k != name}
        with pytest.raises(MissingVariable, match=f"required variable {name} is missing a value: {name}"):
            interpolate(spec, env)
    # Optional ones fall back to their defaults.
    bare = {k: v for k, v in filled_env.items() if k in required}
    resolved = interpolate(spec, bare)
    assert resolved["services"]["postgres"]["image"] == "postgres:16-bookworm"
    assert (
        resolved["services"]["code_location"]["build"]["args"]["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    )


def test_every_settings_variable_of_env_reaches_the_runs(spec, filled_env):
    services = spec["services"]
    for name in SETTINGS_SERVICES:  # the whole .env: any setting set there is seen
        assert services[name]["env_file"] == ".env", name
        assert service_environment(services[name])["AEGIS_CONFIG"].startswith("/config/"), name
    for name in ("code_location", "watchdog"):  # they load the profile (the daemon only forwards)
        assert mounts(services[name])["/config"] == "config", name
    # The instance config names only the storage; the launcher adds the settings variables that are
    # set in the daemon's environment, whatever .env holds (one list: the settings model's).
    assert set(configured()) == STORAGE_VARIABLES
    daemon_env = {
        **filled_env,
        "AEGIS_CONFIG": "/config/production.yaml",
        "AEGIS_SAXO_TOKEN_CACHE_PATH": "/x",
        "AEGIS_PT_HEARTBEAT_STALE_SEC": "120",
    }
    runs = forwarded(daemon_env)
    assert len(runs) == len(set(runs))
    assert set(runs) == STORAGE_VARIABLES | (set(settings_variables()) & set(daemon_env))
    assert {
        "AEGIS_SAXO_TOKEN_CACHE_PATH",
        "AEGIS_PT_HEARTBEAT_STALE_SEC",
        "AEGIS_WATCHDOG_TICK_GRACE_S",
        "POLYGON_API_KEY",
    } <= set(runs)
    assert "AEGIS_ARCHIVE_DIR" not in runs and "DOCKER_GID" not in runs  # host-side variables stay there
    # A variable unset in the daemon is not forwarded (DockerRunLauncher would fail the launch on it).
    assert "AEGIS_SAXO_TOKEN_CACHE_PATH" not in forwarded(filled_env)
    # The webserver needs the storage, never the pipeline's secrets.
    webserver = services["webserver"]
    assert set(service_environment(webserver)) == STORAGE_VARIABLES and "env_file" not in webserver
    # Every {env: …} of the instance config reaches every Dagster process and every run.
    storage_env = {
        v["env"]
        for v in instance_config()["storage"]["postgres"]["postgres_db"].values()
        if isinstance(v, dict)
    }
    assert storage_env == STORAGE_VARIABLES
    for name in [*DAGSTER_SERVICES, "watchdog"]:
        assert storage_env <= set(service_environment(services[name])), name
    assert storage_env <= set(runs)


def test_what_production_settings_require_is_required_by_compose_and_forwarded(spec, filled_env, tmp_path):
    universe = tmp_path / "universe.txt"
    universe.write_text("SPY\n")
    env = {
        **filled_env,
        "AEGIS_CONFIG": str(PROJECT / "configs/production.yaml"),
        "AEGIS_UNIVERSE_FILE": str(universe),
    }
    # What the environment must supply: the required settings the profile file does not set itself.
    needed = {
        r.variable for r in requirements(load_settings(env)) if r.reason and not profile_supplies(env, r)
    }
    assert needed == {
        "POLYGON_API_KEY",
        "SLACK_BOT_TOKEN",
        "SAXOBANK_APP_KEY_LIVE",
        "SAXOBANK_APP_SECRET_LIVE",
        "AEGIS_DASHBOARD_URLS",
    }
    assert needed <= required_variables()
    assert needed <= set(forwarded(filled_env))


def test_runs_mount_the_same_volumes_as_the_services(spec):
    volume_names = {key: v["name"] for key, v in spec["volumes"].items()}
    run_mounts = {}
    for item in instance_config()["run_launcher"]["config"]["container_kwargs"]["volumes"]:
        source, target, *mode = item.split(":")
        run_mounts[target] = (source, mode)
    code_location = spec["services"]["code_location"]
    expected = {
        target: (volume_names[source], [m for m in item.split(":")[2:]])
        for item in code_location["volumes"]
        for source, target in [item.split(":")[:2]]
    }
    webserver = mounts(spec["services"]["webserver"])
    expected["/opt/dagster/logs"] = (volume_names[webserver["/opt/dagster/logs"]], [])
    assert run_mounts == expected
    assert run_mounts["/config"][1] == ["ro"] and run_mounts["/data/reference"][1] == ["ro"]
    assert instance_config()["compute_logs"]["config"]["base_dir"] == "/opt/dagster/logs"
    # Every path of the production profile lies on one of those volumes.
    profile = yaml.safe_load((PROJECT / "configs/production.yaml").read_text())
    paths = [
        profile["archive_root"],
        profile["lake_root"],
        profile["universe_file"],
        profile["saxo"]["cache_path"],
        service_environment(code_location)["AEGIS_CONFIG"],
        env_example()["AEGIS_PARITY_ROOT"],
    ]
    for path in paths:
        assert any(PurePosixPath(path).is_relative_to(target) for target in run_mounts), path


def test_production_instance_policy():
    from aegis_assets.policy import VENDOR_TAG

    config = instance_config()
    postgres = config["storage"]["postgres"]["postgres_db"]
    assert postgres["scheme"] == "postgresql+psycopg2"  # SQLAlchemy 2.1 would pick psycopg v3 otherwise
    assert (config["run_launcher"]["module"], config["run_launcher"]["class"]) == (
        "aegis_pipelines.instance.launcher",
        "AegisDockerRunLauncher",  # DockerRunLauncher forwarding the settings variables
    )
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    (vendor_key,) = VENDOR_TAG
    assert {"key": vendor_key, "limit": 1} in limits
    assert config["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}
    assert config["run_retries"]["enabled"] and config["run_retries"]["max_retries"] >= 1
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"]
    # A dead run is failed within two minutes: a STARTED one at the next pass, one that died before
    # its run started at the start timeout (+ one pass); resuming is off (it would start a second copy).
    assert monitoring["poll_interval_seconds"] <= 30
    assert monitoring["start_timeout_seconds"] + monitoring["poll_interval_seconds"] <= 120
    assert monitoring["max_resume_run_attempts"] == 0
    assert config["telemetry"] == {"enabled": False}


def test_dockerfile_builds_from_the_lockfile_as_a_non_root_user():
    instructions = dockerfile_instructions()
    froms = [args for instr, args in instructions if instr == "FROM"]
    python = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["requires-python"]
    # Multi-stage, both stages on the base image of the build argument, official by default.
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"] and python == ">=3.11"
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm") in instructions
    # The runtime stage takes only the venv from the build stage; the CA bundle is a secret mount.
    runtime = instructions[[i for i, (instr, _) in enumerate(instructions) if instr == "FROM"][-1] :]
    assert [a for instr, a in runtime if instr == "COPY" and a.startswith("--from")] == [
        "--from=build /opt/venv /opt/venv"
    ]
    assert not any("secret" in a or "uv sync" in a for instr, a in runtime if instr == "RUN")
    ca_runs = [a for instr, a in instructions if instr == "RUN" and "ca_bundle" in a]
    assert ca_runs and all(a.startswith("--mount=type=secret,id=ca_bundle") for a in ca_runs)
    runs = " ".join(args for instr, args in instructions if instr == "RUN")
    assert "uv sync --frozen --no-dev" in runs
    users = [args for instr, args in instructions if instr == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(args for instr, args in instructions if instr == "ENV")
    assert "DAGSTER_HOME=/opt/dagster/home" in env
    copies = [args.split() for instr, args in instructions if instr == "COPY"]
    assert ["deploy/dagster.yaml", "deploy/workspace.yaml", "/opt/dagster/home/"] in copies
    assert any("uv.lock" in c for c in copies)
    for *sources, _target in (c for c in copies if not c[0].startswith("--from=")):
        for source in sources:
            assert (PROJECT / source).exists(), f"COPY {source}: no such file in the project"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert "**/.env" in ignore and ".venv" in ignore


def test_env_file_is_kept_out_of_git():
    assert ".env" in (DEPLOY / ".gitignore").read_text().splitlines()
