"""Marks on the bottom edge of a panel where a run logged values the axis cannot show.

A NaN or infinite loss is the moment a user most needs to see, yet a line cannot be drawn
through it; on a log axis the same goes for values at or below zero. The line bridges those
points, and this item puts a small triangle in the run's colour under each of them (at most one
per pixel column), so "the loss went NaN at step 4,000" is visible at a glance.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPainter, QPolygonF

from desktop.workspace.overlay import ViewOverlay

SIZE = 4.0  # half the triangle's base, in pixels
GLYPH = "\u25b2"  # the legend's name for the mark


class EdgeMarks(ViewOverlay):
    """Triangles at given x positions (data units), drawn in pixels on the view's bottom edge."""

    PAINTS = "a panel's edge marks"

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(40)  # over the curves, under the hover marker
        self.marks: list[tuple[QColor, np.ndarray]] = []

    def set_marks(self, marks: list[tuple[QColor, np.ndarray]]) -> None:
        if marks or self.marks:
            self.marks = marks
            self.update()

    def count(self) -> int:
        return sum(len(xs) for _color, xs in self.marks)

    def _paint(self, p: QPainter) -> None:
        vb = self.getViewBox()
        if vb is None or not self.marks:
            return
        rect = vb.viewRect()
        to_pixels = p.transform()
        bottom = to_pixels.map(QPointF(rect.left(), rect.top())).y()  # the lowest y is at the bottom
        left, right = to_pixels.map(QPointF(rect.left(), 0)).x(), to_pixels.map(QPointF(rect.right(), 0)).x()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(pg.mkPen(None))
        for color, xs in self.marks:
            px = xs * to_pixels.m11() + to_pixels.dx()
            p.setBrush(color)
            for x in px[(px >= left - SIZE) & (px <= right + SIZE)]:
                p.drawPolygon(QPolygonF([QPointF(x - SIZE, bottom), QPointF(x + SIZE, bottom),
                                         QPointF(x, bottom - 1.6 * SIZE)]))
