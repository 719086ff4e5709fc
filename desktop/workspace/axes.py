"""The panels' x axes: whole steps, relative seconds or wall-clock dates."""
from __future__ import annotations

import pyqtgraph as pg

X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}
AXIS_TITLES = {"step": "step", "relative": "relative time (s)", "wall": "wall time"}


class StepAxis(pg.AxisItem):
    """The x axis of steps: whole numbers only (no 0.2, 0.4 … ticks when zoomed in)."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1.0, 0.0)]


class MajorOnlyAxis(pg.AxisItem):
    """A y axis with one level of ticks: the coarsest that still labels the axis at least
    MIN_LABELS times. Minor grid lines at every 0.02 are noise; a loss from 0.4 to 2.4 with
    only "1" and "2" on its axis cannot be read either."""

    MIN_LABELS = 3

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        # grow for longer labels but never shrink back: a live value flipping between "0.5" and
        # "0.45" would otherwise lay the panel out again (and drop its labels for a frame)
        self.setStyle(autoReduceTextSpace=False)

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels = super().tickSpacing(minVal, maxVal, size)
        span = maxVal - minVal
        for spacing, offset in levels:
            if spacing > 0 and span / spacing >= self.MIN_LABELS:
                return [(spacing, offset)]
        return levels[-1:]


def x_axis(mode: str) -> pg.AxisItem:
    """A new bottom axis for x mode "step", "relative" or "wall"."""
    if mode == "wall":
        axis = pg.DateAxisItem("bottom")
    else:
        axis = StepAxis("bottom") if mode == "step" else pg.AxisItem("bottom")
        axis.enableAutoSIPrefix(False)  # steps are counts: never "step (x1e+06)"
    return axis
