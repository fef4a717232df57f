"""``aegis doctor``: the active configuration checked end to end, one pass/fail/skip line per item.

Each check is a plain function returning ``Check`` values; nothing here raises for a bad
configuration — the point is to report every problem at once, each naming the variable, file, folder
or endpoint at fault. Secrets are read from the environment only to be sent where they belong (an
``Authorization`` header); no line ever contains one. Checks of external systems run only when that
system is configured; they make one cheap, read-only request each.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from pydantic import SecretStr

from aegis_core.archive.universe import UniverseError, load_universe
from aegis_core.base.bounds import Range
from aegis_core.base.http_deadline import (
    Answer,
    Deadline,
    DeadlineExceeded,
    ResponseTooLarge,
    send_bounded,
    tls_failure,
)
from aegis_core.base.settings import (
    ENV_OVERRIDES,
    REQUIRED_WHEN,
    Requirement,
    Settings,
    SettingsError,
    config_path,
    load_settings,
    requirements,
)
from aegis_core.calendar import (
    CALENDAR_END,
    CALENDAR_START,
    EXTEND_HINT,
    HORIZON_WARNING,
    NY,
    CalendarRangeError,
    horizon_left,
    nyse,
)
from aegis_core.ops.pt_health.fetch import display_url, fetch_status
from aegis_core.ops.saxo import Freshness, TokenCacheError, assess, load_token_cache

Status = Literal["pass", "warn", "fail", "skip"]
DEFAULT_TIMEOUT_S = 10.0
PROBE_TIMEOUT = Range(0, 300, "s", low_open=True)  # --timeout
# Each probe's answer is small (one VIX bar, auth.test); anything past this is refused.
MAX_PROBE_BYTES = 1 << 20
# Stands in for an absent secret while probing which variables the profile needs; never sent anywhere.
_PLACEHOLDER = "doctor-placeholder"
_PLACEHOLDER_URL = "https://doctor-placeholder.invalid/status"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    @property
    def line(self) -> str:
        return f"{self.status.upper():<5} {self.name:<30} {self.detail}"


def passed(name: str, detail: str) -> Check:
    return Check(name, "pass", detail)


def failed(name: str, detail: str) -> Check:
    return Check(name, "fail", detail)


def skipped(name: str, detail: str) -> Check:
    return Check(name, "skip", detail)


def warned(name: str, detail: str) -> Check:
    """Works today, needs a person soon (not a failure: the exit status stays 0)."""
    return Check(name, "warn", detail)


def check_calendar(now: dt.datetime) -> Check:
    """The NYSE calendar's horizon: a warning from a year before its end, a failure past it."""
    name = "nyse calendar"
    today = now.astimezone(NY).date()
    left = horizon_left(today)
    span = f"{CALENDAR_START}..{CALENDAR_END}"
    if today > CALENDAR_END or today < CALENDAR_START:
        return failed(name, f"today ({today}) is outside the calendar horizon {span}: {EXTEND_HINT}")
    if left < HORIZON_WARNING:
        return warned(name, f"the calendar ends {CALENDAR_END}, in {left.days} day(s): {EXTEND_HINT}")
    return passed(name, f"horizon {span} ({left.days} days left)")


def _set(environ: Mapping[str, str], name: str) -> bool:
    return bool(environ.get(name))


# Every variable that supplies a conditionally required setting (``aegis_core.base.settings.REQUIRED_WHEN``).
_REQUIRED_VARIABLES = [var for var, path in ENV_OVERRIDES.items() if path in REQUIRED_WHEN]


def _probe(environ: Mapping[str, str], fill: Iterable[str]) -> Settings | None:
    """The profile with placeholders for the absent variables ``fill``: what it needs while they are unset."""
    filled = dict(environ)
    for name in fill:
        if not filled.get(name):
            # A URL where the settings expect URLs, so the placeholder passes the URL check.
            filled[name] = _PLACEHOLDER_URL if ENV_OVERRIDES.get(name, "").endswith("_urls") else _PLACEHOLDER
    try:
        return load_settings(filled)
    except SettingsError:
        return None


def profile_supplies(environ: Mapping[str, str], req: Requirement) -> bool:
    """Whether the profile file itself supplies ``req`` (a non-secret setting may come from it)."""
    if req.secret:
        return False
    unset = {req.variable, *req.aliases}
    others = [v for v in _REQUIRED_VARIABLES if v not in unset]
    probe = _probe({k: v for k, v in environ.items() if k not in unset}, others)
    return probe is not None and req.is_set(probe)


def check_environment(environ: Mapping[str, str], probe: Settings) -> list[Check]:
    checks = []
    for req in requirements(probe):
        name = f"env {req.variable}"
        present = next((v for v in (req.variable, *req.aliases) if _set(environ, v)), None)
        via = f" (as {present})" if present and present != req.variable else ""
        if present:
            checks.append(passed(name, f"set{via}" + (f"; required: {req.reason}" if req.reason else "")))
        elif profile_supplies(environ, req):
            checks.append(passed(name, f"not set; the profile sets {req.setting}"))
        elif req.reason:
            checks.append(failed(name, f"missing; required: {req.reason}"))
        else:
            checks.append(skipped(name, "not set; not needed by this profile"))
    return checks


def writable_folder(path: Path) -> tuple[bool, str]:
    """Whether files can be created in ``path`` (or it can be created under its nearest existing parent)."""
    if path.is_dir():
        try:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".aegis-doctor-"):
                pass
        except OSError as exc:
            return False, f"{path} is not writable ({exc.strerror})"
        return True, f"{path} is writable"
    if path.exists():
        return False, f"{path} exists but is not a folder"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        return True, f"{path} does not exist yet; {parent} is writable (the first run creates it)"
    return False, f"{path} does not exist and {parent} is not writable"


def _folder_check(name: str, path: Path) -> Check:
    ok, detail = writable_folder(path)
    return passed(name, detail) if ok else failed(name, detail)


def check_paths(settings: Settings, now: dt.datetime) -> list[Check]:
    checks = [_folder_check("archive root", Path(settings.archive_root))]
    lake = settings.lake_root
    scheme = lake.split("://", 1)[0] if "://" in lake else "file"
    if scheme == "file":
        checks.append(_folder_check("lake root", Path(lake.removeprefix("file://"))))
    else:
        checks.append(
            skipped("lake root", f"{scheme}:// object storage; written by the first run, not probed here")
        )
    checks.append(check_token_cache(settings, now))
    reference = settings.parity.reference_root
    if reference is None:
        checks.append(skipped("parity reference", "AEGIS_PARITY_ROOT not set; no parity checks"))
    elif reference.resolve() == Path(settings.archive_root).resolve():
        checks.append(
            failed(
                "parity reference",
                f"{reference} (AEGIS_PARITY_ROOT) is the archive root itself: parity would compare the "
                "archive with itself",
            )
        )
    elif reference.is_dir() and os.access(reference, os.R_OK | os.X_OK):
        checks.append(passed("parity reference", f"{reference} is readable"))
    else:
        checks.append(failed("parity reference", f"{reference} (AEGIS_PARITY_ROOT) is not a readable folder"))
    return checks


def check_token_cache(settings: Settings, now: dt.datetime) -> Check:
    name = "saxo token cache"
    saxo = settings.saxo
    if not saxo.enabled:
        return skipped(name, "the Saxo token keeper is disabled")
    ok, detail = writable_folder(saxo.cache_path.parent)
    if not ok:
        return failed(name, f"cannot save the token: {detail}")
    if not saxo.cache_path.exists():
        return failed(
            name, f"{saxo.cache_path} does not exist: copy in a cache from an authorised login first"
        )
    try:
        report = assess(load_token_cache(saxo.cache_path), now)
    except TokenCacheError as exc:
        return failed(name, str(exc))
    if report.state is Freshness.EXPIRED:
        return failed(name, f"{saxo.cache_path}: {report.reason}")
    return passed(
        name,
        f"{saxo.cache_path}: {report.state.value} ({report.reason}); "
        f"refresh token valid until {report.refresh_expires_at:%Y-%m-%d %H:%M} UTC",
    )


def check_universe(settings: Settings) -> Check:
    try:
        symbols = load_universe(settings.universe_file)
    except (UniverseError, OSError) as exc:
        return failed("universe", str(exc))
    return passed("universe", f"{len(symbols)} symbols from {settings.universe_file}")


def _secret(value: SecretStr | None) -> str:
    """A secret setting's value, to be sent where it belongs and nowhere else ("" when unset)."""
    return value.get_secret_value() if value is not None else ""


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _probe_request(method: str, url: str, token: str, timeout_s: float, what: str) -> Answer:
    """One bounded request: ``timeout_s`` is its total deadline (connect and every read)."""
    with httpx.Client(follow_redirects=False) as client:
        return send_bounded(
            client,
            method,
            url,
            deadline=Deadline(timeout_s),
            max_bytes=MAX_PROBE_BYTES,
            what=what,
            headers={"Authorization": f"Bearer {token}"},
        )


def _answer(response: Answer) -> str:
    """A short description of an error answer: status, then Polygon's/Slack's own words if any."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    words = " ".join(
        str(body.get(k)) for k in ("status", "error", "message") if isinstance(body, dict) and body.get(k)
    )
    return f"HTTP {response.status_code}" + (f" {words}" if words else "")


def check_polygon(settings: Settings, now: dt.datetime, timeout_s: float) -> Check:
    name = "polygon"
    if settings.source != "polygon":
        return skipped(name, "the source is the simulated market (runs in-process)")
    key = _secret(settings.polygon.api_key)
    try:
        day = nyse().latest_completed_session(now).key
    except CalendarRangeError as exc:
        return failed(name, str(exc))
    base = settings.polygon.base_url.rstrip("/")
    url = f"{base}/v2/aggs/ticker/I:VIX/range/1/day/{day}/{day}"
    started = time.perf_counter()
    try:
        response = _probe_request("GET", url, key, timeout_s, base)
    except (DeadlineExceeded, ResponseTooLarge) as exc:
        return failed(name, _redact(str(exc), [key]))
    except httpx.HTTPError as exc:
        tls = tls_failure(exc, base)
        return failed(name, _redact(tls or f"{base} unreachable: {type(exc).__name__}: {exc}", [key]))
    ms = (time.perf_counter() - started) * 1000
    if response.status_code in (401, 403):
        return failed(name, _redact(f"{base} refused the key: {_answer(response)}", [key]))
    if not response.is_success:
        return failed(name, _redact(f"{base} answered {_answer(response)}", [key]))
    return passed(name, f"{base} reachable, key accepted (VIX bar of {day}, {ms:.0f} ms)")


def check_slack(settings: Settings, timeout_s: float) -> Check:
    name = "slack"
    token = _secret(settings.alerts.slack_token)
    channel = settings.alerts.slack_channel
    if not token:
        return skipped(name, "SLACK_BOT_TOKEN not set; alerts go to the log")
    if not channel:
        return failed(
            name, "SLACK_BOT_TOKEN is set but no channel (alerts.slack_channel or AEGIS_SLACK_CHANNEL)"
        )
    base = settings.alerts.slack_base_url.rstrip("/")
    try:
        response = _probe_request("POST", f"{base}/auth.test", token, timeout_s, f"{base}/auth.test")
        body = response.json()
    except (DeadlineExceeded, ResponseTooLarge) as exc:
        return failed(name, _redact(str(exc), [token]))
    except (httpx.HTTPError, ValueError) as exc:
        tls = tls_failure(exc, base)
        detail = tls or f"{base}/auth.test failed: {type(exc).__name__}: {exc}"
        return failed(name, _redact(detail, [token]))
    if not (isinstance(body, dict) and body.get("ok")):
        return failed(name, _redact(f"{base} refused the token: {_answer(response)}", [token]))
    who = " ".join(f"{k} {body[k]}" for k in ("team", "user") if body.get(k))
    return passed(name, f"token accepted ({who or 'auth.test ok'}); alerts to {channel}")


def check_dashboards(settings: Settings, timeout_s: float) -> list[Check]:
    monitor = settings.pt_health
    if not monitor.dashboard_urls:
        return [
            skipped(
                "dashboard", "no dashboard URL configured" + ("" if monitor.enabled else "; monitor disabled")
            )
        ]
    token = _secret(monitor.dashboard_token) or None
    checks = []
    for url in monitor.dashboard_urls:
        name = f"dashboard {display_url(url)}"
        started = time.perf_counter()
        result = fetch_status([url], token, timeout=timeout_s)
        ms = (time.perf_counter() - started) * 1000
        if result.status is None:
            checks.append(failed(name, _redact("; ".join(result.failures), [token or ""])))
        else:
            checks.append(passed(name, f"status document read ({ms:.0f} ms)"))
    return checks


def run_checks(
    environ: Mapping[str, str] | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(NY),
) -> tuple[list[Check], Settings | None]:
    """Every check of the configuration; also the settings when they are valid (for further checks)."""
    environ = os.environ if environ is None else environ
    now = clock()
    path = config_path(environ)
    checks: list[Check] = []
    settings: Settings | None = None
    try:
        settings = load_settings(environ)
    except SettingsError as exc:
        checks.append(failed("settings", str(exc)))
    else:
        checks.append(
            passed("settings", f"profile {settings.profile} from {path} (source {settings.source})")
        )
    checks.append(check_calendar(now))
    probe = settings or _probe(environ, _REQUIRED_VARIABLES)
    if probe is None:
        return checks, None
    checks += check_environment(environ, probe)
    checks += check_paths(probe, now)
    checks.append(check_universe(probe))
    if settings is None:
        checks.append(skipped("external services", "not contacted while the settings are invalid"))
        return checks, None
    checks.append(check_polygon(settings, now, timeout_s))
    checks.append(check_slack(settings, timeout_s))
    checks += check_dashboards(settings, timeout_s)
    return checks, settings
