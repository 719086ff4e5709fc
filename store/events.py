"""The event log: every change appends here in its own transaction; consumers follow a cursor."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from store import convert
from store import entities as e
from store import models as m
from store.db import Database

# Event types written by the store.
RUN_CREATED = "run_created"
RUN_STATE = "run_state"
METRICS = "metrics"
ALERT = "alert"
AUTOMATION_CHANGED = "automation_changed"
INTEGRATION_CHANGED = "integration_changed"
SECRET_CHANGED = "secret_changed"
EXECUTION_CHANGED = "execution_changed"
PROJECT_CREATED = "project_created"


def record(
    session: so.Session,
    type_: str,
    *,
    project_id: int | None = None,
    run_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Append an event inside the caller's transaction."""
    session.add(m.Event(type=type_, project_id=project_id, run_id=run_id, payload=payload or {}))


def events_after(
    db: Database, position: int, *, limit: int = 1000, types: tuple[str, ...] | None = None
) -> list[e.Event]:
    with db.session() as s:
        q = sa.select(m.Event).where(m.Event.id > position).order_by(m.Event.id).limit(limit)
        if types:
            q = q.where(m.Event.type.in_(types))
        return [convert.event(row) for row in s.scalars(q)]


def last_event_at(db: Database, type_: str, run_id: str):
    """When the newest event of this type for this run was written (None: never)."""
    with db.session() as s:
        row = s.scalar(sa.select(m.Event).where(m.Event.type == type_, m.Event.run_id == run_id)
                       .order_by(m.Event.id.desc()).limit(1))
        return None if row is None else convert.event(row).created_at


def last_event_id(db: Database) -> int:
    with db.session() as s:
        return s.scalar(sa.select(sa.func.max(m.Event.id))) or 0


def get_cursor(db: Database, name: str) -> int | None:
    with db.session() as s:
        row = s.get(m.EngineCursor, name)
        return None if row is None else row.position


def set_cursor(db: Database, name: str, position: int) -> None:
    with db.session() as s:
        row = s.get(m.EngineCursor, name)
        if row is None:
            s.add(m.EngineCursor(name=name, position=position))
        else:
            row.position = position
