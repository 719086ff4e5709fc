"""Auto-range from the panel's own numbers instead of asking every line item.

pyqtgraph's `ViewBox.childrenBounds` asks each item for its data bounds, maps them through
the item's transform and pads them by the pen, in Python, on every auto-range: with a hundred
runs per panel that is most of a live frame. The curves already know the min/max of the arrays
they were just handed (`PanelCurve.bounds`), so the panel adds those up in a few microseconds.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

Range = list[list[float] | None]


def array_bounds(values: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of the finite values, or None when there are none."""
    if not len(values):
        return None
    lo, hi = float(values.min()), float(values.max())
    if np.isfinite(lo) and np.isfinite(hi):
        return lo, hi
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if len(finite) else None


def snap_out(bounds: list[float] | None) -> list[float] | None:
    """[lo, hi] widened to multiples of a tenth of the span's power of ten (at most ~10% more).

    A live curve grows a little every frame; an auto range that followed it exactly would move
    every frame, and with it every axis label and grid line would be laid out again. Snapped,
    the range (and the axes) change only every tenth or so of the span.
    """
    if bounds is None:
        return None
    lo, hi = bounds
    span = hi - lo
    if not (span > 0 and np.isfinite(span)):
        return bounds
    unit = 10.0 ** (math.floor(math.log10(span)) - 1)
    return [min(lo, math.floor(lo / unit) * unit), max(hi, math.ceil(hi / unit) * unit)]  # min/max: rounding


def log_range(lo: float, hi: float) -> tuple[float, float]:
    """A linear [lo, hi] in the log10 units of a log axis: its part above zero, and at most six
    decades below the top when it reaches zero or below (log10(0) is minus infinity)."""
    top = min(max(hi, 1e-300), 1e300)
    bottom = lo if 0 < lo < top else top / 1e6
    return math.log10(bottom), math.log10(top)


def widen(current: list[float] | None, lo: float, hi: float) -> list[float]:
    return [lo, hi] if current is None else [min(current[0], lo), max(current[1], hi)]


class DataBoundsViewBox(pg.ViewBox):
    """A view box whose plain auto-range (all of every axis, no visible-only restriction) comes
    from `bounds_provider()` ([[xmin, xmax] | None, [ymin, ymax] | None]); anything else falls
    back to pyqtgraph's item-by-item computation."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - pg.ViewBox's
        super().__init__(*args, **kwargs)
        self.bounds_provider: Callable[[], Range] | None = None

    def childrenBounds(self, frac=None, orthoRange=(None, None), items=None):  # noqa: ANN001, ANN201, N802
        plain = items is None and tuple(orthoRange) == (None, None) and (frac is None or tuple(frac) == (1.0, 1.0))
        if plain and self.bounds_provider is not None:
            return self.bounds_provider()
        return super().childrenBounds(frac=frac, orthoRange=orthoRange, items=items)
