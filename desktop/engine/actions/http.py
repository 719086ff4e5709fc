"""One HTTP POST attempt → an Outcome: timing, status, a short response excerpt, a clean error
text with every secret masked, and whether (and when) a retry makes sense."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from desktop.engine.actions.base import Outcome
from desktop.engine.templating import SECRET_MASK

EXCERPT_BYTES = 4096
USER_AGENT = "Runbell/0.1 (+automations)"
_local = threading.local()


def _session() -> requests.Session:
    """One Session per dispatcher thread (a Session is not safe to share between threads)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        _local.session = session
    return session


def redact(text: str, secrets: Iterable[str]) -> str:
    """Mask every occurrence of every secret (longest first, so parts of a URL go too)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, SECRET_MASK)
    return text


def url_secrets(url: str) -> list[str]:
    """A credential URL (a Slack webhook) leaks through its path too; mask all of it."""
    parts = urlsplit(url)
    pieces = [url]
    if len(parts.path) > 1:
        pieces.append(parts.path)
        pieces.extend(seg for seg in parts.path.split("/") if len(seg) >= 8)
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
    """POST once. Network errors, 429 and 5xx are retryable; other statuses are final."""
    secrets = list(secrets)
    started = time.monotonic()
    try:
        response = _session().post(url, data=body, headers=dict(headers), timeout=(timeout, timeout),
                                   allow_redirects=False, stream=True)
    except requests.RequestException as exc:
        latency = (time.monotonic() - started) * 1000
        return Outcome(ok=False, retryable=True, latency_ms=latency,
                       error=redact(_describe_exception(exc, url, timeout), secrets))
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
    code = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
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
        location = redact(response.headers.get("Location", "?"), secrets)
        return Outcome(ok=False, status_code=code, response_excerpt=excerpt, latency_ms=latency,
                       error=f"the endpoint redirects (HTTP {code}) to {location}; use the final URL")
    return Outcome(ok=False, status_code=code, response_excerpt=excerpt, latency_ms=latency,
                   error=f"refused (HTTP {code}): {excerpt[:200]}")
