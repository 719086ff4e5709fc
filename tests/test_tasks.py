"""Background tasks and crash reporting never touch widgets from a worker thread (found by the
frozen smoke test: a task finishing during shutdown crashed the app)."""
from __future__ import annotations

import sys
import threading

import shiboken6

from desktop import app as app_module
from desktop.tasks import TaskRunner


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


def test_a_crash_in_a_worker_thread_is_logged_without_a_dialog(qapp, monkeypatch, caplog):
    shown = []
    monkeypatch.setattr(app_module.QMessageBox, "critical", lambda *args: shown.append(args))
    worker = threading.Thread(target=app_module._excepthook, args=(ValueError, ValueError("boom"), None))
    worker.start()
    worker.join(5)
    assert shown == [] and "uncaught exception" in caplog.text
    app_module._excepthook(ValueError, ValueError("boom"), None)  # on the UI thread: the dialog
    assert len(shown) == 1
