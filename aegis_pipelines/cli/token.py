"""``aegis token status|refresh``: the Saxo token cache from a shell, without Dagster (contract §8).

Configuration is read when a command runs, never at import, through the settings model like every
other entry point (``load_settings``: the profile named by ``AEGIS_CONFIG`` and its environment
overrides): the cache path from ``--cache``, else ``saxo.cache_path`` (``AEGIS_SAXO_TOKEN_CACHE_PATH``),
the token URL from ``saxo.token_url`` (``AEGIS_SAXO_TOKEN_URL``, default: live), the client
credentials from ``SAXOBANK_APP_KEY_LIVE`` / ``SAXOBANK_APP_SECRET_LIVE``, the margin and deadline
from ``--margin`` / ``--deadline``, else ``saxo.refresh_margin_s`` / ``saxo.refresh_deadline_s``.
Output never shows a token. Exit codes: 0 fine, 1 the token needs a person or the refresh failed,
2 bad configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from aegis_core.base.settings import (
    SAXO_REFRESH_DEADLINE,
    SAXO_REFRESH_MARGIN,
    SaxoSettings,
    SettingsError,
    load_settings,
    secret_variable,
)
from aegis_core.ops.saxo import (
    Freshness,
    SaxoTokenClient,
    TokenCacheError,
    TokenCacheNotAFile,
    check_token,
    load_token_cache,
    refresh_if_needed,
)

ENV_CACHE_PATH = "AEGIS_SAXO_TOKEN_CACHE_PATH"

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class _ConfigError(Exception):
    pass


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``token status`` and ``token refresh`` to the top-level CLI's subparsers."""
    token = subparsers.add_parser("token", help="Saxo OAuth token cache: show freshness, refresh")
    commands = token.add_subparsers(dest="token_command", required=True, metavar="{status,refresh}")

    status = commands.add_parser("status", help="show the token's freshness and times (never the token)")
    _add_common(status)
    status.set_defaults(func=status_handler)

    refresh = commands.add_parser("refresh", help="refresh the token if it needs it (exit 1 on failure)")
    _add_common(refresh)
    refresh.add_argument("--force", action="store_true", help="refresh even if the access token is valid")
    refresh.add_argument(
        "--deadline",
        type=SAXO_REFRESH_DEADLINE.arg("--deadline"),
        metavar="SECONDS",
        help="total time for the refresh, every attempt included; the cache lock is held at most "
        f"this long ({SAXO_REFRESH_DEADLINE.describe()}; default: the setting saxo.refresh_deadline_s)",
    )
    refresh.set_defaults(func=refresh_handler)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", type=Path, help=f"token cache file (default: ${ENV_CACHE_PATH})")
    parser.add_argument(
        "--margin",
        type=SAXO_REFRESH_MARGIN.arg("--margin"),
        metavar="SECONDS",
        help=f"refresh this long before the access token expires ({SAXO_REFRESH_MARGIN.describe()}; "
        "default: the setting saxo.refresh_margin_s)",
    )


def _settings() -> SaxoSettings:
    try:
        return load_settings().saxo
    except SettingsError as exc:  # names the file or variable; never a secret's value
        raise _ConfigError(str(exc)) from None


def _cache_path(args: argparse.Namespace, saxo: SaxoSettings) -> Path:
    if args.cache:
        return Path(args.cache)
    if "cache_path" not in saxo.model_fields_set:  # neither the profile nor the environment names one
        raise _ConfigError(f"No token cache given: pass --cache or set {ENV_CACHE_PATH} (or saxo.cache_path)")
    return saxo.cache_path


def _credential(value: SecretStr | None, setting: str) -> SecretStr:
    if value is None:
        raise _ConfigError(
            f"{secret_variable(setting)} is not set: the Saxo app's client credentials are required "
            "to refresh"
        )
    return value


def _margin(args: argparse.Namespace, saxo: SaxoSettings) -> dt.timedelta:
    """``--margin`` (bounded by its argparse type), else the setting (bounded by the settings model)."""
    return dt.timedelta(seconds=saxo.refresh_margin_s if args.margin is None else args.margin)


def _print_fields(fields: Mapping[str, object]) -> None:
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        if value is not None:
            print(f"{key:<{width}}  {value}")


def _regular_file(path: Path) -> None:
    """A cache path that names a FIFO, a device or a folder is a configuration error (exit 2)."""
    try:
        load_token_cache(path)
    except TokenCacheNotAFile as exc:
        raise _ConfigError(str(exc)) from None
    except TokenCacheError:
        pass  # missing or invalid: the command's own outcome says so


def status_handler(args: argparse.Namespace) -> int:
    try:
        saxo = _settings()
        path, margin = _cache_path(args, saxo), _margin(args, saxo)
        _regular_file(path)
    except _ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        report = check_token(path, margin=margin)
    except TokenCacheError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _print_fields({"cache": str(path), **report.metadata()})
    if report.state is Freshness.EXPIRED:
        print(
            f"Manual re-authorization required ({report.state.value}): the refresh token has expired",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def refresh_handler(args: argparse.Namespace) -> int:
    try:
        saxo = _settings()
        path, margin = _cache_path(args, saxo), _margin(args, saxo)
        _regular_file(path)
        app_key = _credential(saxo.app_key, "saxo.app_key")
        app_secret = _credential(saxo.app_secret, "saxo.app_secret")
        deadline = saxo.refresh_deadline_s if args.deadline is None else args.deadline
        client = SaxoTokenClient(app_key, app_secret, token_url=saxo.token_url, deadline=deadline)
    except _ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    outcome = refresh_if_needed(path, client, margin=margin, force=args.force)
    _print_fields(outcome.metadata())
    if not outcome.ok:
        print(f"token refresh failed: {outcome.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
