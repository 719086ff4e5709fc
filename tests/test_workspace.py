"""The workspace: one panel per metric, curves equal to the stored points, live updates through
the event log, the bell per panel, and automation threshold lines."""
from __future__ import annotations

import math
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QEnterEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QToolButton  # noqa: E402
from ui_fixtures import (  # noqa: E402, F401
    OFFSCREEN_NOISE, append, seed_run, tasks, threshold_automation, ui_ctx, watcher,
)

from desktop.workspace import WorkspaceView  # noqa: E402
from desktop.workspace.buffers import SeriesBuffer  # noqa: E402
from store import automations, teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def project(ui_ctx):
    return teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")


def make_view(qtbot, ui_ctx, tasks, watcher, project) -> WorkspaceView:
    view = WorkspaceView(ui_ctx, tasks, watcher, project.id)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitUntil(lambda: view.is_loaded, timeout=10_000)
    # panels added to a shown grid become visible on the next event-loop turn
    qtbot.waitUntil(lambda: all(view.panel(k).isVisible() for k in view.metrics()), timeout=5000)
    return view


def curve_data(view: WorkspaceView, run_id: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    curve = view.curve(run_id, metric)
    assert curve is not None, f"no curve for {run_id}/{metric}"
    return curve.xData, curve.yData


def has_points(view: WorkspaceView, run_id: str, metric: str, count: int) -> bool:
    curve = view.curve(run_id, metric)
    return curve is not None and curve.xData is not None and len(curve.xData) == count


def test_one_panel_per_metric_and_curves_hold_the_stored_points(qtbot, ui_ctx, tasks, watcher, project,
                                                                  artifacts_dir):
    loss_a = [2.3 * math.exp(-i / 15) for i in range(40)]
    acc_a = [min(0.99, 0.1 + i * 0.03) for i in range(40)]
    run_a = seed_run(ui_ctx.db, project.id, {"train/loss": loss_a, "val/acc": acc_a}, name="golden-sun-1")
    run_b = seed_run(ui_ctx.db, project.id, {"train/loss": [1.0, 0.9, 0.7]}, name="misty-river-2")

    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: has_points(view, run_b.id, "train/loss", 3), timeout=5000)
    qtbot.waitUntil(lambda: has_points(view, run_a.id, "val/acc", 40), timeout=5000)

    assert view.metrics() == ["train/loss", "val/acc"]
    x, y = curve_data(view, run_a.id, "train/loss")
    np.testing.assert_array_equal(x, np.arange(40))
    np.testing.assert_allclose(y, loss_a)
    x, y = curve_data(view, run_b.id, "train/loss")
    np.testing.assert_array_equal(x, [0, 1, 2])
    np.testing.assert_allclose(y, [1.0, 0.9, 0.7])
    assert view.curve(run_b.id, "val/acc") is None  # run b never logged it
    # the same run keeps its colour on every panel; different runs differ
    pen = lambda run_id, key: view.curve(run_id, key).opts["pen"].color().name()  # noqa: E731
    assert pen(run_a.id, "train/loss") == pen(run_a.id, "val/acc") != pen(run_b.id, "train/loss")
    assert view.panel("train/loss").legend_entries() == ["golden-sun-1", "misty-river-2"]
    assert "misty-river-2" in view.panel("train/loss").legend_label.text()
    view.grab().save(str(artifacts_dir / "workspace-two-runs.png"))


def test_live_points_are_appended_without_refetching_old_ones(qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {"train/loss": [1.0, 0.8]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: has_points(view, run.id, "train/loss", 2), timeout=5000)

    append(ui_ctx.db, run.id, {"train/loss": [0.6, 0.5, 0.45]}, first_step=2)
    qtbot.waitUntil(lambda: has_points(view, run.id, "train/loss", 5), timeout=10_000)
    x, y = curve_data(view, run.id, "train/loss")
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(y, [1.0, 0.8, 0.6, 0.5, 0.45])

    # a new metric key gets a new panel; a new run gets a new curve on the existing panel
    append(ui_ctx.db, run.id, {"val/acc": [0.5, 0.7]}, first_step=5)
    other = seed_run(ui_ctx.db, project.id, {"train/loss": [3.0]}, name="late-run")
    qtbot.waitUntil(lambda: has_points(view, run.id, "val/acc", 2), timeout=10_000)
    qtbot.waitUntil(lambda: has_points(view, other.id, "train/loss", 1), timeout=10_000)
    assert view.metrics() == ["train/loss", "val/acc"]
    assert view.panel("train/loss").legend_entries()[-1] == "late-run"
    assert view._timer.objectName() == "workspace-repaint"


def test_a_run_in_another_project_is_not_drawn(qtbot, ui_ctx, tasks, watcher, project):
    other_project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "elsewhere")
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    seed_run(ui_ctx.db, other_project.id, {"loss": [1.0]})
    mine = seed_run(ui_ctx.db, project.id, {"acc": [0.5]})
    qtbot.waitUntil(lambda: has_points(view, mine.id, "acc", 1), timeout=10_000)
    assert view.metrics() == ["acc"]


def test_nan_and_inf_values_plot_without_warnings(qtbot, ui_ctx, tasks, watcher, project, artifacts_dir):
    run = seed_run(ui_ctx.db, project.id, {"loss": [0.9, 0.8, float("nan"), 0.7, float("inf"), 0.6]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    # non-finite values are stored, but the line is drawn through the finite ones
    qtbot.waitUntil(lambda: has_points(view, run.id, "loss", 4), timeout=5000)
    x, y = curve_data(view, run.id, "loss")
    np.testing.assert_array_equal(x, [0, 1, 3, 5])
    np.testing.assert_allclose(y, [0.9, 0.8, 0.7, 0.6])
    lone = seed_run(ui_ctx.db, project.id, {"loss": [0.75]})
    qtbot.waitUntil(lambda: has_points(view, lone.id, "loss", 1), timeout=10_000)
    lone_dot = view.panel_curve(lone.id, "loss").dot  # one point: a dot, not an invisible line
    assert lone_dot is not None and list(lone_dot.data["x"]) == [0]
    assert view.panel_curve(run.id, "loss").dot is None
    view.grab().save(str(artifacts_dir / "workspace-nan.png"))


def test_bell_button_per_panel_opens_the_prefilled_dialog(qtbot, ui_ctx, tasks, watcher, project,
                                                          artifacts_dir):
    run = seed_run(ui_ctx.db, project.id, {"train/loss": [1.0, 0.5, 0.4], "val/acc": [0.5, 0.8, 0.85]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: has_points(view, run.id, "val/acc", 3), timeout=5000)
    panel = view.panel("val/acc")
    bell = panel.findChild(QToolButton, "bell-val/acc")
    assert bell is not None and view.panel("train/loss").findChild(QToolButton, "bell-train/loss")
    assert bell.accessibleName() == "Create alert for val/acc"
    assert not bell.isVisible()  # only on hover
    QApplication.sendEvent(panel, QEnterEvent(QPoint(5, 5), QPoint(5, 5), QPoint(5, 5)))
    assert bell.isVisible()
    view.grab().save(str(artifacts_dir / "workspace-bell-hover.png"))

    with qtbot.waitSignal(view.bell_dialog_opened, timeout=5000) as opened:
        qtbot.mouseClick(bell, Qt.MouseButton.LeftButton)
    dialog = opened.args[0]
    assert dialog.isVisible()
    assert dialog.metric_label.text() == "val/acc"
    assert dialog.name_edit.text() == "val/acc avg5 >"
    assert dialog.window_spin.value() == 5
    dialog.reject()


def test_threshold_lines_follow_enabled_automations(qtbot, ui_ctx, tasks, watcher, project, artifacts_dir):
    seed_run(ui_ctx.db, project.id, {"val/acc": [0.2 + 0.02 * i for i in range(40)], "loss": [1.0, 0.5]})
    auto = threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="acc high", metric="val/acc",
                                threshold=0.9)
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="off", metric="val/acc", threshold=0.3,
                         enabled=False)
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    lines = view.panel("val/acc").threshold_lines
    assert [line.value() for line in lines] == [0.9]
    assert lines[0].angle == 0
    assert lines[0].pen.style() == Qt.PenStyle.DashLine
    assert view.panel("loss").threshold_lines == []
    view.grab().save(str(artifacts_dir / "workspace-threshold.png"))

    # a new automation (an `automation_changed` event) adds its line; disabling removes it
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="loss low", metric="loss", threshold=0.2)
    qtbot.waitUntil(lambda: [ln.value() for ln in view.panel("loss").threshold_lines] == [0.2], timeout=10_000)
    automations.set_enabled(ui_ctx.db, auto.id, False)
    qtbot.waitUntil(lambda: view.panel("val/acc").threshold_lines == [], timeout=10_000)


def test_panels_follow_a_palette_change(qtbot, ui_ctx, tasks, watcher, project):
    from PySide6.QtGui import QColor, QPalette

    seed_run(ui_ctx.db, project.id, {"loss": [1.0, 0.5]})
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="low", metric="loss", threshold=0.2)
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    panel = view.panel("loss")
    dark = QPalette(panel.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#eeeeee"))
    panel.setPalette(dark)
    assert panel.plot.backgroundBrush().color().name() == "#1e1e1e"
    assert [line.value() for line in panel.threshold_lines] == [0.2]  # redrawn, not lost


def test_empty_project_says_how_to_log(qtbot, ui_ctx, tasks, watcher, project):
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    assert view.metrics() == []
    assert "rb.init" in view._status.text() and view._status.isVisible()


def test_series_buffer_grows_and_drops_repeated_steps():
    buffer = SeriesBuffer(capacity=2)
    assert buffer.extend(np.array([0, 1, 2]), np.array([1.0, 2.0, 3.0])) == 3
    assert buffer.extend(np.array([2, 3]), np.array([9.0, 4.0])) == 1  # step 2 was already there
    np.testing.assert_array_equal(buffer.steps, [0, 1, 2, 3])
    np.testing.assert_array_equal(buffer.values, [1.0, 2.0, 3.0, 4.0])
    assert buffer.finite
    buffer.extend(np.array([4]), np.array([float("nan")]))
    assert not buffer.finite and buffer.last_step == 4
