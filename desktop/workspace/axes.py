"""The panels' x axes: whole steps, relative seconds or wall-clock dates."""
from __future__ import annotations

import pyqtgraph as pg

X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}
AXIS_TITLES = {"step": "step", "relative": "relative time (s)", "wall": "wall time"}


class MajorOnlyAxis(pg.AxisItem):
    """An axis with one level of ticks: the finest of pyqtgraph's levels whose labels stay
    MIN_PX apart, and never fewer than MIN_LABELS labels. Minor grid lines at every 0.02 are
    noise; a loss from 0.4 to 2.4 with only "1" and "2" on its axis cannot be read either. One
    level is also less than half the work of laying out pyqtgraph's three, which a live panel
    does whenever its range grows."""

    MIN_LABELS = 3
    MIN_PX = {"bottom": 80, "top": 80, "left": 40, "right": 40}

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        # grow for longer labels but never shrink back: a live value flipping between "0.5" and
        # "0.45" would otherwise lay the panel out again (and drop its labels for a frame)
        self.setStyle(autoReduceTextSpace=False)

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels = super().tickSpacing(minVal, maxVal, size)
        span = maxVal - minVal
        readable = [(spacing, offset) for spacing, offset in levels  # coarse to fine
                    if spacing > 0 and span / spacing >= self.MIN_LABELS]
        if not readable:
            return levels[-1:]
        roomy = [level for level in readable if level[0] / span * size >= self.MIN_PX[self.orientation]]
        return roomy[-1:] if roomy else readable[:1]


class StepAxis(MajorOnlyAxis):
    """The x axis of steps: whole numbers only (no 0.2, 0.4 … ticks when zoomed in)."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1.0, 0.0)]


def x_axis(mode: str) -> pg.AxisItem:
    """A new bottom axis for x mode "step", "relative" or "wall"."""
    if mode == "wall":
        axis = pg.DateAxisItem("bottom")
    else:
        axis = StepAxis("bottom") if mode == "step" else MajorOnlyAxis("bottom")
        axis.enableAutoSIPrefix(False)  # steps are counts: never "step (x1e+06)"
    return axis
