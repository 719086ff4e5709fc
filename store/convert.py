"""ORM row → entity conversion, one function per kind, used by every store module."""
from __future__ import annotations

from typing import Any

from store import entities as e
from store import models as m


def team(row: m.Team) -> e.Team:
    return e.Team(id=row.id, name=row.name)


def user(row: m.User) -> e.User:
    return e.User(row.id, row.team_id, row.username, row.display_name, row.role)


def project(row: m.Project) -> e.Project:
    return e.Project(row.id, row.team_id, row.name, row.created_at)


def run(row: m.Run) -> e.Run:
    return e.Run(
        id=row.id, project_id=row.project_id, name=row.name, username=row.username,
        group=row.group, tags=tuple(row.tags or ()), config=dict(row.config or {}),
        summary=dict(row.summary or {}), state=row.state, created_at=row.created_at,
        heartbeat_at=row.heartbeat_at, finished_at=row.finished_at, exit_code=row.exit_code,
        error_tail=row.error_tail, last_step=row.last_step,
    )


def event(row: m.Event) -> e.Event:
    return e.Event(row.id, row.type, row.project_id, row.run_id, dict(row.payload or {}), row.created_at)


def _object(value: Any) -> dict[str, Any]:
    """A stored JSON object as a dict; anything else (a row edited by hand) as a marker the engine
    reports as invalid, instead of failing every read of the table."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    return {e.UNREADABLE: f"the stored value is {type(value).__name__}, not a JSON object"}


def automation(row: m.Automation) -> e.Automation:
    return e.Automation(
        id=row.id, team_id=row.team_id, project_id=row.project_id, name=row.name,
        description=row.description, enabled=row.enabled, created_by=row.created_by,
        scope_type=row.scope_type, event_type=row.event_type,
        event_filter=_object(row.event_filter), action_type=row.action_type,
        action_config=_object(row.action_config), cooldown_seconds=row.cooldown_seconds,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def integration(row: m.Integration) -> e.Integration:
    return e.Integration(row.id, row.team_id, row.kind, row.name, dict(row.config or {}), row.created_at)


def secret_name(row: m.SecretName) -> e.SecretName:
    return e.SecretName(row.id, row.team_id, row.name, row.created_at, row.updated_at)


def attempt(row: m.Attempt) -> e.Attempt:
    return e.Attempt(
        row.id, row.execution_id, row.started_at, row.status_code, row.response_excerpt,
        row.error, row.latency_ms,
    )


def execution(row: m.Execution, attempts: list[m.Attempt] | None = None) -> e.Execution:
    return e.Execution(
        id=row.id, automation_id=row.automation_id, automation_name=row.automation_name,
        project_id=row.project_id, run_id=row.run_id, scope=row.scope,
        triggered_at=row.triggered_at, event_type=row.event_type, event=dict(row.event or {}),
        action_type=row.action_type, action=dict(row.action or {}), status=row.status,
        reason=row.reason, delivery_id=row.delivery_id, is_test=row.is_test,
        next_attempt_at=row.next_attempt_at, finished_at=row.finished_at,
        attempts=tuple(attempt(a) for a in attempts or ()),
    )
