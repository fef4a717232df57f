"""First deploy: seed the keeper's cache once from the canonical cache (the token keeper runbook).

The runbook's deploy workflow bootstraps a new keeper's cache "by copying the canonical file once".
``bootstrap_cache`` does that, and only that: when the cache is missing it copies the canonical file
byte for byte (after checking it is a readable token cache), owner-only, atomically
(``aegis_core.base.atomic.create_bytes``: a fsynced temporary in the cache's folder, then a hard link,
which fails instead of replacing anything). An existing cache — even one created by someone else a
moment earlier — is never overwritten.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from aegis_core.base.atomic import create_bytes
from aegis_core.base.user_files import TOKEN_MAX_BYTES, UserFileError, UserFileMissing, read_user_file
from aegis_core.ops.saxo.cache import CACHE_MODE, TokenCacheError, parse_token_cache


class Bootstrap(StrEnum):
    COPIED = "copied"
    EXISTS = "exists"  # the cache was already there: left untouched


def bootstrap_cache(cache_path: Path | str, canonical_path: Path | str) -> Bootstrap:
    """Copy ``canonical_path`` to ``cache_path`` if (and only if) the cache does not exist.

    Raises ``TokenCacheError`` naming the canonical file when it is missing or not a token cache,
    and when the cache's folder cannot be written.
    """
    cache, canonical = Path(cache_path), Path(canonical_path)
    if cache.exists() or cache.is_symlink():
        return Bootstrap.EXISTS
    if cache.resolve() == canonical.resolve():
        raise TokenCacheError(f"Bootstrap source {canonical} is the cache itself, and it does not exist")
    try:
        data = read_user_file(canonical, max_bytes=TOKEN_MAX_BYTES, what="Bootstrap source")
    except UserFileMissing:
        raise TokenCacheError(
            f"Bootstrap source {canonical} not found: nothing to seed the cache {cache} from"
        ) from None
    except UserFileError as exc:
        raise TokenCacheError(str(exc)) from None
    parse_token_cache(data, f"{canonical} (bootstrap source)")  # a bad source is refused, named
    try:
        created = create_bytes(cache, data, mode=CACHE_MODE)
    except OSError as exc:
        raise TokenCacheError(f"Token cache {cache} cannot be bootstrapped: {exc.strerror}") from None
    return Bootstrap.COPIED if created else Bootstrap.EXISTS
