"""The Event page's preview: the metric's existing data on a mini plot, the threshold line and a
marker where the condition would have fired on each past run.

Computed in a worker after a short pause in typing; every request bumps a generation counter, the
worker gives up as soon as it is stale and a stale result is never shown.

Object names: "wizard-preview" (this group), "wizard-preview-plot", "wizard-preview-summary".
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from desktop.guard import alive
from desktop.tasks import TaskRunner
from desktop.wizard import preview_data
from desktop.wizard.preview_data import Cancelled, Preview
from store.db import Database

DEBOUNCE_MS = 300
FIRED_COLOR = "#d32f2f"
THRESHOLD_COLOR = "#e67e22"
_RUN_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2")


class PreviewPanel(QGroupBox):
    """`request(...)` whenever the condition changes; `clear(text)` when there is nothing to preview."""

    shown = Signal(object)  # the Preview now on screen

    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Preview on existing runs", parent)
        self.setObjectName("wizard-preview")
        self._tasks = tasks
        self._latest = [0]  # the newest generation; a list the workers can read after the panel is gone
        self._pending: tuple[Any, ...] | None = None
        self.compute: Callable[..., Preview] = preview_data.compute  # replaceable in tests
        self.preview: Preview | None = None
        self.discarded = 0  # stale results that arrived and were dropped
        self.plot = pg.PlotWidget(self)
        self.plot.setObjectName("wizard-preview-plot")
        self.plot.setFixedHeight(150)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
        self.plot.getPlotItem().setLabel("bottom", "step")
        self.markers = pg.ScatterPlotItem(size=9, symbol="o", pen=pg.mkPen("w", width=1),
                                          brush=pg.mkBrush(FIRED_COLOR))
        self.markers.setZValue(10)
        self.threshold_line = pg.InfiniteLine(angle=0, movable=False,
                                              pen=pg.mkPen(THRESHOLD_COLOR, width=1.5, style=Qt.PenStyle.DashLine))
        self.threshold_line.setZValue(5)
        self._curves: list[pg.PlotDataItem] = []
        self._apply_palette()
        self.summary = QLabel("")
        self.summary.setObjectName("wizard-preview-summary")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot)
        layout.addWidget(self.summary)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start)

    def _apply_palette(self) -> None:
        """Plot colours from the window palette (light or dark theme)."""
        palette = self.palette()
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        text = QColor(palette.color(QPalette.ColorRole.Text))
        text.setAlpha(160)
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(text))
            axis.setTextPen(pg.mkPen(text))
        self.markers.setPen(pg.mkPen(palette.color(QPalette.ColorRole.Base), width=1))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override): theme switches
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "markers"):
            self._apply_palette()
        super().changeEvent(event)

    # -- requests ---------------------------------------------------------------------------------
    def request(self, db: Database, project_id: int, event_type: str, event_filter: Mapping[str, Any],
                cooldown_seconds: float) -> None:
        """Preview this condition after a short pause; anything in flight becomes stale now."""
        request = (db, project_id, event_type, dict(event_filter), cooldown_seconds)
        if request == self._pending and self._timer.isActive():
            return
        self._latest[0] += 1
        self._pending = request
        self.summary.setText("Computing…")
        self._timer.start()

    def clear(self, text: str) -> None:
        self._latest[0] += 1
        self._pending = None
        self._timer.stop()
        self._draw(Preview("", None, (), note=text))

    def flush(self) -> None:
        """Start the pending computation now (tests, and when the page is shown)."""
        if self._timer.isActive():
            self._timer.stop()
            self._start()

    def _start(self) -> None:
        if self._pending is None:
            return
        latest = self._latest
        generation = latest[0]
        db, project_id, event_type, event_filter, cooldown = self._pending
        compute = self.compute

        def work() -> Preview:
            return compute(db, project_id, event_type, event_filter, cooldown,
                           is_stale=lambda: generation != latest[0])

        self._tasks.run(work, alive(self, lambda result: self._arrived(generation, result)),
                        alive(self, lambda exc: self._failed(generation, exc)))

    def _arrived(self, generation: int, result: Preview) -> None:
        if generation != self._latest[0]:
            self.discarded += 1
            return
        self._draw(result)

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._latest[0] or isinstance(exc, Cancelled):
            return
        self._draw(Preview("", None, (), note=f"No preview: {exc}"))

    # -- drawing ----------------------------------------------------------------------------------
    def _draw(self, preview: Preview) -> None:
        item = self.plot.getPlotItem()
        for curve in self._curves:
            item.removeItem(curve)
        self._curves = []
        for extra in (self.markers, self.threshold_line):
            if extra.scene() is not None:
                item.removeItem(extra)
        xs: list[float] = []
        ys: list[float] = []
        for i, run in enumerate(preview.runs):
            pen = pg.mkPen(_RUN_COLORS[i % len(_RUN_COLORS)], width=1.2)
            curve = item.plot(run.steps, run.values, pen=pen, name=run.run_name, connect="finite")
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self._curves.append(curve)
            xs += list(run.fired_steps)
            ys += list(run.fired_values)
        if preview.threshold is not None and preview.runs:
            self.threshold_line.setValue(preview.threshold)
            item.addItem(self.threshold_line)
        self.markers.setData(x=xs, y=ys)
        item.addItem(self.markers)
        item.enableAutoRange()
        finite = [run.values[np.isfinite(run.values)] for run in preview.runs]
        finite = [v for v in finite if len(v)]
        if preview.threshold is not None and finite:  # keep the threshold line in view
            low = min(preview.threshold, *(float(v.min()) for v in finite))
            high = max(preview.threshold, *(float(v.max()) for v in finite))
            pad = (high - low) * 0.05 or 1.0
            item.setYRange(low - pad, high + pad, padding=0)
        self.preview = preview
        self.summary.setText(preview.summary())
        self.shown.emit(preview)

    def marker_points(self) -> list[tuple[float, float]]:
        """(x, y) of the firing markers as drawn."""
        x, y = self.markers.getData()
        return [(float(a), float(b)) for a, b in zip(x, y)]
