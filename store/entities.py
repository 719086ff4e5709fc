"""Plain frozen dataclasses the store hands out. Widgets and the engine only ever see these."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RUN_STATES = ("running", "finished", "failed", "crashed", "killed")
ROLES = ("admin", "member", "viewer")


# The key of what a stored JSON object reads as when it cannot be read (a row edited by hand):
# {UNREADABLE: why}. One bad row must not make every read of its table fail; the engine reports
# an automation holding it as invalid.
UNREADABLE = "__unreadable__"

@dataclass(frozen=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True)
class User:
    id: int
    team_id: int
    username: str
    display_name: str
    role: str


@dataclass(frozen=True)
class Project:
    id: int
    team_id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Run:
    id: str
    project_id: int
    name: str
    username: str
    group: str | None
    tags: tuple[str, ...]
    config: dict[str, Any]
    summary: dict[str, Any]
    state: str
    created_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    exit_code: int | None
    error_tail: str | None
    last_step: int


@dataclass(frozen=True)
class MetricPoint:
    run_id: str
    key: str
    step: int
    value: float
    wall_time: float


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    project_id: int | None
    run_id: str | None
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Automation:
    id: int
    team_id: int
    project_id: int | None
    name: str
    description: str
    enabled: bool
    created_by: str
    scope_type: str
    event_type: str
    event_filter: dict[str, Any]
    action_type: str
    action_config: dict[str, Any]
    cooldown_seconds: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Integration:
    id: int
    team_id: int
    kind: str  # "slack" | "webhook"
    name: str
    config: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class SecretName:
    id: int
    team_id: int
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Attempt:
    id: int
    execution_id: int
    started_at: datetime
    status_code: int | None
    response_excerpt: str
    error: str
    latency_ms: float


@dataclass(frozen=True)
class Execution:
    id: int
    automation_id: int | None
    automation_name: str
    project_id: int | None
    run_id: str | None
    scope: str
    triggered_at: datetime
    event_type: str
    event: dict[str, Any]
    action_type: str
    action: dict[str, Any]
    status: str
    reason: str
    delivery_id: str
    is_test: bool
    next_attempt_at: datetime | None
    finished_at: datetime | None
    attempts: tuple[Attempt, ...] = field(default=())
