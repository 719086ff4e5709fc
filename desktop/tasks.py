"""Run store/network work off the UI thread and get the result back on it.

Workers report through signals only; a task whose owner went away is dropped silently.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

log = logging.getLogger("runbell.tasks")


class _Signals(QObject):
    """A task's way back to the UI thread, and its callbacks.

    The callbacks are this object's own attributes, reached through its own slots, never
    closures connected to its signals: a closure that refers back to the QObject whose signal
    holds it is a cycle through C++ that Python's collector cannot see, and it kept every
    finished task and whatever its callbacks held (a whole workspace, once its page closed)."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, runner: TaskRunner, on_done: Callable[[Any], None] | None,
                 on_error: Callable[[Exception], None] | None) -> None:
        # made on the UI thread, so its slots run there; the runner owns it until deleteLater (a
        # QObject must not be deleted inside its own slot, as dropping the last reference would)
        super().__init__(runner)
        self._runner: TaskRunner | None = runner
        self._on_done = on_done
        self._on_error = on_error
        self.done.connect(self._finish)
        self.failed.connect(self._fail)

    @Slot(object)
    def _finish(self, result: Any) -> None:
        on_done = self._release()
        if on_done is not None:
            on_done(result)

    @Slot(object)
    def _fail(self, exc: Exception) -> None:
        on_error = self._release(error=True)
        if on_error is not None:
            on_error(exc)
        else:
            log.error("background task failed: %s", exc)

    def _release(self, error: bool = False) -> Callable[[Any], None] | None:
        """Forget the runner and the callbacks (returning the one wanted) and go away."""
        callback = self._on_error if error else self._on_done
        if self._runner is not None:
            self._runner._live.discard(self)
        self._runner = self._on_done = self._on_error = None
        self.deleteLater()
        return callback


def _work(fn: Callable[[], Any], signals: _Signals) -> None:
    """Runs on a pool thread: `fn`, then its result or error back to the UI thread."""
    try:
        result, signal = fn(), signals.done
    except Exception as exc:  # every worker error reaches the UI
        log.debug("background task failed", exc_info=True)
        result, signal = exc, signals.failed
    # an error's traceback keeps this frame: let it keep none of the task
    del fn, signals
    _report(signal, result)
    del signal, result


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
        self._live: set[_Signals] = set()  # tasks not finished yet

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        signals = _Signals(self, on_done, on_error)
        self._live.add(signals)
        # a plain callable, not a QRunnable subclass: PySide keeps the Python side of every
        # finished QRunnable subclass the pool deleted
        self._pool.start(functools.partial(_work, fn, signals))

    def wait_idle(self, msecs: int = 5000) -> bool:
        """Wait for running tasks (used on shutdown and in tests)."""
        return self._pool.waitForDone(msecs)
