"""The Runs sub-tab: rows from the store, sorting on raw values, filtering, live refresh."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, seed_run, tasks, ui_ctx, watcher  # noqa: E402, F401

from desktop.runs_table import (  # noqa: E402
    BASE_COLUMNS, RunsFilterProxy, RunsPage, RunsTableModel, format_duration, run_duration,
)
from store import runs, teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def project(ui_ctx):
    return teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")


@pytest.fixture
def three_runs(ui_ctx, project):
    db = ui_ctx.db
    a = seed_run(db, project.id, {"acc": [0.5, 0.91], "loss": [1.0, 0.3]}, name="alpha", tags=["baseline"])
    b = seed_run(db, project.id, {"acc": [0.2, 0.55], "loss": [2.0, 1.1], "lr": [0.1]}, name="bravo",
                 username="bob")
    c = seed_run(db, project.id, {"loss": [3.0]}, name="charlie", tags=["sweep", "big"])
    runs.set_state(db, b.id, "failed", exit_code=1, error_tail="Traceback ...\nValueError: boom")
    runs.set_state(db, a.id, "finished", exit_code=0)
    return [runs.get_run(db, r.id) for r in (a, b, c)]


def column_values(model, column: int) -> list[str]:
    return [model.index(row, column).data() for row in range(model.rowCount())]


def test_model_rows_columns_and_values(qapp, three_runs):
    model = RunsTableModel()
    model.set_runs(three_runs, ["acc", "loss", "lr", "zzz"])
    assert model.rowCount() == 3
    assert model.columnCount() == len(BASE_COLUMNS) + 3  # at most 3 metric columns
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Name", "State", "User", "Tags", "Created", "Duration", "acc", "loss", "lr"]
    assert column_values(model, 0) == ["alpha", "bravo", "charlie"]
    assert column_values(model, 1) == ["finished", "failed", "running"]
    assert column_values(model, 2) == ["alice", "bob", "alice"]
    assert column_values(model, 3) == ["baseline", "", "sweep, big"]
    assert column_values(model, 6) == ["0.91", "0.55", ""]
    assert column_values(model, 7) == ["0.3", "1.1", "3"]
    assert "ValueError: boom" in model.index(1, 1).data(Qt.ItemDataRole.ToolTipRole)


def test_proxy_sorts_numerically_and_filters_every_column(qapp, three_runs):
    model = RunsTableModel()
    model.set_runs(three_runs, ["acc", "loss"])
    proxy = RunsFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(6, Qt.SortOrder.AscendingOrder)  # acc; charlie has none → last
    assert column_values(proxy, 0) == ["bravo", "alpha", "charlie"]
    proxy.sort(7, Qt.SortOrder.DescendingOrder)  # loss 3 > 1.1 > 0.3 (not "3" < "1.1" as text)
    assert column_values(proxy, 0) == ["charlie", "bravo", "alpha"]
    proxy.setFilterFixedString("SWEEP")
    assert column_values(proxy, 0) == ["charlie"]
    proxy.setFilterFixedString("failed")
    assert column_values(proxy, 0) == ["bravo"]
    proxy.setFilterFixedString("")
    assert proxy.rowCount() == 3


def test_durations():
    assert format_duration(5) == "5s" and format_duration(75) == "1m 15s" and format_duration(3725) == "1h 02m"
    from store import entities as e

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    run = e.Run(id="r", project_id=1, name="n", username="u", group=None, tags=(), config={}, summary={},
                state="crashed", created_at=t0, heartbeat_at=t0 + timedelta(minutes=3), finished_at=None,
                exit_code=None, error_tail=None, last_step=0)
    assert run_duration(run) == 180  # a crashed run lasted until its last heartbeat


def test_page_loads_filters_and_follows_new_runs(qtbot, ui_ctx, project, tasks, watcher, three_runs, artifacts_dir):
    page = RunsPage(ui_ctx, tasks, watcher, project.id)
    qtbot.addWidget(page)
    page.resize(900, 300)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.show()
    assert page.proxy.rowCount() == 3
    qtbot.keyClicks(page.filter_edit, "bob")
    assert column_values(page.proxy, 0) == ["bravo"]
    page.filter_edit.clear()
    page.grab().save(str(artifacts_dir / "runs-table.png"))

    seed_run(ui_ctx.db, project.id, {"acc": [0.1]}, name="delta")  # run_created + metrics events
    qtbot.waitUntil(lambda: page.model.rowCount() == 4, timeout=10_000)
    assert "delta" in column_values(page.model, 0)
