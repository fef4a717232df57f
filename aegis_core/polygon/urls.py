"""URL helpers: symbols as path segments, and the origin the API key may be sent to."""

from __future__ import annotations

import urllib.parse

import httpx


def path_segment(value: str) -> str:
    """A symbol as one path segment: ``I:VIX`` and ``BRK.B`` stay readable, ``/`` or ``?`` cannot escape."""
    return urllib.parse.quote(value, safe=":.-_")


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit: the unit of "same server"."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default
