"""A panel's grid: one faint line per major tick of each axis, behind the curves.

pyqtgraph draws a grid as part of each axis: the axis item then covers the whole plot and
replays its recorded picture, grid included, on every repaint of the panel. During a live run
that was a third of each frame. This item draws the same lines with one `drawLines` call.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QLineF
from PySide6.QtGui import QColor, QPainter, QPen

from desktop.workspace.overlay import ViewOverlay

GRID_ALPHA = 38  # of 255: as faint as pyqtgraph's showGrid(alpha=0.15)
MAX_LINES = 12  # per axis


class GridLines(ViewOverlay):
    PAINTS = "a panel's grid"

    def __init__(self, bottom: pg.AxisItem, left: pg.AxisItem) -> None:
        super().__init__()
        self.setZValue(-100)
        self._axes = (bottom, left)
        self._pen = QPen()
        self._pen.setCosmetic(True)
        self._cache: tuple[tuple, list[QLineF]] | None = None

    def set_axes(self, bottom: pg.AxisItem, left: pg.AxisItem) -> None:
        self._axes = (bottom, left)
        self._cache = None
        self.update()

    def set_color(self, color: QColor) -> None:
        faint = QColor(color)
        faint.setAlpha(GRID_ALPHA)
        self._pen.setColor(faint)
        self.update()

    def _paint(self, p: QPainter) -> None:
        vb = self.getViewBox()
        if vb is None:
            return
        (x0, x1), (y0, y1) = vb.viewRange()
        key = (x0, x1, y0, y1, vb.width(), vb.height(), self._axes)
        if self._cache is None or self._cache[0] != key:
            xs = self._ticks(self._axes[0], x0, x1, vb.width())
            ys = self._ticks(self._axes[1], y0, y1, vb.height())
            self._cache = (key, [QLineF(x, y0, x, y1) for x in xs] + [QLineF(x0, y, x1, y) for y in ys])
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(self._pen)
        p.drawLines(self._cache[1])

    @staticmethod
    def _ticks(axis: pg.AxisItem, lo: float, hi: float, size: float) -> list[float]:
        """The finest tick level with at most MAX_LINES ticks (one line per labelled tick)."""
        if size <= 0 or not hi > lo:
            return []
        found: list[float] = []
        for _spacing, values in axis.tickValues(lo, hi, size):
            if found and len(found) + len(values) > MAX_LINES:
                break
            found += [float(v) for v in values]
        return found
