"""The workspace: a grid of metric panels that follows the project's runs live.

Data flow (buffer at the data rate, paint at the frame rate):
  StoreWatcher `metrics` event → (run, key) pending → one TaskRunner fetch of only the new
  points → appended to that curve's SeriesBuffer → curve marked dirty → the one repaint
  timer (~30 fps) calls `setData` on dirty curves, never per point.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.context import AppContext
from desktop.guard import alive
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from desktop.workspace import loading
from desktop.workspace.buffers import SeriesBuffer
from desktop.workspace.panel import MetricPanel, run_color
from store import entities as e
from store import events

log = logging.getLogger("runbell.workspace")

COLUMNS = 2
FRAME_MS = 33


class WorkspaceView(QWidget):
    """Signals:
        loaded(): the first snapshot is on screen (panels exist, curves hold their data).
        bell_dialog_opened(object): the BellDialog just opened from a panel's bell.
    """

    loaded = Signal()
    bell_dialog_opened = Signal(object)

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, project_id: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("workspace")
        self._ctx = ctx
        self._tasks = tasks
        self._project_id = project_id
        self._panels: dict[str, MetricPanel] = {}
        self._buffers: dict[loading.CurveKey, SeriesBuffer] = {}
        self._curves: dict[loading.CurveKey, pg.PlotDataItem] = {}
        self._run_names: dict[str, str] = {}
        self._run_order: dict[str, int] = {}
        self._thresholds: list[loading.Threshold] = []
        self._pending: set[loading.CurveKey] = set()
        self._dirty: set[loading.CurveKey] = set()
        self._busy = True  # the first snapshot is loading; live fetches wait for it
        self._is_loaded = False
        self.bell_dialog = None

        self._timer = QTimer(self)
        self._timer.setObjectName("workspace-repaint")
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._repaint)

        self._status = QLabel("Loading metrics…", self)
        self._status.setObjectName("workspace-status")
        self._status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._status.setWordWrap(True)

        self._grid_host = QWidget(self)
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(8, 8, 8, 8)
        self._grid.setSpacing(8)
        for column in range(COLUMNS):
            self._grid.setColumnStretch(column, 1)
        scroll = QScrollArea(self)
        scroll.setObjectName("workspace-scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self._grid_host)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._status)
        layout.addWidget(scroll, 1)

        watcher.events_arrived.connect(self._on_events)
        self._tasks.run(
            lambda: loading.load_snapshot(ctx.db, project_id),
            alive(self, self._on_snapshot), alive(self, self._on_load_failed),
        )

    # -- public, for the project page and tests -----------------------------------------------

    @property
    def is_loaded(self) -> bool:
        return self._is_loaded

    def panel(self, metric: str) -> MetricPanel | None:
        return self._panels.get(metric)

    def metrics(self) -> list[str]:
        return sorted(self._panels)

    def curve(self, run_id: str, metric: str) -> pg.PlotDataItem | None:
        return self._curves.get((run_id, metric))

    def open_bell_dialog(self, metric: str):  # noqa: ANN201 - BellDialog, imported lazily
        from desktop.bell_dialog import BellDialog

        if self.bell_dialog is not None and self.bell_dialog.isVisible():
            self.bell_dialog.reject()
        dialog = BellDialog(self._ctx, self._project_id, metric, self._tasks, self)
        dialog.saved.connect(self._on_automation_saved)
        self.bell_dialog = dialog
        dialog.open()
        self.bell_dialog_opened.emit(dialog)
        return dialog

    def shutdown(self) -> None:
        """Stop painting (the page is going away)."""
        self._timer.stop()
        self._dirty.clear()
        self._pending.clear()

    # -- loading --------------------------------------------------------------------------------

    def _on_snapshot(self, snapshot: loading.Snapshot) -> None:
        for run in snapshot.runs:
            self._register_run(run.id, run.name)
        for key in snapshot.keys:
            self._ensure_panel(key)
        self._thresholds = snapshot.thresholds
        self._apply_series(snapshot.series)
        self._apply_thresholds()
        self._busy = False
        self._is_loaded = True
        self._update_status()
        self.loaded.emit()
        self._fetch()

    def _on_load_failed(self, exc: Exception) -> None:
        self._busy = False
        self._status.setText(f"Could not load the metrics: {exc}")
        self._status.show()

    def _on_events(self, batch: Sequence[e.Event]) -> None:
        thresholds_changed = False
        for event in batch:
            if event.type == events.AUTOMATION_CHANGED and event.project_id in (self._project_id, None):
                thresholds_changed = True
            if event.project_id != self._project_id or not event.run_id:
                continue
            if event.type == events.RUN_CREATED:
                self._register_run(event.run_id, str(event.payload.get("name") or event.run_id))
            elif event.type == events.METRICS:
                for key in event.payload.get("keys", ()):
                    self._pending.add((event.run_id, key))
        if thresholds_changed:
            self._reload_thresholds()
        self._fetch()

    def _fetch(self) -> None:
        """Ask for the points after the last step shown, one fetch at a time."""
        if self._busy or not self._pending:
            return
        requests = []
        for run_id, key in sorted(self._pending):
            buffer = self._buffers.get((run_id, key))
            requests.append((run_id, key, None if buffer is None else buffer.last_step))
        unknown = sorted({run_id for run_id, _ in self._pending} - set(self._run_names))
        self._pending.clear()
        self._busy = True
        db = self._ctx.db
        self._tasks.run(
            lambda: loading.load_new_points(db, requests, unknown),
            alive(self, self._on_new_points), alive(self, self._on_fetch_failed),
        )

    def _on_new_points(self, result: loading.NewPoints) -> None:
        for run in result.runs:
            self._register_run(run.id, run.name)
        self._apply_series(result.series)
        self._busy = False
        self._update_status()
        self._fetch()

    def _on_fetch_failed(self, exc: Exception) -> None:
        log.warning("could not fetch new points: %s", exc)
        self._busy = False
        self._status.setText(f"Live update paused: {exc}")
        self._status.show()
        # the next metrics event retries from the last step shown; nothing is skipped

    def _reload_thresholds(self) -> None:
        db, project_id = self._ctx.db, self._project_id
        self._tasks.run(
            lambda: loading.load_thresholds(db, project_id),
            alive(self, self._on_thresholds), alive(self, self._on_thresholds_failed),
        )

    def _on_thresholds(self, thresholds: list[loading.Threshold]) -> None:
        self._thresholds = thresholds
        self._apply_thresholds()

    def _on_thresholds_failed(self, exc: Exception) -> None:
        log.warning("could not load the automations' thresholds: %s", exc)

    def _on_automation_saved(self, _automation: object) -> None:
        self._reload_thresholds()

    # -- model → view ---------------------------------------------------------------------------

    def _register_run(self, run_id: str, name: str) -> None:
        if run_id not in self._run_order:
            self._run_order[run_id] = len(self._run_order)
        self._run_names[run_id] = name

    def _apply_series(self, series: dict[loading.CurveKey, loading.Series]) -> None:
        for (run_id, key), (steps, values) in series.items():
            buffer = self._buffers.get((run_id, key))
            if buffer is None:
                buffer = self._buffers[(run_id, key)] = SeriesBuffer()
            if buffer.extend(steps, values):
                self._ensure_curve(run_id, key)
                self._dirty.add((run_id, key))
        if self._dirty and not self._timer.isActive():
            self._timer.start()

    def _ensure_panel(self, metric: str) -> MetricPanel:
        panel = self._panels.get(metric)
        if panel is None:
            panel = MetricPanel(metric, can_edit=self._ctx.can_edit, parent=self._grid_host)
            panel.bell_clicked.connect(self.open_bell_dialog)
            panel.set_thresholds([t for t in self._thresholds if t.metric == metric])
            self._panels[metric] = panel
            self._relayout()
        return panel

    def _ensure_curve(self, run_id: str, metric: str) -> pg.PlotDataItem:
        curve = self._curves.get((run_id, metric))
        if curve is None:
            panel = self._ensure_panel(metric)
            self._register_run(run_id, self._run_names.get(run_id, run_id))
            curve = panel.add_curve(self._run_names[run_id], run_color(self._run_order[run_id]))
            curve.setObjectName(f"curve-{run_id}")
            self._curves[(run_id, metric)] = curve
        return curve

    def _relayout(self) -> None:
        """Panels in metric order, two per row (new metrics slot in where they sort)."""
        for panel in self._panels.values():
            self._grid.removeWidget(panel)
        for index, metric in enumerate(sorted(self._panels)):
            self._grid.addWidget(self._panels[metric], index // COLUMNS, index % COLUMNS)
        self._update_status()

    def _apply_thresholds(self) -> None:
        for metric, panel in self._panels.items():
            panel.set_thresholds([t for t in self._thresholds if t.metric == metric])

    def _update_status(self) -> None:
        if self._panels:
            self._status.hide()
        else:
            self._status.setText(
                "No metrics yet. Log some from a training script:\n"
                "from store import tracking as rb; run = rb.init(project=…); run.log({\"loss\": 0.5})"
            )
            self._status.show()

    def _repaint(self) -> None:
        """The frame tick: hand each dirty curve its buffer views, then sleep when idle."""
        if not self._dirty:
            self._timer.stop()
            return
        dirty, self._dirty = self._dirty, set()
        for key in dirty:
            buffer = self._buffers[key]
            steps, values = buffer.steps, buffer.values
            if not buffer.finite:  # draw through NaN/Inf gaps, so isolated finite points still show
                keep = np.isfinite(values)
                steps, values = steps[keep], values[keep]
            curve = self._curves[key]
            curve.setData(steps, values, skipFiniteCheck=True)
            symbol = "o" if len(steps) == 1 else None  # a lone point has no line to draw
            if curve.opts["symbol"] != symbol:
                curve.setSymbol(symbol)
