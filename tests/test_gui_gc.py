"""Cyclic garbage is collected on the UI thread only (gui_gc.py): a collection on an engine
thread that frees Qt widgets deadlocked the app."""
from __future__ import annotations

import gc
import threading

from PySide6.QtWidgets import QWidget

from desktop.gui_gc import UiThreadCollector


class Cycle:
    def __init__(self) -> None:
        self.me = self
        self.widget = QWidget()


def test_cycles_made_anywhere_are_collected_on_the_ui_thread(qtbot):
    threads: list[str] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            threads.append(threading.current_thread().name)

    was_enabled = gc.isenabled()  # the test session runs its own collector too (conftest.py)
    collector = UiThreadCollector(interval_ms=20)
    gc.callbacks.append(record)
    try:
        assert not gc.isenabled()
        for _ in range(5):
            Cycle()  # garbage held only by its own cycle, a Qt widget inside
        def make_cycles() -> None:
            for _ in range(5_000):
                pair: list = []
                pair.append(pair)

        worker = threading.Thread(target=make_cycles, name="engine-like")
        worker.start()
        worker.join(10)  # leaves garbage far past the threshold: Python would have collected here
        assert "engine-like" not in threads
        qtbot.waitUntil(lambda: not any(isinstance(o, Cycle) for o in gc.get_objects()), timeout=5000)
        assert threads and set(threads) == {threading.main_thread().name}
    finally:
        gc.callbacks.remove(record)
        collector.uninstall()
    assert gc.isenabled() == was_enabled
