"""What a curve draws from (no Qt): a growable in-memory history, or a visible-range envelope.

Short and live histories live in a `SeriesBuffer` (appends amortized O(1), reads are views).
Long histories (more than `MEMORY_LIMIT` points) stay in the store: a `RangeSource` holds only
the min/max envelope of the range on screen, re-read from the store when the view moves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from desktop.workspace.loading import Envelope

MEMORY_LIMIT = 200_000  # points of one curve kept in memory; above it, read by visible range


class SeriesBuffer:
    """Steps, values and wall times of one (run, metric) curve, in step order.

    The arrays double in capacity when full (pyqtgraph's scrollingPlots recipe), so the
    painter can hand views to `setData` without copying.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._w = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self.last_step: int | None = None
        self.finite = True  # no NaN/Inf so far: pyqtgraph may skip its finite check
        self.version = 0  # bumps on every append (cache key for smoothing)

    @classmethod
    def adopt(cls, steps: np.ndarray, values: np.ndarray, walls: np.ndarray) -> SeriesBuffer:
        """A buffer over a whole history just read (no copy of values and walls: the store's
        reads hand out fresh arrays); it grows on the first live append."""
        buffer = cls(0)
        buffer._x = np.asarray(steps, dtype=np.float64)
        buffer._y = np.asarray(values, dtype=np.float64)
        buffer._w = np.asarray(walls, dtype=np.float64)
        buffer._n = len(buffer._x)
        if buffer._n:
            buffer.last_step = int(steps[-1])
            buffer.finite = bool(np.isfinite(buffer._y).all())
            buffer.version = 1
        return buffer

    def __len__(self) -> int:
        return self._n

    @property
    def steps(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def values(self) -> np.ndarray:
        return self._y[: self._n]

    @property
    def walls(self) -> np.ndarray:
        return self._w[: self._n]

    def extend(self, steps: np.ndarray, values: np.ndarray, walls: np.ndarray | None = None) -> int:
        """Append points newer than the last one held; returns how many were added.

        Older or repeated steps (a reload racing a live fetch) are dropped, so the curve
        never doubles back.
        """
        steps = np.asarray(steps)
        values = np.asarray(values, dtype=np.float64)
        walls = np.full(len(steps), np.nan) if walls is None else np.asarray(walls, dtype=np.float64)
        if self.last_step is not None and len(steps):
            keep = steps > self.last_step
            steps, values, walls = steps[keep], values[keep], walls[keep]
        count = len(steps)
        if count == 0:
            return 0
        needed = self._n + count
        if needed > len(self._x):
            capacity = max(needed, 2 * len(self._x))
            self._x = _grown(self._x, self._n, capacity)
            self._y = _grown(self._y, self._n, capacity)
            self._w = _grown(self._w, self._n, capacity)
        self._x[self._n:needed] = steps
        self._y[self._n:needed] = values
        self._w[self._n:needed] = walls
        self._n = needed
        self.last_step = int(steps[-1])
        self.finite = self.finite and bool(np.isfinite(values).all())
        self.version += 1
        return count


@dataclass
class RangeSource:
    """A long history: its extent in the store and the envelope of the last range read."""

    first_step: int
    last_step: int
    count: int
    steps: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    walls: np.ndarray
    covers: tuple[float, float] = (0.0, 0.0)  # the step range the envelope was read for
    version: int = 0
    off_steps: np.ndarray = field(default_factory=lambda: np.empty(0))  # NaN/Inf in the range
    off_walls: np.ndarray = field(default_factory=lambda: np.empty(0))

    def take(self, envelope: Envelope) -> None:
        """Hold a newly read envelope (`loading.Envelope`) of the range on screen."""
        self.steps, self.mins, self.maxs, self.walls = envelope.steps, envelope.mins, envelope.maxs, envelope.walls
        self.covers, self.off_steps, self.off_walls = envelope.covers, envelope.off_steps, envelope.off_walls
        self.version += 1


def _grown(array: np.ndarray, used: int, capacity: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=array.dtype)
    bigger[:used] = array[:used]
    return bigger
