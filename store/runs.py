"""Runs and their metric history: the write path the tracking client uses and the read path
of the app and the engine."""
from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from store import convert
from store import entities as e
from store import events
from store import models as m
from store.db import Database
from store.errors import NotFound, ValidationError
from store.run_life import HEARTBEAT_LOST, revive_if_presumed_dead
from store.metrics import (  # noqa: F401  (the run API re-exports the metric API)
    PointTuple, append_points, encode_summary_value, metric_keys, metric_points, metric_series,
    run_metric_keys,
)

_ADJECTIVES = ("golden", "misty", "brisk", "quiet", "vivid", "lunar", "amber", "bold", "crisp", "dusky")
_NOUNS = ("sun", "river", "forest", "meadow", "comet", "harbor", "ember", "glade", "summit", "tide")
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

def new_run_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def _generated_name(count: int) -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{count + 1}"


def _decode_summary(summary: dict) -> dict:
    return {k: float(v) if isinstance(v, str) else v for k, v in summary.items()}


def create_run(
    db: Database,
    project_id: int,
    *,
    name: str | None = None,
    username: str = "",
    tags: Sequence[str] = (),
    config: dict | None = None,
    group: str | None = None,
    run_id: str | None = None,
    caused_by: str | None = None,
) -> e.Run:
    """`caused_by`: the delivery id of the automation execution that led to this run (its
    events carry it, so the engine can stop automation loops)."""
    with db.session() as s:
        if s.get(m.Project, project_id) is None:
            raise NotFound(f"no project {project_id}")
        if name is None:
            count = s.scalar(sa.select(sa.func.count()).where(m.Run.project_id == project_id)) or 0
            name = _generated_name(count)
        row = m.Run(
            id=run_id or new_run_id(), project_id=project_id, name=name, username=username,
            tags=list(tags), config=dict(config or {}), group=group, state="running",
        )
        s.add(row)
        s.flush()
        cause = {"caused_by": caused_by} if caused_by else {}
        events.record(s, events.RUN_CREATED, project_id=project_id, run_id=row.id, payload={"name": name, **cause})
        events.record(s, events.RUN_STATE, project_id=project_id, run_id=row.id,
                      payload={"state": "running", "previous": None, **cause})
        return convert.run(row)


def heartbeat(db: Database, run_id: str) -> None:
    with db.session() as s:
        s.execute(sa.update(m.Run).where(m.Run.id == run_id).values(heartbeat_at=m.utcnow()))
        run = s.get(m.Run, run_id)
        if run is not None:
            revive_if_presumed_dead(s, run)


def set_state(
    db: Database, run_id: str, state: str, *, exit_code: int | None = None, error_tail: str | None = None,
    only_if_running: bool = False, caused_by: str | None = None,
) -> e.Run:
    """Move a run to a new state, recording a `run_state` event if it changed (`caused_by`: see
    create_run)."""
    if state not in e.RUN_STATES:
        raise ValidationError(f"unknown run state {state!r}")
    with db.session() as s:
        run = s.get(m.Run, run_id)
        if run is None:
            raise NotFound(f"no run {run_id}")
        if only_if_running and run.state != "running":
            return convert.run(run)
        previous = run.state
        if previous != state:
            run.state = state
            if state != "running":
                # a crash is only noticed later: the run ended at its last sign of life
                run.finished_at = run.heartbeat_at if state == "crashed" else m.utcnow()
            events.record(s, events.RUN_STATE, project_id=run.project_id, run_id=run_id,
                          payload={"state": state, "previous": previous, "exit_code": exit_code,
                                   **({"caused_by": caused_by} if caused_by else {})})
        if exit_code is not None:
            run.exit_code = exit_code
        if error_tail is not None:
            run.error_tail = error_tail[-4000:]
        return convert.run(run)


def mark_stale_runs_crashed(db: Database, timeout: timedelta, now: datetime | None = None) -> list[str]:
    """Runs still `running` whose heartbeat is older than `timeout` become `crashed` (case C4)."""
    cutoff = (now or datetime.now(timezone.utc)) - timeout
    with db.session() as s:
        ids = list(s.scalars(sa.select(m.Run.id).where(m.Run.state == "running", m.Run.heartbeat_at < cutoff)))
    crashed = []
    for run_id in ids:
        run = set_state(db, run_id, "crashed", error_tail=HEARTBEAT_LOST, only_if_running=True)
        if run.state == "crashed":
            crashed.append(run_id)
    return crashed


def get_run(db: Database, run_id: str) -> e.Run:
    with db.session() as s:
        row = s.get(m.Run, run_id)
        if row is None:
            raise NotFound(f"no run {run_id}")
        run = convert.run(row)
    return _with_decoded_summary(run)


def _with_decoded_summary(run: e.Run) -> e.Run:
    from dataclasses import replace

    return replace(run, summary=_decode_summary(run.summary))


def list_runs(db: Database, project_id: int) -> list[e.Run]:
    with db.session() as s:
        rows = s.scalars(sa.select(m.Run).where(m.Run.project_id == project_id).order_by(m.Run.created_at))
        return [_with_decoded_summary(convert.run(r)) for r in rows]


def record_alert(db: Database, run_id: str, title: str, text: str, level: str, *,
                 caused_by: str | None = None) -> None:
    """`run.alert()`: an event the engine turns into a notification through the usual dispatch."""
    if level not in ("INFO", "WARN", "ERROR"):
        raise ValidationError("alert level must be INFO, WARN or ERROR")
    with db.session() as s:
        run = s.get(m.Run, run_id)
        if run is None:
            raise NotFound(f"no run {run_id}")
        events.record(s, events.ALERT, project_id=run.project_id, run_id=run_id,
                      payload={"title": title, "text": text, "level": level,
                               **({"caused_by": caused_by} if caused_by else {})})


def run_context(db: Database, run_id: str) -> tuple[e.Run, e.Project, e.Team]:
    """A run with its project and team in one read (what the engine needs to describe an event)."""
    with db.session() as s:
        row = s.get(m.Run, run_id)
        if row is None:
            raise NotFound(f"no run {run_id}")
        project = s.get(m.Project, row.project_id)
        team = s.get(m.Team, project.team_id)
        return _with_decoded_summary(convert.run(row)), convert.project(project), convert.team(team)
