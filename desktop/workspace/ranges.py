"""Long histories (a `RangeSource`): when a panel's x range moves, re-read just that step range
from the store, bucketed to the panel's pixel width, in the background; stale reads are dropped."""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer

from desktop.guard import alive
from desktop.tasks import TaskRunner
from desktop.workspace import loading
from desktop.workspace.buffers import RangeSource, SeriesBuffer
from desktop.workspace.panel import MetricPanel
from store.db import Database

RANGE_DEBOUNCE_MS = 60


class RangeReader(QObject):
    def __init__(
        self, db: Database, tasks: TaskRunner, sources: dict[loading.CurveKey, SeriesBuffer | RangeSource],
        mark_dirty: Callable[[loading.CurveKey], None], on_failed: Callable[[Exception], None], parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._db = db
        self._tasks = tasks
        self._sources = sources  # shared with the workspace: envelopes land in its sources
        self._mark_dirty = mark_dirty
        self._on_failed = on_failed
        self._generation = itertools.count()
        self._current: dict[int, int] = {}  # id(panel) → generation of its newest range read

    def schedule(self, panel: MetricPanel) -> None:
        """Read the panel's range once the view has stopped moving for a moment."""
        timer = panel.findChild(QTimer, "range-debounce")
        if timer is None:
            timer = QTimer(panel)
            timer.setObjectName("range-debounce")
            timer.setSingleShot(True)
            timer.setInterval(RANGE_DEBOUNCE_MS)
            timer.timeout.connect(lambda p=panel: self._read(p))
        timer.start()

    def stop(self) -> None:
        self._current.clear()

    def _read(self, panel: MetricPanel) -> None:
        long_curves = [c for c in panel.curves.values() if isinstance(c.source, RangeSource) and c.is_visible()]
        if not long_curves or not panel.is_on_screen():
            return
        view = panel.view_x_range() if panel.spec.x_mode == "step" else None
        requests = []
        for curve in long_curves:
            src = curve.source
            lo, hi = src.first_step, src.last_step
            if view is not None:
                lo, hi = max(lo, int(np.floor(view[0]))), min(hi, int(np.ceil(view[1])))
            if lo <= hi:
                requests.append((curve.run_id, curve.metric, lo, hi))
        generation = next(self._generation)
        self._current[id(panel)] = generation
        current, pid = self._current, id(panel)
        db, width = self._db, panel.pixel_width()
        self._tasks.run(
            lambda: loading.load_ranges(db, requests, width, lambda: current.get(pid) == generation),
            alive(panel, lambda result: self._on_range(panel, generation, result)),
            alive(self, self._on_failed),
        )

    def _on_range(self, panel: MetricPanel, generation: int, result: dict) -> None:
        if self._current.get(id(panel)) != generation:
            return  # the view moved on meanwhile
        for curve_key, envelope in result.items():
            source = self._sources.get(curve_key)
            if isinstance(source, RangeSource):
                source.take(envelope)
                self._mark_dirty(curve_key)
