"""``aegis doctor`` against real loopback services: the simulated Polygon, a Slack Web API, a dashboard."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aegis_core.base.settings import SECRET_VARIABLES, SettingsError, load_settings, requirements
from aegis_core.sim import SimMarket, SimServer
from aegis_pipelines.cli import main
from aegis_pipelines.doctor import Check, run_checks
from tests.conftest import PROJECT, SMALL_UNIVERSE
from tests.fakes.dashboard import FakeDashboard
from tests.pt_health.statuses import HEALTHY

POLYGON_KEY = "pk-doctor-0123456789"
SLACK_TOKEN = "xoxb-doctor-0123456789"
APP_KEY = "saxo-app-key-0123456789"
APP_SECRET = "saxo-app-secret-0123456789"
DASHBOARD_TOKEN = "dash-token-0123456789"
SECRETS = [POLYGON_KEY, SLACK_TOKEN, APP_KEY, APP_SECRET, DASHBOARD_TOKEN]


class FakeSlackAuth:
    """Slack's ``auth.test``: ok for the one valid bot token, ``invalid_auth`` for any other."""

    def __init__(self, token: str):
        fake = self
        self.calls = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                fake.calls += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                good = (
                    self.path.endswith("/auth.test")
                    and self.headers.get("Authorization") == f"Bearer {token}"
                )
                body = (
                    {"ok": True, "team": "AEGIS", "user": "aegis-bot"}
                    if good
                    else {"ok": False, "error": "invalid_auth"}
                )
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/"

    def __enter__(self) -> FakeSlackAuth:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def write_token_cache(path: Path, *, refresh_left_s: int = 3600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "access_token": "access-secret",
                "token_type": "Bearer",
                "expires_in": 1200,
                "refresh_token": "refresh-secret",
                "refresh_token_expires_in": refresh_left_s,
                "issued_at": time.time(),
            }
        )
    )


@pytest.fixture
def services() -> Iterator[dict]:
    with (
        SimServer(SimMarket(seed=7, symbols=SMALL_UNIVERSE), api_key=POLYGON_KEY) as sim,
        FakeSlackAuth(SLACK_TOKEN) as slack,
        FakeDashboard(status=dict(HEALTHY)) as dashboard,
    ):
        yield {
            "polygon": sim.url,
            "slack": slack.base_url,
            "dashboard": dashboard.url,
            "slack_fake": slack,
            "dashboard_fake": dashboard,
        }


@pytest.fixture
def production_env(tmp_path, services) -> dict[str, str]:
    """The production profile, every path under tmp_path, every external system on loopback."""
    universe = tmp_path / "config/universe.txt"
    universe.parent.mkdir()
    universe.write_text("\n".join(SMALL_UNIVERSE) + "\n")
    tokens = tmp_path / "tokens/saxobank_tokens_live.json"
    write_token_cache(tokens)
    (tmp_path / "reference").mkdir()
    return {
        "AEGIS_CONFIG": str(PROJECT / "configs/production.yaml"),
        "AEGIS_ARCHIVE_ROOT": str(tmp_path / "archive"),
        "AEGIS_LAKE_ROOT": str(tmp_path / "lake"),
        "AEGIS_UNIVERSE_FILE": str(universe),
        "AEGIS_SAXO_TOKEN_CACHE_PATH": str(tokens),
        "AEGIS_PARITY_ROOT": str(tmp_path / "reference"),
        "POLYGON_BASE_URL": services["polygon"],
        "POLYGON_API_KEY": POLYGON_KEY,
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "AEGIS_SLACK_BASE_URL": services["slack"],
        "SAXOBANK_APP_KEY_LIVE": APP_KEY,
        "SAXOBANK_APP_SECRET_LIVE": APP_SECRET,
        "AEGIS_DASHBOARD_URLS": services["dashboard"],
        "AEGIS_DASHBOARD_TOKEN": DASHBOARD_TOKEN,
    }


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_production_profile_against_live_loopback_services_passes(production_env, services):
    checks, settings = run_checks(production_env, timeout_s=5)
    lines = "\n".join(c.line for c in checks)
    assert settings is not None and settings.profile == "production"
    assert all(c.status != "fail" for c in checks), lines
    got = by_name(checks)
    for name in [
        "settings",
        "archive root",
        "lake root",
        "saxo token cache",
        "parity reference",
        "universe",
        "polygon",
        "slack",
        "env POLYGON_API_KEY",
        "env SLACK_BOT_TOKEN",
        "env SAXOBANK_APP_KEY_LIVE",
        "env SAXOBANK_APP_SECRET_LIVE",
        "env AEGIS_DASHBOARD_URLS",
    ]:
        assert got[name].status == "pass", lines
    assert "key accepted" in got["polygon"].detail
    assert "AccessValid" in got["saxo token cache"].detail
    assert f"{len(SMALL_UNIVERSE)} symbols" in got["universe"].detail
    assert [c.status for c in checks if c.name.startswith("dashboard ")] == ["pass"]
    # Each secret went only into its own Authorization header, never into a line.
    assert services["dashboard_fake"].authorizations == [f"Bearer {DASHBOARD_TOKEN}"]
    assert services["slack_fake"].calls == 1
    assert_no_secret(lines)


def test_refused_credentials_and_a_broken_dashboard_fail_by_name(production_env, services):
    env = {**production_env, "POLYGON_API_KEY": "pk-wrong-key-987654", "SLACK_BOT_TOKEN": "xoxb-wrong-987654"}
    services["dashboard_fake"].mode = "error"
    checks, _ = run_checks(env, timeout_s=5)
    got = by_name(checks)
    assert (
        got["polygon"].status == "fail"
        and "refused the key: HTTP 401 NOT_AUTHORIZED" in got["polygon"].detail
    )
    assert got["slack"].status == "fail" and "invalid_auth" in got["slack"].detail
    dashboard = next(c for c in checks if c.name.startswith("dashboard "))
    assert dashboard.status == "fail" and "HTTP 500" in dashboard.detail
    lines = "\n".join(c.line for c in checks)
    assert "pk-wrong-key-987654" not in lines and "xoxb-wrong-987654" not in lines


def test_unreachable_polygon_fails_with_the_endpoint(production_env):
    env = {**production_env, "POLYGON_BASE_URL": "http://127.0.0.1:9"}  # discard port: nothing listens
    got = by_name(run_checks(env, timeout_s=2)[0])
    assert got["polygon"].status == "fail"
    assert "http://127.0.0.1:9 unreachable" in got["polygon"].detail


def test_missing_secrets_fail_one_line_each_and_paths_are_still_checked(production_env):
    env = {
        k: v
        for k, v in production_env.items()
        if k not in ("POLYGON_API_KEY", "SLACK_BOT_TOKEN", "SAXOBANK_APP_SECRET_LIVE", "AEGIS_DASHBOARD_URLS")
    }
    checks, settings = run_checks(env, timeout_s=2)
    assert settings is None
    got = by_name(checks)
    assert got["settings"].status == "fail"
    for variable in [
        "POLYGON_API_KEY",
        "SLACK_BOT_TOKEN",
        "SAXOBANK_APP_SECRET_LIVE",
        "AEGIS_DASHBOARD_URLS",
    ]:
        assert variable in got["settings"].detail
        assert got[f"env {variable}"].status == "fail", variable
        assert "missing; required" in got[f"env {variable}"].detail
    assert got["env SAXOBANK_APP_KEY_LIVE"].status == "pass"
    # Folders and the universe are still checked; external services are not contacted.
    assert got["archive root"].status == "pass" and got["universe"].status == "pass"
    assert got["external services"].status == "skip"
    assert "polygon" not in got


def test_requirements_match_what_the_settings_demand(production_env):
    settings = load_settings(production_env)
    required = [r for r in requirements(settings) if r.reason]
    assert {r.variable for r in required} == {
        "POLYGON_API_KEY",
        "SLACK_BOT_TOKEN",
        "AEGIS_SLACK_CHANNEL",
        "SAXOBANK_APP_KEY_LIVE",
        "SAXOBANK_APP_SECRET_LIVE",
        "AEGIS_DASHBOARD_URLS",
    }
    for req in required:
        env = {k: v for k, v in production_env.items() if k != req.variable}
        if req.setting == "alerts.slack_channel":  # the production profile names the channel itself
            assert req.is_set(load_settings(env))
            continue
        with pytest.raises(SettingsError, match=req.variable):
            load_settings(env)


def test_bad_folders_token_and_universe_are_named(production_env, tmp_path):
    (tmp_path / "not-a-folder").write_text("x")
    cache = Path(production_env["AEGIS_SAXO_TOKEN_CACHE_PATH"])
    write_token_cache(cache, refresh_left_s=-10)  # refresh token gone: a person must log in
    env = {
        **production_env,
        "AEGIS_ARCHIVE_ROOT": str(tmp_path / "not-a-folder"),
        "AEGIS_UNIVERSE_FILE": str(tmp_path / "missing.txt"),
        "AEGIS_PARITY_ROOT": str(tmp_path / "nowhere"),
    }
    got = by_name(run_checks(env, timeout_s=5)[0])
    assert (
        got["archive root"].status == "fail"
        and "not-a-folder exists but is not a folder" in got["archive root"].detail
    )
    assert got["universe"].status == "fail" and "missing.txt" in got["universe"].detail
    assert got["parity reference"].status == "fail" and "AEGIS_PARITY_ROOT" in got["parity reference"].detail
    assert got["saxo token cache"].status == "fail" and "re-authorization" in got["saxo token cache"].detail
    cache.unlink()
    got = by_name(run_checks(env, timeout_s=5)[0])
    assert "does not exist" in got["saxo token cache"].detail


def test_cli_exit_codes_and_one_line_per_item(sim_env, monkeypatch, capsys):
    for name in [*SECRET_VARIABLES, "AEGIS_DASHBOARD_URLS", "DAGSTER_HOME"]:
        monkeypatch.delenv(name, raising=False)
    # The embedded default: everything local passes, external services are not configured.
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "PASS  settings" in out and "PASS  code location" in out and "SKIP  polygon" in out
    assert "0 failing" in out

    monkeypatch.setenv("AEGIS_CONFIG", str(PROJECT / "configs/production.yaml"))
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    assert main(["doctor", "--no-dagster"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  env POLYGON_API_KEY" in out and "FAIL  settings" in out
    assert SLACK_TOKEN not in out
    assert all(line[:5] in ("PASS ", "FAIL ", "SKIP ") for line in out.splitlines()[:-2] if line)


def test_dagster_instance_check_reports_a_missing_storage_variable(sim_env, monkeypatch, capsys, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "deploy/dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name in (
        "DAGSTER_POSTGRES_HOST",
        "DAGSTER_POSTGRES_USER",
        "DAGSTER_POSTGRES_PASSWORD",
        "DAGSTER_POSTGRES_DB",
    ):
        monkeypatch.delenv(name, raising=False)
    assert main(["doctor"]) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if "dagster instance" in x)
    assert (
        line.startswith("FAIL")
        and "needs unset environment variables: DAGSTER_POSTGRES_DB, DAGSTER_POSTGRES_HOST" in line
    )


def test_clock_is_injectable_for_the_polygon_probe(production_env):
    # A Sunday: the probe asks for Friday's bar, which the simulated market has.
    sunday = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    got = by_name(run_checks(production_env, timeout_s=5, clock=lambda: sunday)[0])
    assert got["polygon"].status == "pass" and "2026-11-20" in got["polygon"].detail


@pytest.mark.parametrize("mode", ["drip", "blackhole"])
def test_doctor_probes_end_at_their_timeout(production_env, mode):
    """A drip-feeding or silent Polygon, Slack and dashboard each cost the doctor at most --timeout."""
    from tests.fakes.hostile import HostileServer

    with HostileServer(mode, interval=0.3) as server:
        env = {
            **production_env,
            "POLYGON_BASE_URL": server.base,
            "AEGIS_SLACK_BASE_URL": server.base + "/api/",
            "AEGIS_DASHBOARD_URLS": server.base + "/status_v3",
        }
        started = time.monotonic()
        got = by_name(run_checks(env, timeout_s=1.0)[0])
        seconds = time.monotonic() - started
    assert seconds < 6  # three probes of 1 s, plus the local checks
    assert got["polygon"].status == "fail"
    assert got["polygon"].detail == f"{server.base} did not answer within 1 s"
    assert got["slack"].detail == f"{server.base}/api/auth.test did not answer within 1 s"
    dashboard = got[f"dashboard {server.base}/status_v3"]
    assert dashboard.status == "fail"
    assert "timed out after 1s (total, connect and all reads)" in dashboard.detail
