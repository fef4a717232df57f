"""Async REST client of Polygon (now Massive): auth header, pagination, retries, rate limit, and
columnar parsing into the archive contract (contract §3)."""

from aegis_core.polygon.client import DEFAULT_BASE_URL, CaptureWindow, PolygonClient
from aegis_core.polygon.errors import (
    PolygonAuthError,
    PolygonCaptureWindowError,
    PolygonError,
    PolygonHTTPError,
    PolygonNoDataError,
    PolygonPaginationError,
    PolygonResponseError,
    PolygonRetryError,
)
from aegis_core.polygon.results import ChainsResult, StocksResult
from aegis_core.polygon.stats import RequestStats

__all__ = [
    "DEFAULT_BASE_URL",
    "CaptureWindow",
    "ChainsResult",
    "PolygonAuthError",
    "PolygonCaptureWindowError",
    "PolygonClient",
    "PolygonError",
    "PolygonHTTPError",
    "PolygonNoDataError",
    "PolygonPaginationError",
    "PolygonResponseError",
    "PolygonRetryError",
    "RequestStats",
    "StocksResult",
]
