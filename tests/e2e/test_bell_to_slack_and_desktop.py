"""The whole product path on real components (issue: end to end).

Real Xvfb window, real gnome-keyring on a private D-Bus, real dunst receiving notifications,
a real digits training process, the real engine, and a loopback Slack-compatible server.
The user adds a Slack integration in Team Settings, opens the training project's workspace,
clicks the bell on `val/acc`, asks for "average of last 5 above 0.9 → desktop + Slack", and
the alert arrives on both; the Automations tab lists it and its history shows the deliveries.
"""
from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit, QPushButton, QSpinBox, QTableView, QTabWidget, QToolButton

from store import automations, executions, integrations, teams
from tests.e2e.app_fixtures import child as _child
from tests.support.waiting import wait_until

PROJECT = "digits-e2e"


def _add_slack_integration(qtbot, window, ctx, hook_url):
    tabs = _child(window, QTabWidget, "main-tabs")
    tabs.setCurrentWidget(_child(window, object, "tab-team-settings"))
    add = _child(window, QPushButton, "slack-add")
    qtbot.waitUntil(add.isEnabled, timeout=10_000)  # the keyring check runs in a worker
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    dialog = QApplication.activeModalWidget() or window.findChild(object, "slack-dialog")
    qtbot.waitUntil(lambda: window.findChild(QLineEdit, "slack-url") is not None or
                    (QApplication.activeModalWidget() and QApplication.activeModalWidget().findChild(QLineEdit, "slack-url")),
                    timeout=5_000)
    dialog = QApplication.activeModalWidget() or dialog
    QTest.keyClicks(_child(dialog, QLineEdit, "slack-workspace"), "ml-lab")
    QTest.keyClicks(_child(dialog, QLineEdit, "slack-channel"), "#ml-alerts")
    QTest.keyClicks(_child(dialog, QLineEdit, "slack-url"), hook_url)
    save = _child(dialog, QPushButton, "slack-save")
    qtbot.waitUntil(save.isEnabled, timeout=5_000)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    stored = wait_until(lambda: integrations.list_integrations(ctx.db, ctx.team.id, "slack"), timeout=15)
    # The webhook URL went to the real Secret Service, not the database.
    assert integrations.credential(stored[0], "webhook_url") == hook_url
    return stored[0]


def test_bell_on_val_acc_fires_desktop_notification_and_slack(
    qtbot, app_window, recorder, slack, tmp_path, artifacts_dir
):
    window, ctx = app_window
    hook_url = slack.add_hook()
    slack_integration = _add_slack_integration(qtbot, window, ctx, hook_url)
    window.grab().save(str(artifacts_dir / "e2e-team-settings.png"))
    db_file = (tmp_path / "e2e.db").read_bytes()
    assert hook_url.encode() not in db_file

    training_log = (tmp_path / "training.log").open("w")
    training = subprocess.Popen(
        [sys.executable, "-m", "desktop.demo_training", "--db-url", ctx.db.url, "--project", PROJECT,
         "--step-delay", "0.05", "--epochs", "30", "--seed", "7", "--name", "mlp-e2e"],
        stdout=training_log, stderr=subprocess.STDOUT,
    )
    try:
        project = wait_until(
            lambda: next((p for p in teams.list_projects(ctx.db, ctx.team.id) if p.name == PROJECT), None),
            timeout=60, message="the training run never created its project")
        window.open_project(project.id)
        qtbot.waitUntil(lambda: window.findChild(QToolButton, "bell-val/acc") is not None, timeout=60_000)
        panel = _child(window, object, "panel-val/acc")
        bell = _child(window, QToolButton, "bell-val/acc")
        qtbot.waitUntil(lambda: panel.isVisible() and panel.width() > 100, timeout=20_000)

        def hover_shows_the_bell() -> bool:
            # leave and re-enter: the pointer may already sit where the panel just appeared
            QTest.mouseMove(window, QPoint(2, 2))
            QTest.mouseMove(panel, QPoint(panel.width() // 2, panel.height() // 2))
            return bell.isVisible()

        qtbot.waitUntil(hover_shows_the_bell, timeout=20_000)
        window.grab().save(str(artifacts_dir / "e2e-workspace-hover.png"))
        qtbot.mouseClick(bell, Qt.MouseButton.LeftButton)

        dialog = _child(window, object, "bell-dialog")
        qtbot.waitUntil(lambda: _child(dialog, QComboBox, "bell-slack-integration").count() > 0, timeout=10_000)
        aggregation = _child(dialog, QComboBox, "bell-aggregation")
        aggregation.setCurrentIndex(aggregation.findText("Average"))
        _child(dialog, QSpinBox, "bell-window").setValue(5)
        operator = _child(dialog, QComboBox, "bell-operator")
        operator.setCurrentIndex(operator.findText(">"))
        threshold = _child(dialog, QLineEdit, "bell-threshold")
        threshold.clear()
        QTest.keyClicks(threshold, "0.9")
        desktop_box = _child(dialog, QCheckBox, "bell-desktop")
        slack_box = _child(dialog, QCheckBox, "bell-slack")
        if not desktop_box.isChecked():
            qtbot.mouseClick(desktop_box, Qt.MouseButton.LeftButton)
        if not slack_box.isChecked():
            qtbot.mouseClick(slack_box, Qt.MouseButton.LeftButton)
        save = _child(dialog, QPushButton, "bell-save")
        qtbot.waitUntil(save.isEnabled, timeout=5_000)
        dialog.grab().save(str(artifacts_dir / "e2e-bell-dialog.png"))
        with qtbot.waitSignal(dialog.saved, timeout=10_000):
            qtbot.mouseClick(save, Qt.MouseButton.LeftButton)

        [automation] = automations.list_automations(ctx.db, project_id=project.id)
        threshold_filter = automation.event_filter["run_metric_filter"]["threshold_filter"]
        assert threshold_filter == {"name": "val/acc", "agg_op": "AVERAGE", "window_size": 5,
                                    "cmp_op": "$gt", "threshold": 0.9}
        assert automation.action_type == "NOTIFICATION"
        assert automation.action_config["integration_id"] == slack_integration.id
        assert automation.action_config["notify_desktop"] is True

        # Slack got exactly the alert, and the desktop notification went over D-Bus to dunst.
        [message] = slack.wait_for_messages(1, timeout=120)
        assert "val/acc" in message.text and "mlp-e2e" in message.text
        notification = recorder.wait_for(lambda n: "val/acc" in (n.summary + n.body), timeout=60)
        assert "mlp-e2e" in notification.summary + notification.body

        # Clicking the notification (dunst's default action) brings the run's project back.
        tabs = _child(window, QTabWidget, "main-tabs")
        tabs.setCurrentWidget(_child(window, object, "tab-team-settings"))
        subprocess.run(["dunstctl", "action", "0"], check=True, timeout=10)
        qtbot.waitUntil(lambda: tabs.currentWidget() is _child(window, object, "tab-projects"), timeout=10_000)

        done = wait_until(
            lambda: [x for x in executions.list_executions(ctx.db, project_id=project.id) if x.status == "finished"]
            if len([x for x in executions.list_executions(ctx.db, project_id=project.id) if x.status == "finished"]) >= 2
            else None, timeout=60, message="both deliveries should finish")
        assert sorted(x.action_type for x in done) == ["DESKTOP_NOTIFICATION", "NOTIFICATION"]
        slack_exec = next(x for x in done if x.action_type == "NOTIFICATION")
        assert slack_exec.attempts[-1].status_code == 200 and slack_exec.attempts[-1].response_excerpt == "ok"

        # The Automations tab lists it; its History shows both executions as finished.
        window.open_project(project.id, tab="automations")
        table = _child(window, QTableView, "automations-table")
        qtbot.waitUntil(lambda: table.model().rowCount() == 1, timeout=10_000)
        history = _child(window, QTableView, "history-table")
        _child(window, QTabWidget, "automations-tabs").setCurrentIndex(1)
        qtbot.waitUntil(lambda: history.model().rowCount() >= 2, timeout=10_000)
        statuses = {history.model().index(r, c).data() for r in range(history.model().rowCount())
                    for c in range(history.model().columnCount())}
        assert "Finished" in statuses
        history.selectRow(0)
        window.grab().save(str(artifacts_dir / "e2e-history.png"))

        window.open_project(project.id)
        qtbot.waitUntil(lambda: window.isVisible(), timeout=1_000)
        window.grab().save(str(artifacts_dir / "e2e-workspace.png"))
    finally:
        training.terminate()
        training.wait(30)
        training_log.close()
