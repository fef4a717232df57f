"""Hostile HTTP servers on loopback, for deadline and size-cap tests: real sockets, own threads.

- ``drip``: reads the request, sends the status line and headers at once (a long Content-Length),
  (1000 bytes), then one body byte every ``interval`` seconds: per-read timeouts never fire.
- ``blackhole``: accepts the connection and reads the request, then never answers.
- ``huge``: answers 200 with a chunked body of ``size`` bytes (no Content-Length to refuse early).
- ``declared``: answers 200 announcing a Content-Length of ``size`` bytes, then sends a few.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Literal

Mode = Literal["drip", "blackhole", "huge", "declared"]


class HostileServer:
    def __init__(self, mode: Mode, *, interval: float = 1.0, size: int = 4 << 20, path: str = "/") -> None:
        self.mode = mode
        self.interval = interval
        self.size = size
        self.path = path
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        host, port = self._sock.getsockname()[:2]
        self.base = f"http://{host}:{port}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name=f"hostile-{mode}", daemon=True)

    @property
    def url(self) -> str:
        return self.base + self.path

    def __enter__(self) -> HostileServer:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._accept.join(timeout=5)
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _read_request(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            self._read_request(conn)
            try:
                if self.mode == "blackhole":
                    self._stop.wait()
                elif self.mode == "drip":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                    )
                    while not self._stop.wait(self.interval):
                        conn.sendall(b" ")
                elif self.mode == "huge":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n"
                    )
                    block = b" " * 65536
                    sent = 0
                    while sent < self.size and not self._stop.is_set():
                        conn.sendall(b"%x\r\n%s\r\n" % (len(block), block))
                        sent += len(block)
                    conn.sendall(b"0\r\n\r\n")
                else:  # declared
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n{}" % self.size
                    )
                    self._stop.wait(0.5)
            except OSError:
                return


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """``(result or raised exception, seconds)`` of one call."""
    started = time.monotonic()
    try:
        out = fn(*args, **kwargs)
    except Exception as exc:
        out = exc
    return out, time.monotonic() - started
