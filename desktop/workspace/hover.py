"""Which drawn point is under the pointer (the panels' hover read-out), in pixels not data units."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF

from desktop.workspace.curves import PanelCurve

HOVER_PX = 24  # how close (in pixels) the pointer must be to a point for the read-out
MARK_PX = 6  # how close (in pixels) the pointer must be to an edge mark (edge_marks.py)


def nearest_point(
    vb: pg.ViewBox, curves: Iterable[PanelCurve], scene_pos: QPointF, radius_px: float = HOVER_PX,
) -> tuple[PanelCurve, float, float] | None:
    """(curve, x, y) of the visible drawn point nearest `scene_pos` within `radius_px`, else None.

    y is in the view's units (log10 of the value on a log axis)."""
    if not vb.sceneBoundingRect().contains(scene_pos):
        return None
    mouse = vb.mapSceneToView(scene_pos)
    px, py = vb.viewPixelSize()
    if not (px > 0 and py > 0):  # a view not laid out yet, or of no width
        return None
    best, best_d = None, float(radius_px)
    for curve in curves:
        x, y = curve.raw.xData, curve.raw.yData
        if not curve.is_visible() or x is None or not len(x):
            continue
        i = int(np.searchsorted(x, mouse.x()))
        lo, hi = max(0, i - 2), min(len(x), i + 2)
        d = np.hypot((x[lo:hi] - mouse.x()) / px, (y[lo:hi] - mouse.y()) / py)
        if not len(d) or np.all(np.isnan(d)):
            continue
        j = int(np.nanargmin(d))
        if d[j] < best_d:
            best, best_d = (curve, float(x[lo + j]), float(y[lo + j])), float(d[j])
    return best


def nearest_mark(
    vb: pg.ViewBox, curves: Iterable[PanelCurve], scene_pos: QPointF,
) -> tuple[PanelCurve, float, int] | None:
    """(curve, x, others) of the edge mark under the pointer, near the bottom of the view, else
    None; `others` counts the other runs marked in the same pixel column, under it.

    Marks of later curves are drawn over earlier ones, so on a tie the later curve wins."""
    rect = vb.sceneBoundingRect()
    if not rect.contains(scene_pos) or scene_pos.y() < rect.bottom() - 2 * MARK_PX:
        return None
    mouse_x = vb.mapSceneToView(scene_pos).x()
    px = vb.viewPixelSize()[0]
    if not px > 0:
        return None
    found: list[tuple[float, PanelCurve, float]] = []  # (distance in px, curve, x)
    for curve in curves:
        xs = curve.off_scale_x
        if not len(xs) or not curve.is_visible():
            continue
        d = np.abs(xs - mouse_x) / px
        j = int(d.argmin())
        if d[j] <= MARK_PX:
            found.append((float(d[j]), curve, float(xs[j])))
    if not found:
        return None
    best_d, best, x = min(reversed(found), key=lambda f: f[0])  # reversed: the later curve on a tie
    others = sum(1 for d, curve, other_x in found if curve is not best and abs(other_x - x) / px < 1)
    return best, x, others
