"""``aegis token status|refresh``: the Saxo token cache from a shell, without Dagster (SPEC §8).

Configuration is read when a command runs, never at import: the cache path from ``--cache`` or
``AEGIS_SAXO_TOKEN_CACHE_PATH``, the token URL from ``AEGIS_SAXO_TOKEN_URL`` (default: live), the
client credentials from ``SAXOBANK_APP_KEY_LIVE`` / ``SAXOBANK_APP_SECRET_LIVE``. Output never shows
a token. Exit codes: 0 fine, 1 the token needs a person or the refresh failed, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from aegis_core.saxo import (
    DEFAULT_DEADLINE_S,
    LIVE_TOKEN_URL,
    Freshness,
    SaxoTokenClient,
    TokenCacheError,
    check_token,
    refresh_if_needed,
)

ENV_CACHE_PATH = "AEGIS_SAXO_TOKEN_CACHE_PATH"
ENV_TOKEN_URL = "AEGIS_SAXO_TOKEN_URL"
ENV_APP_KEY = "SAXOBANK_APP_KEY_LIVE"
ENV_APP_SECRET = "SAXOBANK_APP_SECRET_LIVE"

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
        type=float,
        default=DEFAULT_DEADLINE_S,
        metavar="SECONDS",
        help="total time for the refresh, every attempt included; the cache lock is held at most "
        f"this long (default: {DEFAULT_DEADLINE_S:g})",
    )
    refresh.set_defaults(func=refresh_handler)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", type=Path, help=f"token cache file (default: ${ENV_CACHE_PATH})")
    parser.add_argument(
        "--margin",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="refresh this long before the access token expires (default: 300)",
    )


def _cache_path(args: argparse.Namespace) -> Path:
    if args.cache:
        return Path(args.cache)
    value = os.environ.get(ENV_CACHE_PATH, "").strip()
    if not value:
        raise _ConfigError(f"No token cache given: pass --cache or set {ENV_CACHE_PATH}")
    return Path(value)


def _required_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise _ConfigError(f"{name} is not set: the Saxo app's client credentials are required to refresh")
    return value


def _margin(args: argparse.Namespace) -> dt.timedelta:
    if args.margin < 0:
        raise _ConfigError(f"--margin must not be negative (got {args.margin:g})")
    return dt.timedelta(seconds=args.margin)


def _print_fields(fields: Mapping[str, object]) -> None:
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        if value is not None:
            print(f"{key:<{width}}  {value}")


def status_handler(args: argparse.Namespace) -> int:
    try:
        path, margin = _cache_path(args), _margin(args)
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
        path, margin = _cache_path(args), _margin(args)
        token_url = os.environ.get(ENV_TOKEN_URL, "").strip() or LIVE_TOKEN_URL
        app_key, app_secret = _required_env(ENV_APP_KEY), _required_env(ENV_APP_SECRET)
        if not 0 < args.deadline <= 3600:
            raise _ConfigError(f"--deadline must be between 0 and 3600 seconds (got {args.deadline:g})")
        client = SaxoTokenClient(app_key, app_secret, token_url=token_url, deadline=args.deadline)
    except _ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError as exc:  # a bad token URL; the message names it
        print(f"error: {ENV_TOKEN_URL}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    outcome = refresh_if_needed(path, client, margin=margin, force=args.force)
    _print_fields(outcome.metadata())
    if not outcome.ok:
        print(f"token refresh failed: {outcome.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
