"""A real threaded HTTP server on 127.0.0.1:0 that records requests and plays scripted answers.

Base of fake_slack.FakeSlack and fake_webhook.FakeWebhook. Scripted answers (`queue`) are
used in order, one per request, before the server's normal behaviour; an answer can also
hang for a while (an endpoint that never answers) until the server closes.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float  # time.monotonic()
    status: int  # what the fake answered
    answer: str = ""  # the body it answered


@dataclass(frozen=True)
class Scripted:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering (0 = answer at once)
    drip: float = 0.0  # seconds between single bytes of the answer (a slow-drip endpoint)


class RecordingServer:
    """Records every request; `handle(method, path, headers, body)` gives the normal answer."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: deque[Scripted] = deque()
        self._cond = threading.Condition()
        self._closing = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner._serve(self, body)

            do_POST = do_GET = do_PUT = do_DELETE = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-http", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def queue(self, status: int, body: str = "", headers: dict[str, str] | None = None, *,
              times: int = 1, hang: float = 0.0, drip: float = 0.0) -> None:
        """Answer the next `times` requests with this instead of the normal behaviour."""
        with self._cond:
            for _ in range(times):
                self._script.append(Scripted(status, body, dict(headers or {}), hang, drip))

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, dict[str, str]]:
        return 200, "ok", {}

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        arrived = time.monotonic()
        headers = {k: v for k, v in handler.headers.items()}
        with self._cond:
            scripted = self._script.popleft() if self._script else None
        hang = drip = 0.0
        if scripted is not None:
            status, text, extra = scripted.status, scripted.body, scripted.headers
            hang, drip = scripted.hang, scripted.drip
        else:
            status, text, extra = self.handle(handler.command, handler.path, headers, body)
        received = Received(handler.command, handler.path, headers, body, arrived, status, text)
        with self._cond:
            self.requests.append(received)
            self._on_received(received)
            self._cond.notify_all()
        if hang and self._closing.wait(hang):
            return  # the server is closing: drop the connection unanswered
        data = text.encode("utf-8")
        if drip:
            self._drip(handler, status, data, extra, drip)
            return
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (timed out); nothing to answer

    def _drip(self, handler: BaseHTTPRequestHandler, status: int, data: bytes, extra: dict[str, str],
              interval: float) -> None:
        """Send the whole answer one byte at a time, `interval` seconds apart."""
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(data)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in extra.items()) + "\r\n"
        for byte in head.encode("latin-1") + data:
            if self._closing.wait(interval):
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return  # the client gave up

    def _on_received(self, received: Received) -> None:
        """Called with the lock held after a request is recorded."""

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[Received]:
        return self._wait(lambda: self.requests, n, timeout, "requests")

    def _wait(self, items: Any, n: int, timeout: float, what: str) -> list[Received]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(items()) >= n, timeout):
                raise AssertionError(f"expected {n} {what} within {timeout:g} s, got {len(items())}")
            return list(items())

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> RecordingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
