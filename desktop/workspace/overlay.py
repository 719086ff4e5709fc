"""Bases of the panel's own graphics items: a paint that cannot take the process down, and an
item that covers the whole view and follows it (grid lines, edge marks)."""
from __future__ import annotations

import logging

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

log = logging.getLogger("runbell.workspace")


class SafePaint:
    """`paint` calls `_paint` and logs what it raises: an exception escaping a Qt paint()
    aborts the whole process."""

    PAINTS = "a panel's item"  # for the log

    def paint(self, p: QPainter, *_args: object) -> None:
        try:
            self._paint(p)
        except Exception:
            log.exception("could not draw %s", self.PAINTS)

    def _paint(self, p: QPainter) -> None:
        raise NotImplementedError


class ViewOverlay(SafePaint, pg.GraphicsObject):
    """An item drawn over the whole visible range of its view box, whatever the range."""

    def boundingRect(self) -> QRectF:  # noqa: N802
        vb = self.getViewBox()
        return QRectF() if vb is None else vb.viewRect()

    def viewRangeChanged(self) -> None:  # noqa: N802 - what it draws moves with the view
        self.prepareGeometryChange()
