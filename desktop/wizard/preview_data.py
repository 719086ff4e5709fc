"""Where a run-metric condition would have fired on the project's existing runs (no Qt).

The same rules as the engine: every step with a full window behind it is evaluated with the
engine's pure conditions (`conditions.evaluate_each`), a firing is a false → true edge per run, and
an edge within `cooldown_seconds` (wall time of the points) of the run's last firing is suppressed
but still counts as "true" (so it cannot fire again until the condition turns false).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from desktop.engine import conditions, run_events
from desktop.engine import run_filter as run_filters
from desktop.engine.conditions import ThresholdCondition
from store import runs as store_runs
from store.db import Database

MAX_RUNS = 20


class Cancelled(Exception):
    """The preview was superseded while it was being computed."""


@dataclass(frozen=True)
class RunPreview:
    run_id: str
    run_name: str
    steps: np.ndarray
    values: np.ndarray
    fired_steps: tuple[int, ...]
    fired_values: tuple[float, ...]  # the plotted value at each firing step (finite, for the marker)


@dataclass(frozen=True)
class Preview:
    metric: str
    threshold: float | None  # drawn as a line for threshold conditions
    runs: tuple[RunPreview, ...]
    note: str = ""  # why there is nothing to show

    @property
    def firings(self) -> int:
        return sum(len(r.fired_steps) for r in self.runs)

    @property
    def runs_fired(self) -> int:
        return sum(1 for r in self.runs if r.fired_steps)

    def summary(self) -> str:
        if self.note:
            return self.note
        n, m = self.firings, len(self.runs)
        times = "time" if n == 1 else "times"
        on = f"{self.runs_fired} of {m} run" + ("" if m == 1 else "s")
        return f"Would have fired {n} {times} on {on} (the {m} most recent with {self.metric})."


def firing_indices(values: Sequence[float], walls: Sequence[float], condition: Any,
                   cooldown_seconds: float) -> list[int]:
    """Indices of the points at which the automation would have fired on one run."""
    fired: list[int] = []
    was_true = False
    last_fired: float | None = None
    for end, result in conditions.evaluate_each(values, condition, 0):
        if result.satisfied and not was_true:
            wall = float(walls[end])
            if last_fired is None or not cooldown_seconds or wall - last_fired >= cooldown_seconds:
                fired.append(end)
                last_fired = wall
            was_true = True
        elif not result.satisfied and was_true:
            was_true = False
    return fired


def _marker_value(values: np.ndarray, index: int) -> float:
    """A NaN/Inf point has no place on the plot: mark it at the last finite value before it."""
    for i in range(index, -1, -1):
        if math.isfinite(values[i]):
            return float(values[i])
    return 0.0


def compute(db: Database, project_id: int, event_type: str, event_filter: Mapping[str, Any],
            cooldown_seconds: float, is_stale: Callable[[], bool] = lambda: False,
            max_runs: int = MAX_RUNS) -> Preview:
    """The preview of a (valid) run-metric event filter; Cancelled as soon as `is_stale()`."""
    parsed = run_events.parse_event(event_type, event_filter)
    condition = parsed.condition
    metric = getattr(condition, "metric", None)
    if not metric:
        return Preview("", None, (), note="Choose a metric to see where it would have fired.")
    threshold = condition.threshold if isinstance(condition, ThresholdCondition) else None
    candidates = [r for r in store_runs.list_runs(db, project_id) if run_filters.matches(parsed.run_filter, r)]
    shown: list[RunPreview] = []
    for run in reversed(candidates):  # newest first, until enough runs logged the metric
        if is_stale():
            raise Cancelled
        steps, values, walls = store_runs.metric_series(db, run.id, metric)
        if not len(steps):
            continue
        indices = firing_indices(values.tolist(), walls.tolist(), condition, cooldown_seconds)
        shown.append(RunPreview(run.id, run.name, steps, values, tuple(int(steps[i]) for i in indices),
                                tuple(_marker_value(values, i) for i in indices)))
        if len(shown) >= max_runs:
            break
    if not shown:
        return Preview(metric, threshold, (), note=f"No run matching the filter has logged {metric} yet.")
    return Preview(metric, threshold, tuple(reversed(shown)))
