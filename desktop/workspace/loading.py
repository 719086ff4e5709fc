"""What the workspace reads from the store, run in the TaskRunner (no Qt here)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from desktop.workspace.buffers import SeriesBuffer
from store import automations, metrics, runs
from store import entities as e
from store.db import Database
from store.errors import NotFound

CurveKey = tuple[str, str]  # (run id, metric key)
Series = tuple[np.ndarray, np.ndarray, np.ndarray]  # (steps, values, wall times)
OVERVIEW_BUCKETS = 2048  # first envelope of a long history, before the panel asks for its range


@dataclass(frozen=True)
class Threshold:
    """The threshold line of one enabled run-metric automation."""

    automation_id: int
    name: str
    metric: str
    value: float
    cmp_op: str


@dataclass
class Outline:
    """What the first paint needs before any point: runs, keys, extents and threshold lines."""

    keys: list[str]
    runs: list[e.Run]
    extents: dict[CurveKey, tuple[int, int, int]] = field(default_factory=dict)
    thresholds: list[Threshold] = field(default_factory=list)


@dataclass
class Envelope:
    """Min/max per bucket of one long history over the step range `covers`."""

    steps: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    walls: np.ndarray
    covers: tuple[float, float]
    # where the range holds NaN/Inf values (the first such step of each bucket) and their times
    off_steps: np.ndarray = field(default_factory=lambda: np.empty(0))
    off_walls: np.ndarray = field(default_factory=lambda: np.empty(0))


@dataclass
class KeyData:
    """One metric of every run: full series for short histories, an envelope for long ones.

    Short histories come as ready `SeriesBuffer`s: their conversions run here, on the worker,
    because NumPy drops the GIL for them and the UI thread would wait for it to come back."""

    key: str
    buffers: dict[CurveKey, SeriesBuffer] = field(default_factory=dict)
    envelopes: dict[CurveKey, Envelope] = field(default_factory=dict)


@dataclass
class NewPoints:
    series: dict[CurveKey, Series]
    runs: list[e.Run]


def load_outline(db: Database, project_id: int) -> Outline:
    project_runs = runs.list_runs(db, project_id)
    outline = Outline(keys=runs.metric_keys(db, project_id), runs=project_runs)
    outline.extents = metrics.metric_extents(db, [r.id for r in project_runs])
    outline.thresholds = load_thresholds(db, project_id)
    return outline


def load_key(db: Database, key: str, extents: dict[CurveKey, tuple[int, int, int]], memory_limit: int) -> KeyData:
    """Every run's history of `key`: short ones whole (one query), long ones as an envelope."""
    data = KeyData(key)
    short = [run_id for (run_id, k), (_f, _l, count) in extents.items() if k == key and count <= memory_limit]
    for run_id, series in metrics.metric_series_many(db, short, key).items():
        data.buffers[(run_id, key)] = SeriesBuffer.adopt(*series)
    for (run_id, k), (first, last, count) in extents.items():
        if k == key and count > memory_limit:
            data.envelopes[(run_id, key)] = read_envelope(db, run_id, key, first, last, OVERVIEW_BUCKETS)
    return data


def read_envelope(db: Database, run_id: str, key: str, min_step: int, max_step: int, buckets: int) -> Envelope:
    """The visible step range of one long history, min/max-bucketed in numpy."""
    steps, values, walls = runs.metric_series(db, run_id, key, min_step=min_step, max_step=max_step)
    finite = np.isfinite(values)
    off_steps, off_walls = steps[~finite], walls[~finite]
    off = metrics.bucket_starts(off_steps, min_step, max_step, buckets)  # one mark per bucket is plenty
    steps, values, walls = steps[finite], values[finite], walls[finite]
    e_steps, mins, maxs = metrics.envelope(steps, values, min_step, max_step, buckets)
    e_walls = walls[np.searchsorted(steps, e_steps)] if len(e_steps) else walls[:0]
    return Envelope(e_steps, mins, maxs, e_walls, (float(min_step), float(max_step)),
                    off_steps[off].astype(np.float64), off_walls[off])


def load_ranges(
    db: Database, requests: Iterable[tuple[str, str, int, int]], buckets: int, is_current: Callable[[], bool],
) -> dict[CurveKey, Envelope]:
    """Envelopes of several curves for one view range; stops early once the view moved on."""
    out: dict[CurveKey, Envelope] = {}
    for run_id, key, lo, hi in requests:
        if not is_current():
            break
        out[(run_id, key)] = read_envelope(db, run_id, key, lo, hi, buckets)
    return out


def load_new_points(
    db: Database, requests: Iterable[tuple[str, str, int | None]], unknown_runs: Iterable[str] = ()
) -> NewPoints:
    """Only the points after the last step already shown, per (run, key)."""
    series = metrics.metric_series_after(db, list(requests))
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
