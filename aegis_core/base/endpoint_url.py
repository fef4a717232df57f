"""The one check of an outbound endpoint URL (Polygon, Saxo, dashboard, Slack), run at start-up.

A URL must be absolute ``https://host...``; plain ``http`` is accepted only for a loopback host
(a local fake or relay), because every client sends a secret (an API key, client credentials, a
bearer token) with its requests. User info in a URL is refused: credentials travel in headers only.
Messages never echo the whole URL (it might carry a secret); they name the setting and the part at
fault.
"""

from __future__ import annotations

import ipaddress

import httpx


class EndpointURLError(ValueError):
    pass


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint_url(url: object, name: str) -> str:
    """``url`` unchanged if it is a usable endpoint for a client that sends a secret; else an
    ``EndpointURLError`` naming ``name`` (the setting or variable)."""
    if not isinstance(url, str) or not url.strip():
        raise EndpointURLError(f"{name} is empty; expected https://host/...")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise EndpointURLError(f"{name} is not a valid URL; expected https://host/...") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        shown = repr(parsed.scheme) if parsed.scheme else "none"
        host = parsed.host or "missing"
        raise EndpointURLError(
            f"{name} must be an absolute https://host/... URL (scheme {shown}, host {host})"
        )
    if parsed.userinfo:
        raise EndpointURLError(f"{name} must not carry credentials (user:password@); they go in headers")
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise EndpointURLError(
            f"{name} must use https: plain http to {parsed.host} would carry the secret in clear "
            "(http only on loopback)"
        )
    return url.strip()
