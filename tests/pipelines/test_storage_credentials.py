"""Issue 16: object-storage credentials come from the environment only and never reach resource config
(the Dagster UI shows resource config)."""

from __future__ import annotations

import json

import pytest

from aegis_core.base.settings import SettingsError, load_settings
from aegis_pipelines.resources import build_resources

SECRET = "wJalrXUtnFEMI-not-a-real-secret"


def test_credentials_in_the_environment_stay_out_of_resource_config(tmp_path):
    profile = tmp_path / "s3.yaml"
    profile.write_text(
        "lake_root: s3://bucket/lake\nlake_storage_options:\n  AWS_REGION: eu-west-1\n"
        "  AWS_ENDPOINT_URL: http://127.0.0.1:9000\n"
    )
    env = {"AEGIS_CONFIG": str(profile), "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}
    archive = build_resources(load_settings(env))["archive"]
    config = json.dumps(archive.model_dump(), default=str)
    assert archive.lake_storage_options == {
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
    }
    assert SECRET not in config and "AKIAEXAMPLE" not in config


def test_a_credential_in_the_profile_never_gets_as_far_as_a_resource(tmp_path):
    profile = tmp_path / "s3.yaml"
    profile.write_text(
        f"lake_root: s3://bucket/lake\nlake_storage_options:\n  aws_secret_access_key: {SECRET}\n"
    )
    with pytest.raises(SettingsError) as caught:
        load_settings({"AEGIS_CONFIG": str(profile)})
    assert "credential key(s) aws_secret_access_key refused" in str(caught.value)
    assert SECRET not in str(caught.value)
