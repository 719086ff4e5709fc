"""Fixtures and seed helpers for the Qt screens (workspace, bell dialog, runs, main window).

Import the fixtures into a test module: `from ui_fixtures import ui_ctx, tasks, watcher, ...`.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402

from store import automations, runs, teams  # noqa: E402
from store import entities as e  # noqa: E402
from store import models as m  # noqa: E402
from store.db import Database  # noqa: E402

# The offscreen platform warns whenever a shown window's size limits change; a real display does not.
OFFSCREEN_NOISE = (r"This plugin does not support propagateSizeHints\(\)",)


@pytest.fixture
def qsettings_isolated(tmp_path: Path) -> Iterator[Path]:
    """QSettings() of this test reads and writes an INI folder of its own."""
    folder = tmp_path / "qsettings"
    folder.mkdir()
    previous = QSettings.defaultFormat()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder
    QSettings.setDefaultFormat(previous)


@pytest.fixture
def ui_ctx(db: Database):
    from desktop.context import AppContext

    team, user = teams.ensure_default_team(db, "alice")
    return AppContext(db, team, user)


@pytest.fixture
def tasks(qapp, ui_ctx) -> Iterator[object]:
    from desktop.tasks import TaskRunner

    runner = TaskRunner()
    yield runner
    assert runner.wait_idle(10_000), "background tasks still running after the test"
    QCoreApplication.processEvents()  # deliver the last callbacks while the screens still exist


@pytest.fixture
def watcher(qapp, ui_ctx) -> Iterator[object]:
    from desktop.store_watcher import StoreWatcher

    follower = StoreWatcher(ui_ctx.db, interval_s=0.05)
    follower.start()
    yield follower
    follower.stop()


def seed_run(
    db: Database, project_id: int, metrics: dict[str, Iterable[float]], *, name: str | None = None,
    first_step: int = 0, tags: Iterable[str] = (), username: str = "alice", wall0: float = 1_700_000_000.0,
) -> e.Run:
    """A run whose metric `k` has the given values at steps first_step, first_step+1, ..."""
    run = runs.create_run(db, project_id, name=name, username=username, tags=list(tags))
    append(db, run.id, metrics, first_step=first_step, wall0=wall0)
    return runs.get_run(db, run.id)


def append(db: Database, run_id: str, metrics: dict[str, Iterable[float]], *, first_step: int = 0,
           wall0: float = 1_700_000_000.0) -> None:
    points = [
        (key, first_step + i, float(v), wall0 + first_step + i)
        for key, values in metrics.items() for i, v in enumerate(values)
    ]
    runs.append_points(db, run_id, points)


def threshold_automation(
    db: Database, team_id: int, project_id: int, *, name: str, metric: str, threshold: float,
    enabled: bool = True,
) -> e.Automation:
    return automations.create_automation(
        db, team_id=team_id, project_id=project_id, name=name, event_type="RUN_METRIC",
        event_filter={"run_filter": '{"$and": []}', "run_metric_filter": {"threshold_filter": {
            "name": metric, "agg_op": "AVERAGE", "window_size": 5, "cmp_op": "$gt", "threshold": threshold}}},
        action_type="DESKTOP_NOTIFICATION", action_config={"title": name, "message": "", "severity": "INFO"},
        enabled=enabled,
    )


def slack_integration_row(db: Database, team_id: int, channel: str = "#ml-alerts") -> int:
    """A Slack integration row without touching the OS keyring (the dialog only lists them)."""
    with db.session() as s:
        row = m.Integration(team_id=team_id, kind="slack", name=f"acme {channel}",
                            config={"workspace": "acme", "channel": channel, "mode": "webhook"})
        s.add(row)
        s.flush()
        return row.id
