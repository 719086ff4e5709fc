"""The Runs sub-tab: rows from the store, sorting on raw values, filtering, lazy fetching of
10,000 runs, column choice, the visibility checkbox shared with the workspace, live refresh."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, qsettings_isolated, seed_run, tasks, ui_ctx, watcher  # noqa: E402, F401

from desktop.runs_table import (  # noqa: E402
    BASE_COLUMNS, BATCH, RunsPage, RunsTableModel, format_duration, run_duration,
)
from desktop.workspace.visibility import RunVisibility  # noqa: E402
from store import entities as e  # noqa: E402
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
    assert model.columnCount() == len(BASE_COLUMNS) + 4  # every metric has a column (the page picks)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Name", "State", "User", "Tags", "Created", "Duration", "acc", "loss", "lr", "zzz"]
    assert column_values(model, 0) == ["alpha", "bravo", "charlie"]
    assert column_values(model, 1) == ["finished", "failed", "running"]
    assert column_values(model, 2) == ["alice", "bob", "alice"]
    assert column_values(model, 3) == ["baseline", "", "sweep, big"]
    assert column_values(model, 6) == ["0.91", "0.55", ""]
    assert column_values(model, 7) == ["0.3", "1.1", "3"]
    assert "ValueError: boom" in model.index(1, 1).data(Qt.ItemDataRole.ToolTipRole)


def test_model_sorts_numerically_and_filters_every_column(qapp, three_runs):
    model = RunsTableModel()
    model.set_runs(three_runs, ["acc", "loss"])
    proxy = model
    proxy.sort(6, Qt.SortOrder.AscendingOrder)  # acc; charlie has none → last
    assert column_values(proxy, 0) == ["bravo", "alpha", "charlie"]
    proxy.sort(7, Qt.SortOrder.DescendingOrder)  # loss 3 > 1.1 > 0.3 (not "3" < "1.1" as text)
    assert column_values(proxy, 0) == ["charlie", "bravo", "alpha"]
    proxy.sort(6, Qt.SortOrder.DescendingOrder)  # runs without the metric stay last either way
    assert column_values(proxy, 0) == ["alpha", "bravo", "charlie"]
    proxy.set_filter("SWEEP")
    assert column_values(proxy, 0) == ["charlie"]
    proxy.set_filter("failed")
    assert column_values(proxy, 0) == ["bravo"]
    proxy.set_filter("")
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
    assert page.model.rowCount() == 3
    qtbot.keyClicks(page.filter_edit, "bob")
    assert column_values(page.model, 0) == ["bravo"]
    page.filter_edit.clear()
    page.grab().save(str(artifacts_dir / "runs-table.png"))

    seed_run(ui_ctx.db, project.id, {"acc": [0.1]}, name="delta")  # run_created + metrics events
    qtbot.waitUntil(lambda: page.model.rowCount() == 4, timeout=10_000)
    assert "delta" in column_values(page.model, 0)


def synthetic_runs(count: int) -> list[e.Run]:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    states = ("running", "finished", "failed", "crashed")
    return [
        e.Run(id=f"id{i:05d}", project_id=1, name=f"run-{i:05d}", username=("alice", "bob")[i % 2], group=None,
              tags=("sweep",) if i % 7 == 0 else (), config={},
              summary={"loss": float((i * 7919) % 10_007) / 100} if i % 10 else {}, state=states[i % 4],
              created_at=t0 + timedelta(seconds=i), heartbeat_at=t0 + timedelta(seconds=i + 60),
              finished_at=None, exit_code=None, error_tail=None, last_step=i)
        for i in range(count)
    ]


def test_ten_thousand_runs_fetch_lazily_and_sort_and_filter_all_of_them(qapp):
    model = RunsTableModel()
    many = synthetic_runs(10_000)
    start = time.perf_counter()
    model.set_runs(many, ["loss"])
    assert model.total_rows == 10_000
    assert model.rowCount() == BATCH and model.canFetchMore()  # the view gets rows in batches
    model.fetchMore()
    assert model.rowCount() == 2 * BATCH

    model.sort(6, Qt.SortOrder.AscendingOrder)  # loss: sorts all 10,000, not just the fetched rows
    lowest = min(r.summary["loss"] for r in many if "loss" in r.summary)
    assert model.index(0, 6).data() == f"{lowest:.4g}"
    model.sort(6, Qt.SortOrder.DescendingOrder)
    assert model.index(0, 6).data() == f"{max(r.summary['loss'] for r in many if r.summary):.4g}"
    assert model.run_at(model.total_rows - 1).summary == {}  # no loss: last in both orders
    model.set_filter("RUN-09999")
    assert model.total_rows == 1 and column_values(model, 0) == ["run-09999"]
    model.set_filter("sweep")
    assert model.total_rows == len([r for r in many if r.tags])
    assert model.canFetchMore() == (model.total_rows > BATCH)
    model.set_filter("")
    assert model.total_rows == 10_000 and model.rowCount() == BATCH
    # instant: generous bound so a loaded CI machine does not flake, far below a visible stall
    assert time.perf_counter() - start < 2.0


def test_table_view_fetches_more_when_scrolled_to_the_end(qtbot, qapp):
    from PySide6.QtWidgets import QTableView

    model = RunsTableModel()
    model.set_runs(synthetic_runs(10_000), ["loss"])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(600, 400)
    view.show()
    assert model.rowCount() == BATCH
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > BATCH, timeout=5000)


def test_visibility_checkbox_is_shared_with_the_workspace(qapp):
    visibility = RunVisibility()
    model = RunsTableModel(visibility=visibility)
    model.set_runs(synthetic_runs(3), [])
    cell = model.index(1, 0)
    assert model.flags(cell) & Qt.ItemFlag.ItemIsUserCheckable
    assert model.data(cell, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    changed = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    assert model.setData(cell, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert not visibility.is_visible("id00001") and changed == [1]
    visibility.set_visible("id00001", True)  # e.g. from the workspace
    assert model.data(cell, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked and changed == [1, 1]


def test_column_choice_hides_and_shows_columns_and_is_remembered(qtbot, ui_ctx, project, tasks, watcher, three_runs,
                                                                  qsettings_isolated):
    seed_run(ui_ctx.db, project.id, {"m1": [1.0], "m2": [2.0]}, name="echo")
    page = RunsPage(ui_ctx, tasks, watcher, project.id)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.show()
    names = page.column_names()
    assert names[6:] == ["acc", "loss", "lr", "m1", "m2"]
    shown = [n for i, n in enumerate(names) if not page.table.isColumnHidden(i)]
    assert shown == list(BASE_COLUMNS) + ["acc", "loss", "lr"]  # three metric columns by default
    page.set_column_shown("m2", True)
    page.set_column_shown("User", False)
    page.set_column_shown("Name", False)  # the name always stays
    shown = [n for i, n in enumerate(names) if not page.table.isColumnHidden(i)]
    assert shown == ["Name", "State", "Tags", "Created", "Duration", "acc", "loss", "lr", "m2"]
    page.close()

    again = RunsPage(ui_ctx, tasks, watcher, project.id)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.loaded, timeout=10_000):
        again.show()
    assert [n for i, n in enumerate(again.column_names()) if not again.table.isColumnHidden(i)] == shown
