"""The panels' x axes: whole steps, relative seconds or wall-clock dates."""
from __future__ import annotations

import math

import pyqtgraph as pg

from desktop.workspace.bounds import ladder_up

X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}
AXIS_TITLES = {"step": "step", "relative": "relative time (s)", "wall": "wall time"}


class MajorOnlyAxis(pg.AxisItem):
    """An axis with one level of labelled ticks, 1, 2 or 5 × 10ⁿ apart, the finest whose labels
    stay MIN_PX apart. pyqtgraph's three levels put minor grid lines at every 0.02, and after a
    deep zoom fourteen 7-digit labels 16 px apart; they also took twice as long to lay out,
    which a live panel does whenever its range grows. A log axis labels 2 and 5 (or every digit)
    within a decade only where they have room."""

    MIN_PX = {"bottom": 80, "top": 80, "left": 32, "right": 32}
    LOG_STEPS = ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1,))  # labels within a decade, finest first

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        # grow for longer labels but never shrink back: a live value flipping between "0.5" and
        # "0.45" would otherwise lay the panel out again (and drop its labels for a frame)
        self.setStyle(autoReduceTextSpace=False)

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        span = maxVal - minVal
        if not (span > 0 and size > 0 and math.isfinite(span)):
            return super().tickSpacing(minVal, maxVal, size)
        return [(ladder_up(span * self.MIN_PX[self.orientation] / size, (1, 2, 5, 10)), 0.0)]

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: ANN001, ANN201, N802, N803
        major = [(spacing, values) for spacing, values in stdTicks if spacing >= 1.0 and len(values)]
        decades = maxVal - minVal
        if not (decades > 0 and size > 0 and math.isfinite(decades)):
            return major
        room = self.MIN_PX[self.orientation] * decades / size  # the least room between labels, in decades
        steps = next((s for s in self.LOG_STEPS if _least_log_gap(s) >= room), self.LOG_STEPS[-1])
        if major:
            steps = steps[1:]  # the decades are labelled already
        minor = [v + math.log10(m) for v in range(math.floor(minVal), math.ceil(maxVal)) for m in steps
                 if minVal < v + math.log10(m) < maxVal]
        return major + ([(None, minor)] if minor else [])


def _least_log_gap(steps: tuple[int, ...]) -> float:
    """The smallest distance, in decades, between neighbouring labels at `steps` × 10ⁿ."""
    return min(math.log10(b / a) for a, b in zip(steps, (*steps[1:], 10)))


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
