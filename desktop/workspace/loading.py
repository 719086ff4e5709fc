"""What the workspace reads from the store, run in the TaskRunner (no Qt here)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from store import automations, runs
from store import entities as e
from store.db import Database
from store.errors import NotFound

CurveKey = tuple[str, str]  # (run id, metric key)
Series = tuple[np.ndarray, np.ndarray]  # (steps, values)


@dataclass(frozen=True)
class Threshold:
    """The threshold line of one enabled run-metric automation."""

    automation_id: int
    name: str
    metric: str
    value: float
    cmp_op: str


@dataclass
class Snapshot:
    keys: list[str]
    runs: list[e.Run]
    series: dict[CurveKey, Series] = field(default_factory=dict)
    thresholds: list[Threshold] = field(default_factory=list)


@dataclass
class NewPoints:
    series: dict[CurveKey, Series]
    runs: list[e.Run]


def load_snapshot(db: Database, project_id: int) -> Snapshot:
    """Every metric history of the project, for the first paint."""
    project_runs = runs.list_runs(db, project_id)
    snapshot = Snapshot(keys=runs.metric_keys(db, project_id), runs=project_runs)
    for run in project_runs:
        for key in sorted(run.summary):
            steps, values, _walls = runs.metric_series(db, run.id, key)
            if len(steps):
                snapshot.series[(run.id, key)] = (steps, values)
    snapshot.thresholds = load_thresholds(db, project_id)
    return snapshot


def load_new_points(
    db: Database, requests: Iterable[tuple[str, str, int | None]], unknown_runs: Iterable[str] = ()
) -> NewPoints:
    """Only the points after the last step already shown, per (run, key)."""
    series: dict[CurveKey, Series] = {}
    for run_id, key, last_step in requests:
        min_step = None if last_step is None else last_step + 1
        steps, values, _walls = runs.metric_series(db, run_id, key, min_step=min_step)
        if len(steps):
            series[(run_id, key)] = (steps, values)
    found = []
    for run_id in unknown_runs:
        try:
            found.append(runs.get_run(db, run_id))
        except NotFound:
            continue  # deleted meanwhile: its points are gone too
    return NewPoints(series=series, runs=found)


def threshold_of(automation: e.Automation) -> Threshold | None:
    """The line an automation draws, or None when it is not a plain threshold on one metric."""
    metric_filter = automation.event_filter.get("run_metric_filter") or automation.event_filter.get("metric_filter")
    if not isinstance(metric_filter, dict):
        return None
    tf = metric_filter.get("threshold_filter", metric_filter if "threshold" in metric_filter else None)
    if not isinstance(tf, dict):
        return None
    value = tf.get("threshold")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        return None
    name = tf.get("name")
    if not isinstance(name, str) or not name:
        return None
    return Threshold(automation.id, automation.name, name, float(value), str(tf.get("cmp_op") or ""))


def load_thresholds(db: Database, project_id: int) -> list[Threshold]:
    found = automations.list_automations(
        db, project_id=project_id, event_types=("RUN_METRIC",), enabled_only=True
    )
    return [t for t in map(threshold_of, found) if t is not None]
