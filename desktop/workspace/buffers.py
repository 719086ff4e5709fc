"""Growable per-curve point buffers (no Qt): appends are amortized O(1), reads are views."""
from __future__ import annotations

import numpy as np


class SeriesBuffer:
    """Steps and values of one (run, metric) curve, in step order.

    The arrays double in capacity when full (pyqtgraph's scrollingPlots recipe), so the
    painter can hand `steps`/`values` views to `setData` without copying.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self.last_step: int | None = None
        self.finite = True  # no NaN/Inf so far: pyqtgraph may skip its finite check

    def __len__(self) -> int:
        return self._n

    @property
    def steps(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def values(self) -> np.ndarray:
        return self._y[: self._n]

    def extend(self, steps: np.ndarray, values: np.ndarray) -> int:
        """Append points newer than the last one held; returns how many were added.

        Older or repeated steps (a reload racing a live fetch) are dropped, so the curve
        never doubles back.
        """
        steps = np.asarray(steps)
        values = np.asarray(values, dtype=np.float64)
        if self.last_step is not None and len(steps):
            keep = steps > self.last_step
            steps, values = steps[keep], values[keep]
        count = len(steps)
        if count == 0:
            return 0
        needed = self._n + count
        if needed > len(self._x):
            capacity = max(needed, 2 * len(self._x))
            self._x = _grown(self._x, self._n, capacity)
            self._y = _grown(self._y, self._n, capacity)
        self._x[self._n:needed] = steps
        self._y[self._n:needed] = values
        self._n = needed
        self.last_step = int(steps[-1])
        self.finite = self.finite and bool(np.isfinite(values).all())
        return count


def _grown(array: np.ndarray, used: int, capacity: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=array.dtype)
    bigger[:used] = array[:used]
    return bigger
