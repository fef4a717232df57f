"""The one configuration model: a YAML profile overridden by environment variables.

``load_settings()`` is the only place that picks the profile (``AEGIS_CONFIG``, default
``configs/local.yaml``) and reads the environment. Every failure names the setting and where it came
from (file key or environment variable). Secrets are ``SecretStr`` and never printed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from aegis_core.base.bounds import Range
from aegis_core.base.endpoint_url import check_endpoint_url
from aegis_core.base.user_files import SETTINGS_MAX_BYTES, UserFileError, UserFileMissing, read_user_file
from aegis_core.ops.pt_health.thresholds import ENV_NAMES as PT_THRESHOLD_VARIABLES
from aegis_core.ops.pt_health.thresholds import RANGES as PT_THRESHOLD_RANGES
from aegis_core.ops.pt_health.thresholds import Thresholds

DEFAULT_CONFIG = "configs/local.yaml"


class SettingsError(ValueError):
    pass


def _time_of_day(value: Any) -> Any:
    """A time-of-day setting is written ``HH:MM``; a number (seconds since midnight, or what YAML 1.1
    made of an unquoted 18:00) is refused rather than read as 00:18."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'a time of day is written HH:MM (e.g. "18:00"), not the number {value!r}')
    return value


# Every time-of-day setting has this type.
TimeOfDay = Annotated[dt.time, BeforeValidator(_time_of_day)]


# The ranges of the numeric settings that a command-line flag also sets (the flag takes the same
# range); every other numeric setting declares its range in place. The README lists them all.
SAXO_REFRESH_MARGIN = Range(0, 3600, "s")
SAXO_REFRESH_DEADLINE = Range(0, 600, "s", low_open=True)
PT_HEALTH_TIMEOUT = Range(0, 300, "s", low_open=True)
SIM_LATENCY_MS = Range(0, 60_000, "ms")
SIM_FAULT_RATE = Range(0, 1)
SIM_PAUSE_S = Range(0, 3600, "s")
SIM_SEED = Range(0, 2**32 - 1, integer=True)
PARITY_COUNT = Range(0, 1_000_000, integer=True)
PARITY_IV_RANK = Range(0, 100)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolygonSettings(_Section):
    base_url: str = "https://api.massive.com"
    api_key: SecretStr | None = None
    max_concurrency: int = Range(1, 256, integer=True).field(16)
    max_requests_per_second: float = Range(0, 1000, "requests/s", low_open=True).field(50.0)
    timeout_s: float = Range(0, 600, "s", low_open=True).field(30.0)
    max_retries: int = Range(0, 20, integer=True).field(6)
    backoff_base_s: float = Range(0, 60, "s").field(0.5)
    # Every fetch of one run (all steps: every request, retry and pause), counted from the run's
    # start; past it the symbols or endpoints that did not answer fail by name.
    run_budget_s: float = Range(0, 86_400, "s", low_open=True).field(900.0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_endpoint_url(url, "the URL")


class SimFaultSettings(_Section):
    """Faults the simulated source injects (rates per request), for drills and demos."""

    rate_429: float = SIM_FAULT_RATE.field(0.0)
    retry_after_s: float = SIM_PAUSE_S.field(1.0)
    rate_5xx: float = SIM_FAULT_RATE.field(0.0)
    rate_stall: float = SIM_FAULT_RATE.field(0.0)
    stall_s: float = SIM_PAUSE_S.field(30.0)
    rate_truncate: float = SIM_FAULT_RATE.field(0.0)
    repeat_cursor_symbols: list[str] = Field(default_factory=list)
    # A lying source (the door's drills): repeated contracts, another underlying, OI 1e30, a bad VIX.
    duplicate_contract_symbols: list[str] = Field(default_factory=list)
    wrong_underlying_symbols: list[str] = Field(default_factory=list)
    absurd_oi_symbols: list[str] = Field(default_factory=list)
    # ... gamma 1e300, shares_per_contract 10**18, bars dated days before, a ticker listed twice.
    absurd_gamma_symbols: list[str] = Field(default_factory=list)
    absurd_shares_symbols: list[str] = Field(default_factory=list)
    grouped_shift_days: int = Range(0, 366, integer=True).field(0)
    grouped_duplicate_symbols: list[str] = Field(default_factory=list)
    grouped_omit: list[str] = Field(default_factory=list)  # left out of the grouped answer (fallback)
    aggs_shift_days: int = Range(0, 366, integer=True).field(0)
    vix_close: float | None = Range(-1e6, 1e6).field(None)


class SimSettings(_Section):
    seed: int = SIM_SEED.field(7)
    latency_ms: float = SIM_LATENCY_MS.field(0.0)
    faults: SimFaultSettings = Field(default_factory=SimFaultSettings)


class GexSettings(_Section):
    call_sign: Literal[1, -1] = 1
    put_sign: Literal[1, -1] = -1
    # The re-pricing grid, as fractions of spot: low in (0, 1], high in [1, 10].
    grid_low: float = Range(0, 1, low_open=True).field(0.8)
    grid_high: float = Range(1, 10).field(1.2)
    grid_points: int = Range(3, 10_001, integer=True).field(81)
    rate: float = Range(-1, 1).field(0.0)
    dividend: float = Range(-1, 1).field(0.0)


class IvSettings(_Section):
    target_days: int = Range(1, 3650, "days", integer=True).field(30)
    window_sessions: int = Range(2, 2520, "sessions", integer=True).field(252)
    min_observations: int = Range(1, 2520, integer=True).field(20)


class ParitySettings(_Section):
    reference_root: Path | None = None
    file_count: int = PARITY_COUNT.field(1)
    row_count: int = PARITY_COUNT.field(5)
    regime: int = PARITY_COUNT.field(1)
    iv_rank_abs: float = PARITY_IV_RANK.field(1e-9)


class QualitySettings(_Section):
    # Every universe symbol is expected every session; lower it for a universe with known gaps.
    coverage_threshold: float = Range(0, 1).field(1.0)
    freshness_deadline: TimeOfDay = dt.time(18, 0)
    # source_sanity fails when the door rejects more than this share of a session's rows.
    source_reject_threshold: float = Range(0, 1).field(0.01)


class AlertSettings(_Section):
    slack_token: SecretStr | None = None
    slack_channel: str | None = None
    slack_base_url: str = "https://slack.com/api/"
    require_slack: bool = False
    webserver_url: str = "http://127.0.0.1:3000"

    @field_validator("slack_base_url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_endpoint_url(url, "the URL")


class SaxoSettings(_Section):
    enabled: bool = False
    token_url: str = "https://live.logonvalidation.net/token"
    cache_path: Path = Path("./data/tokens/saxobank_tokens_live.json")
    app_key: SecretStr | None = None
    app_secret: SecretStr | None = None
    refresh_margin_s: int = SAXO_REFRESH_MARGIN.field(300)
    sensor_interval_s: int = Range(5, 3600, "s", integer=True).field(60)
    # One-time bootstrap: when the cache is missing, copy this canonical cache once (never overwrites).
    bootstrap_from: Path | None = None
    # Observation criteria: the cache mtime must advance at least every cadence + slack seconds.
    cadence_s: int = Range(60, 86_400, "s", integer=True).field(900)
    cadence_slack_s: int = Range(0, 86_400, "s", integer=True).field(300)
    # The whole refresh (every attempt and pause); the cache lock is held at most this long.
    refresh_deadline_s: float = SAXO_REFRESH_DEADLINE.field(60.0)

    @field_validator("token_url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_endpoint_url(url, "the URL")


class PtHealthSettings(_Section):
    enabled: bool = False
    dashboard_urls: list[str] = Field(default_factory=list)
    dashboard_token: SecretStr | None = None
    window_minutes: int = Range(1, 60, "min", integer=True).field(10)
    # The runbook watches 13:00–21:59 UTC: 09:00–18:00 New York in daylight-saving time, i.e. 30
    # minutes before the open and two hours after the close; kept relative to the NYSE session.
    open_buffer_minutes: int = Range(0, 240, "min", integer=True).field(30)
    close_buffer_minutes: int = Range(0, 240, "min", integer=True).field(120)
    # A window counts as missed this long after its end (the runbook's gap verifier: 8 minutes).
    watchdog_grace_minutes: int = Range(0, 120, "min", integer=True).field(8)
    timeout_s: float = PT_HEALTH_TIMEOUT.field(10.0)
    # Detector thresholds and the temporal rules' counts (AEGIS_PT_* variables override them).
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @field_validator("dashboard_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [check_endpoint_url(u, f"URL {i + 1}") for i, u in enumerate(urls)]


# Storage-option keys that carry a credential (delta-rs / object_store spellings, any case). They
# come from the environment only: the options are resource config, which the Dagster UI displays.
_CREDENTIAL_WORDS = ("secret", "password", "token", "access_key", "account_key", "sas_key", "credential")
_CREDENTIAL_KEYS = {"access_key_id", "aws_access_key_id", "service_account_key"}


def credential_option(key: str) -> bool:
    lowered = key.lower()
    return lowered in _CREDENTIAL_KEYS or any(word in lowered for word in _CREDENTIAL_WORDS)


class WatchdogSettings(_Section):
    """``aegis watchdog``: how often it looks, and when a missing heartbeat or tick is an alert."""

    interval_s: float = Range(0, 3600, "s", low_open=True).field(60.0)
    heartbeat_max_age_s: float = Range(0, 86_400, "s", low_open=True).field(180.0)
    tick_grace_s: float = Range(0, 86_400, "s").field(600.0)


class Settings(_Section):
    profile: str = "local"
    source: Literal["sim", "polygon"] = "sim"
    archive_root: Path = Path("./data/archive")
    lake_root: str = "./data/lake"
    lake_storage_options: dict[str, str] = Field(default_factory=dict)
    universe_file: Path = Path("configs/universe/default.txt")
    # The first session of the live-only artefacts (chains, snapshots and what derives from them);
    # unset: the first session the archive holds (aegis_core.ldas.go_live).
    go_live: dt.date | None = None
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

    @field_validator("go_live")
    @classmethod
    def _go_live_is_a_session(cls, day: dt.date | None) -> dt.date | None:
        from aegis_core.calendar import nyse

        if day is not None and not nyse().is_session(day):
            raise ValueError(f"{day} is not an NYSE session (the live archive starts on a session)")
        return day

    @field_validator("lake_storage_options")
    @classmethod
    def _no_credentials(cls, options: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k in options if credential_option(k))
        if bad:
            raise ValueError(
                f"credential key(s) {', '.join(bad)} refused: object-storage credentials come only "
                "from the environment (e.g. AWS_SECRET_ACCESS_KEY), never from the profile"
            )
        return options

    @model_validator(mode="after")
    def _required(self) -> Settings:
        """Settings that become required by others, all reported at once."""
        missing = [f"{r.label}: {r.reason}" for r in requirements(self) if r.reason and not r.is_set(self)]
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
    "AEGIS_GO_LIVE": "go_live",
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
    "AEGIS_SAXO_TOKEN_BOOTSTRAP_PATH": "saxo.bootstrap_from",
    "SAXOBANK_APP_KEY_LIVE": "saxo.app_key",
    "SAXOBANK_APP_SECRET_LIVE": "saxo.app_secret",
    "AEGIS_DASHBOARD_URLS": "pt_health.dashboard_urls",
    "AEGIS_DASHBOARD_TOKEN": "pt_health.dashboard_token",
    **{variable: f"pt_health.thresholds.{name}" for name, variable in PT_THRESHOLD_VARIABLES.items()},
}
SECRET_VARIABLES = {
    k for k, v in ENV_OVERRIDES.items() if v.endswith(("api_key", "token", "app_key", "app_secret"))
}


def settings_variables() -> list[str]:
    """Every environment variable the settings read: ``AEGIS_CONFIG`` and each override (aliases and
    the health monitor's ``AEGIS_PT_*`` thresholds included).

    The one list of what a process must receive to load the same settings; the production run
    launcher forwards exactly these to every run container (``aegis_pipelines.instance.launcher``).
    """
    return list(dict.fromkeys(["AEGIS_CONFIG", *ENV_OVERRIDES]))


# Setting -> why a profile needs it (None: this profile does not). The one list of conditionally
# required settings: the settings validation enforces it, ``aegis doctor`` reports it.
REQUIRED_WHEN: dict[str, Callable[[Settings], str | None]] = {
    "polygon.api_key": lambda s: "the data source is polygon" if s.source == "polygon" else None,
    "alerts.slack_token": lambda s: "this profile sends alerts to Slack" if s.alerts.require_slack else None,
    "alerts.slack_channel": lambda s: (
        "this profile sends alerts to Slack" if s.alerts.require_slack else None
    ),
    "saxo.app_key": lambda s: "the Saxo token keeper is enabled" if s.saxo.enabled else None,
    "saxo.app_secret": lambda s: "the Saxo token keeper is enabled" if s.saxo.enabled else None,
    "pt_health.dashboard_urls": lambda s: "the health monitor is enabled" if s.pt_health.enabled else None,
}


@dataclass(frozen=True)
class Requirement:
    """A setting a profile may require, the environment variable(s) that supply it, and why this
    profile needs it (``reason``; None when it does not)."""

    setting: str
    variable: str
    aliases: tuple[str, ...]
    reason: str | None

    @property
    def secret(self) -> bool:
        """Supplied only by the environment (a profile file may not hold it)."""
        return self.variable in SECRET_VARIABLES

    @property
    def label(self) -> str:
        """How an error names it: the variable, then where else it may come from."""
        others = self.aliases if self.secret else (*self.aliases, self.setting)
        return self.variable + (f" (or {', '.join(others)})" if others else "")

    def is_set(self, settings: Settings) -> bool:
        value: Any = settings
        for part in self.setting.split("."):
            value = getattr(value, part)
        return bool(value.get_secret_value() if isinstance(value, SecretStr) else value)


def requirements(settings: Settings) -> list[Requirement]:
    """Every conditionally required setting, with the reason this profile needs it (or None)."""
    out = []
    for dotted, why in REQUIRED_WHEN.items():
        variable, *aliases = [var for var, path in ENV_OVERRIDES.items() if path == dotted]
        out.append(Requirement(dotted, variable, tuple(aliases), why(settings)))
    return out


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


# pydantic's error types for a number outside its range or not a number at all.
_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
    "int_parsing",
    "float_parsing",
    "int_from_float",
}


def _range_of(loc: tuple) -> str | None:
    """The documented range (the field's description) of the setting at ``loc``."""
    model: Any = Settings
    info = None
    for part in loc:
        if model is Thresholds:
            return PT_THRESHOLD_RANGES[part].describe() if part in PT_THRESHOLD_RANGES else None
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return None
        info = fields[part]
        model = info.annotation
    return info.description if info is not None else None


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("AEGIS_CONFIG") or DEFAULT_CONFIG)


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML says keys are unique;
    PyYAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key; the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1's base-60 numbers: PyYAML reads an unquoted 18:00 as the integer 1080 (and 1:30.5 as a
# float), so a time of day would silently become a number of seconds. YAML 1.2 dropped them; so does
# this loader: ``18:00`` is the text "18:00", which a time-of-day setting reads as 18:00.
_SEXAGESIMAL = (r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*", r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+")


def _without_sexagesimal(resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]]) -> dict[Any, list]:
    out: dict[Any, list] = {}
    for first, entries in resolvers.items():
        out[first] = []
        for tag, regexp in entries:
            pattern = regexp.pattern
            for alternative in _SEXAGESIMAL:
                pattern = pattern.replace(alternative, "")
            out[first].append((tag, re.compile(pattern, regexp.flags)))
    return out


_UniqueKeyLoader.yaml_implicit_resolvers = _without_sexagesimal(yaml.SafeLoader.yaml_implicit_resolvers)


def read_yaml_mapping_file(path: Path, variable: str = "AEGIS_CONFIG") -> dict[str, Any]:
    """The YAML mapping in ``path``; every failure is one ``SettingsError`` line naming the file."""
    try:
        text = read_user_file(path, max_bytes=SETTINGS_MAX_BYTES, what="configuration file").decode("utf-8")
    except UserFileMissing:
        raise SettingsError(f"{variable}: configuration file {path} not found (cwd {Path.cwd()})") from None
    except UserFileError as exc:
        raise SettingsError(f"{variable}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{variable}: {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        tree = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        mark = getattr(exc, "problem_mark", None)
        if getattr(exc, "problem", None) and mark is not None:
            detail = f"{exc.problem} at line {mark.line + 1}, column {mark.column + 1}"  # type: ignore[attr-defined]
        raise SettingsError(f"{variable}: {path} is not valid YAML: {detail}") from None
    except RecursionError:
        raise SettingsError(f"{variable}: {path} nests too deeply to be a configuration file") from None
    if not isinstance(tree, dict):
        raise SettingsError(f"{variable}: {path} must hold a mapping of settings")
    return tree


def load_settings(environ: Mapping[str, str] | None = None, path: Path | None = None) -> Settings:
    """Read the profile named by ``AEGIS_CONFIG`` and apply the environment overrides."""
    environ = os.environ if environ is None else environ
    path = path or config_path(environ)
    tree = read_yaml_mapping_file(path)
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
            if err["type"] in _RANGE_ERRORS and (described := _range_of(err["loc"])):
                message += f" (range: {described})"
            problems.append(f"{where}: {message}" if where else message)
        raise SettingsError(f"invalid settings in {path}: " + "; ".join(problems)) from None
