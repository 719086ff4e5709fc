"""Execution history and the durable outbox: firing writes `pending`, dispatch claims and
records every attempt, and a restart resumes whatever is still pending."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from store import convert
from store import entities as e
from store import events
from store import models as m
from store.db import Database
from store.errors import NotFound

STATUSES = ("pending", "finished", "failed", "skipped")
EXCERPT = 2000


def _now() -> datetime:
    return datetime.now(timezone.utc)


def record_firing(
    db: Database,
    *,
    automation: e.Automation | None,
    automation_name: str | None = None,
    project_id: int | None,
    run_id: str | None,
    event_type: str,
    event: dict[str, Any],
    action_type: str,
    action: dict[str, Any],
    status: str = "pending",
    reason: str = "",
    is_test: bool = False,
    condition: bool | None = None,
    fired: bool = True,
) -> e.Execution:
    """Write one execution; for run events also the (automation, run) edge/cooldown memory,
    in the same transaction so a crash cannot fire twice or forget a firing."""
    with db.session() as s:
        row = m.Execution(
            automation_id=automation.id if automation else None,
            automation_name=automation.name if automation else (automation_name or ""),
            project_id=project_id, run_id=run_id,
            scope=(automation.scope_type if automation else "project"),
            event_type=event_type, event=event, action_type=action_type, action=action,
            status=status, reason=reason, delivery_id=str(uuid.uuid4()), is_test=is_test,
            next_attempt_at=_now() if status == "pending" else None,
            finished_at=None if status == "pending" else _now(),
        )
        s.add(row)
        if automation is not None and run_id is not None and condition is not None:
            _remember(s, automation.id, run_id, condition, fired and status != "skipped")
        s.flush()
        events.record(s, events.EXECUTION_CHANGED, project_id=project_id, run_id=run_id,
                      payload={"id": row.id, "status": status})
        return convert.execution(row)


def _remember(s: sa.orm.Session, automation_id: int, run_id: str, condition: bool, fired: bool) -> None:
    state = s.get(m.AutomationRunState, (automation_id, run_id))
    if state is None:
        state = m.AutomationRunState(automation_id=automation_id, run_id=run_id, condition=condition)
        s.add(state)
    state.condition = condition
    if fired:
        state.last_fired_at = _now()


def remember_condition(db: Database, automation_id: int, run_id: str, condition: bool) -> None:
    """Record the condition value when nothing fires (so the next false→true edge is seen)."""
    with db.session() as s:
        _remember(s, automation_id, run_id, condition, fired=False)


def run_state(db: Database, automation_id: int, run_id: str) -> tuple[bool, datetime | None]:
    """(last condition value, last firing time) of an automation for a run."""
    with db.session() as s:
        state = s.get(m.AutomationRunState, (automation_id, run_id))
        return (False, None) if state is None else (state.condition, state.last_fired_at)


def run_memories(
    db: Database, run_id: str, automation_ids: list[int],
) -> dict[int, tuple[bool, datetime | None, int | None]]:
    """`run_state` and `edge_step` of many automations for one run in a few queries:
    {automation id: (last condition, last firing time, edge step)}; never-seen ones are left out."""
    out: dict[int, tuple[bool, datetime | None, int | None]] = {}
    ids = sorted(set(automation_ids))
    with db.session() as s:
        for start in range(0, len(ids), 400):  # stay under SQL parameter limits
            part = ids[start:start + 400]
            for row in s.scalars(sa.select(m.AutomationRunState).where(
                    m.AutomationRunState.run_id == run_id, m.AutomationRunState.automation_id.in_(part))):
                out[row.automation_id] = (row.condition, row.last_fired_at, None)
            names = {f"edge:{aid}:{run_id}": aid for aid in part}
            for name, position in s.execute(sa.select(m.EngineCursor.name, m.EngineCursor.position)
                                            .where(m.EngineCursor.name.in_(list(names)))):
                condition, fired, _ = out.get(names[name], (False, None, None))
                out[names[name]] = (condition, fired, position)
    return out


def claim_due(db: Database, *, limit: int = 20, lease: timedelta = timedelta(seconds=60)) -> list[e.Execution]:
    """Pending executions whose next attempt is due, leased to this dispatcher.

    The lease (moving `next_attempt_at` forward with a compare-and-set) keeps two engines on one
    database from sending the same delivery at once; an engine killed mid-send leaves a lease
    that simply expires, and the next dispatcher resumes with the same delivery id.
    """
    now = _now()
    claimed = []
    with db.session() as s:
        rows = s.execute(
            sa.select(m.Execution.id, m.Execution.next_attempt_at)
            .where(m.Execution.status == "pending", m.Execution.next_attempt_at <= now)
            .order_by(m.Execution.next_attempt_at).limit(limit)
        ).all()
    for exec_id, due in rows:
        with db.session() as s:
            result = s.execute(
                sa.update(m.Execution)
                .where(m.Execution.id == exec_id, m.Execution.status == "pending",
                       m.Execution.next_attempt_at == due)
                .values(next_attempt_at=now + lease)
            )
            if result.rowcount == 1:
                claimed.append(get_execution(db, exec_id, session=s))
    return claimed


def add_attempt(
    db: Database, execution_id: int, *, started_at: datetime, status_code: int | None,
    response_excerpt: str = "", error: str = "", latency_ms: float = 0.0,
) -> None:
    with db.session() as s:
        s.add(m.Attempt(execution_id=execution_id, started_at=started_at, status_code=status_code,
                        response_excerpt=response_excerpt[:EXCERPT], error=error[:EXCERPT],
                        latency_ms=latency_ms))


def schedule_retry(db: Database, execution_id: int, at: datetime, reason: str) -> None:
    with db.session() as s:
        s.execute(sa.update(m.Execution).where(m.Execution.id == execution_id)
                  .values(next_attempt_at=at, reason=reason))


def complete(db: Database, execution_id: int, status: str, reason: str = "", action: dict | None = None) -> None:
    """Close an execution as finished/failed (or reopen it as pending for a resend)."""
    with db.session() as s:
        row = s.get(m.Execution, execution_id)
        if row is None:
            raise NotFound(f"no execution {execution_id}")
        row.status = status
        row.reason = reason
        if action is not None:
            row.action = action
        row.finished_at = None if status == "pending" else _now()
        row.next_attempt_at = _now() if status == "pending" else None
        events.record(s, events.EXECUTION_CHANGED, project_id=row.project_id, run_id=row.run_id,
                      payload={"id": row.id, "status": status})


def get_execution(db: Database, execution_id: int, *, session: sa.orm.Session | None = None) -> e.Execution:
    def load(s: sa.orm.Session) -> e.Execution:
        row = s.get(m.Execution, execution_id)
        if row is None:
            raise NotFound(f"no execution {execution_id}")
        attempts = list(s.scalars(sa.select(m.Attempt).where(m.Attempt.execution_id == execution_id)
                                  .order_by(m.Attempt.id)))
        return convert.execution(row, attempts)

    if session is not None:
        return load(session)
    with db.session() as s:
        return load(s)


def find_by_delivery_id(db: Database, delivery_id: str) -> e.Execution | None:
    """The execution with this delivery id (the id a webhook receiver sees), if any."""
    with db.session() as s:
        row = s.scalar(sa.select(m.Execution).where(m.Execution.delivery_id == delivery_id))
        return None if row is None else convert.execution(row)


def list_executions(
    db: Database, *, project_id: int | None = None, automation_id: int | None = None,
    status: str | None = None, limit: int = 500,
) -> list[e.Execution]:
    """Newest first, with attempts."""
    with db.session() as s:
        q = sa.select(m.Execution).order_by(m.Execution.triggered_at.desc(), m.Execution.id.desc()).limit(limit)
        if project_id is not None:
            q = q.where(m.Execution.project_id == project_id)
        if automation_id is not None:
            q = q.where(m.Execution.automation_id == automation_id)
        if status is not None:
            q = q.where(m.Execution.status == status)
        rows = list(s.scalars(q))
        by_exec: dict[int, list[m.Attempt]] = {r.id: [] for r in rows}
        if rows:
            for a in s.scalars(sa.select(m.Attempt).where(m.Attempt.execution_id.in_(list(by_exec)))
                               .order_by(m.Attempt.id)):
                by_exec[a.execution_id].append(a)
        return [convert.execution(r, by_exec[r.id]) for r in rows]


def last_execution_times(db: Database, project_id: int | None = None) -> dict[int, datetime]:
    with db.session() as s:
        q = sa.select(m.Execution.automation_id, sa.func.max(m.Execution.triggered_at)).group_by(m.Execution.automation_id)
        if project_id is not None:
            q = q.where(m.Execution.project_id == project_id)
        return {aid: t.replace(tzinfo=timezone.utc) if t and t.tzinfo is None else t
                for aid, t in s.execute(q).all() if aid is not None}


# --- engine coordination (added for the engine; new functions only) ------------------------------
# Both live in the engine_cursors table: a lease is a cursor whose position packs its expiry and
# its holder, and an edge step is the per-(automation, run) position of the last state change.

_LEASE_HOLDER_BITS = 20


def try_lease(db: Database, name: str, holder: int, ttl: timedelta) -> bool:
    """Take or renew the named lease for `holder` (a 20-bit tag) if it is free, expired or ours.

    Used so that only one engine per database evaluates events (two would both see the same
    false→true edge). Compare-and-set: of two engines racing, exactly one wins.
    """
    holder &= (1 << _LEASE_HOLDER_BITS) - 1
    key = f"lease:{name}"
    now_s = int(_now().timestamp())
    new = ((now_s + max(1, int(ttl.total_seconds()))) << _LEASE_HOLDER_BITS) | holder
    try:
        with db.session() as s:
            row = s.get(m.EngineCursor, key)
            if row is None:
                s.add(m.EngineCursor(name=key, position=new))
                s.flush()
                return True
            old = row.position
            if (old & ((1 << _LEASE_HOLDER_BITS) - 1)) != holder and (old >> _LEASE_HOLDER_BITS) > now_s:
                return False
            result = s.execute(sa.update(m.EngineCursor)
                               .where(m.EngineCursor.name == key, m.EngineCursor.position == old)
                               .values(position=new))
            return result.rowcount == 1
    except sa.exc.IntegrityError:
        return False  # another engine created the lease first


def release_lease(db: Database, name: str, holder: int) -> None:
    holder &= (1 << _LEASE_HOLDER_BITS) - 1
    with db.session() as s:
        row = s.get(m.EngineCursor, f"lease:{name}")
        if row is not None and (row.position & ((1 << _LEASE_HOLDER_BITS) - 1)) == holder:
            row.position = holder  # expired at the epoch


def edge_step(db: Database, automation_id: int, run_id: str) -> int | None:
    """The step at which this automation's condition for this run last changed (None: never)."""
    with db.session() as s:
        row = s.get(m.EngineCursor, f"edge:{automation_id}:{run_id}")
        return None if row is None else row.position


def set_edge_step(db: Database, automation_id: int, run_id: str, step: int) -> None:
    """Remember where the last change happened, so replaying older steps cannot fire again."""
    with db.session() as s:
        key = f"edge:{automation_id}:{run_id}"
        row = s.get(m.EngineCursor, key)
        if row is None:
            s.add(m.EngineCursor(name=key, position=step))
        elif step > row.position:
            row.position = step
