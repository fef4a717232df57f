import pytest

from aegis_core.base.settings import SettingsError, load_settings, secret_variable

PROD = {"AEGIS_CONFIG": "configs/production.yaml"}
PROD_SECRETS = {
    "POLYGON_API_KEY": "pk-secret-value",
    "SLACK_BOT_TOKEN": "xoxb-secret-value",
    "SAXOBANK_APP_KEY_LIVE": "app-key-secret",
    "SAXOBANK_APP_SECRET_LIVE": "app-secret-secret",
    "AEGIS_DASHBOARD_URLS": "http://127.0.0.1:9/status",
}


def test_local_profile_is_the_simulated_market():
    s = load_settings({})
    assert s.source == "sim" and s.is_simulated
    assert str(s.archive_root) == "data/archive"


def test_environment_overrides_the_file(tmp_path):
    s = load_settings(
        {
            "AEGIS_ARCHIVE_ROOT": str(tmp_path / "a"),
            "AEGIS_LAKE_ROOT": "s3://bucket/lake",
            "POLYGON_BASE_URL": "http://127.0.0.1:1",
        }
    )
    assert s.archive_root == tmp_path / "a" and s.lake_root == "s3://bucket/lake"
    assert s.polygon.base_url == "http://127.0.0.1:1"


def test_production_names_every_missing_variable():
    with pytest.raises(SettingsError) as err:
        load_settings(PROD)
    for name in (
        "POLYGON_API_KEY",
        "SLACK_BOT_TOKEN",
        "SAXOBANK_APP_KEY_LIVE",
        "SAXOBANK_APP_SECRET_LIVE",
        "AEGIS_DASHBOARD_URLS",
    ):
        assert name in str(err.value)


def test_production_loads_with_secrets_and_never_shows_them():
    s = load_settings({**PROD, **PROD_SECRETS})
    assert s.source == "polygon" and s.polygon.api_key.get_secret_value() == "pk-secret-value"
    text = repr(s) + str(s) + s.model_dump_json()
    for value in PROD_SECRETS.values():
        if "secret" in value:
            assert value not in text


def test_massive_alias_and_secret_variable():
    env = {**PROD, **PROD_SECRETS, "MASSIVE_API_KEY": "mk-1"}
    del env["POLYGON_API_KEY"]
    assert load_settings(env).polygon.api_key.get_secret_value() == "mk-1"
    assert secret_variable("polygon.api_key", env) == "MASSIVE_API_KEY"
    assert secret_variable("polygon.api_key", {"POLYGON_API_KEY": "x"}) == "POLYGON_API_KEY"


def test_invalid_value_names_the_variable():
    with pytest.raises(SettingsError, match="source \\(from environment variable AEGIS_SOURCE\\)"):
        load_settings({"AEGIS_SOURCE": "bloomberg"})


def test_missing_config_file_names_aegis_config(tmp_path):
    with pytest.raises(SettingsError, match=r"AEGIS_CONFIG: configuration file .* not found"):
        load_settings({"AEGIS_CONFIG": str(tmp_path / "missing.yaml")})


def test_unknown_key_and_secret_in_file_are_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: sim\npolygon:\n  max_concurency: 3\n")
    with pytest.raises(SettingsError, match=r"polygon\.max_concurency"):
        load_settings({"AEGIS_CONFIG": str(bad)})
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text("polygon:\n  api_key: abc\n")
    with pytest.raises(SettingsError, match="only in the environment \\(POLYGON_API_KEY\\)"):
        load_settings({"AEGIS_CONFIG": str(leaky)})
