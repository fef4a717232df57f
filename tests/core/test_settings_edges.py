"""Issue 16: hostile or careless configuration answers with one line naming the input."""

from __future__ import annotations

import pytest

from aegis_core.archive.universe import UniverseError, load_universe, select_symbols
from aegis_core.base.settings import SettingsError, credential_option, load_settings
from aegis_core.calendar import parse_session_date
from tests.conftest import PROJECT

LOCAL = str(PROJECT / "configs/local.yaml")


def refused(environ: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings({"AEGIS_CONFIG": LOCAL, **environ})
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_config_that_is_a_folder(tmp_path):
    assert (
        refused({"AEGIS_CONFIG": str(tmp_path)})
        == f"AEGIS_CONFIG: configuration file {tmp_path} is a folder, not a file"
    )


def test_a_config_that_is_not_utf8(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"profile: caf\xe9\n")
    assert refused({"AEGIS_CONFIG": str(path)}) == f"AEGIS_CONFIG: {path} is not UTF-8 text (byte 12)"


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("source: sim\narchive_root: /a\nsource: polygon\n", "source", 3),
        ("polygon:\n  timeout_s: 5\n  max_retries: 2\n  timeout_s: 50\n", "timeout_s", 4),
    ],
)
def test_duplicate_yaml_keys_are_refused_naming_key_and_file(tmp_path, text, key, line):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    message = refused({"AEGIS_CONFIG": str(path)})
    column = 3 if line == 4 else 1
    assert message == (
        f"AEGIS_CONFIG: {path} is not valid YAML: duplicate key {key!r} at line {line}, column {column}"
    )


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        (
            "POLYGON_BASE_URL",
            "notaurl",
            "polygon.base_url (from environment variable POLYGON_BASE_URL): the URL "
            "must be an absolute https://host/... URL (scheme none, host missing)",
        ),
        ("POLYGON_BASE_URL", "http://api.polygon.io", "the URL must use https: plain http to api.polygon.io"),
        (
            "AEGIS_SAXO_TOKEN_URL",
            "http://sim.logonvalidation.net/token",
            "saxo.token_url (from environment variable AEGIS_SAXO_TOKEN_URL): the URL must use https",
        ),
        (
            "AEGIS_DASHBOARD_URLS",
            "https://a.example/s,http://10.1.2.3:8080/s",
            "pt_health.dashboard_urls (from "
            "environment variable AEGIS_DASHBOARD_URLS): URL 2 must use https: plain http to 10.1.2.3",
        ),
        (
            "AEGIS_SLACK_BASE_URL",
            "slack.com/api",
            "alerts.slack_base_url (from environment variable "
            "AEGIS_SLACK_BASE_URL): the URL must be an absolute https://host/... URL",
        ),
        ("POLYGON_BASE_URL", "https://user:hunter2@api.massive.com", "must not carry credentials"),
    ],
)
def test_endpoint_urls_are_checked_at_start(variable, value, complaint):
    message = refused({variable: value})
    assert complaint in message
    assert "hunter2" not in message


def test_loopback_http_is_accepted_for_every_client():
    settings = load_settings(
        {
            "AEGIS_CONFIG": LOCAL,
            "POLYGON_BASE_URL": "http://127.0.0.1:8123",
            "AEGIS_SAXO_TOKEN_URL": "http://localhost:9000/token",
            "AEGIS_DASHBOARD_URLS": "http://[::1]:8080/status_v3",
            "AEGIS_SLACK_BASE_URL": "http://127.0.0.1:9/api/",
        }
    )
    assert settings.polygon.base_url == "http://127.0.0.1:8123"


def test_storage_credentials_in_the_profile_are_refused_by_name(tmp_path):
    path = tmp_path / "s3.yaml"
    path.write_text(
        "lake_root: s3://bucket/lake\nlake_storage_options:\n  AWS_REGION: eu-west-1\n"
        "  AWS_SECRET_ACCESS_KEY: abc123secret\n  aws_access_key_id: AKIAEXAMPLE\n"
    )
    message = refused({"AEGIS_CONFIG": str(path)})
    assert (
        "lake_storage_options: credential key(s) AWS_SECRET_ACCESS_KEY, aws_access_key_id refused" in message
    )
    assert "from the environment" in message
    assert "abc123secret" not in message and "AKIAEXAMPLE" not in message


def test_storage_options_without_credentials_pass(tmp_path):
    path = tmp_path / "s3.yaml"
    path.write_text(
        "lake_root: s3://bucket/lake\nlake_storage_options:\n  AWS_REGION: eu-west-1\n"
        "  AWS_ENDPOINT_URL: http://127.0.0.1:9000\n  AWS_ALLOW_HTTP: 'true'\n"
    )
    assert load_settings({"AEGIS_CONFIG": str(path)}).lake_storage_options["AWS_REGION"] == "eu-west-1"


@pytest.mark.parametrize(
    ("key", "credential"),
    [
        ("AWS_SECRET_ACCESS_KEY", True),
        ("aws_session_token", True),
        ("azure_storage_account_key", True),
        ("azure_storage_sas_key", True),
        ("google_service_account_key", True),
        ("client_secret", True),
        ("AWS_REGION", False),
        ("aws_endpoint", False),
        ("allow_http", False),
    ],
)
def test_credential_option_names(key, credential):
    assert credential_option(key) is credential


def test_a_universe_that_is_a_folder_or_not_utf8(tmp_path):
    with pytest.raises(UniverseError, match=f"^universe file {tmp_path} is a folder, not a file$"):
        load_universe(tmp_path)
    path = tmp_path / "u.txt"
    path.write_bytes(b"SPY\n\xff\xfeAAPL\n")
    with pytest.raises(UniverseError, match=r"is not UTF-8 text \(byte 4\)$"):
        load_universe(path)


@pytest.mark.parametrize("requested", [",", "", " , ,"])
def test_symbols_naming_none_are_refused(requested):
    with pytest.raises(UniverseError, match="names no symbol; omit it to run the whole universe"):
        select_symbols(["SPY"], requested)


@pytest.mark.parametrize("text", ["20261125", "2026-W48-3", "2026-11-25T00:00", " 2026-11-25"])
def test_a_session_date_only_in_key_form(text):
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        parse_session_date(text)
