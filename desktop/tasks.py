"""Run store/network work off the UI thread and get the result back on it.

Workers report through signals only; a task whose owner went away is dropped silently.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger("runbell.tasks")


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self._fn = fn
        self.signals = signals

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # every worker error reaches the UI
            log.debug("background task failed", exc_info=True)
            self._report(self.signals.failed, exc)
        else:
            self._report(self.signals.done, result)

    @staticmethod
    def _report(signal: Any, value: Any) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the owner (and its signals) went away while we worked: drop it
            log.debug("background task finished after its owner was deleted")


class TaskRunner(QObject):
    """Owns a thread pool; `run(fn, on_done, on_error)` calls back on the UI thread."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._live: set[_Signals] = set()

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        signals = _Signals()  # lives on the UI thread, so its slots run there
        self._live.add(signals)

        def finish(result: Any) -> None:
            self._live.discard(signals)
            if on_done is not None:
                on_done(result)

        def fail(exc: Exception) -> None:
            self._live.discard(signals)
            if on_error is not None:
                on_error(exc)
            else:
                log.error("background task failed: %s", exc)

        signals.done.connect(finish)
        signals.failed.connect(fail)
        self._pool.start(_Task(fn, signals))

    def wait_idle(self, msecs: int = 5000) -> bool:
        """Wait for running tasks (used on shutdown and in tests)."""
        return self._pool.waitForDone(msecs)
