"""Refresh failures. Messages name the endpoint, the HTTP status and the OAuth error code: never a token,
a client secret or a response body (a body may echo tokens)."""

from __future__ import annotations

REAUTH_MESSAGE = "Manual re-authorization required"


class TokenRefreshError(Exception):
    """Base of refresh failures. ``terminal``: retrying cannot help, a person must act."""

    terminal: bool = False

    def __init__(
        self, message: str, *, status: int | None = None, error_code: str | None = None, attempts: int = 1
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.attempts = attempts


class ReauthorizationRequired(TokenRefreshError):
    """The token endpoint refused the refresh token or the client (``invalid_grant``, ``invalid_client``
    …): a person must re-authorise in a browser. Never retried."""

    terminal = True


class RefreshRejected(TokenRefreshError):
    """A 4xx without an OAuth error body (wrong URL, gateway refusal): configuration, not the grant."""

    terminal = True


class TransientRefreshError(TokenRefreshError):
    """5xx, 429, timeouts and connection errors that outlasted the bounded retries."""


class MalformedTokenResponse(TokenRefreshError):
    """A 2xx whose body is not a usable token. Not retried at once (the server may have rotated the
    refresh token already); the next scheduled refresh tries again."""
