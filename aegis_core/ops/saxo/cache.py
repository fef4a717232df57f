"""The Saxo OAuth token cache file (contract §8): lenient reading, exact atomic owner-only writing.

The file is shared with the operator's other keepers (Python and Rust), so reading accepts what they
write (``issued_at`` as epoch seconds or an ISO-8601 string, extra fields) while writing emits exactly
the contract's fields (contract §8). Token values are ``SecretStr`` and never reach a repr, a log
line or an exception.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from aegis_core.base.atomic import replace_file, sweep_temps
from aegis_core.base.bounds import Range
from aegis_core.base.user_files import TOKEN_MAX_BYTES, UserFileError, UserFileMissing, read_user_file

UTC = dt.UTC
# A temporary of the pre-shared-writer saves: .NAME.PID.HEX.tmp
_LEGACY_TEMP = re.compile(r"\.\d+\.[0-9a-f]+\.tmp")
CACHE_MODE = 0o600
# The order the file is written in: exactly the contract's fields (contract §8), nothing else.
CACHE_FIELDS = (
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "refresh_token_expires_in",
    "issued_at",
)


# Sane ranges, so arithmetic on a hostile file cannot overflow a datetime: issued between 1970 and
# 2106, lifetimes within ten years either way (negative: already expired, as Saxo sometimes sends).
MAX_EPOCH_S = 2**32
MAX_LIFETIME_S = 10 * 366 * 86_400
LIFETIME = Range(-MAX_LIFETIME_S, MAX_LIFETIME_S, "s", integer=True)
ISSUED_AT = Range(0, MAX_EPOCH_S - 1, "s since 1970")


class TokenCacheError(Exception):
    """The cache file is missing, unreadable or invalid; the message names the file, never a token."""


class TokenCacheNotAFile(TokenCacheError):
    """The cache path names something that is not a regular file under the size cap (a FIFO, a
    device, a folder, a runaway file): a configuration error, not a token that needs a person."""


def _epoch(value: Any) -> Any:
    """Accept epoch seconds (int/float/numeric string), an ISO-8601 string or a datetime."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError("issued_at is neither epoch seconds nor an ISO-8601 timestamp") from exc
    else:
        return value
    # A naive timestamp is taken as UTC: the keepers write UTC.
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    except (OverflowError, ValueError) as exc:
        raise ValueError("issued_at is outside the supported range of timestamps") from exc


class TokenCache(BaseModel):
    """One Saxo OAuth2 token as cached on disk. ``issued_at`` is epoch seconds (UTC)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: SecretStr = Field(min_length=1)
    token_type: str = "Bearer"
    # Negative values happen (Saxo); they mean an access token that is already expired.
    expires_in: int = LIFETIME.field()
    refresh_token: SecretStr = Field(min_length=1)
    refresh_token_expires_in: int = LIFETIME.field()
    issued_at: float = ISSUED_AT.field()

    @field_validator("issued_at", mode="before")
    @classmethod
    def _parse_issued_at(cls, value: Any) -> Any:
        return _epoch(value)

    @property
    def issued_at_dt(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.issued_at, UTC)

    @property
    def expires_at(self) -> dt.datetime:
        """When the access token stops working."""
        return dt.datetime.fromtimestamp(self.issued_at + self.expires_in, UTC)

    @property
    def refresh_expires_at(self) -> dt.datetime:
        """When the refresh token stops working: after it, a person must re-authorise."""
        return dt.datetime.fromtimestamp(self.issued_at + self.refresh_token_expires_in, UTC)

    def to_json_bytes(self) -> bytes:
        """The file content: exactly the contract's fields (contract §8), in its order."""
        issued = int(self.issued_at) if float(self.issued_at).is_integer() else self.issued_at
        doc = {
            "access_token": self.access_token.get_secret_value(),
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token.get_secret_value(),
            "refresh_token_expires_in": self.refresh_token_expires_in,
            "issued_at": issued,
        }
        return (json.dumps(doc, indent=2) + "\n").encode()


def describe_validation_error(exc: ValidationError) -> str:
    """Field names and reasons only: pydantic's own message would quote the offending (secret) input."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(p) for p in err["loc"]) or "(document)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_token_cache(data: bytes | str, source: str) -> TokenCache:
    """Parse a cache document; ``source`` (a path or URL) names it in errors."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        # JSONDecodeError's position is safe; its message never quotes the document.
        raise TokenCacheError(f"Token cache {source} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise TokenCacheError(f"Token cache {source} is not a JSON object")
    try:
        return TokenCache.model_validate(doc)
    except ValidationError as exc:
        raise TokenCacheError(f"Token cache {source} is invalid: {describe_validation_error(exc)}") from None


def load_token_cache(path: Path | str) -> TokenCache:
    path = Path(path)
    try:
        data = read_user_file(path, max_bytes=TOKEN_MAX_BYTES, what="Token cache")
    except UserFileMissing:
        raise TokenCacheError(
            f"Token cache {path} not found: a person must authorise once to create it"
        ) from None
    except UserFileError as exc:
        raise TokenCacheNotAFile(str(exc)) from None
    return parse_token_cache(data, str(path))


def resolve_cache_path(path: Path | str) -> Path:
    """The file a cache path stands for: a symbolic link's final target (the link itself stays)."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _owner(path: Path) -> tuple[int, int] | None:
    """The (uid, gid) of the cache file a save replaces (None when there is none yet)."""
    try:
        found = os.stat(resolve_cache_path(path))
    except FileNotFoundError:
        return None
    return found.st_uid, found.st_gid


def cache_owner_problem(path: Path | str) -> str | None:
    """Why this process cannot save ``path`` keeping its owner (None when it can).

    A save replaces the file: the new file would belong to this process's user, and a keeper running
    as the file's owner would then get "Permission denied" from a 0600 file it no longer owns. Root
    gives the new file the old owner; any other user can save only a file of its own."""
    owner = _owner(Path(path))
    euid = os.geteuid()
    if owner is None or owner[0] == euid or euid == 0:
        return None
    return (
        f"Token cache {path} belongs to uid {owner[0]} but this keeper runs as uid {euid}: saving would "
        "take it from its owner; run the keeper as that user (or as root, which keeps the owner)"
    )


def save_token_cache(path: Path | str, token: TokenCache) -> None:
    """Replace the cache atomically with owner-only permissions (``aegis_core.base.atomic``).

    The temporary is created 0600 before a byte is written, fsynced, renamed over the cache and the
    folder fsynced: a reader sees the old file or the new one, and a crash before the rename leaves
    the old one intact. A symbolic link is written through: its target is replaced (atomically, in
    the target's folder) and the link stays, so keepers reading the target see the new refresh token.
    """
    # The owner stays: the file's other keepers run as its owner (``cache_owner_problem`` refuses a
    # save that cannot keep it); the mode is tightened to owner-only whatever it was (0644 → 0600).
    problem = cache_owner_problem(path)
    if problem:
        raise PermissionError(errno.EPERM, problem)
    owner, data = _owner(Path(path)), token.to_json_bytes()

    def write(handle: BinaryIO) -> None:
        if owner is not None and os.geteuid() == 0 and owner != (os.geteuid(), os.getegid()):
            os.fchown(handle.fileno(), *owner)
        handle.write(data)

    # Best effort for the folder's fsync only: once renamed, the token is saved, and reporting it as
    # not saved would call for a needless re-authorisation.
    replace_file(Path(path), write, mode=CACHE_MODE, folder_sync_best_effort=True)


def remove_stale_temp_files(path: Path | str) -> int:
    """Delete the temporary files a crashed save left behind; return how many. Call only while holding
    the cache lock.

    The shared writer's temporaries are swept unless their writer is alive. Those named the way this
    module named them before it used the shared writer (``.NAME.PID.HEX.tmp``) are removed outright:
    only a save holds the lock, so none of them belongs to a live save.
    """
    path = resolve_cache_path(path)
    removed = sweep_temps(path)
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        if _LEGACY_TEMP.fullmatch(leftover.name[len(path.name) + 1 :]):
            with contextlib.suppress(OSError):  # best effort: a leftover must never block a refresh
                leftover.unlink()
                removed += 1
    return removed
