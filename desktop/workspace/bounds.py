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


# Renard's R20 series: twenty steps a decade, each about 12% above the last
_LADDER = (1.0, 1.12, 1.25, 1.4, 1.6, 1.8, 2.0, 2.24, 2.5, 2.8, 3.15, 3.55, 4.0, 4.5, 5.0, 5.6, 6.3, 7.1, 8.0, 9.0, 10.0)


def snap_out(bounds: list[float] | None, *, growing: bool = False) -> list[float] | None:
    """[lo, hi] widened to multiples of a tenth of the span's power of ten (at most ~10% more).

    A live curve grows a little every frame; an auto range that followed it exactly would move
    every frame, and with it every axis label and grid line would be laid out again. Snapped,
    the range (and the axes) change only every tenth or so of the span.

    `growing` is for the axis live runs extend (x): the span is rounded up the R20 ladder
    instead, so the range moves once per ~12% of growth however long the run, not every
    tenth of a power of ten (every 10 steps of a 900-step run).
    """
    if bounds is None:
        return None
    lo, hi = bounds
    span = hi - lo
    if not (span > 0 and np.isfinite(span)):
        return bounds
    unit = 10.0 ** (math.floor(math.log10(span)) - 1)
    lo_out = min(lo, math.floor(lo / unit) * unit)  # min/max: rounding
    if growing:
        return [lo_out, max(hi, lo_out + ladder_up(hi - lo_out))]
    return [lo_out, max(hi, math.ceil(hi / unit) * unit)]


def ladder_up(value: float, steps: tuple[float, ...] = _LADDER) -> float:
    """The smallest steps[i] × 10ⁿ at or above value (> 0); steps run from 1 to 10."""
    decade = 10.0 ** math.floor(math.log10(value))
    mantissa = value / decade
    return next(step for step in steps if step >= mantissa * (1 - 1e-12)) * decade


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
    back to pyqtgraph's item-by-item computation.

    Zooming with the wheel or the right button stays between `least_x_span` (and float64's
    precision) and ZOOM_OUT times the data's extent as last fitted."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - pg.ViewBox's
        super().__init__(*args, **kwargs)
        self.bounds_provider: Callable[[], Range] | None = None
        self.least_x_span = 0.0  # e.g. a few steps: whole steps have nothing between them
        self.log_y = False  # y in decades: zooming out adds LOG_ZOOM_OUT decades, not ×ZOOM_OUT
        self._fitted: list[float | None] = [None, None]  # each axis's data extent at its last auto-range

    def scaleBy(self, s=None, center=None, x=None, y=None):  # noqa: ANN001, ANN201, N802 - pg.ViewBox's
        """Zoom within the limits above. Past float64's precision the range shrank to nothing,
        the axes lost their labels and the hover read-out divided by zero; zoomed out without
        end, the data became a dot and the axes ran out of labels."""
        if s is not None:
            x, y = s[0], s[1]
        rect = self.targetRect()
        x = _zoom_capped(x, rect.left(), rect.right(), self.least_x_span, self._widest(0))
        y = _zoom_capped(y, rect.top(), rect.bottom(), 0.0, self._widest(1))
        super().scaleBy(center=center, x=x, y=y)

    def _widest(self, axis: int) -> float | None:
        """How wide the view may zoom out on `axis` (None until the data was first fitted)."""
        fitted = self._fitted[axis]
        if fitted is None:
            return None
        return fitted + LOG_ZOOM_OUT if axis == 1 and self.log_y else ZOOM_OUT * fitted

    def childrenBounds(self, frac=None, orthoRange=(None, None), items=None):  # noqa: ANN001, ANN201, N802
        plain = items is None and tuple(orthoRange) == (None, None) and (frac is None or tuple(frac) == (1.0, 1.0))
        if plain and self.bounds_provider is not None:
            bounds = self.bounds_provider()
            for axis, (following, found) in enumerate(zip(self.autoRangeEnabled(), bounds)):
                if following and found is not None and found[1] > found[0]:
                    self._fitted[axis] = found[1] - found[0]  # the whole data (no clipping to a view)
            return bounds
        return super().childrenBounds(frac=frac, orthoRange=orthoRange, items=items)


ZOOM_OUT = 100  # the widest view: this many times the data's extent
LOG_ZOOM_OUT = 4  # … or on a log axis, the data's decades and this many more
# the narrowest view, relative to the size of the values in it: a few ms of wall time (~1.8e9 s),
# where float64 still tells ~10,000 values apart across the view
MIN_RELATIVE_SPAN = 1e-12


def _zoom_capped(factor: float | None, lo: float, hi: float, least_span: float, widest: float | None) -> float | None:
    """A zoom factor that keeps [lo, hi] at least `least_span` and MIN_RELATIVE_SPAN of its
    values wide, and at most `widest` (when known)."""
    width = hi - lo
    if factor is None or factor == 1 or not width > 0:
        return factor
    if factor > 1:
        return factor if widest is None else max(1.0, min(factor, widest / width))
    least = max(least_span, max(abs(lo), abs(hi)) * MIN_RELATIVE_SPAN, 1e-300)
    return 1.0 if width <= least else max(factor, least / width)
