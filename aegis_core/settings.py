"""The one configuration model: a YAML profile overridden by environment variables.

``load_settings()`` is the only place that picks the profile (``AEGIS_CONFIG``, default
``configs/local.yaml``) and reads the environment. Every failure names the setting and where it came
from (file key or environment variable). Secrets are ``SecretStr`` and never printed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

DEFAULT_CONFIG = "configs/local.yaml"


class SettingsError(ValueError):
    pass


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolygonSettings(_Section):
    base_url: str = "https://api.massive.com"
    api_key: SecretStr | None = None
    max_concurrency: int = Field(16, ge=1, le=256)
    max_requests_per_second: float = Field(50.0, gt=0, le=1000)
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(6, ge=0, le=20)
    backoff_base_s: float = Field(0.5, ge=0)


class SimFaultSettings(_Section):
    """Faults the simulated source injects (rates per request), for drills and demos."""

    rate_429: float = Field(0.0, ge=0, le=1)
    retry_after_s: float = Field(1.0, ge=0)
    rate_5xx: float = Field(0.0, ge=0, le=1)
    rate_stall: float = Field(0.0, ge=0, le=1)
    stall_s: float = Field(30.0, ge=0)
    rate_truncate: float = Field(0.0, ge=0, le=1)
    repeat_cursor_symbols: list[str] = Field(default_factory=list)


class SimSettings(_Section):
    seed: int = 7
    latency_ms: float = Field(0.0, ge=0)
    faults: SimFaultSettings = Field(default_factory=SimFaultSettings)


class GexSettings(_Section):
    call_sign: Literal[1, -1] = 1
    put_sign: Literal[1, -1] = -1
    grid_low: float = Field(0.8, gt=0)
    grid_high: float = Field(1.2, gt=0)
    grid_points: int = Field(81, ge=3)
    rate: float = 0.0
    dividend: float = 0.0


class IvSettings(_Section):
    target_days: int = Field(30, ge=1)
    window_sessions: int = Field(252, ge=2)
    min_observations: int = Field(20, ge=1)


class ParitySettings(_Section):
    reference_root: Path | None = None
    file_count: int = Field(1, ge=0)
    row_count: int = Field(5, ge=0)
    regime: int = Field(1, ge=0)
    iv_rank_abs: float = Field(1e-9, ge=0)


class QualitySettings(_Section):
    # Every universe symbol is expected every session; lower it for a universe with known gaps.
    coverage_threshold: float = Field(1.0, ge=0, le=1)
    freshness_deadline: dt.time = dt.time(18, 0)


class AlertSettings(_Section):
    slack_token: SecretStr | None = None
    slack_channel: str | None = None
    slack_base_url: str = "https://slack.com/api/"
    require_slack: bool = False
    webserver_url: str = "http://127.0.0.1:3000"

    @property
    def slack_enabled(self) -> bool:
        return self.slack_token is not None and bool(self.slack_channel)


class SaxoSettings(_Section):
    enabled: bool = False
    token_url: str = "https://live.logonvalidation.net/token"
    cache_path: Path = Path("./data/tokens/saxobank_tokens_live.json")
    app_key: SecretStr | None = None
    app_secret: SecretStr | None = None
    refresh_margin_s: int = Field(300, ge=0)
    sensor_interval_s: int = Field(60, ge=5)


class PtHealthSettings(_Section):
    enabled: bool = False
    dashboard_urls: list[str] = Field(default_factory=list)
    dashboard_token: SecretStr | None = None
    window_minutes: int = Field(10, ge=1, le=60)
    open_buffer_minutes: int = Field(5, ge=0)
    close_buffer_minutes: int = Field(10, ge=0)
    timeout_s: float = Field(10.0, gt=0)


class WatchdogSettings(_Section):
    """``aegis watchdog``: how often it looks, and when a missing heartbeat or tick is an alert."""

    interval_s: float = Field(60.0, gt=0)
    heartbeat_max_age_s: float = Field(180.0, gt=0)
    tick_grace_s: float = Field(600.0, ge=0)


class Settings(_Section):
    profile: str = "local"
    source: Literal["sim", "polygon"] = "sim"
    archive_root: Path = Path("./data/archive")
    lake_root: str = "./data/lake"
    lake_storage_options: dict[str, str] = Field(default_factory=dict)
    universe_file: Path = Path("configs/universe/default.txt")
    polygon: PolygonSettings = Field(default_factory=PolygonSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    gex: GexSettings = Field(default_factory=GexSettings)
    iv: IvSettings = Field(default_factory=IvSettings)
    parity: ParitySettings = Field(default_factory=ParitySettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    saxo: SaxoSettings = Field(default_factory=SaxoSettings)
    pt_health: PtHealthSettings = Field(default_factory=PtHealthSettings)
    watchdog: WatchdogSettings = Field(default_factory=WatchdogSettings)

    @model_validator(mode="after")
    def _required(self) -> Settings:
        """Settings that become required by others, all reported at once."""
        missing = []
        if self.source == "polygon" and self.polygon.api_key is None:
            missing.append("POLYGON_API_KEY (or MASSIVE_API_KEY): the data source is polygon")
        if self.alerts.require_slack and self.alerts.slack_token is None:
            missing.append("SLACK_BOT_TOKEN: this profile sends alerts to Slack")
        if self.alerts.require_slack and not self.alerts.slack_channel:
            missing.append(
                "alerts.slack_channel (or AEGIS_SLACK_CHANNEL): this profile sends alerts to Slack"
            )
        if self.saxo.enabled and self.saxo.app_key is None:
            missing.append("SAXOBANK_APP_KEY_LIVE: the Saxo token keeper is enabled")
        if self.saxo.enabled and self.saxo.app_secret is None:
            missing.append("SAXOBANK_APP_SECRET_LIVE: the Saxo token keeper is enabled")
        if self.pt_health.enabled and not self.pt_health.dashboard_urls:
            missing.append(
                "AEGIS_DASHBOARD_URLS (or pt_health.dashboard_urls): the health monitor is enabled"
            )
        if missing:
            raise ValueError("required settings are missing: " + "; ".join(missing))
        return self

    @property
    def is_simulated(self) -> bool:
        return self.source == "sim"


# Environment variable -> dotted setting path. The first variable set wins for aliases.
ENV_OVERRIDES: dict[str, str] = {
    "AEGIS_SOURCE": "source",
    "AEGIS_ARCHIVE_ROOT": "archive_root",
    "AEGIS_LAKE_ROOT": "lake_root",
    "AEGIS_UNIVERSE_FILE": "universe_file",
    "POLYGON_BASE_URL": "polygon.base_url",
    "POLYGON_API_KEY": "polygon.api_key",
    "MASSIVE_API_KEY": "polygon.api_key",
    "AEGIS_PARITY_ROOT": "parity.reference_root",
    "AEGIS_WATCHDOG_INTERVAL_S": "watchdog.interval_s",
    "AEGIS_WATCHDOG_HEARTBEAT_MAX_AGE_S": "watchdog.heartbeat_max_age_s",
    "AEGIS_WATCHDOG_TICK_GRACE_S": "watchdog.tick_grace_s",
    "SLACK_BOT_TOKEN": "alerts.slack_token",
    "AEGIS_SLACK_CHANNEL": "alerts.slack_channel",
    "AEGIS_SLACK_BASE_URL": "alerts.slack_base_url",
    "AEGIS_WEBSERVER_URL": "alerts.webserver_url",
    "AEGIS_SAXO_TOKEN_URL": "saxo.token_url",
    "AEGIS_SAXO_TOKEN_CACHE_PATH": "saxo.cache_path",
    "SAXOBANK_APP_KEY_LIVE": "saxo.app_key",
    "SAXOBANK_APP_SECRET_LIVE": "saxo.app_secret",
    "AEGIS_DASHBOARD_URLS": "pt_health.dashboard_urls",
    "AEGIS_DASHBOARD_TOKEN": "pt_health.dashboard_token",
}
SECRET_VARIABLES = {
    k for k, v in ENV_OVERRIDES.items() if v.endswith(("api_key", "token", "app_key", "app_secret"))
}


def settings_variables() -> list[str]:
    """Every environment variable the settings read: ``AEGIS_CONFIG``, each override (aliases too) and
    the health monitor's ``AEGIS_PT_*`` thresholds.

    The one list of what a process must receive to load the same settings; the production run
    launcher forwards exactly these to every run container (``aegis_pipelines.run_launcher``).
    """
    # The health monitor's thresholds are read from the environment by their own module (one place
    # spells their names); they reach the runs the same way.
    from aegis_core.pt_health.thresholds import ENV_NAMES as PT_THRESHOLD_VARIABLES

    return list(dict.fromkeys(["AEGIS_CONFIG", *ENV_OVERRIDES, *PT_THRESHOLD_VARIABLES.values()]))


def secret_variable(dotted: str, environ: Mapping[str, str] | None = None) -> str:
    """The environment variable that supplies a secret setting (the first of its aliases that is set)."""
    environ = os.environ if environ is None else environ
    names = [var for var, path in ENV_OVERRIDES.items() if path == dotted and var in SECRET_VARIABLES]
    if not names:
        raise KeyError(f"{dotted} is not a secret setting")
    return next((n for n in names if environ.get(n)), names[0])


def _get(tree: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, Mapping) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def _describe(loc: tuple, origins: Mapping[str, str]) -> str:
    dotted = ".".join(str(p) for p in loc if p != "__root__")
    return f"{dotted} (from {origins[dotted]})" if dotted in origins else dotted


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("AEGIS_CONFIG") or DEFAULT_CONFIG)


def load_settings(environ: Mapping[str, str] | None = None, path: Path | None = None) -> Settings:
    """Read the profile named by ``AEGIS_CONFIG`` and apply the environment overrides."""
    environ = os.environ if environ is None else environ
    path = path or config_path(environ)
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise SettingsError(f"AEGIS_CONFIG: configuration file {path} not found (cwd {Path.cwd()})") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"AEGIS_CONFIG: {path} is not valid YAML: {exc}") from None
    if not isinstance(tree, dict):
        raise SettingsError(f"AEGIS_CONFIG: {path} must hold a mapping of settings")
    for dotted in sorted({ENV_OVERRIDES[v] for v in SECRET_VARIABLES}):
        if _get(tree, dotted) is not None:
            variable = secret_variable(dotted, {})
            raise SettingsError(f"{path}: {dotted} is a secret; set it only in the environment ({variable})")
    origins: dict[str, str] = {}
    for var, dotted in ENV_OVERRIDES.items():
        raw = environ.get(var)
        if not raw or dotted in origins:
            continue
        value: str | list[str] = raw
        if dotted == "pt_health.dashboard_urls":
            value = [u.strip() for u in raw.split(",") if u.strip()]
        _set(tree, dotted, value)
        origins[dotted] = f"environment variable {var}"
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _describe(err["loc"], origins)
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise SettingsError(f"invalid settings in {path}: " + "; ".join(problems)) from None
