"""One run's line in one panel: turns its source into the few points the panel can show.

Each frame a dirty curve is clipped to the x range on screen and min/max-decimated to the
panel's pixel width (`decimate.py`), so the line item never holds more than ~2 points per pixel
however long the history is, and every spike survives.
"""
from __future__ import annotations

import colorsys

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPen

from desktop.workspace.bounds import array_bounds, widen
from desktop.workspace.buffers import RangeSource, SeriesBuffer
from desktop.workspace.decimate import clip_to_range, ema, envelope_line, one_per_pixel, peak_decimate
from desktop.workspace.layout import PanelSpec
from desktop.workspace.lines import PanelLines, RunLine

# Distinct, colour-blind-friendly enough on light and dark backgrounds; then golden-ratio hues.
RUN_COLORS = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#86bcb6",
)
FAINT_ALPHA = 70
ANTIALIAS_MAX = 20  # curves per panel drawn antialiased; beyond, plain lines keep frames short
HIGHLIGHT_WIDTH = 2.5
ROBUST_PERCENTILES = (1.0, 99.0)  # "ignore outliers": the auto y range spans these percentiles
# In a panel of several metrics a run keeps its colour and each metric gets its own dash (in
# pen widths), shown by the legend's glyph: train and val loss of one run stay apart.
METRIC_DASHES: tuple[tuple[float, ...], ...] = (
    (), (6, 3), (1.5, 2.5), (8, 3, 1.5, 3), (3, 3), (12, 4), (8, 3, 1.5, 3, 1.5, 3), (1.5, 6),
)
METRIC_GLYPHS = ("\u25ac", "\u254d\u254d", "\u00b7\u00b7\u00b7", "\u2501\u00b7\u2501", "\u2504\u2504",
                 "\u2501 \u2501", "\u2501\u00b7\u00b7", "\u00b7 \u00b7 \u00b7")


def run_color(index: int) -> QColor:
    """The colour of the run registered `index`-th in the project (stable across panels)."""
    if index < len(RUN_COLORS):
        return QColor(RUN_COLORS[index])
    hue = (index * 0.618033988749895) % 1.0
    tier = (index // len(RUN_COLORS)) % 3
    r, g, b = colorsys.hsv_to_rgb(hue, (0.75, 0.55, 0.9)[tier], (0.85, 0.7, 0.6)[tier])
    return QColor.fromRgbF(r, g, b)


class PanelCurve:
    """One run's raw line (faint while smoothing) and, when smoothing, its EMA line on top.

    The lines are `RunLine`s painted by the panel's one `PanelLines` item (lines.py); only a
    history of a single point gets a graphics item of its own (a dot). Log-y is applied here.
    """

    def __init__(self, plot: pg.PlotItem, lines: PanelLines, run_id: str, metric: str, label: str,
                 color: QColor, source: SeriesBuffer | RangeSource, dash: int = 0) -> None:
        self.run_id = run_id
        self.metric = metric
        self.label = label
        self.color = QColor(color)
        self.dash = dash % len(METRIC_DASHES)  # this metric's place in the panel (METRIC_DASHES)
        self.source = source
        self.t0: float | None = None  # start of the run (relative time axis)
        self.dirty = True
        self.highlighted = False
        # [[xmin, xmax] | None, [ymin, ymax] | None] of what the lines hold (panel auto-range)
        self.bounds: list[list[float] | None] = [None, None]
        self.robust_y: list[float] | None = None  # y range without the outliers, when asked for
        self.below_log = False
        self.off_scale_x = NO_MARKS  # x of the points drawn as edge marks (edge_marks.py)
        self.nonfinite = False  # NaN/Inf among the points (of the range read, for a long history)
        self._vb = plot.getViewBox()
        self._lines = lines
        self._ema_cache: tuple[tuple[int, float], np.ndarray] | None = None
        self.raw: RunLine = lines.add_line(f"curve-{run_id}")
        self.smooth: RunLine | None = None
        self.dot: pg.ScatterPlotItem | None = None  # a history of one point has no line to draw
        self._apply_pens(0.0)

    # -- drawing --------------------------------------------------------------------------------

    def set_visible(self, visible: bool) -> None:
        for item in (self.raw, self.smooth, self.dot):
            if item is not None:
                item.setVisible(visible)

    def is_visible(self) -> bool:
        return self.raw.isVisible()

    def set_highlighted(self, on: bool, smoothing: float) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self._apply_pens(smoothing)

    def _apply_pens(self, smoothing: float) -> None:
        # 1 px cosmetic pens: Qt strokes wider lines through a path stroker, ~10× slower per curve
        width = HIGHLIGHT_WIDTH if self.highlighted else 1.0
        raw_color = QColor(self.color)
        if smoothing > 0:
            raw_color.setAlpha(FAINT_ALPHA)
        # behind a smoothed line the faint raw line stays solid: the smoothed one carries the dash
        self.raw.setPen(self._pen(raw_color, width) if smoothing <= 0 else pg.mkPen(raw_color, width=1.0))
        self.raw.on_top = self.highlighted
        if smoothing > 0:
            if self.smooth is None:
                self.smooth = self._lines.add_line(f"smooth-{self.run_id}", layer=1)
                self.smooth.setVisible(self.raw.isVisible())
            self.smooth.setPen(self._pen(self.color, width))
            self.smooth.on_top = self.highlighted
        elif self.smooth is not None:
            self._lines.remove_line(self.smooth)
            self.smooth = None

    def _pen(self, color: QColor, width: float) -> QPen:
        pen = pg.mkPen(color, width=width)
        if METRIC_DASHES[self.dash]:
            pen.setDashPattern(list(METRIC_DASHES[self.dash]))
        return pen

    @property
    def glyph(self) -> str:
        """The legend's sample of this line: a bar, or the dash of its metric."""
        return METRIC_GLYPHS[self.dash]

    def set_smoothing(self, smoothing: float) -> None:
        self._apply_pens(smoothing)
        self.dirty = True

    def render(self, spec: PanelSpec, view: tuple[float, float] | None, width: int) -> None:
        """Hand the lines the clipped, decimated points of the current view (`spec`: the panel's
        x mode, smoothing, log y and outlier setting)."""
        self.dirty = False
        x, y, s, off_scale = self._line(spec.x_mode, spec.smoothing)
        if view is not None and len(x):
            if s is not None:
                _x, s = clip_to_range(x, s, *view)
            x, y = clip_to_range(x, y, *view)
        buckets = max(16, width)
        dx, dy = peak_decimate(x, y, buckets)
        self.nonfinite = len(off_scale) > 0
        self.below_log = False  # points at or below zero that a log axis cannot show
        if spec.log_y:
            below = dx[dy <= 0]
            dx, dy = _log_y(dx, dy)
            self.below_log = len(below) > 0
            if self.below_log:
                off_scale = np.concatenate([off_scale, below])
        self.raw.setData(dx, dy)
        self._set_dot(dx, dy)
        self.bounds = [_bounds(dx), _bounds(dy)]
        self.off_scale_x = NO_MARKS
        if len(off_scale):  # the x range includes them: a run that went NaN at the end shows it
            lo, hi = float(off_scale.min()), float(off_scale.max())
            self.bounds[0] = widen(self.bounds[0], lo, hi)
            self.off_scale_x = one_per_pixel(off_scale, *(view or self.bounds[0]), buckets)
        shown_y = dy
        if self.smooth is not None and s is not None:
            sx, sy = peak_decimate(x, s, buckets)
            if spec.log_y:
                sx, sy = _log_y(sx, sy)
            self.smooth.setData(sx, sy)
            shown_y = sy  # while smoothing, the outlier-free range follows the smoothed line
            for axis, values in enumerate((sx, sy)):
                found = array_bounds(values)
                if found is not None:
                    self.bounds[axis] = widen(self.bounds[axis], *found)
        self.robust_y = robust_range(shown_y) if spec.robust_y else None

    def _set_dot(self, x: np.ndarray, y: np.ndarray) -> None:
        if len(x) == 1:
            if self.dot is None:
                self.dot = pg.ScatterPlotItem(size=6, pen=pg.mkPen(self.color), brush=pg.mkBrush(self.color))
                self.dot.setVisible(self.raw.isVisible())
                self._vb.addItem(self.dot)
            self.dot.setData(x, y)
        elif self.dot is not None:
            self._vb.removeItem(self.dot)
            self.dot = None

    def _line(self, x_mode: str, smoothing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """(x, y, smoothed y or None, x of the NaN/Inf points) of the line to draw."""
        source = self.source
        if isinstance(source, SeriesBuffer):
            steps, values, walls = source.steps, source.values, source.walls
            nonfinite = NO_MARKS
            if not source.finite:  # draw through NaN/Inf gaps, so isolated finite points still show
                keep = np.isfinite(values)
                nonfinite = self._x_of(x_mode, steps[~keep], walls[~keep])
                steps, values, walls = steps[keep], values[keep], walls[keep]
            x = self._x_of(x_mode, steps, walls)
            smooth = self._smoothed(values, smoothing, source.version) if smoothing > 0 else None
            return x, values, smooth, nonfinite
        x = self._x_of(x_mode, source.steps, source.walls)
        lx, ly = envelope_line(x, source.mins, source.maxs)
        smooth = None
        if smoothing > 0:
            mid = ema((source.mins + source.maxs) / 2, smoothing)
            smooth = np.repeat(mid, 2) if len(lx) == 2 * len(mid) else mid
        # a long history knows where its NaN/Inf are in the range read
        return lx, ly, smooth, self._x_of(x_mode, source.off_steps, source.off_walls)

    def _x_of(self, x_mode: str, steps: np.ndarray, walls: np.ndarray) -> np.ndarray:
        if x_mode == "step":
            return steps
        if x_mode == "wall":
            return walls
        t0 = self.t0
        if t0 is None:  # the run's start is unknown: its first point is time zero
            first = self.source.walls
            t0 = float(first[0]) if len(first) else 0.0
        return walls - t0

    def _smoothed(self, values: np.ndarray, weight: float, version: int) -> np.ndarray:
        key = (version, weight)
        if self._ema_cache is None or self._ema_cache[0] != key:
            self._ema_cache = (key, ema(values, weight))
        return self._ema_cache[1]

    def step_at(self, x_mode: str, x: float) -> int:
        """The step of the point drawn at x (for the hover read-out)."""
        if x_mode == "step":
            return int(round(x))
        source = self.source
        steps, walls = source.steps, source.walls
        if not len(steps):
            return 0
        xs = self._x_of(x_mode, steps, walls)
        i = int(np.clip(np.searchsorted(xs, x), 0, len(steps) - 1))
        return int(steps[i])

    def off_scale_value(self, step: int) -> str:
        """What was logged at `step` where an edge mark stands: nan, inf, -inf or a value ≤ 0."""
        source = self.source
        if isinstance(source, SeriesBuffer):
            i = int(np.searchsorted(source.steps, step))
            if i < len(source) and source.steps[i] == step:
                value = float(source.values[i])
                return f"{value:.6g}" if np.isfinite(value) else str(value)
        elif step in source.off_steps:  # a long history keeps only where its NaN/Inf were
            return "NaN/Inf"
        return "≤ 0"

    def remove(self) -> None:
        for line in (self.raw, self.smooth):
            if line is not None:
                self._lines.remove_line(line)
        if self.dot is not None:
            self._vb.removeItem(self.dot)


NO_MARKS = np.empty(0)


def _bounds(values: np.ndarray) -> list[float] | None:
    found = array_bounds(values)
    return None if found is None else [found[0], found[1]]


def robust_range(values: np.ndarray) -> list[float] | None:
    """The range of `values` without outliers: each end stops at the ROBUST_PERCENTILES point
    inside it, unless the extreme lies within half the inner span of it (then it is no outlier:
    the first steps of a falling loss stay in view). Nearest-inward percentiles, so in a short
    series one spike among a hundred points is still left out."""
    if len(values) < 3:
        return _bounds(values)
    lo_p = float(np.percentile(values, ROBUST_PERCENTILES[0], method="higher"))
    hi_p = float(np.percentile(values, ROBUST_PERCENTILES[1], method="lower"))
    margin = (hi_p - lo_p) / 2
    lo, hi = float(values.min()), float(values.max())
    return [lo if lo_p - lo <= margin else lo_p, hi if hi - hi_p <= margin else hi_p]


def _log_y(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points a log-y axis can show (y > 0), as log10(y): the view works in log units."""
    keep = y > 0
    return x[keep], np.log10(y[keep])
