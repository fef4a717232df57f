"""A Polygon-compatible HTTP server over the simulated market (contract §3–4), for tests and the default run.

Endpoints (Polygon's JSON shapes; ``Authorization: Bearer <key>`` required, the apiKey parameter refused):

- ``GET /v2/aggs/ticker/{T}/range/1/day/{from}/{to}`` (``I:VIX``: index bars, o/h/l/c/t only)
- ``GET /v2/aggs/grouped/locale/us/market/stocks/{date}``
- ``GET /v3/snapshot/options/{underlying}?limit=…`` paged through absolute ``next_url`` cursors

Snapshots are live-only, so the simulated "now" comes from a path prefix
``/asof/<ISO-8601 with offset>/…`` (see ``sim_base_url``), else the server's ``as_of``, else the
wall clock. Bars of sessions that have not opened by then do not exist yet.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hmac
import logging
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import orjson

from aegis_core.calendar import NY, CalendarRangeError, nyse
from aegis_core.sim.faults import Fault, Faults
from aegis_core.sim.http11 import MAX_HEAD, BadRequest, Request, Response, read_request, write_response
from aegis_core.sim.market import VIX_TICKER, SimMarket
from aegis_core.sim.seeding import stable_int
from aegis_core.sim.shapes import aggregates_body, error_body, grouped_body, option_records

_log = logging.getLogger(__name__)

MAX_SNAPSHOT_LIMIT = 250
DEFAULT_SNAPSHOT_LIMIT = 10  # Polygon's default page size
MAX_AGGS_LIMIT = 50_000
_ATTEMPTS_CAP = 500_000

Clock = Callable[[], dt.datetime]


def sim_base_url(server_url: str, as_of: dt.datetime | str) -> str:
    """``server_url`` with the ``/asof/<moment>`` prefix that fixes the simulated "now"."""
    moment = parse_moment(as_of) if isinstance(as_of, str) else as_of
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"as_of {moment.isoformat()} has no UTC offset; give an aware datetime")
    return f"{server_url.rstrip('/')}/asof/{quote(moment.isoformat(), safe=':+-.')}"


def parse_moment(text: str) -> dt.datetime:
    """An ISO-8601 moment with a UTC offset (``Z`` allowed), e.g. ``2026-11-20T16:00:00-05:00``."""
    try:
        moment = dt.datetime.fromisoformat(unquote(text).replace(" ", "+"))
    except ValueError:
        expected = "expected ISO-8601 like 2026-11-20T16:00:00-05:00"
        raise ValueError(f"invalid as-of moment {text!r}: {expected}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"as-of moment {text!r} has no UTC offset (add e.g. -05:00 or Z)")
    return moment


@dataclass
class ServerStats:
    """Counters for tests and benchmarks (updated on the server's loop thread)."""

    requests: Counter[str] = field(default_factory=Counter)  # by kind: vix, aggs, grouped, options, other
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)  # 429, 5xx, stall, truncate, forced, repeat_cursor
    bytes_sent: int = 0
    connections: int = 0  # accepted TCP connections (keep-alive reuses them)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "requests": dict(self.requests),
            "statuses": dict(self.statuses),
            "faults": dict(self.faults),
            "bytes_sent": self.bytes_sent,
            "connections": self.connections,
        }


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status, orjson.dumps(body), headers or {})


def _error(status: int, request_id: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """Polygon's generic error body: ``{"status":"ERROR","request_id":…,"error":…}``."""
    return _json(status, error_body("ERROR", request_id, message, key="error"), headers)


def _encode_cursor(offset: int, limit: int, moment: dt.datetime) -> str:
    raw = orjson.dumps({"o": offset, "l": limit, "t": moment.isoformat()})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int, dt.datetime]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, limit, moment = int(data["o"]), int(data["l"]), parse_moment(data["t"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise BadRequest(400, f"invalid cursor {cursor[:40]!r}") from None
    if offset < 0 or not 1 <= limit <= MAX_SNAPSHOT_LIMIT:
        raise BadRequest(400, f"invalid cursor {cursor[:40]!r}")
    return offset, limit, moment


def _parse_day(text: str, name: str) -> dt.date:
    if text.isdigit():  # Polygon also takes millisecond timestamps
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=NY).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(400, f"invalid {name} date {text!r}: expected YYYY-MM-DD or epoch ms") from None


def _int_param(query: dict[str, list[str]], name: str, default: int, lo: int, hi: int) -> int:
    text = query.get(name, [str(default)])[-1]
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(400, f"invalid {name} {text!r}: expected an integer") from None
    if not lo <= value <= hi:
        raise BadRequest(400, f"{name} must be between {lo} and {hi}, got {value}")
    return value


class SimServer:
    """The simulated Polygon API on loopback. Use as a context manager or ``start()``/``stop()``.

    ``api_key=None`` accepts any non-empty bearer token. ``as_of`` (an aware datetime or a clock
    function) is the simulated "now" for requests without an ``/asof/`` prefix; default: the wall
    clock. ``faults`` may be replaced while the server runs.
    """

    def __init__(
        self,
        market: SimMarket,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        faults: Faults | None = None,
        as_of: dt.datetime | Clock | None = None,
    ):
        if api_key is not None and not api_key:
            raise ValueError("SimServer api_key must be non-empty (or None to accept any bearer token)")
        if isinstance(as_of, dt.datetime) and (as_of.tzinfo is None or as_of.utcoffset() is None):
            raise ValueError(f"SimServer as_of {as_of.isoformat()} has no UTC offset")
        self.market = market
        self.host = host
        self.port = port
        self.faults = faults or Faults()
        self.stats = ServerStats()
        self.__api_key = api_key
        self._as_of = as_of
        self._attempts: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:  # never shows the key
        return f"SimServer(url={self.url if self._loop else None!r}, market={self.market!r})"

    @property
    def url(self) -> str:
        if self._loop is None:
            raise RuntimeError("SimServer is not running: call start() first")
        return f"http://{self.host}:{self.port}"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve from a daemon thread; return the base URL (``http://127.0.0.1:PORT``)."""
        if self._thread is not None:
            raise RuntimeError("SimServer already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self._serve(on_ready=lambda _url: ready.set()))
            except BaseException as exc:  # surfaced to start()'s caller
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name="sim-polygon", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            self._thread = None
            where = f"{self.host}:{self.port}"
            raise RuntimeError(f"SimServer failed to start on {where}: {failure[0]}") from failure[0]
        return self.url

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self, ready: Callable[[str], None] | None = None) -> None:
        """Serve in the calling thread until ``stop()`` or SIGINT/SIGTERM (when on the main thread)."""
        asyncio.run(self._serve(on_ready=ready or (lambda _url: None), signals=True))

    async def _serve(self, on_ready: Callable[[str], None], signals: bool = False) -> None:
        nyse()  # build the calendar (~2 s) before the first request, not during it
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._connection, self.host, self.port, limit=MAX_HEAD, backlog=512
        )
        self.port = server.sockets[0].getsockname()[1]
        if signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._stopping.set)
        try:
            on_ready(self.url)
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()
            self._loop = None

    # -- connections ----------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.stats.connections += 1
        try:
            while True:
                try:
                    request = await read_request(reader)
                except BadRequest as exc:
                    response = _error(exc.status, self._request_id("bad"), str(exc))
                    await write_response(writer, response, keep_alive=False, head_only=False)
                    return
                if request is None:
                    return
                response = await self._respond(request)
                if response.delay_s:
                    await asyncio.sleep(response.delay_s)
                keep_alive = request.keep_alive and response.truncate_to is None
                sent = await write_response(writer, response, keep_alive, head_only=request.method == "HEAD")
                self.stats.statuses[response.status] += 1
                self.stats.bytes_sent += sent
                if not keep_alive:
                    return
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            return  # the client went away (e.g. it timed out during a stall)
        except asyncio.CancelledError:
            return  # the server is stopping; ending quietly keeps asyncio from logging the cancellation
        finally:
            self._connections.discard(task)
            writer.close()

    def _request_id(self, target: str) -> str:
        return f"{stable_int(self.market.seed, target):032x}"

    def _attempt(self, target: str) -> int:
        if len(self._attempts) > _ATTEMPTS_CAP:
            self._attempts.clear()
        n = self._attempts.get(target, 0) + 1
        self._attempts[target] = n
        return n

    def _now(self) -> dt.datetime:
        if self._as_of is None:
            return dt.datetime.now(dt.UTC)
        if isinstance(self._as_of, dt.datetime):
            return self._as_of
        return self._as_of()

    async def _respond(self, request: Request) -> Response:
        faults = self.faults
        split = urlsplit(request.target)
        segments = [unquote(s) for s in split.path.split("/")[1:]]
        kind = _kind(segments)
        self.stats.requests[kind] += 1
        request_id = self._request_id(request.target)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000.0)
        if faults.force_status is not None:
            self.stats.faults["forced"] += 1
            return _forced(faults, request_id)
        if request.method not in ("GET", "HEAD"):
            return _error(405, request_id, f"method {request.method} not allowed")
        denied = self._authorize(request, request_id)
        if denied is not None:
            return denied
        attempt = self._attempt(request.target)
        fault = faults.draw(request.target, attempt)
        if fault is Fault.RATE_LIMIT:
            self.stats.faults[fault.value] += 1
            return _json(
                429,
                error_body("ERROR", request_id, _RATE_LIMIT_MESSAGE, key="error"),
                {"Retry-After": faults.retry_after_header},
            )
        if fault is Fault.SERVER_ERROR:
            self.stats.faults[fault.value] += 1
            status = faults.server_error_status(request.target, attempt)
            return _error(status, request_id, f"simulated upstream failure ({status})")
        try:
            response = self._route(request, split.path, split.query, segments, request_id)
        except BadRequest as exc:
            response = _error(exc.status, request_id, str(exc))
        except CalendarRangeError as exc:
            response = _error(400, request_id, f"{exc} (simulated market)")
        except Exception as exc:  # a bug here must not look like a dropped connection to the client
            _log.exception("simulated Polygon server failed on %s", split.path)
            response = _error(500, request_id, f"simulated server error on {split.path}: {exc!r}")
        if fault is Fault.STALL:
            self.stats.faults[fault.value] += 1
            response.delay_s = faults.stall_s
        elif fault is Fault.TRUNCATE:
            self.stats.faults[fault.value] += 1
            response.truncate_to = len(response.body) // 2
        return response

    def _authorize(self, request: Request, request_id: str) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            message = "API Key was not provided (send Authorization: Bearer <key>)"
        elif self.__api_key is not None and not hmac.compare_digest(token.encode(), self.__api_key.encode()):
            message = "Unknown API Key"
        else:
            return None
        return _json(401, error_body("NOT_AUTHORIZED", request_id, message))

    # -- routes ---------------------------------------------------------------------------------

    def _route(
        self, request: Request, raw_path: str, query_text: str, segments: list[str], request_id: str
    ) -> Response:
        prefix = ""
        moment = None
        if len(segments) >= 2 and segments[0] == "asof":
            try:
                moment = parse_moment(segments[1])
            except ValueError as exc:
                raise BadRequest(400, str(exc)) from None
            prefix = "/asof/" + raw_path.split("/")[2]  # as sent, so next_url keeps the client's spelling
            segments = segments[2:]
        moment = moment or self._now()
        query = parse_qs(query_text, keep_blank_values=True)
        match segments:
            case ["v2", "aggs", "ticker", ticker, "range", multiplier, timespan, start, end]:
                return self._aggregates(ticker, multiplier, timespan, start, end, query, moment, request_id)
            case ["v2", "aggs", "grouped", "locale", "us", "market", "stocks", day]:
                return self._grouped(day, query, moment, request_id)
            case ["v3", "snapshot", "options", underlying]:
                host = request.headers.get("host") or f"{self.host}:{self.port}"
                base = f"http://{host}{prefix}"
                return self._snapshot(underlying, query, moment, base, request_id)
        endpoint = "/".join(segments)[:200]
        return _json(404, error_body("NOT_FOUND", request_id, f"no such endpoint: {endpoint}"))

    def _aggregates(
        self,
        ticker: str,
        multiplier: str,
        timespan: str,
        start: str,
        end: str,
        query: dict[str, list[str]],
        moment: dt.datetime,
        request_id: str,
    ) -> Response:
        if multiplier != "1" or timespan != "day":
            raise BadRequest(400, f"only 1/day aggregates are simulated, got {multiplier}/{timespan}")
        lo, hi = _parse_day(start, "from"), _parse_day(end, "to")
        adjusted = query.get("adjusted", ["true"])[-1].lower() != "false"
        limit = _int_param(query, "limit", 5000, 1, MAX_AGGS_LIMIT)
        bars = []
        if ticker == VIX_TICKER or self.market.knows(ticker):
            bars = self.market.daily_bars(ticker, lo, hi, as_of=moment)
        if query.get("sort", ["asc"])[-1] == "desc":
            bars.reverse()
        body = aggregates_body(ticker, bars[:limit], request_id, adjusted)
        if "results" in body:
            body["results"] = self.faults.lie_about_bars(body["results"])
        if ticker == VIX_TICKER and self.faults.vix_close is not None:
            for bar in body.get("results", []):
                bar["c"] = self.faults.vix_close
        return _json(200, body)

    def _grouped(
        self, day: str, query: dict[str, list[str]], moment: dt.datetime, request_id: str
    ) -> Response:
        date = _parse_day(day, "grouped")
        adjusted = query.get("adjusted", ["true"])[-1].lower() != "false"
        omit = self.faults.grouped_omit
        bars = {s: b for s, b in self.market.grouped(date, as_of=moment).items() if s not in omit}
        body = grouped_body(bars, request_id, adjusted)
        if "results" in body:
            body["results"] = self.faults.lie_about_grouped(body["results"])
        return _json(200, body)

    def _snapshot(
        self, underlying: str, query: dict[str, list[str]], moment: dt.datetime, base: str, request_id: str
    ) -> Response:
        cursor = query.get("cursor", [None])[-1]
        if cursor:
            offset, limit, moment = _decode_cursor(cursor)
        else:
            offset, limit = 0, _int_param(query, "limit", DEFAULT_SNAPSHOT_LIMIT, 1, MAX_SNAPSHOT_LIMIT)
        chain = self.market.chain(underlying, moment)
        if chain is None:
            return _json(200, {"results": [], "status": "OK", "request_id": request_id})
        stop = min(offset + limit, len(chain))
        body: dict[str, Any] = {
            "results": self.faults.lie_about(underlying, option_records(chain, offset, stop))
            if offset < stop
            else [],
            "status": "OK",
            "request_id": request_id,
        }
        path = f"{base}/v3/snapshot/options/{quote(underlying, safe='.')}"
        if cursor and underlying in self.faults.repeat_cursor_symbols:
            self.stats.faults["repeat_cursor"] += 1
            body["next_url"] = f"{path}?cursor={cursor}"  # the upstream bug: the same cursor forever
        elif stop < len(chain):
            body["next_url"] = f"{path}?cursor={_encode_cursor(stop, limit, moment)}"
        return _json(200, body)


_RATE_LIMIT_MESSAGE = (
    "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue."
)


def _kind(segments: list[str]) -> str:
    if len(segments) >= 2 and segments[0] == "asof":
        segments = segments[2:]
    if segments[:3] == ["v2", "aggs", "ticker"]:
        return "vix" if len(segments) > 3 and segments[3] == VIX_TICKER else "aggs"
    if segments[:3] == ["v2", "aggs", "grouped"]:
        return "grouped"
    if segments[:3] == ["v3", "snapshot", "options"]:
        return "options"
    return "other"


def _forced(faults: Faults, request_id: str) -> Response:
    status = faults.force_status
    assert status is not None
    if status == 401:
        return _json(401, error_body("NOT_AUTHORIZED", request_id, "Unknown API Key"))
    if status == 403:
        message = "You are not entitled to this data. Please upgrade your plan at https://polygon.io/pricing"
        return _json(403, error_body("NOT_AUTHORIZED", request_id, message))
    if status == 404:
        return _json(404, error_body("NOT_FOUND", request_id, "Data not found."))
    headers = {"Retry-After": faults.retry_after_header} if status == 429 else None
    message = _RATE_LIMIT_MESSAGE if status == 429 else f"simulated upstream failure ({status})"
    return _json(status, error_body("ERROR", request_id, message, key="error"), headers)
