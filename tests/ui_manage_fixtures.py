"""Fixtures for the management pages (Automations, Team Settings): contexts, keyrings, data.

Import the fixtures by name in a test module (`from tests.ui_manage_fixtures import ...`).
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.core
import pytest

from desktop.context import AppContext
from store import automations, executions, teams
from store import entities as e
from store.db import Database
from tests.support.memory_keyring import MemoryKeyring, memory_keyring  # noqa: F401 (re-exported fixture)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The offscreen platform plugin says this for every shown top-level window; it is not ours.
OFFSCREEN_NOISE = (r"This plugin does not support propagateSizeHints\(\)",)


def _use_keyring(backend: keyring.backend.KeyringBackend) -> Iterator[keyring.backend.KeyringBackend]:
    previous = getattr(keyring.core, "_keyring_backend", None)
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.core._keyring_backend = previous  # type: ignore[attr-defined]


@pytest.fixture
def no_keyring() -> Iterator[keyring.backend.KeyringBackend]:
    """The keyring library's "no backend" stand-in: every secret operation must refuse."""
    yield from _use_keyring(keyring.backends.fail.Keyring())


@pytest.fixture
def admin_ctx(db: Database) -> AppContext:
    team, user = teams.ensure_default_team(db, "alice")
    assert user.role == "admin"
    return AppContext(db, team, user)


@pytest.fixture
def viewer_ctx(db: Database, admin_ctx: AppContext) -> AppContext:
    _, member = teams.ensure_default_team(db, "victor")
    viewer = teams.set_role(db, member.id, "viewer")
    return AppContext(db, admin_ctx.team, viewer)


@pytest.fixture
def project(db: Database, admin_ctx: AppContext) -> e.Project:
    return teams.get_or_create_project(db, admin_ctx.team.id, "digits")


@pytest.fixture
def tasks(qapp: Any) -> Iterator[Any]:
    from desktop.tasks import TaskRunner

    runner = TaskRunner()
    yield runner
    assert runner.wait_idle(10_000)
    qapp.processEvents()


@pytest.fixture
def watcher(db: Database, qapp: Any) -> Iterator[Any]:
    from desktop.store_watcher import StoreWatcher

    follower = StoreWatcher(db, interval_s=0.05)
    follower.start()
    yield follower
    follower.stop()


def threshold_filter(metric: str, agg: str | None, window: int, cmp: str, threshold: float) -> dict[str, Any]:
    return {
        "run_filter": '{"$and": []}',
        "run_metric_filter": {"threshold_filter": {
            "name": metric, "agg_op": agg, "window_size": window, "cmp_op": cmp, "threshold": threshold,
        }},
    }


def make_automation(
    db: Database, ctx: AppContext, project: e.Project, name: str, *,
    metric: str = "val/acc", agg: str | None = "AVERAGE", window: int = 5, cmp: str = "$gt",
    threshold: float = 0.9, action_type: str = "DESKTOP_NOTIFICATION",
    action_config: dict[str, Any] | None = None, enabled: bool = True,
) -> e.Automation:
    return automations.create_automation(
        db, team_id=ctx.team.id, project_id=project.id, name=name, event_type="RUN_METRIC",
        event_filter=threshold_filter(metric, agg, window, cmp, threshold), action_type=action_type,
        action_config=action_config if action_config is not None
        else {"title": name, "message": "crossed", "severity": "INFO"},
        enabled=enabled, created_by=ctx.user.username,
    )


def make_execution(
    db: Database, automation: e.Automation, *, status: str, run_name: str = "golden-sun-3",
    value: float = 0.93, attempts: Sequence[tuple[int | None, str, str]] = (),
    action: dict[str, Any] | None = None,
) -> e.Execution:
    """An execution with `attempts` of (HTTP status, response excerpt, error), closed as `status`."""
    execution = executions.record_firing(
        db, automation=automation, project_id=automation.project_id, run_id="0ro45k91",
        event_type=automation.event_type,
        event={"run_name": run_name, "metric_name": "val/acc", "metric_value": value,
               "metric_values": [0.91, 0.92, value], "metric_filter": "AVERAGE(val/acc) over 5 > 0.9"},
        action_type=automation.action_type,
        action=action if action is not None else dict(automation.action_config),
        status="pending",
    )
    for n, (code, excerpt, error) in enumerate(attempts):
        executions.add_attempt(
            db, execution.id, started_at=datetime.now(timezone.utc), status_code=code,
            response_excerpt=excerpt, error=error, latency_ms=12.5 + n,
        )
    if status != "pending":
        executions.complete(db, execution.id, status, reason="" if status == "finished" else f"{status} in test")
    return executions.get_execution(db, execution.id)


def database_bytes(db: Database) -> bytes:
    """Every byte SQLite keeps for this database: the main file, its WAL and shared memory."""
    db.engine.dispose()  # the last connection closing checkpoints the WAL; read whatever is left too
    path = Path(db.engine.url.database or "")
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")) if p.is_file())


def save_screenshot(widget: Any, name: str) -> Path:
    folder = Path(__file__).resolve().parents[1] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    target = folder / name
    assert widget.grab().save(str(target))
    return target
