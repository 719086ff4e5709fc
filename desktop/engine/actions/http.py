"""One HTTP POST attempt → an Outcome: timing, status, a short response excerpt, a clean error
text with every secret masked, and whether (and when) a retry makes sense.

The timeout is a hard limit on the whole attempt (connect, headers and the excerpt of the
body): requests' own timeouts apply per socket read, so an endpoint that drips one byte every
few seconds would otherwise hold a worker forever. A watchdog timer shuts the attempt's
sockets down at the deadline.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

from desktop.engine import masking
from desktop.engine.actions.base import Outcome

EXCERPT_BYTES = 4096
USER_AGENT = "Runbell/0.1 (+automations)"
_local = threading.local()


def _track(conn: urllib3.connection.HTTPConnection) -> None:
    """Remember a connection used by this thread's current attempt (for the watchdog)."""
    tracked = getattr(_local, "conns", None)
    if tracked is not None:
        tracked.append(conn)


class _TrackedHTTP(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self)
        super().request(*args, **kwargs)


class _TrackedHTTPS(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _TrackedHTTP


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPS


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _session() -> requests.Session:
    """One Session per dispatcher thread (a Session is not safe to share between threads)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        adapter = _Adapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


def _drop_session() -> None:
    session = getattr(_local, "session", None)
    _local.session = None
    if session is not None:
        session.close()


class _Deadline:
    """Shuts the current attempt's sockets down when the attempt's total time is up."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._conns: list[urllib3.connection.HTTPConnection] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _local.conns = self._conns
        self._timer.start()
        return self

    def _expire(self) -> None:
        self.expired = True
        for conn in list(self._conns):
            sock = getattr(conn, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _local.conns = None
        if self.expired:
            _drop_session()  # its pooled connections were shut down


def redact(text: str, secrets: Iterable[str]) -> str:
    """Mask every occurrence of every secret (longest first, so parts of a URL go too)."""
    return masking.redact(text, secrets)


def url_secrets(url: str) -> list[str]:
    """A credential URL (a Slack webhook) leaks through its path too; mask all of it."""
    parts = urlsplit(url)
    pieces = [url]
    if len(parts.path) > 1:
        pieces.append(parts.path)
        pieces.extend(seg for seg in parts.path.split("/") if len(seg) >= 8 and seg != "services")
    return pieces


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now_dt = datetime.fromtimestamp(now if now is not None else time.time(), timezone.utc)
    return max(0.0, (when - now_dt).total_seconds())


def _describe_exception(exc: requests.RequestException, url: str, timeout: float) -> str:
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    text = str(exc)
    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect to {where} within {timeout:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no response from {where} within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS/SSL error talking to {where}: {text[:300]}"
    if isinstance(exc, requests.ConnectionError):
        if "refused" in text.lower():
            return f"connection refused by {where} (nothing is listening there)"
        if "resolve" in text.lower() or "name or service" in text.lower() or "getaddrinfo" in text.lower():
            return f"could not resolve the host {parts.hostname}"
        return f"network error talking to {where}: {text[:300]}"
    return f"request to {where} failed: {text[:300]}"


def post(
    url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, secrets: Iterable[str] = (),
) -> Outcome:
    """POST once within `timeout` seconds in total. Network errors, 429 and 5xx are retryable;
    other statuses are final."""
    secrets = list(secrets)
    masking.register(secrets)
    problem = _unsendable(url, headers)
    if problem:
        return Outcome(ok=False, retryable=False, error=redact(problem, secrets))
    started = time.monotonic()
    with _Deadline(timeout) as deadline:
        try:
            response = _session().post(url, data=body, headers=dict(headers), timeout=(timeout, timeout),
                                       allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            latency = (time.monotonic() - started) * 1000
            error = _late(url, timeout) if deadline.expired else _describe_exception(exc, url, timeout)
            return Outcome(ok=False, retryable=True, latency_ms=latency, error=redact(error, secrets))
        try:
            raw = b""
            try:
                for chunk in response.iter_content(1024):
                    raw += chunk
                    if len(raw) >= EXCERPT_BYTES:
                        break
            except requests.RequestException:
                pass  # the status is what matters; a broken body only shortens the excerpt
            excerpt = redact(raw[:EXCERPT_BYTES].decode(response.encoding or "utf-8", "replace"), secrets)
        finally:
            response.close()
    latency = (time.monotonic() - started) * 1000
    return classify(response.status_code, excerpt, response.headers, latency, secrets)


def _unsendable(url: str, headers: Mapping[str, str]) -> str:
    """Why no attempt could ever send this (a URL or header value HTTP cannot carry), or ""."""
    try:
        urlsplit(url).port  # noqa: B018 - ValueError for a port that is not 0–65535
    except ValueError as exc:
        return f"the URL is not valid ({exc}); fix it in Team Settings"
    for name, value in headers.items():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return (f"the {name} header would carry characters HTTP headers cannot (use ASCII); check the "
                    "token or secret it is made of")
        if "\r" in value or "\n" in value:
            return f"the {name} header would carry a line break; check the token or secret it is made of"
    return ""


def _late(url: str, timeout: float) -> str:
    """The attempt's time ran out before the response (or its status line) arrived."""
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    return f"no response from {where} within {timeout:g} s"


def classify(code: int, excerpt: str, headers: Mapping[str, str], latency: float,
             secrets: Iterable[str] = ()) -> Outcome:
    """The Outcome of an HTTP answer by its status (2xx ok; 429/5xx retryable; others final)."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if 200 <= code < 300:
        return Outcome(ok=True, status_code=code, response_excerpt=excerpt, latency_ms=latency)
    if code == 429:
        return Outcome(ok=False, status_code=code, response_excerpt=excerpt, latency_ms=latency,
                       retryable=True, retry_after=retry_after,
                       error="rate limited (HTTP 429)" + (f", retry after {retry_after:g} s" if retry_after is not None else ""))
    if code >= 500:
        return Outcome(ok=False, status_code=code, response_excerpt=excerpt, latency_ms=latency,
                       retryable=True, retry_after=retry_after, error=f"server error (HTTP {code}): {excerpt[:200]}")
    if 300 <= code < 400:
        location = redact(headers.get("Location", "?"), secrets)
        return Outcome(ok=False, status_code=code, response_excerpt=excerpt, latency_ms=latency,
                       error=f"the endpoint redirects (HTTP {code}) to {location}; use the final URL")
    return Outcome(ok=False, status_code=code, response_excerpt=excerpt, latency_ms=latency,
                   error=f"refused (HTTP {code}): {excerpt[:200]}")
