"""The newest points of each watched (run, metric) curve, read once per batch of events (issue 3).

Before a batch of `metrics` events is evaluated, every curve some automation watches gets the
points it gained since the last batch in one query (`metric_series_after`), and a curve seen for
the first time is seeded with the points its windows need. A window is then a slice of the
tail, the very array `runs.metric_series(..., max_step=last, last=n)` would return; when the
tail cannot prove it holds that array (too short, not from the series' start) the caller reads
the database as before. Tails are trimmed to what the next windows need, so memory stays flat.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from store import events, runs
from store import entities as e
from store.metrics import metric_series_after

from desktop.engine import run_events

if TYPE_CHECKING:
    from desktop.engine.evaluator import Evaluator

MAX_KEEP = 20_000  # a window longer than this is read from the database each time
MAX_CURVES = 5_000


@dataclass
class Tail:
    steps: np.ndarray
    values: np.ndarray
    from_start: bool  # holds every point of the curve up to its newest


class MetricTails:
    def __init__(self, db: Any) -> None:
        self.db = db
        self._tails: dict[tuple[str, str], Tail] = {}
        self._conditions: dict[tuple[int, datetime], Any] = {}
        self.memo: dict[tuple, Any] = {}  # per-batch results shared by automations (see metric_events)
        self._fresh: set[tuple[str, str]] = set()  # the curves brought up to date for this batch

    def clear(self) -> None:
        self._tails.clear()
        self.memo.clear()
        self._fresh.clear()

    def _metric_needs(self, automation: e.Automation) -> tuple[str, int] | None:
        """(metric, values per evaluation) of a single-metric automation, else None."""
        key = (automation.id, automation.updated_at)
        if key not in self._conditions:
            try:
                condition = run_events.parse_event(automation.event_type, automation.event_filter).condition
                metric = getattr(condition, "metric", None)
                self._conditions[key] = (metric, int(condition.needed)) if metric else None
            except Exception:  # reported by the evaluator itself; nothing to prefetch
                self._conditions[key] = None
        return self._conditions[key]

    def prepare(self, by_project: dict[int | None, list[e.Automation]], batch: Sequence[e.Event]) -> None:
        """Bring every watched curve of the batch's `metrics` events up to date."""
        self.memo.clear()
        self._fresh.clear()
        wanted: dict[tuple[str, str], tuple[int, int]] = {}  # curve → (lowest first step, longest window)
        watched: dict[int | None, dict[str, int]] = {}
        upto = 0
        for event in batch:
            if event.type != events.METRICS or not event.run_id:
                continue
            if event.project_id not in watched:
                needs: dict[str, int] = {}
                for automation in by_project.get(event.project_id, []):
                    if automation.event_type in run_events.METRIC_EVENTS:
                        need = self._metric_needs(automation)
                        if need is not None:
                            needs[need[0]] = max(needs.get(need[0], 0), need[1])
                watched[event.project_id] = needs
            needs = watched[event.project_id]
            payload = event.payload
            try:
                first = int(payload.get("first_step", 0))
                last = int(payload.get("last_step", first))
                count = max(1, int(payload.get("count", 1)))
            except (TypeError, ValueError):
                continue
            for key in payload.get("keys") or ():
                if key in needs:
                    upto = max(upto, last)
                    n = needs[key] + count - 1
                    curve = (event.run_id, key)
                    low, longest = wanted.get(curve, (first, n))
                    wanted[curve] = (min(low, first), max(longest, n))
        if not wanted:
            return
        if len(self._tails) > MAX_CURVES:  # runs come and go: keep only the curves still logging
            self._tails = {c: t for c, t in self._tails.items() if c in wanted}
        for curve, (first, n) in wanted.items():
            tail = self._tails.get(curve)
            if tail is not None:
                before = int(np.searchsorted(tail.steps, first, side="left"))
                if before < n and not tail.from_start:
                    tail = None  # too short for this batch: seed again
            if tail is None and n <= MAX_KEEP:
                steps, values, _walls = runs.metric_series(self.db, curve[0], curve[1], max_step=first - 1, last=n)
                self._tails[curve] = Tail(steps, values, len(steps) < n)
            elif tail is None:
                self._tails.pop(curve, None)
        requests = [(run_id, key, int(self._tails[(run_id, key)].steps[-1]) if len(self._tails[(run_id, key)].steps)
                     else None) for run_id, key in wanted if (run_id, key) in self._tails]
        fresh = metric_series_after(self.db, requests, max_step=upto) if requests else {}
        for run_id, key, _after in requests:
            tail = self._tails[(run_id, key)]
            if (run_id, key) in fresh:
                steps, values, _walls = fresh[(run_id, key)]
                tail.steps = np.concatenate([tail.steps, steps])
                tail.values = np.concatenate([tail.values, values])
            first, n = wanted[(run_id, key)]
            cut = int(np.searchsorted(tail.steps, first, side="left")) - n
            if cut > 0:  # keep what this batch's windows need, no more
                tail.steps, tail.values, tail.from_start = tail.steps[cut:], tail.values[cut:], False
            self._fresh.add((run_id, key))

    def window(self, run_id: str, key: str, last_step: int, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The newest `n` (steps, values) at or before `last_step`, or None: read the database."""
        if (run_id, key) not in self._fresh:  # e.g. an automation added during the batch
            return None
        tail = self._tails[(run_id, key)]
        end = int(np.searchsorted(tail.steps, last_step, side="right"))
        if end >= n:
            return tail.steps[end - n:end], tail.values[end - n:end]
        if tail.from_start:
            return tail.steps[:end], tail.values[:end]
        return None

