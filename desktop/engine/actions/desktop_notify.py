"""Native desktop notifications through `desktop-notifier` (D-Bus org.freedesktop.Notifications on
Linux, Notification Center on macOS, toasts on Windows).

desktop-notifier is asyncio based and only logs a warning when sending fails; NativeNotifier
runs it on one long-lived event loop in its own thread, serialises sends, and turns that
warning into a NotificationError so the execution records a clear failure.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from store.entities import Execution

from desktop.engine.actions.base import ConfigError, Outcome, SendContext

log = logging.getLogger("runbell.engine.notify")
_BACKEND_LOGGER = "desktop_notifier.backends.base"


class NotificationError(Exception):
    """The notification could not be shown (no notification server, refused, timed out)."""


class Notifier(Protocol):
    def notify(self, title: str, message: str, *, severity: str = "INFO",
               target: Mapping[str, Any] | None = None, timeout: float = 10.0) -> str:
        """Show a notification; returns its id; raises NotificationError."""

    def close(self) -> None: ...


class _FailureCapture(logging.Filter):
    """Catches desktop-notifier's 'Notification failed' warnings raised on our loop thread."""

    def __init__(self) -> None:
        super().__init__()
        self.thread_id: int | None = None
        self.failure: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread_id or record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        self.failure = f"{type(exc).__name__}: {exc}" if exc else record.getMessage()
        return False  # reported through the execution instead


class NativeNotifier:
    """desktop-notifier on a private asyncio loop thread.

    `on_clicked(target)` runs on that loop thread when the user clicks a notification; a GUI
    must hand it over to its own thread (e.g. emit a Qt signal).
    """

    def __init__(self, app_name: str = "Runbell", *, on_clicked: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.app_name = app_name
        self.on_clicked = on_clicked
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._send_lock: asyncio.Lock | None = None
        self._notifier: Any = None
        self._capture = _FailureCapture()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    self._capture.thread_id = threading.get_ident()
                    ready.set()
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="runbell-notify", daemon=True)
                self._thread.start()
                ready.wait()
                logging.getLogger(_BACKEND_LOGGER).addFilter(self._capture)
                self._loop = loop
            return self._loop

    async def _send(self, title: str, message: str, severity: str, target: Mapping[str, Any]) -> str:
        from desktop_notifier import DesktopNotifier, Notification, Urgency

        if self._send_lock is None:
            self._send_lock = asyncio.Lock()
        async with self._send_lock:
            if self._notifier is None:
                self._notifier = DesktopNotifier(app_name=self.app_name)
            dispatched = asyncio.Event()
            urgency = Urgency.Critical if severity == "ERROR" else Urgency.Normal
            clicked = None
            if self.on_clicked is not None:
                callback, payload = self.on_clicked, dict(target)
                clicked = lambda: callback(payload)  # noqa: E731
            notification = Notification(title=title, message=message, urgency=urgency,
                                        on_dispatched=dispatched.set, on_clicked=clicked)
            self._capture.failure = None
            identifier = await self._notifier.send_notification(notification)
            if not dispatched.is_set():
                detail = self._capture.failure or "the notification service did not accept it"
                await self._disconnect()  # start from a fresh connection next time
                self._notifier = None
                raise NotificationError(
                    f"no desktop notification shown: {detail} (on Linux a notification daemon must own "
                    "org.freedesktop.Notifications on the session D-Bus)")
            return identifier

    def notify(self, title: str, message: str, *, severity: str = "INFO",
               target: Mapping[str, Any] | None = None, timeout: float = 10.0) -> str:
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(self._send(title, message, severity, target or {}), loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise NotificationError(f"the notification service did not answer within {timeout:g} s") from None
        except NotificationError:
            raise
        except Exception as exc:  # D-Bus and platform errors of every kind
            raise NotificationError(f"no desktop notification shown: {type(exc).__name__}: {exc}") from None

    async def _disconnect(self, timeout: float = 5.0) -> None:
        bus = getattr(getattr(self._notifier, "_backend", None), "bus", None)
        if bus is None:
            return
        bus.disconnect()
        try:
            await asyncio.wait_for(bus.wait_for_disconnect(), timeout)
        except Exception:  # already gone, or disconnected with an error: either way closed
            pass

    def close(self, timeout: float = 5.0) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._disconnect(timeout), loop).result(timeout)
        except Exception as exc:
            log.debug("notification bus shutdown: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            loop.close()
        logging.getLogger(_BACKEND_LOGGER).removeFilter(self._capture)
        self._loop = self._thread = None
        self._notifier = self._send_lock = None


def send(ctx: SendContext, execution: Execution) -> Outcome:
    if ctx.notifier is None:
        raise ConfigError("desktop notifications are not available in this engine (no notifier)")
    action = execution.action
    started = time.monotonic()
    try:
        identifier = ctx.notifier.notify(
            action.get("title") or execution.automation_name or "Runbell",
            action.get("message") or "",
            severity=str(action.get("severity") or "INFO").upper(),
            target=action.get("target") or {"project_id": execution.project_id, "run_id": execution.run_id},
            timeout=ctx.timeout,
        )
    except NotificationError as exc:
        return Outcome(ok=False, error=str(exc), latency_ms=(time.monotonic() - started) * 1000)
    return Outcome(ok=True, response_excerpt=f"notification {identifier}",
                   latency_ms=(time.monotonic() - started) * 1000)
