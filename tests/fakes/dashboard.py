"""A fake trading-runtime dashboard: a real HTTP server on 127.0.0.1 (ephemeral port, own thread).

Serves a settable status document at any path, or misbehaves on request (``mode``): answer 500,
stall past the client's timeout, or send a body that is not JSON. Records the Authorization header
of every request so tests can check the bearer token arrived (and only there).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "error", "stall", "bad_json"]


class FakeDashboard:
    def __init__(self, status: dict[str, Any] | None = None, stall_seconds: float = 5.0):
        self.status: dict[str, Any] = status or {}
        self.mode: Mode = "ok"
        self.stall_seconds = stall_seconds
        self.authorizations: list[str | None] = []
        self.paths: list[str] = []
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, name="fake-dashboard", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/status_v3"

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)  # short poll: fast shutdown between tests

    def start(self) -> FakeDashboard:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()  # let stalled handlers finish at once
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeDashboard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.authorizations.append(self.headers.get("Authorization"))
                fake.paths.append(self.path)
                if fake.mode == "stall":
                    fake._release.wait(fake.stall_seconds)
                    body, code = b"{}", 200
                elif fake.mode == "error":
                    body, code = b'{"error": "internal"}', 500
                elif fake.mode == "bad_json":
                    body, code = b'{"runtime": {"desired": 1, ', 200
                else:
                    body, code = json.dumps(fake.status).encode(), 200
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell it

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler
