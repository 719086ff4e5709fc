"""Python's cyclic garbage collection, run on the UI thread only.

Left automatic, a collection runs on whichever thread happens to allocate past the threshold:
an engine or pool thread would then free Qt widgets caught in a reference cycle. That thread
holds the GIL and wants a Qt lock the UI thread holds while it wants the GIL: the app froze
for good (found by a soak test: a workspace page's menu freed from the engine's SQL thread).
So automatic collection is off and a timer on the UI thread collects each generation when its
count passes the same thresholds Python would use.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 500


class UiThreadCollector(QObject):
    """While installed, cyclic garbage is collected only here, on the thread that made this."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> int | None:
        """Collect the oldest generation whose count passed its threshold; returns it, or None."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return generation
        return None

    def uninstall(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
