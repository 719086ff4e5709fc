"""Every run's line of one panel, painted by one graphics item.

A `PlotCurveItem` per run costs a QGraphicsItem, a dozen signal connections and a bounds
query per frame; a hundred runs × ten panels made those most of the workspace's start-up. Here a
run's line is a plain `RunLine` (its points and pen) and the panel's `PanelLines` item draws
them all in one paint: faint raw lines first, smoothed lines over them, the highlighted run last.
`RunLine` keeps `PlotCurveItem`'s reading names (`xData`, `yData`, `opts["pen"]`, `isVisible()`)
so the hover read-out and the tests read a line the same way.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter, QPen, QPolygonF

from desktop.workspace.overlay import SafePaint

PAD_PX = 3.0  # pen width beyond the points, in pixels, so repaints cover the whole stroke


class RunLine:
    """One line's points (as drawn, after clipping and decimation) and its pen."""

    __slots__ = ("xData", "yData", "opts", "layer", "on_top", "_name", "_owner", "_visible", "_polygon")

    def __init__(self, owner: PanelLines, name: str, layer: int) -> None:
        self.xData: np.ndarray | None = None
        self.yData: np.ndarray | None = None
        self.opts: dict[str, QPen] = {"pen": QPen()}
        self.layer = layer  # 0 raw, 1 smoothed: smoothed lines are drawn over the raw ones
        self.on_top = False  # the highlighted run is drawn last
        self._name = name
        self._owner = owner
        self._visible = True
        self._polygon: QPolygonF | None = None

    def objectName(self) -> str:  # noqa: N802 - reads like the QGraphicsObject it stands in for
        return self._name

    def setData(self, x: np.ndarray, y: np.ndarray) -> None:  # noqa: N802
        self.xData, self.yData = x, y
        self._polygon = None
        self._owner.data_changed()

    def setPen(self, pen: QPen) -> None:  # noqa: N802
        self.opts["pen"] = pen
        self._owner.update()

    def isVisible(self) -> bool:  # noqa: N802
        return self._visible

    def setVisible(self, visible: bool) -> None:  # noqa: N802
        if visible != self._visible:
            self._visible = visible
            self._owner.update()

    def polygon(self) -> QPolygonF | None:
        """The points as a polyline (built once per `setData`), or None under two points."""
        if self.xData is None or len(self.xData) < 2:
            return None
        if self._polygon is None:
            self._polygon = pg.functions.arrayToQPolygonF(self.xData, self.yData)
        return self._polygon


class PanelLines(SafePaint, pg.GraphicsObject):
    """The graphics item that paints every `RunLine` of a panel, in data coordinates."""

    PAINTS = "a panel's lines"

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[RunLine] = []
        self.antialias = True
        self._rect: QRectF | None = None  # union of the lines' points; None = recompute
        self._changed = False

    def add_line(self, name: str, layer: int = 0) -> RunLine:
        line = RunLine(self, name, layer)
        self.lines.append(line)
        return line

    def remove_line(self, line: RunLine) -> None:
        self.lines.remove(line)
        self.data_changed()
        self.refresh()

    def set_antialias(self, on: bool) -> None:
        if on != self.antialias:
            self.antialias = on
            self.update()

    def data_changed(self) -> None:
        """Some line got new points: `refresh()` (once per frame) recomputes the bounds."""
        self._changed = True

    def refresh(self) -> None:
        """Take the lines' new points: new bounds if they moved, and one repaint."""
        if self._changed:
            self._changed = False
            rect = self._data_rect()
            if rect != self._rect:
                self.prepareGeometryChange()
                self._rect = rect
        self.update()

    def _data_rect(self) -> QRectF:
        lo_x = lo_y = np.inf
        hi_x = hi_y = -np.inf
        for line in self.lines:
            if line.xData is not None and len(line.xData):
                lo_x, hi_x = min(lo_x, line.xData[0]), max(hi_x, line.xData[-1])
                lo_y, hi_y = min(lo_y, line.yData.min()), max(hi_y, line.yData.max())
        if not (np.isfinite(lo_x) and np.isfinite(lo_y)):
            return QRectF()
        return QRectF(float(lo_x), float(lo_y), float(hi_x - lo_x), float(hi_y - lo_y))

    # -- QGraphicsItem ----------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:  # noqa: N802
        if self._rect is None or self._rect.isNull():
            return QRectF()
        px, py = self.pixelVectors()
        pad_x = 0.0 if px is None else px.length() * PAD_PX
        pad_y = 0.0 if py is None else py.length() * PAD_PX
        return self._rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def viewTransformChanged(self) -> None:  # noqa: N802 - the pixel padding changed with the view
        self.prepareGeometryChange()

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: ANN001, ANN201, N802
        if self._rect is None or self._rect.isNull():
            return None, None
        r = self._rect
        return (r.left(), r.right()) if ax == 0 else (r.top(), r.bottom())

    def _paint(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, self.antialias)
        for line in sorted(self.lines, key=lambda ln: (ln.on_top, ln.layer)):
            if line._visible:
                polygon = line.polygon()
                if polygon is not None:
                    p.setPen(line.opts["pen"])
                    p.drawPolyline(polygon)
