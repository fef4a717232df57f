"""A fake Saxo OAuth2 token endpoint: a real HTTP server on 127.0.0.1 (ephemeral port, own thread).

It checks what Saxo checks (HTTP Basic client auth, the form, a known refresh token) and then answers
from a per-request script: ``Success`` (200 or 201, any ``expires_in``), ``OAuthError`` (400
``invalid_grant`` …), ``ServerError`` (5xx, optional ``Retry-After``), ``Stall`` (no answer, for
timeouts) or ``RawBody``. Refresh tokens rotate like Saxo's: a used one stops working. Every request
is recorded.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Success:
    status: int = 200
    expires_in: int = 1200
    refresh_token_expires_in: int = 3600
    delay: float = 0.0  # seconds before answering (to make concurrent refreshers overlap)
    drop: tuple[str, ...] = ()  # fields to leave out, for malformed answers


@dataclass(frozen=True)
class OAuthError:
    error: str = "invalid_grant"
    status: int = 400


@dataclass(frozen=True)
class ServerError:
    status: int = 500
    retry_after: str | None = None


@dataclass(frozen=True)
class Stall:
    seconds: float = 5.0  # cut short when the server stops


@dataclass(frozen=True)
class RawBody:
    status: int
    body: bytes
    content_type: str = "application/json"


Reply = Success | OAuthError | ServerError | Stall | RawBody


@dataclass(frozen=True)
class TokenCall:
    path: str
    authorized: bool
    content_type: str
    form: dict[str, str]
    status: int | None  # None: stalled without an answer
    reply: str  # the reply's class name, or why the request was refused before the script

    @property
    def refresh_token(self) -> str | None:
        return self.form.get("refresh_token")


@dataclass
class _State:
    script: list[Reply] = field(default_factory=list)
    calls: list[TokenCall] = field(default_factory=list)
    valid_refresh_tokens: set[str] = field(default_factory=set)
    issued: list[dict[str, Any]] = field(default_factory=list)
    counter: int = 0


class FakeSaxoTokenServer:
    """Use as a context manager; ``url`` is the token URL. Unscripted requests get ``Success()``."""

    def __init__(self, app_key: str = "fake-app-key", app_secret: str = "fake-app-secret-s3cr3t") -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self._state = _State()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-saxo", daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> FakeSaxoTokenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/token"

    # -- scripting and inspection ----------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._state.script.extend(replies)

    def mint_refresh_token(self) -> str:
        """A refresh token the server accepts (as if a person had just authorised)."""
        with self._lock:
            token = self._new_value("refresh")
            self._state.valid_refresh_tokens.add(token)
            return token

    @property
    def calls(self) -> list[TokenCall]:
        with self._lock:
            return list(self._state.calls)

    @property
    def issued(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.issued)

    def secret_values(self) -> list[str]:
        """Every token the server knows of plus the client secret: none may ever be logged or shown."""
        with self._lock:
            values = {self.app_secret, *self._state.valid_refresh_tokens}
            for doc in self._state.issued:
                values.update(v for k, v in doc.items() if k.endswith("token") and isinstance(v, str))
            for call in self._state.calls:
                if call.refresh_token:
                    values.add(call.refresh_token)
        return sorted(values)

    # -- request handling (server threads) -------------------------------------------------------
    def _new_value(self, kind: str) -> str:
        self._state.counter += 1
        return f"fake-{kind}-{self._state.counter}-{secrets.token_hex(12)}"

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.app_key and password == self.app_secret

    def _decide(self, path: str, auth: str | None, content_type: str, body: bytes) -> tuple[TokenCall, Reply]:
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        authorized = self._authorized(auth)

        def refuse(reply: Reply, why: str) -> tuple[TokenCall, Reply]:
            return TokenCall(path, authorized, content_type, form, _status(reply), why), reply

        with self._lock:
            if path != "/token":
                decided = refuse(RawBody(404, b'{"message":"not found"}'), "not-found")
            elif not authorized:
                decided = refuse(OAuthError("invalid_client", 401), "bad-client-auth")
            elif not content_type.startswith("application/x-www-form-urlencoded"):
                decided = refuse(OAuthError("invalid_request"), "not-a-form")
            elif form.get("grant_type") != "refresh_token":
                decided = refuse(OAuthError("unsupported_grant_type"), "bad-grant-type")
            elif form.get("refresh_token") not in self._state.valid_refresh_tokens:
                decided = refuse(OAuthError("invalid_grant"), "unknown-refresh-token")
            else:
                reply = self._state.script.pop(0) if self._state.script else Success()
                if isinstance(reply, Success):
                    # Saxo rotates: the used refresh token stops working.
                    self._state.valid_refresh_tokens.discard(form["refresh_token"])
                decided = (
                    TokenCall(path, authorized, content_type, form, _status(reply), type(reply).__name__),
                    reply,
                )
            self._state.calls.append(decided[0])
        return decided

    def _token_body(self, reply: Success) -> bytes:
        with self._lock:
            doc: dict[str, Any] = {
                "access_token": self._new_value("access"),
                "token_type": "Bearer",
                "expires_in": reply.expires_in,
                "refresh_token": self._new_value("refresh"),
                "refresh_token_expires_in": reply.refresh_token_expires_in,
                "base_uri": None,
            }
            for name in reply.drop:
                doc.pop(name, None)
            if "refresh_token" in doc:
                self._state.valid_refresh_tokens.add(doc["refresh_token"])
            self._state.issued.append(doc)
        return json.dumps(doc).encode()


def _status(reply: Reply) -> int | None:
    return None if isinstance(reply, Stall) else reply.status


def _handler_for(fake: FakeSaxoTokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            _, reply = fake._decide(
                self.path, self.headers.get("Authorization"), self.headers.get("Content-Type", ""), body
            )
            if isinstance(reply, Stall):
                fake._closing.wait(reply.seconds)
                self.close_connection = True
                return
            if isinstance(reply, Success):
                if reply.delay:
                    fake._closing.wait(reply.delay)
                self._send(reply.status, fake._token_body(reply))
            elif isinstance(reply, OAuthError):
                doc = {"error": reply.error, "error_description": f"fake: {reply.error}"}
                self._send(reply.status, json.dumps(doc).encode())
            elif isinstance(reply, ServerError):
                headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
                self._send(reply.status, b"<html>upstream error</html>", "text/html", headers)
            else:
                self._send(reply.status, reply.body, reply.content_type)

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout); nothing to tell it

    return Handler
