"""The workspace: a grid of plot panels that follows the project's runs live.

Data flow (buffer at the data rate, paint at the frame rate):
  start-up: one outline read (runs, keys, extents, thresholds), then one read per metric, the
  panels on screen first; short histories come whole, long ones as a min/max envelope.
  live: StoreWatcher `metrics` event → (run, key) pending → pipelined fetches of only the new
  points (live.py) → appended to that curve's SeriesBuffer → curve dirty → the one frame timer (~30 fps)
  lets each on-screen panel clip and peak-decimate its dirty curves; hidden panels do nothing.
  long histories: when the x range moves, the panel's curves re-read just that step range,
  bucketed to the panel's pixel width, in the background; stale reads are dropped.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.context import AppContext
from desktop.guard import alive
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from desktop.workspace import loading
from desktop.workspace.buffers import MEMORY_LIMIT, RangeSource, SeriesBuffer
from desktop.workspace.curves import PanelCurve, run_color
from desktop.workspace.grid import PanelGrid
from desktop.workspace.layout import Layout, PanelSpec, load_layout, save_layout, settings_key
from desktop.workspace.live import LiveFeed
from desktop.workspace.panel import MetricPanel
from desktop.workspace.pattern_dialog import PatternDialog
from desktop.workspace.ranges import RangeReader
from desktop.workspace.thresholds import ThresholdSource
from desktop.workspace.visibility import RunVisibility
from store import entities as e
from store import events

log = logging.getLogger("runbell.workspace")

FRAME_MS = 33
KEY_READS_IN_FLIGHT = 1


class WorkspaceView(QWidget):
    """Signals:
        loaded(): the first read is on screen (panels exist, curves hold their data).
        bell_dialog_opened(object): the BellDialog just opened from a panel's bell.
    """

    loaded = Signal()
    bell_dialog_opened = Signal(object)

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, project_id: int,
        parent: QWidget | None = None, *, visibility: RunVisibility | None = None,
        memory_limit: int = MEMORY_LIMIT,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("workspace")
        self._ctx = ctx
        self._tasks = tasks
        self._project_id = project_id
        self._memory_limit = memory_limit
        self.visibility = visibility or RunVisibility(self)
        self.visibility.changed.connect(self._on_visibility)
        self._settings_key = settings_key(ctx.db.url, project_id)
        self._layout: Layout = load_layout(self._settings_key)
        self._panels: list[MetricPanel] = []
        self._sources: dict[loading.CurveKey, SeriesBuffer | RangeSource] = {}
        self._run_names: dict[str, str] = {}
        self._run_order: dict[str, int] = {}
        self._run_t0: dict[str, float] = {}
        self._thresholds: list[loading.Threshold] = []
        self._is_loaded = False
        self._keys_left = 0
        self._key_queue: list[tuple[str, dict]] = []  # (metric, extents) still to read, last first
        self._ranges = RangeReader(ctx.db, tasks, self._sources, self._mark_dirty, self._on_fetch_failed, self)
        self.live = LiveFeed(ctx.db, tasks, self._sources, self._run_names.keys(), self._on_new_points,
                             self._on_fetch_failed, self)
        self._threshold_source = ThresholdSource(ctx.db, tasks, project_id, self)
        self._threshold_source.changed.connect(self._on_thresholds)
        self.bell_dialog = None
        self.pattern_dialog: PatternDialog | None = None  # the last one opened (tests)
        self.frames = 0  # frames that drew something (benchmarks)

        self._timer = QTimer(self)
        self._timer.setObjectName("workspace-repaint")
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._repaint)

        self._status = QLabel("Loading metrics…", self)
        self._status.setObjectName("workspace-status")
        self._status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._status.setWordWrap(True)

        add = QPushButton("Add panel…", self)
        add.setObjectName("workspace-add-panel")
        add.clicked.connect(self._ask_new_panel)
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(8, 4, 8, 0)
        toolbar.addStretch(1)
        toolbar.addWidget(add)

        self._scroll = PanelGrid(self)
        self._scroll.verticalScrollBar().valueChanged.connect(self._want_frame)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toolbar)
        layout.addWidget(self._status)
        layout.addWidget(self._scroll, 1)

        watcher.events_arrived.connect(self._on_events)
        db = ctx.db
        self._tasks.run(
            lambda: loading.load_outline(db, project_id),
            alive(self, self._on_outline), alive(self, self._on_load_failed),
        )

    # -- public, for the project page and tests -----------------------------------------------

    @property
    def is_loaded(self) -> bool:
        return self._is_loaded

    @property
    def panels(self) -> list[MetricPanel]:
        return list(self._panels)

    def panel(self, metric: str) -> MetricPanel | None:
        """The panel of `metric` (its own panel first, else the first panel showing it)."""
        for panel in self._panels:
            if panel.spec.metric == metric:
                return panel
        return next((p for p in self._panels if p.spec.matches(metric)), None)

    def metrics(self) -> list[str]:
        return sorted(p.spec.metric for p in self._panels if p.spec.metric)

    def curve(self, run_id: str, metric: str):  # noqa: ANN201 - pg.PlotDataItem
        panel = self.panel(metric)
        found = None if panel is None else panel.curves.get((run_id, metric))
        return None if found is None else found.raw

    def panel_curve(self, run_id: str, metric: str) -> PanelCurve | None:
        panel = self.panel(metric)
        return None if panel is None else panel.curves.get((run_id, metric))

    def add_panel(self, spec: PanelSpec) -> MetricPanel:
        self._layout.panels.append(spec)
        panel = self._make_panel(spec)
        self._relayout()
        self._save()
        return panel

    def remove_panel(self, panel: MetricPanel) -> None:
        index = self._panels.index(panel)
        self._panels.pop(index)
        spec = self._layout.panels.pop(index)
        if spec.metric:
            self._layout.removed.add(spec.metric)
        self._scroll.remove(panel)
        self._relayout()
        self._save()

    def move_panel(self, panel: MetricPanel, delta: int) -> None:
        index = self._panels.index(panel)
        target = max(0, min(len(self._panels) - 1, index + delta))
        for seq in (self._panels, self._layout.panels):
            seq.insert(target, seq.pop(index))
        self._relayout()
        self._save()

    def open_bell_dialog(self, metric: str):  # noqa: ANN201 - BellDialog, imported lazily
        from desktop.bell_dialog import BellDialog

        if self.bell_dialog is not None and self.bell_dialog.isVisible():
            self.bell_dialog.reject()
        dialog = BellDialog(self._ctx, self._project_id, metric, self._tasks, self)
        dialog.saved.connect(self._threshold_source.reload)
        self.bell_dialog = dialog
        dialog.open()
        self.bell_dialog_opened.emit(dialog)
        return dialog

    def shutdown(self) -> None:
        """Stop painting (the page is going away)."""
        self._timer.stop()
        self.live.stop()
        self._ranges.stop()

    # -- start-up: outline, then one metric at a time ---------------------------------------------

    def _on_outline(self, outline: loading.Outline) -> None:
        self._read_keys(outline)  # first, so the reads overlap with building the panels
        for run in outline.runs:
            self._register_run(run.id, run.name, run.created_at.timestamp())
        self._thresholds = outline.thresholds
        self._layout.with_defaults(outline.keys)
        for spec in self._layout.panels:
            self._make_panel(spec)
        self._relayout()
        for (run_id, key), (first, last, count) in outline.extents.items():
            if count > self._memory_limit:
                empty = np.empty(0)
                self._sources[(run_id, key)] = RangeSource(first, last, count, empty, empty, empty, empty)
        if not outline.keys:
            self._finish_start()

    def _read_keys(self, outline: loading.Outline) -> None:
        """Queue one read per metric, the panels' metrics first in layout order."""
        order = {spec.metric: i for i, spec in enumerate(self._layout.panels) if spec.metric}
        keys = sorted(outline.keys, key=lambda k: (order.get(k, len(order)), k))
        self._keys_left = len(keys)
        self._key_queue = [(key, {ck: ext for ck, ext in outline.extents.items() if ck[1] == key})
                           for key in reversed(keys)]
        for _ in range(KEY_READS_IN_FLIGHT):
            self._read_next_key()

    def _read_next_key(self) -> None:
        """Read the next metric in the background. Few at a time: the reads hold the GIL for
        their decoding, so ten threads at once take longer in all than one after another."""
        if not self._key_queue:
            return
        key, extents = self._key_queue.pop()
        db, limit = self._ctx.db, self._memory_limit
        self._tasks.run(lambda: loading.load_key(db, key, extents, limit),
                        alive(self, self._on_key), alive(self, self._on_key_failed))

    def _on_key(self, data: loading.KeyData) -> None:
        self._read_next_key()
        self._apply_series(data.buffers)
        for curve_key, envelope in data.envelopes.items():
            source = self._sources.get(curve_key)
            if isinstance(source, RangeSource):
                source.take(envelope)
                self._ensure_curves(*curve_key)
                self._mark_dirty(curve_key)
        self._key_done()

    def _on_key_failed(self, exc: Exception) -> None:
        self._read_next_key()  # one unreadable metric does not keep the others off screen
        self._on_load_failed(exc)
        self._key_done()

    def _key_done(self) -> None:
        self._keys_left -= 1
        if self._keys_left == 0:
            self._finish_start()

    def _finish_start(self) -> None:
        self._is_loaded = True
        self._update_status()
        self.loaded.emit()
        self.live.start()

    def _on_load_failed(self, exc: Exception) -> None:
        self._status.setText(f"Could not load the metrics: {exc}")
        self._status.show()
        self.live.start()  # new points still arrive

    # -- live -------------------------------------------------------------------------------------

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
                    source = self._sources.get((event.run_id, key))
                    if isinstance(source, RangeSource):
                        source.last_step = max(source.last_step, int(event.payload.get("last_step") or 0))
                        for panel in self._panels_of(key):
                            self._ranges.schedule(panel)
                    else:
                        self.live.add((event.run_id, key))
        if thresholds_changed:
            self._threshold_source.reload()
        self.live.fetch()

    def _on_new_points(self, result: loading.NewPoints) -> None:
        for run in result.runs:
            self._register_run(run.id, run.name, run.created_at.timestamp())
        self._apply_series(result.series)
        self._update_status()

    def _on_fetch_failed(self, exc: Exception) -> None:
        log.warning("could not fetch new points: %s", exc)
        self._status.setText(f"Live update paused: {exc}")
        self._status.show()

    def _on_thresholds(self, thresholds: list[loading.Threshold]) -> None:
        self._thresholds = thresholds
        for panel in self._panels:
            panel.set_thresholds([t for t in self._thresholds if panel.spec.matches(t.metric)])

    # -- model → view -------------------------------------------------------------------------------

    def _register_run(self, run_id: str, name: str, t0: float | None = None) -> None:
        if run_id not in self._run_order:
            self._run_order[run_id] = len(self._run_order)
        self._run_names[run_id] = name
        if t0 is not None:
            self._run_t0[run_id] = t0

    def _apply_series(self, series: dict[loading.CurveKey, loading.Series | SeriesBuffer]) -> None:
        """New points (arrays) or whole histories (buffers built by the loader) into the sources."""
        ordered = sorted(series.items(), key=lambda item: (self._run_order.get(item[0][0], 1 << 30), item[0]))
        for curve_key, data in ordered:
            source = self._sources.get(curve_key)
            if source is None:
                source = data if isinstance(data, SeriesBuffer) else SeriesBuffer.adopt(*data)
                self._sources[curve_key] = source
                added = len(source)
            elif isinstance(source, SeriesBuffer):
                added = source.extend(*((data.steps, data.values, data.walls)
                                        if isinstance(data, SeriesBuffer) else data))
            else:
                added = 0
            if added:
                if curve_key[1] not in {p.spec.metric for p in self._panels} and self._layout.with_defaults(
                        [curve_key[1]]):
                    self._make_panel(self._layout.panels[-1])
                    self._relayout()
                self._ensure_curves(*curve_key)
                self._mark_dirty(curve_key)

    def _panels_of(self, metric: str) -> list[MetricPanel]:
        return [p for p in self._panels if p.spec.matches(metric)]

    def _mark_dirty(self, curve_key: loading.CurveKey) -> None:
        for panel in self._panels_of(curve_key[1]):
            curve = panel.curves.get(curve_key)
            if curve is not None:
                curve.dirty = True
        self._want_frame()

    def _want_frame(self, *_args: object) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _make_panel(self, spec: PanelSpec) -> MetricPanel:
        panel = MetricPanel(spec, can_edit=self._ctx.can_edit, parent=self._scroll.host)
        panel.bell_clicked.connect(self.open_bell_dialog)
        panel.frame_wanted.connect(self._want_frame)
        panel.view_moved.connect(lambda p=panel: self._ranges.schedule(p))
        panel.hovered.connect(panel.set_highlighted_run)
        panel.spec_changed.connect(lambda p=panel: self._on_spec_changed(p))
        panel.move_requested.connect(lambda delta, p=panel: self.move_panel(p, delta))
        panel.remove_requested.connect(lambda p=panel: self.remove_panel(p))
        panel.pattern_wanted.connect(lambda p=panel: self._ask_pattern(
            "Panel metrics", p.spec.pattern or f"^{re.escape(p.spec.metric)}$", p.set_pattern))
        panel.set_thresholds([t for t in self._thresholds if spec.matches(t.metric)])
        self._panels.append(panel)
        self._fill_panel(panel)
        return panel

    def _fill_panel(self, panel: MetricPanel) -> None:
        for run_id, key in sorted(self._sources, key=lambda ck: (self._run_order.get(ck[0], 0), ck[1])):
            if panel.spec.matches(key):
                self._add_curve(panel, run_id, key)

    def _ensure_curves(self, run_id: str, metric: str) -> None:
        for panel in self._panels_of(metric):
            if not panel.has_curve(run_id, metric):
                self._add_curve(panel, run_id, metric)

    def _add_curve(self, panel: MetricPanel, run_id: str, metric: str) -> None:
        self._register_run(run_id, self._run_names.get(run_id, run_id))
        if not self.visibility.is_visible(run_id):
            panel.set_run_visible(run_id, False)
        panel.add_curve(run_id, metric, self._run_names[run_id], run_color(self._run_order[run_id]),
                        self._sources[(run_id, metric)], self._run_t0.get(run_id))

    def _on_spec_changed(self, panel: MetricPanel) -> None:
        if panel.objectName() != f"panel-{panel.spec.title}":  # its metric selection changed
            panel.setObjectName(f"panel-{panel.spec.title}")
            panel.remove_all_curves()
            self._fill_panel(panel)
            panel.set_thresholds([t for t in self._thresholds if panel.spec.matches(t.metric)])
            panel.mark_all_dirty()
        self._relayout()
        self._save()

    def _on_visibility(self, run_id: str, visible: bool) -> None:
        for panel in self._panels:
            panel.set_run_visible(run_id, visible)

    def _ask_new_panel(self) -> None:
        self._ask_pattern("Add panel", "", lambda pattern: self.add_panel(PanelSpec(pattern=pattern)))

    def _ask_pattern(self, title: str, initial: str, apply: Callable[[str], object]) -> PatternDialog:
        dialog = PatternDialog(title, sorted({key for _run, key in self._sources}), initial, self)
        dialog.accepted.connect(lambda: apply(dialog.pattern))
        dialog.finished.connect(dialog.deleteLater)
        self.pattern_dialog = dialog
        dialog.open()
        return dialog

    def _save(self) -> None:
        save_layout(self._settings_key, self._layout)

    def _relayout(self) -> None:
        self._scroll.arrange(self._panels)
        self._update_status()

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
        """The frame tick: on-screen panels draw their dirty curves; idle when nothing is left."""
        drawn = sum(panel.render() for panel in self._panels)
        if drawn:
            self.frames += 1
        if not any(p.has_dirty() and p.is_on_screen() for p in self._panels):
            self._timer.stop()
