"""Live points: `metrics` events mark (run, key) curves pending; fetches of only the new points
run in the background, pipelined, and hand their points to the workspace.

Why pipelined, not one fetch at a time: with a single fetch in flight, points logged while it
runs wait for it to finish and then for a whole second fetch, so data (and frames) arrive at
half the fetch rate. Up to `MAX_IN_FLIGHT` fetches overlap instead, each asking every pending
curve for the points after the last step already held. That is safe without ordering the
results: the store keeps each key's steps strictly increasing (it drops points at or before
the stored last step), so every fetch returns a gap-free continuation of what was held when
it was asked, and `SeriesBuffer.extend` drops the steps another fetch already delivered.
"""
from __future__ import annotations

from collections.abc import Callable, Collection

from PySide6.QtCore import QObject

from desktop.guard import alive
from desktop.tasks import TaskRunner
from desktop.workspace import loading
from desktop.workspace.buffers import RangeSource, SeriesBuffer
from store.db import Database

MAX_IN_FLIGHT = 2


class LiveFeed(QObject):
    """Coalesces pending curves into few fetches; `on_points(NewPoints)` gets each result."""

    def __init__(
        self, db: Database, tasks: TaskRunner, sources: dict[loading.CurveKey, SeriesBuffer | RangeSource],
        known_runs: Collection[str], on_points: Callable[[loading.NewPoints], None],
        on_failed: Callable[[Exception], None], parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._db = db
        self._tasks = tasks
        self._sources = sources  # shared with the workspace: fetches start after their last step
        self._known_runs = known_runs  # run ids with a name already (the others are read too)
        self._on_points = on_points
        self._on_failed = on_failed
        self._pending: set[loading.CurveKey] = set()
        self._in_flight = 0
        self._paused = True  # until the first read is on screen

    @property
    def idle(self) -> bool:
        """Nothing pending and no fetch running (benchmarks and tests wait for this)."""
        return not self._pending and not self._in_flight

    def add(self, curve_key: loading.CurveKey) -> None:
        self._pending.add(curve_key)

    def start(self) -> None:
        self._paused = False
        self.fetch()

    def stop(self) -> None:
        self._paused = True
        self._pending.clear()

    def fetch(self) -> None:
        """Ask for the points after the last step held of every pending curve."""
        if self._paused or not self._pending or self._in_flight >= MAX_IN_FLIGHT:
            return
        requests = []
        for run_id, key in sorted(self._pending):
            source = self._sources.get((run_id, key))
            requests.append((run_id, key, source.last_step if isinstance(source, SeriesBuffer) else None))
        unknown = sorted({run_id for run_id, _ in self._pending} - set(self._known_runs))
        self._pending.clear()
        self._in_flight += 1
        db = self._db
        self._tasks.run(
            lambda: loading.load_new_points(db, requests, unknown),
            alive(self, self._done), alive(self, self._failed),
        )

    def _done(self, result: loading.NewPoints) -> None:
        self._in_flight -= 1
        if not self._paused:
            self._on_points(result)
        self.fetch()

    def _failed(self, exc: Exception) -> None:
        self._in_flight -= 1
        self._on_failed(exc)
        # the next metrics event retries from the last step held; nothing is skipped
