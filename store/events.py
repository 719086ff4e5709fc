"""The event log: every change appends here in its own transaction; consumers follow a cursor."""
from __future__ import annotations

from dataclasses import dataclass
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
MEMBER_CHANGED = "member_changed"  # a team member's role changed: open apps apply it at once


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


@dataclass(frozen=True)
class Page:
    """Events read from `position`, oldest first, and where to read next.

    `resume[i]` is the position to store once `events[i]` is handled, so that a consumer that
    stops there reads on from the right place; None while more events of the same transaction
    follow (a position cannot point inside a transaction on PostgreSQL).
    """

    events: list[e.Event]
    resume: list[int | None]
    next_position: int


def read_page(db: Database, position: int, *, limit: int = 1000, types: tuple[str, ...] | None = None) -> Page:
    """The events after `position` in the order their transactions became final.

    SQLite has one writer at a time, so ids become visible in order and the position is the
    last id read. On PostgreSQL a transaction that took id 100 may commit after one that took
    101; a reader that moved on to 101 would never see 100. There the position is a transaction
    id: a page holds only events of transactions older than every transaction still running
    (the snapshot's xmin), which can no longer change, in (txid, id) order.
    """
    if db.engine.dialect.name != "postgresql":
        found = events_after(db, position, limit=limit, types=types)
        return Page(found, [ev.id for ev in found], found[-1].id if found else position)
    with db.session() as s:
        horizon = int(s.scalar(sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))
        q = (sa.select(m.Event, m.Event.txid).where(m.Event.txid >= position, m.Event.txid < horizon)
             .order_by(m.Event.txid, m.Event.id))
        if types:
            q = q.where(m.Event.type.in_(types))
        rows = s.execute(q.limit(limit)).all()
        if len(rows) == limit:  # never split a transaction's events between two pages
            last = rows[-1][1]
            kept = [row for row in rows if row[1] != last]
            if kept:
                rows, horizon = kept, last
            else:  # one transaction fills the page: take all of it
                rows, horizon = s.execute(q.where(m.Event.txid == last)).all(), last + 1
        txids = [txid for _row, txid in rows]
        resume = [None if i + 1 < len(txids) and txids[i + 1] == txid else txid + 1 for i, txid in enumerate(txids)]
        return Page([convert.event(row) for row, _txid in rows], resume, horizon)


def head_position(db: Database) -> int:
    """The position after every event written so far (a follower that wants only new ones)."""
    if db.engine.dialect.name != "postgresql":
        return last_event_id(db)
    with db.session() as s:
        return int(s.scalar(sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))


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
