"""Background tasks and crash reporting never touch widgets from a worker thread (found by the
frozen smoke test: a task finishing during shutdown crashed the app)."""
from __future__ import annotations

import gc
import sys
import threading

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent

from desktop import app as app_module
from desktop.tasks import TaskRunner, _Signals


def test_a_task_that_outlives_its_signals_is_dropped_quietly(qtbot, monkeypatch):
    hooked = []
    monkeypatch.setattr(sys, "excepthook", lambda *args: hooked.append(args))
    runner = TaskRunner()
    gate, results = threading.Event(), []
    runner.run(lambda: gate.wait(5) and 1, results.append)
    [signals] = list(runner._live)
    shiboken6.delete(signals)  # the owner went away while the task worked
    gate.set()
    assert runner.wait_idle(5000)
    assert results == [] and hooked == []


class Payload:
    """Stands in for what a callback holds: a page, its panels, their arrays."""


def test_finished_tasks_keep_nothing_alive(qtbot):
    runner = TaskRunner()
    results, errors = [], []

    def boom() -> None:
        raise ValueError("boom")

    for i in range(40):
        payload = Payload()
        runner.run(lambda i=i: i, lambda r, p=payload: results.append(r),
                   lambda exc, p=payload: errors.append(exc))
        runner.run(boom, None, lambda exc, p=payload: errors.append(exc))
    del payload
    qtbot.waitUntil(lambda: len(results) == 40 and len(errors) == 40, timeout=10_000)
    assert sorted(results) == list(range(40)) and all(str(e) == "boom" for e in errors)
    assert not runner._live
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    alive = [type(o).__name__ for o in gc.get_objects() if isinstance(o, (Payload, _Signals))]
    assert alive == []


def test_a_crash_in_a_worker_thread_is_logged_without_a_dialog(qapp, monkeypatch, caplog):
    shown = []
    monkeypatch.setattr(app_module.QMessageBox, "critical", lambda *args: shown.append(args))
    worker = threading.Thread(target=app_module._excepthook, args=(ValueError, ValueError("boom"), None))
    worker.start()
    worker.join(5)
    assert shown == [] and "uncaught exception" in caplog.text
    app_module._excepthook(ValueError, ValueError("boom"), None)  # on the UI thread: the dialog
    assert len(shown) == 1
