"""Automation definitions: create, read, update (keeping untouched fields), enable, delete."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc

from store import convert
from store import entities as e
from store import events
from store import models as m
from store.db import Database
from store.errors import NotFound, ValidationError

MAX_NAME = 255
DEFAULT_COOLDOWN_SECONDS = 24 * 3600
_UPDATABLE = {
    "name", "description", "enabled", "event_type", "event_filter", "action_type",
    "action_config", "cooldown_seconds", "scope_type", "project_id",
}


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("an automation needs a name")
    if len(name) > MAX_NAME:
        raise ValidationError(f"an automation name has at most {MAX_NAME} characters")
    return name


def _check_cooldown(seconds: int) -> int:
    if int(seconds) < 0:
        raise ValidationError("the cooldown cannot be negative")
    return int(seconds)


def create_automation(
    db: Database,
    *,
    team_id: int,
    project_id: int | None,
    name: str,
    event_type: str,
    event_filter: dict[str, Any],
    action_type: str,
    action_config: dict[str, Any],
    description: str = "",
    enabled: bool = True,
    created_by: str = "",
    scope_type: str = "project",
    cooldown_seconds: int = DEFAULT_COOLDOWN_SECONDS,
) -> e.Automation:
    row = m.Automation(
        team_id=team_id, project_id=project_id, name=_check_name(name), description=description,
        enabled=enabled, created_by=created_by, scope_type=scope_type, event_type=event_type,
        event_filter=dict(event_filter), action_type=action_type, action_config=dict(action_config),
        cooldown_seconds=_check_cooldown(cooldown_seconds),
    )
    try:
        with db.session() as s:
            s.add(row)
            s.flush()
            events.record(s, events.AUTOMATION_CHANGED, project_id=project_id,
                          payload={"id": row.id, "change": "created"})
            return convert.automation(row)
    except sa_exc.IntegrityError as exc:
        raise ValidationError(f"an automation named {name.strip()!r} already exists") from exc


def update_automation(db: Database, automation_id: int, **fields: Any) -> e.Automation:
    """Change only the given fields; everything else stays exactly as stored (case C1)."""
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValidationError(f"cannot update {', '.join(sorted(unknown))}")
    if "name" in fields:
        fields["name"] = _check_name(fields["name"])
    if "cooldown_seconds" in fields:
        fields["cooldown_seconds"] = _check_cooldown(fields["cooldown_seconds"])
    try:
        with db.session() as s:
            row = s.get(m.Automation, automation_id)
            if row is None:
                raise NotFound(f"no automation {automation_id}")
            for key, value in fields.items():
                setattr(row, key, dict(value) if isinstance(value, dict) else value)
            row.updated_at = m.utcnow()
            events.record(s, events.AUTOMATION_CHANGED, project_id=row.project_id,
                          payload={"id": row.id, "change": "updated", "fields": sorted(fields)})
            s.flush()
            return convert.automation(row)
    except sa_exc.IntegrityError as exc:
        raise ValidationError(f"an automation named {fields.get('name')!r} already exists") from exc


def set_enabled(db: Database, automation_id: int, enabled: bool) -> e.Automation:
    return update_automation(db, automation_id, enabled=enabled)


def delete_automation(db: Database, automation_id: int) -> None:
    """Deleting keeps its history (executions keep the name) and deliveries under way."""
    with db.session() as s:
        row = s.get(m.Automation, automation_id)
        if row is None:
            raise NotFound(f"no automation {automation_id}")
        events.record(s, events.AUTOMATION_CHANGED, project_id=row.project_id,
                      payload={"id": row.id, "change": "deleted"})
        s.delete(row)


def get_automation(db: Database, automation_id: int) -> e.Automation:
    with db.session() as s:
        row = s.get(m.Automation, automation_id)
        if row is None:
            raise NotFound(f"no automation {automation_id}")
        return convert.automation(row)


def list_automations(
    db: Database, *, team_id: int | None = None, project_id: int | None = None,
    event_types: tuple[str, ...] | None = None, enabled_only: bool = False,
) -> list[e.Automation]:
    with db.session() as s:
        q = sa.select(m.Automation).order_by(m.Automation.name)
        if team_id is not None:
            q = q.where(m.Automation.team_id == team_id)
        if project_id is not None:
            q = q.where(m.Automation.project_id == project_id)
        if event_types:
            q = q.where(m.Automation.event_type.in_(event_types))
        if enabled_only:
            q = q.where(m.Automation.enabled.is_(True))
        return [convert.automation(r) for r in s.scalars(q)]
