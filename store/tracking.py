"""The tracking client training scripts import (SPEC §3)::

    from store import tracking as rb
    with rb.init(project="digits", config={"lr": 1e-3}) as run:
        for step in range(100):
            run.log({"train/loss": loss, "train/acc": acc}, step=step)

`log()` only validates and appends to an in-memory queue; one daemon thread per run writes the
queue in batches through `store.runs.append_points` every `flush_interval` seconds and keeps the
heartbeat fresh. Points the database refuses for the moment (`StoreUnavailable`) are kept and
written later, oldest first. How the process ends decides the run's final state: see
`store.tracking_exit` for the exit, exception and signal hooks.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import logging
import numbers
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import numpy as np
import sqlalchemy.exc as sa_exc

from store import entities as e
from store import artifact_files, artifacts, registries, registry_links, runs, teams, tracking_exit
from store import artifact_entities as ae
from store.db import Database
from store.errors import NotFound, StoreError, StoreUnavailable

_logger = logging.getLogger("runbell.tracking")

# Points per transaction: bounds how long one process holds SQLite's single write lock.
MAX_BATCH = 20_000
# How long the final flush keeps retrying a locked or unreachable database before giving up.
FINAL_FLUSH_TIMEOUT = 30.0
_RETRY_PAUSE = 0.2
_MAX_KEY_LENGTH = 256


def _key_problem(key: object) -> str:
    """Why a metric name cannot be stored ("" if it can). The value is left out of the message,
    so Python's warning filter shows a name logged every step once, not every step."""
    if type(key) is not str:
        return f"metric names must be text, not {type(key).__name__} ({key!r:.80}); not stored"
    if not 0 < len(key) <= _MAX_KEY_LENGTH:
        return (f"metric names need 1 to {_MAX_KEY_LENGTH} characters; {key!r:.80} has {len(key)}; "
                "not stored")
    if "\x00" in key:
        return f"metric names cannot hold a NUL character: {key!r:.80}; not stored"
    return ""
_MAX_STEP = 2**63 - 1
_ALERT_LEVELS = {"INFO": "INFO", "WARN": "WARN", "WARNING": "WARN", "ERROR": "ERROR"}


class TrackingWarning(UserWarning):
    """Something a training script logged was not stored."""


class StepOrderWarning(TrackingWarning):
    """A key was logged at a step not after the last step it was logged at."""


class NonNumericValueWarning(TrackingWarning):
    """A logged value is not a number (or the key is not a usable name)."""


def _as_float(value: Any) -> float | None:
    """The value as a float, or None if it is not a real number. NaN and ±Inf pass through."""
    kind = type(value)
    if kind is float:
        return value
    try:
        if kind is int or kind is bool or isinstance(value, (np.number, np.bool_, numbers.Real)):
            return None if isinstance(value, np.complexfloating) else float(value)
        if isinstance(value, np.ndarray):
            return float(value) if value.ndim == 0 and value.dtype.kind in "biuf" else None
        if hasattr(kind, "__float__") and not isinstance(value, (str, bytes, complex)):
            return float(value)  # one-element tensors of other array libraries
    except (TypeError, ValueError, OverflowError):
        pass
    return None


def _as_step(step: Any) -> int:
    if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        step = int(step)
    elif isinstance(step, float) and step.is_integer():
        step = int(step)
    else:
        raise TypeError(f"step must be an integer, not {step!r}")
    if not 0 <= step <= _MAX_STEP:
        raise ValueError(f"step must be between 0 and {_MAX_STEP}, not {step}")
    return step


def _plain_config(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, argparse.Namespace):
        config = vars(config)
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping, not {type(config).__name__}")
    # Round-trip through JSON so numpy values, paths and the like are stored as plain values;
    # NaN and ±Infinity become text, since PostgreSQL's JSON refuses them (SQLite keeps anything).
    return _json_safe(json.loads(json.dumps(dict(config), default=_json_default)))


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


class Run:
    """One tracked training run. Create it with `init()`."""

    def __init__(self, db: Database, record: e.Run, project: str, *,
                 flush_interval: float, heartbeat_interval: float, caused_by: str | None = None) -> None:
        self.id: str = record.id
        self._caused_by = caused_by
        self._cause = {"caused_by": caused_by} if caused_by else {}  # only passed when set
        self.name: str = record.name
        self.project_id: int = record.project_id
        self.project: str = project
        self.url = f"runbell://run/{record.id}"
        self.config: dict[str, Any] = dict(record.config)
        self.tags: tuple[str, ...] = tuple(record.tags)
        self.group: str | None = record.group
        self._db = db
        self._flush_interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        # log() side: guarded by _log_lock, never touches the database.
        self._log_lock = threading.Lock()
        self._queue: collections.deque[runs.PointTuple] = collections.deque()
        self._step = 0
        self._last_steps: dict[str, int] = {}
        self._closed = False
        # writer side: guarded by _io_lock (re-entrant, see _io()).
        self._io_lock = threading.RLock()
        self._io_thread: int | None = None
        self._unsent: list[runs.PointTuple] = []
        self._alerts: list[tuple[str, str, str]] = []
        self._last_write = time.monotonic()
        self._outage = False
        self._ended = False
        self._signal: int | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()  # an alert wants writing before the next flush
        self._thread = threading.Thread(target=self._write_loop, name=f"runbell-run-{self.id}", daemon=True)

    def __repr__(self) -> str:
        state = "ended" if self._ended else "running"
        return f"<Run {self.id} {self.name!r} project={self.project!r} {state}>"

    @property
    def step(self) -> int:
        """The step the next `log()` without an explicit step goes to."""
        return self._step

    # -- the training loop's side ----------------------------------------------------------

    def log(self, data: Mapping[str, Any], step: int | None = None) -> None:
        """Record `data` at `step` (default: the current step, then advance it, like wandb).

        Values: int, float, bool, numpy scalars; NaN and ±Inf are kept. Non-numbers are skipped
        with a `NonNumericValueWarning`; a key already logged at this or a later step is skipped
        with a `StepOrderWarning`. Never waits for the database.
        """
        self._log(data, step, stacklevel=3)

    def _log(self, data: Mapping[str, Any], step: Any, stacklevel: int) -> None:
        if self._closed:
            warnings.warn(f"run {self.id} has ended; log() ignored", TrackingWarning, stacklevel=stacklevel)
            return
        if not isinstance(data, Mapping):
            raise TypeError(f"log() takes a mapping of metric name to value, not {type(data).__name__}")
        if tracking_exit.exit_was_called():
            tracking_exit.program_continued()
        wall = time.time()
        skipped: list[tuple[Any, Any]] = []
        stale: list[tuple[str, int]] = []
        with self._log_lock:
            if step is None:
                step = self._step
                if step > _MAX_STEP:
                    raise ValueError(f"the step after {_MAX_STEP} would not fit the database; pass step= explicitly")
                self._step += 1
            else:
                step = _as_step(step)
                if step > self._step:
                    self._step = step
            last_steps = self._last_steps
            points = []
            for key, value in data.items():
                number = value if type(value) is float else _as_float(value)
                last = last_steps.get(key)
                if last is None:
                    problem = _key_problem(key)
                    if problem:
                        skipped.append(problem)
                        continue
                    last = -1
                if number is None:
                    skipped.append(f"{key!r} = {value!r:.80} is not a number; not stored")
                elif step <= last:
                    stale.append((key, last))
                else:
                    last_steps[key] = step
                    points.append((key, step, number, wall))
            self._queue.extend(points)
        for message in skipped:
            warnings.warn(f"run {self.id}: {message}", NonNumericValueWarning, stacklevel=stacklevel)
        for key, last in stale:
            warnings.warn(
                f"run {self.id}: {key!r} logged at step {step} but already logged at step {last}; "
                "steps must increase per metric, this point was not stored",
                StepOrderWarning, stacklevel=stacklevel,
            )

    def alert(self, title: str, text: str, level: str = "INFO") -> None:
        """Raise a notification (like `wandb.alert`) after the points logged so far.

        Never waits for the database: the background writer stores it at once (within
        milliseconds when the database is free); while it is locked or unreachable, the alert
        stays queued and goes out with the next batch.
        """
        level_name = str(getattr(level, "value", level)).upper()
        if level_name not in _ALERT_LEVELS:
            raise ValueError(f"alert level must be INFO, WARN or ERROR, not {level!r}")
        if self._ended:
            raise RuntimeError(f"run {self.id} has ended; alert() needs a live run")
        self._alerts.append((str(title), str(text), _ALERT_LEVELS[level_name]))
        self._wake.set()  # the writer thread stores it now, not at the next flush

    def log_artifact(self, path_or_dir: str | os.PathLike[str], name: str, type: str,  # noqa: A002 (wandb's name)
                     aliases: Sequence[str] = (), metadata: Mapping[str, Any] | None = None) -> ae.ArtifactVersion:
        """Copy a file or folder into the artifact store and record it as a version of `name`.

        Identical content returns the existing version (only `aliases` are added). The newest
        version holds `latest`.
        """
        if self._ended:
            raise RuntimeError(f"run {self.id} has ended; log_artifact() needs a live run")
        files = artifact_files.store_files(path_or_dir)
        aliases = (aliases,) if isinstance(aliases, str) else tuple(aliases)
        return artifacts.log_version(self._db, self.project_id, name, type, files, metadata=metadata,
                                     aliases=aliases, run_id=self.id, username=self._username(),
                                     caused_by=self._caused_by)

    def link_artifact(self, artifact: ae.ArtifactVersion | str, registry: str = "Model",
                      collection: str = "digits-classifier", aliases: Sequence[str] = ()) -> ae.LinkedVersion:
        """Link a version (or "name:ref" of this project, e.g. "digits-mlp:latest") into a registry."""
        if isinstance(artifact, str):
            name, _, ref = artifact.partition(":")
            artifact = artifacts.find_version(self._db, self.project_id, name, ref or "latest")
        aliases = (aliases,) if isinstance(aliases, str) else tuple(aliases)
        project = teams.get_project(self._db, self.project_id)
        target = registries.find_registry(self._db, project.team_id, registry)
        return registry_links.link_version(self._db, artifact.id, target.id, collection,
                                           username=self._username(), aliases=aliases,
                                           caused_by=self._caused_by)

    def _username(self) -> str:
        return runs.get_run(self._db, self.id).username

    def flush(self) -> None:
        """Store everything logged so far before returning. Raises `StoreUnavailable` (kept for later)."""
        self._write_pending()

    def finish(self, exit_code: int = 0) -> None:
        """Store every point, then mark the run `finished` (exit code 0) or `failed`."""
        self._end(exit_code, None)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self._end(0, None)
            return
        code = tracking_exit.exit_code_for_exception(exc)
        if code == 0:
            tail = None
        elif isinstance(exc, SystemExit):
            tail = f"sys.exit({exc.code!r})"
        else:
            tail = tracking_exit.exception_tail(type(exc), exc, tb)
        self._end(code, tail)

    # -- the writer's side -----------------------------------------------------------------

    def _start(self) -> None:
        tracking_exit.register(self)
        self._thread.start()

    @contextlib.contextmanager
    def _io(self) -> Iterator[None]:
        """Serialise database writes; marks this thread busy so a signal handler waits for it."""
        outer: int | None = None
        try:
            with self._io_lock:
                outer = self._io_thread
                self._io_thread = threading.get_ident()
                try:
                    yield
                finally:
                    self._io_thread = outer
        finally:
            if outer is None:
                tracking_exit.resume_deferred_signal()

    def _busy_in_this_thread(self) -> bool:
        return self._io_thread == threading.get_ident()

    def _note_signal(self, signum: int) -> None:
        self._signal = signum

    def _write_pending(self) -> None:
        """Store the queued points (oldest first, in batches) and alerts.

        Raises `StoreUnavailable`; the batch being written is kept and goes first next time.
        """
        with self._io():
            budget = len(self._queue)  # what was queued when we started: never chase the logger
            while True:
                if not self._unsent:
                    count = min(budget, MAX_BATCH)
                    if count == 0:
                        break
                    budget -= count
                    popleft = self._queue.popleft
                    self._unsent = [popleft() for _ in range(count)]
                try:
                    self._write_salvaging(self._unsent)
                except NotFound:
                    _logger.error("run %s was deleted; its remaining points are dropped", self.id)
                    self._closed = True
                    self._queue.clear()
                    self._unsent = []
                    break
                self._unsent = []
                self._last_write = time.monotonic()
            while self._alerts:
                runs.record_alert(self._db, self.id, *self._alerts[0], **self._cause)
                del self._alerts[0]

    def _write_salvaging(self, points: list) -> None:
        """Write `points`; when the database refuses the batch for good (not just unavailable),
        write its halves, so one bad point loses itself and not everything logged after it."""
        try:
            runs.append_points(self._db, self.id, points, **self._cause)
        except (StoreUnavailable, NotFound):
            raise
        except (sa_exc.IntegrityError, sa_exc.DataError, StoreError, OverflowError, ValueError) as exc:
            if len(points) == 1:
                _logger.error("run %s: point %r refused by the database and dropped: %s", self.id,
                              points[0][:2], getattr(exc, "orig", exc))
                return
            half = len(points) // 2
            self._write_salvaging(points[:half])
            self._write_salvaging(points[half:])

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._write_pending()
                if time.monotonic() - self._last_write >= self._heartbeat_interval:
                    with self._io():
                        if not self._ended:
                            runs.heartbeat(self._db, self.id)
                            self._last_write = time.monotonic()
            except Exception as exc:  # keep the points and retry on the next tick
                if not self._outage:
                    _logger.warning("run %s: cannot write to the database (%s); %d points kept, retrying",
                                    self.id, exc, len(self._queue) + len(self._unsent))
                self._outage = True
            else:
                if self._outage:
                    _logger.info("run %s: database writable again", self.id)
                self._outage = False

    def _end(self, exit_code: int, error_tail: str | None) -> None:
        self._finalize(exit_code, error_tail)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=FINAL_FLUSH_TIMEOUT)
        if not self._thread.is_alive():
            self._db.dispose()

    def _finalize(self, exit_code: int, error_tail: str | None) -> None:
        """Store everything still queued and record the final state; runs once per run."""
        global run
        with self._io():
            if self._ended:
                return
            self._closed = True
            self._stop.set()
            self._wake.set()
            deadline = time.monotonic() + FINAL_FLUSH_TIMEOUT
            self._retrying(self._write_pending, deadline, "store the last points")
            if self._signal is not None and exit_code == 0:
                # The program went on after Ctrl-C/SIGTERM and ended normally: still not a clean run.
                exit_code = 128 + self._signal
                error_tail = f"interrupted by {signal.Signals(self._signal).name}"
            state = "finished" if exit_code == 0 else "failed"
            self._retrying(
                lambda: runs.set_state(self._db, self.id, state, exit_code=exit_code,
                                       error_tail=error_tail, only_if_running=True, **self._cause),
                deadline, f"mark the run {state}",
            )
            self._ended = True
        tracking_exit.unregister(self)
        if run is self:
            run = None

    def _retrying(self, action: Any, deadline: float, what: str) -> None:
        while True:
            try:
                action()
                return
            except StoreUnavailable as exc:
                if time.monotonic() >= deadline:
                    lost = len(self._queue) + len(self._unsent)
                    _logger.error("run %s: could not %s (%s); %d points not stored", self.id, what, exc, lost)
                    return
                time.sleep(_RETRY_PAUSE)
            except Exception:  # the run must still end; the state write is tried even so
                _logger.exception("run %s: could not %s", self.id, what)
                return


# -- module-level API, like `wandb.init` / `wandb.log` -------------------------------------

run: Run | None = None
"""The run most recently started by `init()` and not yet finished."""


def init(
    project: str = "uncategorized",
    name: str | None = None,
    config: Mapping[str, Any] | argparse.Namespace | None = None,
    tags: Sequence[str] = (),
    group: str | None = None,
    *,
    db_url: str | None = None,
    username: str | None = None,
    flush_interval: float = 0.1,
    heartbeat_interval: float = 5.0,
    caused_by: str | None = None,
) -> Run:
    """Start a run in `project` (created if missing) of the database at `db_url`
    (default: `RUNBELL_DB` or the user's local database). Finishes the previous run of `init()`.

    `caused_by` (default: env `RUNBELL_CAUSED_BY`): the delivery id (`X-Runbell-Delivery`
    header) of the automation webhook that started this process; the run's events carry it so
    the engine can stop automation loops.
    """
    global run
    if flush_interval <= 0 or heartbeat_interval <= 0:
        raise ValueError("flush_interval and heartbeat_interval must be positive")
    if name is not None and not 0 < len(name) <= 256:
        raise ValueError("a run name needs 1 to 256 characters")
    if group is not None and len(group) > 128:
        raise ValueError("a group name has at most 128 characters")
    tags = (tags,) if isinstance(tags, str) else tuple(str(t) for t in tags)
    caused_by = caused_by or os.environ.get("RUNBELL_CAUSED_BY") or None
    plain_config = _plain_config(config)
    if run is not None:
        run.finish()
    db = Database(db_url)
    try:
        team, user = teams.ensure_default_team(db, username)
        project_row = teams.get_or_create_project(db, team.id, project)
        record = runs.create_run(db, project_row.id, name=name, username=user.username, tags=tags,
                                 config=plain_config, group=group, caused_by=caused_by)
    except BaseException:
        db.dispose()
        raise
    new_run = Run(db, record, project_row.name, flush_interval=flush_interval,
                  heartbeat_interval=heartbeat_interval, caused_by=caused_by)
    new_run._start()
    run = new_run
    return new_run


def _current() -> Run:
    if run is None:
        raise RuntimeError("no active run: call rb.init() first")
    return run


def log(data: Mapping[str, Any], step: int | None = None) -> None:
    """`Run.log` on the current run."""
    _current()._log(data, step, stacklevel=3)


def alert(title: str, text: str, level: str = "INFO") -> None:
    """`Run.alert` on the current run."""
    _current().alert(title, text, level)


def finish(exit_code: int = 0) -> None:
    """Finish the current run, if any."""
    if run is not None:
        run.finish(exit_code)


__all__ = [
    "MAX_BATCH", "NonNumericValueWarning", "Run", "StepOrderWarning", "TrackingWarning",
    "alert", "finish", "init", "log", "run",
]
