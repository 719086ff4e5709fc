"""Metric history stored as columnar chunks: one row per (run, key, flushed batch) holding the
steps, values and wall times as little-endian arrays.

Why chunks and not a row per point: a training process logs tens of thousands of points a
second; one small row per batch and key makes ingest and range reads an order of magnitude
cheaper, and binary float64 keeps NaN and ±Inf exactly on every backend.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import sqlalchemy as sa

from store import entities as e
from store import events
from store import models as m
from store.db import Database
from store.errors import NotFound
from store.run_life import revive_if_presumed_dead

log = logging.getLogger("runbell.store")

# (key, step, value, wall_time)
PointTuple = tuple[str, int, float, float]
_STEP = np.dtype("<i8")
_FLOAT = np.dtype("<f8")
# A run logging at its default 0.1 s flush writes ten tiny chunks a second per key; once a key
# has MERGE_AFTER chunks under SMALL_CHUNK points at its end, they become one chunk, so reading
# a long run costs a few rows per key, not thousands.
SMALL_CHUNK = 4096
MERGE_AFTER = 16


def encode_summary_value(value: float) -> float | str:
    """JSON has no NaN/Inf; the summary stores them as the strings Python's float() reads."""
    return value if np.isfinite(value) else repr(float(value))


def _last_steps(session: sa.orm.Session, run_id: str) -> dict[str, int]:
    q = (sa.select(m.MetricChunk.key, sa.func.max(m.MetricChunk.last_step))
         .where(m.MetricChunk.run_id == run_id).group_by(m.MetricChunk.key))
    return dict(session.execute(q).all())


def append_points(db: Database, run_id: str, points: Sequence[PointTuple], *, caused_by: str | None = None) -> int:
    """Store a batch of points for one run, one chunk per key, in one transaction.

    Also updates the run's summary, last step and heartbeat and appends one `metrics` event.
    Points at or before a key's stored last step are dropped (so a retried batch is harmless).
    Returns the number of points stored. `caused_by`: see runs.create_run.
    """
    if not points:
        return 0
    by_key: dict[str, list[PointTuple]] = {}
    for point in points:
        by_key.setdefault(point[0], []).append(point)
    with db.session() as s:
        run = s.get(m.Run, run_id)
        if run is None:
            raise NotFound(f"no run {run_id}")
        last_steps = _last_steps(s, run_id)
        rows, summary, stored, first, last = [], dict(run.summary or {}), 0, None, None
        for key, pts in by_key.items():
            steps = np.fromiter((p[1] for p in pts), dtype=_STEP, count=len(pts))
            values = np.fromiter((p[2] for p in pts), dtype=_FLOAT, count=len(pts))
            walls = np.fromiter((p[3] for p in pts), dtype=_FLOAT, count=len(pts))
            order = np.argsort(steps, kind="stable")
            steps, values, walls = steps[order], values[order], walls[order]
            keep = np.ones(len(steps), dtype=bool)
            keep[1:] = steps[1:] > steps[:-1]
            if key in last_steps:
                keep &= steps > last_steps[key]
            if not keep.all():
                log.warning("run %s: dropped %d point(s) of %r at already stored steps",
                            run_id, int((~keep).sum()), key)
                steps, values, walls = steps[keep], values[keep], walls[keep]
            if len(steps) == 0:
                continue
            rows.append({
                "run_id": run_id, "key": key, "first_step": int(steps[0]), "last_step": int(steps[-1]),
                "count": len(steps), "steps": steps.tobytes(), "values": values.tobytes(),
                "walls": walls.tobytes(),
            })
            summary[key] = encode_summary_value(float(values[-1]))
            stored += len(steps)
            first = int(steps[0]) if first is None else min(first, int(steps[0]))
            last = int(steps[-1]) if last is None else max(last, int(steps[-1]))
        if not rows:
            return 0
        s.execute(sa.insert(m.MetricChunk.__table__), rows)
        _merge_small_chunks(s, run_id, [r["key"] for r in rows])
        run.summary = summary
        run.last_step = max(run.last_step, last)
        run.heartbeat_at = m.utcnow()
        revive_if_presumed_dead(s, run)
        events.record(
            s, events.METRICS, project_id=run.project_id, run_id=run_id,
            payload={"keys": sorted(r["key"] for r in rows), "first_step": first, "last_step": last,
                     "count": stored, **({"caused_by": caused_by} if caused_by else {})},
        )
    return stored


def _merge_small_chunks(s: sa.orm.Session, run_id: str, keys: Sequence[str]) -> None:
    """Merge each key's trailing small chunks into one once there are MERGE_AFTER of them.

    Only chunks after the key's last big chunk are merged, so chunks never overlap in steps.
    """
    c = m.MetricChunk
    small = (sa.select(c.key).where(c.run_id == run_id, c.key.in_(keys), c.count < SMALL_CHUNK)
             .group_by(c.key).having(sa.func.count() >= MERGE_AFTER))
    for key in s.scalars(small).all():
        big_end = s.scalar(sa.select(sa.func.max(c.last_step))
                           .where(c.run_id == run_id, c.key == key, c.count >= SMALL_CHUNK))
        q = sa.select(c.id, c.steps, c.values, c.walls).where(c.run_id == run_id, c.key == key)
        if big_end is not None:
            q = q.where(c.first_step > big_end)
        found = s.execute(q.order_by(c.first_step)).all()
        if len(found) < 2:
            continue
        steps, values, walls = _decode(row[1:] for row in found)
        s.execute(sa.delete(c).where(c.id.in_([row[0] for row in found])))
        s.execute(sa.insert(c.__table__), [{
            "run_id": run_id, "key": key, "first_step": int(steps[0]), "last_step": int(steps[-1]),
            "count": len(steps), "steps": steps.astype(_STEP).tobytes(), "values": values.astype(_FLOAT).tobytes(),
            "walls": walls.astype(_FLOAT).tobytes(),
        }])


def _decode(rows: Iterable[tuple[bytes, bytes, bytes]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = list(rows)
    if not rows:
        return np.empty(0, _STEP), np.empty(0, _FLOAT), np.empty(0, _FLOAT)
    steps = np.concatenate([np.frombuffer(r[0], dtype=_STEP) for r in rows])
    values = np.concatenate([np.frombuffer(r[1], dtype=_FLOAT) for r in rows])
    walls = np.concatenate([np.frombuffer(r[2], dtype=_FLOAT) for r in rows])
    # concatenate made fresh arrays already: no second copy unless the dtype really differs
    return (steps.astype(np.int64, copy=False), values.astype(np.float64, copy=False),
            walls.astype(np.float64, copy=False))


def metric_series(
    db: Database, run_id: str, key: str, *, min_step: int | None = None, max_step: int | None = None,
    last: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, values, wall_times) for one run and key, ordered by step; NaN/±Inf kept.

    `min_step`/`max_step` bound the range (inclusive); `last` keeps only the newest N points.
    """
    cols = (m.MetricChunk.steps, m.MetricChunk.values, m.MetricChunk.walls)
    with db.session() as s:
        q = sa.select(*cols).where(m.MetricChunk.run_id == run_id, m.MetricChunk.key == key)
        if min_step is not None:
            q = q.where(m.MetricChunk.last_step >= min_step)
        if max_step is not None:
            q = q.where(m.MetricChunk.first_step <= max_step)
        if last is None:
            rows = s.execute(q.order_by(m.MetricChunk.first_step)).all()
        else:
            rows, have = [], 0
            for row in s.execute(q.add_columns(m.MetricChunk.count).order_by(m.MetricChunk.last_step.desc())):
                rows.append(row[:3])
                have += row[3]
                if have >= last:
                    break
            rows.reverse()
    steps, values, walls = _decode(rows)
    mask = np.ones(len(steps), dtype=bool)
    if min_step is not None:
        mask &= steps >= min_step
    if max_step is not None:
        mask &= steps <= max_step
    if not mask.all():
        steps, values, walls = steps[mask], values[mask], walls[mask]
    if last is not None:
        steps, values, walls = steps[-last:] if last else steps[:0], values[-last:] if last else values[:0], walls[-last:] if last else walls[:0]
    return steps, values, walls


def metric_keys(db: Database, project_id: int) -> list[str]:
    """Every metric key logged by any run of the project, sorted."""
    with db.session() as s:
        q = (
            sa.select(m.MetricChunk.key).distinct()
            .join(m.Run, m.Run.id == m.MetricChunk.run_id)
            .where(m.Run.project_id == project_id)
            .order_by(m.MetricChunk.key)
        )
        return list(s.scalars(q))


def run_metric_keys(db: Database, run_id: str) -> list[str]:
    with db.session() as s:
        q = sa.select(m.MetricChunk.key).distinct().where(m.MetricChunk.run_id == run_id).order_by(m.MetricChunk.key)
        return list(s.scalars(q))


def metric_points(db: Database, run_id: str, keys: Iterable[str] | None = None) -> list[e.MetricPoint]:
    """Every point of a run as entities, ordered by step then key (small runs, tests, export)."""
    wanted = list(keys) if keys is not None else run_metric_keys(db, run_id)
    points = []
    for key in wanted:
        steps, values, walls = metric_series(db, run_id, key)
        points.extend(e.MetricPoint(run_id, key, int(st), float(v), float(w)) for st, v, w in zip(steps, values, walls))
    points.sort(key=lambda p: (p.step, p.key))
    return points


def metric_extents(db: Database, run_ids: Sequence[str]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(first step, last step, point count) per (run, key), from the chunk index alone."""
    if not run_ids:
        return {}
    out: dict[tuple[str, str], tuple[int, int, int]] = {}
    with db.session() as s:
        for start in range(0, len(run_ids), 500):  # stay under SQL parameter limits
            q = (sa.select(m.MetricChunk.run_id, m.MetricChunk.key, sa.func.min(m.MetricChunk.first_step),
                           sa.func.max(m.MetricChunk.last_step), sa.func.sum(m.MetricChunk.count))
                 .where(m.MetricChunk.run_id.in_(run_ids[start:start + 500]))
                 .group_by(m.MetricChunk.run_id, m.MetricChunk.key))
            for run_id, key, first, last, count in s.execute(q):
                out[(run_id, key)] = (int(first), int(last), int(count))
    return out


def metric_envelope(
    db: Database, run_id: str, key: str, min_step: int, max_step: int, buckets: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mins, maxs) of the finite points with min_step <= step <= max_step.

    The step range is cut into `buckets` equal slices; each non-empty slice gives its first
    step and the lowest and highest value in it, so a spike anywhere survives. When the range
    holds at most 2 × buckets points they come back as they are (mins == maxs == values).
    """
    steps, values, _walls = metric_series(db, run_id, key, min_step=min_step, max_step=max_step)
    return envelope(steps, values, min_step, max_step, buckets)


def envelope(
    steps: np.ndarray, values: np.ndarray, min_step: int, max_step: int, buckets: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bucketing of `metric_envelope` over arrays already read (sorted by step)."""
    finite = np.isfinite(values)
    if not finite.all():
        steps, values = steps[finite], values[finite]
    if len(steps) <= 2 * max(1, int(buckets)):
        return steps, values, values.copy()
    starts = bucket_starts(steps, min_step, max_step, buckets)
    return steps[starts], np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)


def bucket_starts(steps: np.ndarray, min_step: int, max_step: int, buckets: int) -> np.ndarray:
    """Indices of the first of `steps` (sorted) in each non-empty slice of `buckets` equal slices
    of min_step..max_step."""
    if not len(steps):
        return np.empty(0, dtype=np.intp)
    span = max(1, int(max_step) - int(min_step) + 1)
    bins = ((steps - int(min_step)) * max(1, int(buckets))) // span
    return np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])


def metric_series_many(
    db: Database, run_ids: Sequence[str], key: str,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`metric_series` of one key for many runs in one query per 500 runs (workspace start-up)."""
    chunks: dict[str, list[tuple[bytes, bytes, bytes]]] = {}
    with db.session() as s:
        for start in range(0, len(run_ids), 500):
            q = (sa.select(m.MetricChunk.run_id, m.MetricChunk.steps, m.MetricChunk.values, m.MetricChunk.walls)
                 .where(m.MetricChunk.key == key, m.MetricChunk.run_id.in_(run_ids[start:start + 500]))
                 .order_by(m.MetricChunk.run_id, m.MetricChunk.first_step))
            for run_id, *cols in s.execute(q):
                chunks.setdefault(run_id, []).append(tuple(cols))
    return {run_id: _decode(rows) for run_id, rows in chunks.items()}


def import_series(
    db: Database, run_id: str, key: str, steps: np.ndarray, values: np.ndarray, walls: np.ndarray,
    chunk: int = 50_000,
) -> int:
    """Bulk-write a whole sorted history as chunks (imports, benchmarks, test seeding).

    No summary, heartbeat or `metrics` event: use `append_points` for live logging.
    """
    rows = []
    for start in range(0, len(steps), chunk):
        part = slice(start, start + chunk)
        s_, v_, w_ = (np.asarray(a[part]) for a in (steps, values, walls))
        rows.append({"run_id": run_id, "key": key, "first_step": int(s_[0]), "last_step": int(s_[-1]),
                     "count": len(s_), "steps": s_.astype(_STEP).tobytes(), "values": v_.astype(_FLOAT).tobytes(),
                     "walls": w_.astype(_FLOAT).tobytes()})
    if rows:
        with db.session() as s:
            s.execute(sa.insert(m.MetricChunk.__table__), rows)
    return len(steps)


def metric_series_after(
    db: Database, requests: Sequence[tuple[str, str, int | None]], *, max_step: int | None = None,
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The points after `last_step` (None: all) of many (run, key) curves, in one query per 500
    runs: the live workspace asks for a few new points of hundreds of curves at once.
    `max_step` (inclusive) bounds every curve from above (the engine reads no further than the
    events it is evaluating)."""
    after = {(run_id, key): last for run_id, key, last in requests}
    if not after:
        return {}
    run_ids = sorted({run_id for run_id, _key in after})
    keys = sorted({key for _run, key in after})
    known = [last for last in after.values() if last is not None]
    floor = min(known) if len(known) == len(after) else None
    chunks: dict[tuple[str, str], list[tuple[bytes, bytes, bytes]]] = {}
    with db.session() as s:
        for start in range(0, len(run_ids), 500):
            q = (sa.select(m.MetricChunk.run_id, m.MetricChunk.key, m.MetricChunk.steps, m.MetricChunk.values,
                           m.MetricChunk.walls)
                 .where(m.MetricChunk.run_id.in_(run_ids[start:start + 500]), m.MetricChunk.key.in_(keys))
                 .order_by(m.MetricChunk.run_id, m.MetricChunk.key, m.MetricChunk.first_step))
            if floor is not None:
                q = q.where(m.MetricChunk.last_step > floor)
            if max_step is not None:
                q = q.where(m.MetricChunk.first_step <= max_step)
            for run_id, key, *cols in s.execute(q):
                if (run_id, key) in after:
                    chunks.setdefault((run_id, key), []).append(tuple(cols))
    out = {}
    for curve, rows in chunks.items():
        steps, values, walls = _decode(rows)
        last = after[curve]
        keep = np.ones(len(steps), dtype=bool)
        if last is not None:
            keep &= steps > last
        if max_step is not None:
            keep &= steps <= max_step
        if not keep.all():
            steps, values, walls = steps[keep], values[keep], walls[keep]
        if len(steps):
            out[curve] = (steps, values, walls)
    return out
