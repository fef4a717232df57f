"""A fake Slack Web API on loopback: records ``chat.postMessage`` calls, can be told to fail.

``host`` binds another address (the deployment test binds the docker0 bridge, for containers);
``tls=(certfile, keyfile)`` serves https, as a client that sends a secret requires off loopback.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeSlack:
    def __init__(self, host: str = "127.0.0.1", tls: tuple[str, str] | None = None) -> None:
        self.messages: list[dict] = []
        self.auth_headers: list[str] = []
        self.fail_with: str | None = None  # e.g. "channel_not_found"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                fake.auth_headers.append(self.headers.get("Authorization", ""))
                if self.path.rstrip("/").endswith("chat.postMessage") and fake.fail_with is None:
                    fake.messages.append(body)
                    answer = {"ok": True, "channel": body.get("channel"), "ts": f"{len(fake.messages)}.000"}
                else:
                    answer = {"ok": False, "error": fake.fail_with or "unknown_method"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}/api/"

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
