"""Saxo OpenAPI OAuth token keeper (contract §8): cache file, freshness, refresh client, locked
refresh step."""

from aegis_core.ops.saxo.cache import (
    TokenCache,
    TokenCacheError,
    TokenCacheNotAFile,
    load_token_cache,
    parse_token_cache,
    save_token_cache,
)
from aegis_core.ops.saxo.client import (
    DEFAULT_DEADLINE_S,
    LIVE_TOKEN_URL,
    SIM_TOKEN_URL,
    RefreshResult,
    RetryPolicy,
    SaxoTokenClient,
    TokenRefresher,
)
from aegis_core.ops.saxo.errors import (
    REAUTH_MESSAGE,
    MalformedTokenResponse,
    ReauthorizationRequired,
    RefreshRejected,
    TokenRefreshError,
    TransientRefreshError,
)
from aegis_core.ops.saxo.freshness import (
    DEFAULT_MARGIN,
    Freshness,
    FreshnessReport,
    assess,
    classify,
)
from aegis_core.ops.saxo.keeper import OutcomeKind, RefreshOutcome, check_token, refresh_if_needed
from aegis_core.ops.saxo.lock import CacheLockTimeout, CacheLockUnavailable, cache_lock, lock_path_for

__all__ = [
    "DEFAULT_DEADLINE_S",
    "DEFAULT_MARGIN",
    "LIVE_TOKEN_URL",
    "REAUTH_MESSAGE",
    "SIM_TOKEN_URL",
    "CacheLockTimeout",
    "CacheLockUnavailable",
    "Freshness",
    "FreshnessReport",
    "MalformedTokenResponse",
    "OutcomeKind",
    "ReauthorizationRequired",
    "RefreshOutcome",
    "RefreshRejected",
    "RefreshResult",
    "RetryPolicy",
    "SaxoTokenClient",
    "TokenCache",
    "TokenCacheError",
    "TokenCacheNotAFile",
    "TokenRefreshError",
    "TokenRefresher",
    "TransientRefreshError",
    "assess",
    "cache_lock",
    "check_token",
    "classify",
    "load_token_cache",
    "lock_path_for",
    "parse_token_cache",
    "refresh_if_needed",
    "save_token_cache",
]
