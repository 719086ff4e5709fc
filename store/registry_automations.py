"""Automations of one registry (scope "registry" or "collection" with `scope.registry_id`) and their
history, with the registry role enforced: viewers of a registry cannot create, change or delete its
automations. Additive helpers over `store.automations` and `store.executions`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from store import automations, executions
from store import entities as e
from store import registries
from store.db import Database

REGISTRY_SCOPES = ("registry", "collection")


def registry_of(automation: e.Automation) -> int | None:
    """The registry an automation watches, or None for project automations."""
    if automation.scope_type not in REGISTRY_SCOPES:
        return None
    scope = (automation.event_filter or {}).get("scope")
    value = scope.get("registry_id") if isinstance(scope, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def list_registry_automations(db: Database, team_id: int, registry_id: int) -> list[e.Automation]:
    """The team's automations scoped to this registry or one of its collections, by name."""
    return [a for a in automations.list_automations(db, team_id=team_id) if registry_of(a) == registry_id]


def _require_writer(db: Database, registry_id: int, username: str, what: str) -> None:
    registries.require_access(db, registry_id, username, "member", what)


def require_access(db: Database, event_filter: dict[str, Any] | None, username: str) -> None:
    """Refuse a registry viewer creating or editing an automation scoped to that registry."""
    registry_id = ((event_filter or {}).get("scope") or {}).get("registry_id")
    if registry_id is not None:
        _require_writer(db, int(registry_id), username, "create or edit automations")


def create_registry_automation(
    db: Database, *, team_id: int, registry_id: int, username: str, name: str, event_type: str,
    event_filter: dict[str, Any], action_type: str, action_config: dict[str, Any],
    scope_type: str = "registry", description: str = "", enabled: bool = True,
) -> e.Automation:
    """Create an automation on this registry; `event_filter["scope"]["registry_id"]` must name it."""
    if scope_type not in REGISTRY_SCOPES:
        raise ValueError(f"scope_type must be one of {REGISTRY_SCOPES}")
    scope = dict(event_filter.get("scope") or {})
    if scope.get("registry_id") != registry_id:
        raise ValueError("event_filter.scope.registry_id must be the registry's id")
    _require_writer(db, registry_id, username, "create automations")
    return automations.create_automation(
        db, team_id=team_id, project_id=None, name=name, event_type=event_type, event_filter=event_filter,
        action_type=action_type, action_config=action_config, description=description, enabled=enabled,
        created_by=username, scope_type=scope_type, cooldown_seconds=0,
    )


def set_enabled(db: Database, automation_id: int, enabled: bool, *, username: str) -> e.Automation:
    automation = automations.get_automation(db, automation_id)
    registry_id = registry_of(automation)
    if registry_id is not None:
        _require_writer(db, registry_id, username, "change automations")
    return automations.set_enabled(db, automation_id, enabled)


def delete(db: Database, automation_id: int, *, username: str) -> None:
    automation = automations.get_automation(db, automation_id)
    registry_id = registry_of(automation)
    if registry_id is not None:
        _require_writer(db, registry_id, username, "delete automations")
    automations.delete_automation(db, automation_id)


def list_registry_executions(
    db: Database, automation_ids: list[int], *, status: str | None = None, limit: int = 500,
) -> list[e.Execution]:
    """Executions of these automations, newest first, with their attempts (a registry has few)."""
    found = [x for automation_id in automation_ids
             for x in executions.list_executions(db, automation_id=automation_id, status=status, limit=limit)]
    found.sort(key=lambda x: (x.triggered_at, x.id), reverse=True)
    return found[:limit]


def last_execution_times(db: Database, automation_ids: list[int]) -> dict[int, datetime]:
    """automation id → time of its newest execution (for the list's "Last execution" column)."""
    wanted = set(automation_ids)
    return {k: v for k, v in executions.last_execution_times(db).items() if k in wanted} if wanted else {}
