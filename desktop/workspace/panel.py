"""One plot panel: every run's curve for its metric(s), a legend, threshold lines, a hover
read-out, a settings menu and a bell on hover.

The panel draws only when asked (`render`, from the workspace's single frame timer) and only
when it is on screen; otherwise its curves stay dirty until it is shown again.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QEnterEvent, QFocusEvent, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from desktop.workspace.bounds import DataBoundsViewBox, Range, log_range, snap_out, widen
from desktop.workspace.buffers import RangeSource, SeriesBuffer
from desktop.workspace.curves import ANTIALIAS_MAX, PanelCurve
from desktop.workspace.axes import AXIS_TITLES, LABEL_OVERHANG_PX, MajorOnlyAxis, StepAxis, x_axis
from desktop.workspace.edge_marks import GLYPH, EdgeMarks
from desktop.workspace.gridlines import GridLines
from desktop.workspace.hover import nearest_mark, nearest_point
from desktop.workspace.layout import PanelSpec
from desktop.workspace.lines import PanelLines
from desktop.workspace.loading import Threshold
from desktop.workspace.panel_header import LegendEntry, PanelHeader
from desktop.workspace.panel_menu import build_menu
from desktop.workspace.pattern_dialog import pattern_error
from desktop.workspace.thresholds import threshold_lines

LEGEND_MAX = 12  # lines named in a panel's header, as many as fit (panel_header.py); the tooltip has all
LEAST_STEP_SPAN = 4.0  # zoomed in on steps, a view still spans this many (no step between two)


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


class MetricPanel(QFrame):
    """Signals:
        bell_clicked(str): the user asked for an alert on this panel's metric.
        spec_changed(): the user changed a setting (the workspace saves the layout).
        move_requested(int): move this panel by -1 / +1 in the grid.
        remove_requested(): the user closed this panel.
        frame_wanted(): something changed that the next frame should draw.
        view_moved(): the x range on screen changed (long histories re-read their range).
        hovered(str): the run under the pointer ("" when none).
        pattern_wanted(): the user wants to choose this panel's metrics by regular expression.
    """

    bell_clicked = Signal(str)
    spec_changed = Signal()
    move_requested = Signal(int)
    remove_requested = Signal()
    frame_wanted = Signal()
    view_moved = Signal()
    hovered = Signal(str)
    pattern_wanted = Signal()

    def __init__(self, spec: PanelSpec, *, can_edit: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.metric_name = spec.title
        self.setObjectName(f"panel-{spec.title}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setMinimumHeight(260)
        self.curves: dict[tuple[str, str], PanelCurve] = {}
        # curves wait here until the panel is first on screen: most of a big workspace never is
        self._deferred: dict[tuple[str, str], tuple] = {}
        self._hidden_runs: set[str] = set()
        self._lines: list[pg.InfiniteLine] = []
        self._thresholds: list[Threshold] = []
        self._legend_notes: tuple[bool, bool] = (False, False)  # (values ≤ 0 on log y, NaN/Inf marks)
        self._marks_stale = False  # the edge marks must be gathered again (a run shown or hidden)
        self._metric_dash: dict[str, int] = {}  # pattern panels: a dash per metric, by first arrival

        self.header = PanelHeader(spec, build_menu(self), can_edit=can_edit, parent=self)
        self.header.bell_clicked.connect(self._on_bell)
        self.bell, self.menu_button, self.legend_label = self.header.bell, self.header.menu_button, self.header.legend
        self.readout = QLabel(self)
        self.readout.setObjectName("panel-readout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        view_box = DataBoundsViewBox()
        view_box.bounds_provider = self.data_bounds
        self.plot = pg.PlotWidget(self, viewBox=view_box,
                                  axisItems={"bottom": StepAxis("bottom"), "left": MajorOnlyAxis("left")})
        self.plot.setObjectName(f"plot-{spec.title}")
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        item = self.plot.getPlotItem()
        # The curves arrive clipped and peak-decimated already (curves.py).
        self.grid = GridLines(item.getAxis("bottom"), item.getAxis("left"))  # not showGrid: see gridlines.py
        item.getViewBox().addItem(self.grid, ignoreBounds=True)
        item.hideButtons()
        # room above the view and right of it for the half of a label centred on the last tick
        # (a "2.5" at the top edge was cut in half)
        item.layout.setContentsMargins(2, 8, LABEL_OVERHANG_PX, 2)
        self._marker = pg.ScatterPlotItem(size=9, pen=pg.mkPen("w", width=1.5))
        self._marker.setZValue(50)
        self._marker.hide()
        item.addItem(self._marker, ignoreBounds=True)
        self.lines = PanelLines()  # paints every run's line (lines.py)
        item.getViewBox().addItem(self.lines)
        self.edge_marks = EdgeMarks()  # where runs logged NaN/Inf (or ≤ 0 on a log axis)
        item.getViewBox().addItem(self.edge_marks, ignoreBounds=True)
        self._style_plot()
        self._apply_x_axis()
        self._apply_y()
        item.getViewBox().sigXRangeChanged.connect(self._on_x_range)
        item.getViewBox().sigYRangeChanged.connect(self._on_y_range)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_click)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.readout)
        layout.addWidget(self.plot, 1)

    # -- curves, drawing ------------------------------------------------------------------------

    def add_curve(self, run_id: str, metric: str, label: str, color: QColor,
                  source: SeriesBuffer | RangeSource, t0: float | None = None) -> None:
        """Add a run's line; it is created by the next frame that finds the panel on screen
        (all of a metric's runs at once: one legend update, not one per run)."""
        if (run_id, metric) in self.curves:
            return
        first = not self._deferred
        self._deferred[(run_id, metric)] = (label, color, source, t0)
        if first:
            self.frame_wanted.emit()

    def has_curve(self, run_id: str, metric: str) -> bool:
        return (run_id, metric) in self.curves or (run_id, metric) in self._deferred

    def remove_all_curves(self) -> None:
        for curve in self.curves.values():
            curve.remove()
        self.curves.clear()
        self._deferred.clear()
        self._metric_dash.clear()
        self._update_legend()

    def _realize(self) -> None:
        self.lines.set_antialias(len(self.curves) + len(self._deferred) <= ANTIALIAS_MAX)
        for (run_id, metric), (label, color, source, t0) in self._deferred.items():
            dash = 0
            if not self.spec.metric:
                label = f"{label} · {metric}"
                dash = self._metric_dash.setdefault(metric, len(self._metric_dash))
            curve = PanelCurve(self.plot.getPlotItem(), self.lines, run_id, metric, label, color, source, dash)
            curve.t0 = t0
            if self.spec.smoothing > 0:  # new curves start with unsmoothed pens; mkPen is not free
                curve.set_smoothing(self.spec.smoothing)
            if run_id in self._hidden_runs:
                curve.set_visible(False)
            self.curves[(run_id, metric)] = curve
        self._deferred.clear()
        self._update_legend()

    def is_on_screen(self) -> bool:
        """Shown, on the current tab and not scrolled out of the workspace."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def view_x_range(self) -> tuple[float, float] | None:
        """The x range to clip to, or None while x follows the data (auto range)."""
        vb = self.plot.getPlotItem().getViewBox()
        if vb.autoRangeEnabled()[0]:
            return None
        x0, x1 = vb.viewRange()[0]
        return float(x0), float(x1)

    def pixel_width(self) -> int:
        return max(16, int(self.plot.getPlotItem().getViewBox().width()))

    def render(self) -> int:
        """Draw the dirty curves if on screen; returns how many were drawn."""
        if not self.is_on_screen():
            return 0
        if self._deferred:
            self._realize()
        view, width, drawn = self.view_x_range(), self.pixel_width(), 0
        self.lines.set_antialias(len(self.curves) <= ANTIALIAS_MAX)
        for curve in self.curves.values():
            if curve.dirty and curve.is_visible():
                curve.render(self.spec, view, width)
                drawn += 1
        if drawn:
            self.lines.refresh()
        if drawn or self._marks_stale:
            self._marks_stale = False
            shown = [c for c in self.curves.values() if c.is_visible()]
            self.edge_marks.set_marks([(c.color, c.off_scale_x) for c in shown if len(c.off_scale_x)])
            if self._legend_notes != self._notes_of(shown):
                self._update_legend()
        vb = self.plot.getPlotItem().getViewBox()
        if drawn and any(vb.autoRangeEnabled()):
            # Follow the new data here, not in the paint: a range changed while painting moves
            # the curves' transform, which asks for a second paint of the whole panel.
            vb.updateAutoRange()
            vb.updateMatrix()
        return drawn

    def data_bounds(self) -> Range:
        """[[xmin, xmax] | None, [ymin, ymax] | None] of the visible lines and threshold lines."""
        x_range, y_range = None, None
        for curve in self.curves.values():
            if curve.is_visible():
                bx, by = curve.bounds
                if self.spec.robust_y and curve.robust_y is not None:
                    by = curve.robust_y
                if bx is not None:
                    x_range = widen(x_range, *bx)
                if by is not None:
                    y_range = widen(y_range, *by)
        for line in self._lines:
            if line.isVisible():
                y = float(line.value())
                y_range = widen(y_range, y, y)
        return [snap_out(x_range, growing=True), snap_out(y_range)]

    def mark_all_dirty(self) -> None:
        for curve in self.curves.values():
            curve.dirty = True
        self.frame_wanted.emit()

    def has_dirty(self) -> bool:
        return (bool(self._deferred) or self._marks_stale
                or any(c.dirty and c.is_visible() for c in self.curves.values()))

    def set_run_visible(self, run_id: str, visible: bool) -> None:
        (self._hidden_runs.discard if visible else self._hidden_runs.add)(run_id)
        for (rid, _metric), curve in self.curves.items():
            if rid == run_id:
                curve.set_visible(visible)
                curve.dirty = True
        self._marks_stale = True  # a hidden run's marks go with its line
        self._update_legend()
        self.frame_wanted.emit()

    def set_highlighted_run(self, run_id: str) -> None:
        for curve in self.curves.values():
            curve.set_highlighted(curve.run_id == run_id, self.spec.smoothing)

    def _on_x_range(self, *_args: object) -> None:
        if self.view_x_range() is not None:
            self.mark_all_dirty()
            self.view_moved.emit()

    # -- thresholds and legend -----------------------------------------------------------------

    def set_thresholds(self, thresholds: Sequence[Threshold]) -> None:
        """Replace the dashed line of every automation on this metric."""
        self._thresholds = list(thresholds)
        item = self.plot.getPlotItem()
        for line in self._lines:
            item.removeItem(line)
        self._lines = threshold_lines(item, self._thresholds, self._palette_color(QPalette.ColorRole.Base, alpha=190),
                                      log_y=self.spec.log_y)
        self._on_y_range(None, item.getViewBox().viewRange()[1])
        self._update_legend()  # it says when a log axis has no place for an alert's line

    def _on_y_range(self, _vb: object, y_range: Sequence[float]) -> None:
        """A label hangs under its line: once the line leaves the view, hide the label, or a
        sliver of it stays at the top edge."""
        lo, hi = y_range
        for line in self._lines:
            inside = lo <= line.value() <= hi
            if inside != line.label.isVisible():  # showing re-lays the label's text: only on a change
                line.label.setVisible(inside)

    @property
    def threshold_lines(self) -> list[pg.InfiniteLine]:
        return list(self._lines)

    def legend_entries(self) -> list[str]:
        return [c.label for c in self.curves.values()]

    def _update_legend(self) -> None:
        shown = [c for c in self.curves.values() if c.is_visible()]
        entries = [LegendEntry(c.color.name(), c.glyph, _short(c.label)) for c in shown[:LEGEND_MAX]]
        notes = []
        hidden = len(self.curves) - len(shown)
        if hidden:
            notes.append(f"({hidden} hidden)")
        self._legend_notes = below_log, nonfinite = self._notes_of(shown)
        if nonfinite or below_log:
            what = " or ".join(name for name, on in (("NaN/Inf", nonfinite), ("≤ 0", below_log)) if on)
            notes.append(f"({GLYPH} {what}{', not on the log scale' if below_log and not nonfinite else ''})")
        unplaced = sum(1 for t in self._thresholds if self.spec.log_y and t.value <= 0)
        if unplaced:
            notes.append(f"({unplaced} alert line{'s' if unplaced > 1 else ''} at ≤ 0 not on the log scale)")
        self.header.set_legend(entries, len(shown), notes, [c.label for c in shown[:200]])

    def _notes_of(self, shown: list[PanelCurve]) -> tuple[bool, bool]:
        below_log = self.spec.log_y and any(c.below_log for c in shown)
        return below_log, any(c.nonfinite for c in shown)

    # -- hover read-out and highlight ------------------------------------------------------------

    def nearest_point(self, scene_pos: QPointF) -> tuple[PanelCurve, float, float] | None:
        """The drawn point closest to the pointer, within a few pixels: (curve, x, y as drawn)."""
        return nearest_point(self.plot.getPlotItem().getViewBox(), self.curves.values(), scene_pos)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        mark = nearest_mark(vb, self.curves.values(), scene_pos)
        if mark is not None:  # an edge mark: the value the axis could not show
            curve, x, others = mark
            step = curve.step_at(self.spec.x_mode, x)
            also = f" (and {others} more run{'s' if others > 1 else ''} here)" if others else ""
            self._read_out(curve, GLYPH, step, curve.off_scale_value(step) + also)
            self._hide_marker()
            return
        found = self.nearest_point(scene_pos)
        if found is None:
            self.readout.setText("")
            self._hide_marker()
            self.hovered.emit("")
            return
        curve, x, shown_y = found
        y = 10 ** shown_y if self.spec.log_y else shown_y
        self._read_out(curve, "&#9679;", curve.step_at(self.spec.x_mode, x), f"{y:.6g}")
        self._marker.setData([x], [shown_y], brush=pg.mkBrush(curve.color))
        self._marker.show()

    def _read_out(self, curve: PanelCurve, glyph: str, step: int, value: str) -> None:
        self.readout.setText(
            f'<span style="color:{curve.color.name()}">{glyph}</span> {html.escape(curve.label)}'
            f" · step {step} · {value}"
        )
        self.hovered.emit(curve.run_id)

    def _hide_marker(self) -> None:
        """Hidden, not just emptied: an empty scatter item still costs every live paint."""
        self._marker.hide()
        self._marker.setData([], [])

    # -- the settings menu -----------------------------------------------------------------------

    def set_x_mode(self, mode: str) -> None:
        self.spec.x_mode = mode
        self._apply_x_axis()
        self.plot.getPlotItem().enableAutoRange(x=True)
        self.mark_all_dirty()
        self.spec_changed.emit()

    def set_log_y(self, on: bool) -> None:
        if bool(on) == self.spec.log_y:
            return
        vb = self.plot.getPlotItem().getViewBox()
        lo, hi = vb.viewRange()[1]
        self.spec.log_y = bool(on)
        self._apply_y()
        if self.spec.y_range is None:
            # Until the next frame re-reads the curves, the old range would be read in the new
            # units: linear values as powers of ten make the log axis lay out 1e5 decades.
            y_range = log_range(lo, hi) if on else (10.0 ** max(-300.0, min(300.0, lo)),
                                                     10.0 ** max(-300.0, min(300.0, hi)))
            vb.setRange(yRange=y_range, padding=0, disableAutoRange=False)  # the next frame follows the data
        self.set_thresholds(self._thresholds)  # a log axis places lines at log10(value)
        self.mark_all_dirty()  # the curves hand log10 values to a log axis
        self.render()
        self.spec_changed.emit()

    def set_smoothing(self, weight: float) -> None:
        self.spec.smoothing = float(weight)
        for curve in self.curves.values():
            curve.set_smoothing(self.spec.smoothing)
        self.frame_wanted.emit()
        self.spec_changed.emit()

    def set_robust_y(self, on: bool) -> None:
        """Auto y range without outliers: a spike is still drawn, just off the top."""
        self.spec.robust_y = bool(on)
        self.mark_all_dirty()
        self.spec_changed.emit()

    def set_y_range(self, y_range: tuple[float, float] | None) -> None:
        if y_range is not None and not (np.isfinite(y_range).all() and y_range[0] < y_range[1]):
            raise ValueError(f"a y range needs two finite values, low < high, not {y_range!r}")
        self.spec.y_range = y_range
        self._apply_y()
        self.spec_changed.emit()

    def fit_view(self) -> None:
        """Back to following the data after a zoom or pan (x, and y unless fixed)."""
        item = self.plot.getPlotItem()
        item.getViewBox().enableAutoRange(x=True, y=self.spec.y_range is None)
        for name in ("left", "bottom"):  # the room a deep zoom's long labels took
            item.getAxis(name).reset_text_space()
        self.mark_all_dirty()  # drawn clipped to the old view: draw them whole
        self.view_moved.emit()  # long histories: read the whole extent again

    def _on_scene_click(self, event: object) -> None:
        if event.double():
            self.fit_view()

    def fix_y_range(self) -> None:
        lo, hi = self.plot.getPlotItem().getViewBox().viewRange()[1]
        if self.spec.log_y:
            lo, hi = 10 ** lo, 10 ** hi
        self.set_y_range((float(lo), float(hi)))

    def set_wide(self, on: bool) -> None:
        self.spec.wide = bool(on)
        self.spec_changed.emit()

    def ask_pattern(self) -> None:
        self.pattern_wanted.emit()  # the workspace asks: it knows the project's metrics

    def set_pattern(self, pattern: str) -> None:
        """Show every metric matching `pattern` (the workspace re-adds the curves)."""
        error = pattern_error(pattern)
        if error:
            raise ValueError(error)
        self.spec.pattern, self.spec.metric = pattern, ""
        self.metric_name = self.spec.title
        self.header.set_spec(self.spec)
        self.plot.setObjectName(f"plot-{self.spec.title}")
        self.spec_changed.emit()

    def _apply_x_axis(self) -> None:
        item = self.plot.getPlotItem()
        axis = x_axis(self.spec.x_mode)
        item.setAxisItems({"bottom": axis})
        # a new axis reads the view's range only when it next changes: if it does not (the same
        # mode picked again, the data already in view), the axis would stay labelled 0 … 1
        axis.linkedViewChanged(item.getViewBox())
        item.setLabel("bottom", AXIS_TITLES[self.spec.x_mode])
        self._style_axis(axis)
        self.grid.set_axes(axis, item.getAxis("left"))
        item.getViewBox().least_x_span = LEAST_STEP_SPAN if self.spec.x_mode == "step" else 0.0

    def _apply_y(self) -> None:
        item = self.plot.getPlotItem()
        item.setLogMode(x=False, y=self.spec.log_y)
        item.getViewBox().log_y = self.spec.log_y
        if self.spec.y_range is None:
            item.enableAutoRange(y=True)
        else:
            lo, hi = self.spec.y_range
            if self.spec.log_y:
                lo, hi = log_range(lo, hi)
            item.setYRange(lo, hi, padding=0)

    # -- bell on hover or keyboard focus ----------------------------------------------------------

    def enterEvent(self, event: QEnterEvent) -> None:
        self.bell.show()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if not (self.hasFocus() or self.bell.hasFocus()):
            self.bell.hide()
        self.readout.setText("")
        self._hide_marker()
        self.hovered.emit("")
        super().leaveEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        self.bell.show()
        super().focusInEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: ANN001 - QKeyEvent
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.bell.isEnabled():
            self._on_bell()
            return
        super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "plot"):  # OS switched light/dark
            self._style_plot()
            self.header.refresh_icons()
            self.set_thresholds(self._thresholds)
        super().changeEvent(event)

    def showEvent(self, event: QEvent) -> None:
        super().showEvent(event)
        if self.has_dirty():
            self.frame_wanted.emit()  # it was skipped while hidden

    def _on_bell(self) -> None:
        if self.spec.metric:
            self.bell_clicked.emit(self.spec.metric)

    # -- looks ------------------------------------------------------------------------------------

    def _palette_color(self, role: QPalette.ColorRole, alpha: int = 255) -> QColor:
        color = QColor(self.palette().color(role))
        color.setAlpha(alpha)
        return color

    def _style_axis(self, axis: pg.AxisItem) -> None:
        axis.setPen(pg.mkPen(self._palette_color(QPalette.ColorRole.Text, alpha=140)))
        axis.setTextPen(self._palette_color(QPalette.ColorRole.Text))

    def _style_plot(self) -> None:
        """Follow the window's light/dark palette instead of pyqtgraph's black default."""
        self.plot.setBackground(self._palette_color(QPalette.ColorRole.Base))
        for name in ("left", "bottom"):
            self._style_axis(self.plot.getAxis(name))
        self.grid.set_color(self._palette_color(QPalette.ColorRole.Text))
        self._marker.setPen(pg.mkPen(self._palette_color(QPalette.ColorRole.Base), width=1.5))
