"""A run-metric automation made entirely through the UI, tested and fired for real (issue 5).

The user adds a webhook in Team Settings → Webhooks pointing at a loopback receiver, starts the
digits training, opens the project's Automations tab and walks the wizard to "train/loss below 1.0
(average of 3) → webhook" with the GitHub repository_dispatch template; runs Test from the `…`
menu; the receiver gets the test delivery (marked TEST in History) and, when the run's loss
crosses, the real one, whose History detail shows HTTP 200 and the rendered payload.
"""
from __future__ import annotations

import json
import subprocess
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QComboBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QTableView, QTabWidget, QTextBrowser, QToolButton,
    QWidget, QWizard,
)

from store import automations, executions, integrations, teams
from tests.e2e.app_fixtures import child as _child
from tests.support.fake_webhook import FakeWebhook
from tests.support.waiting import wait_until

PROJECT = "digits-wizard-e2e"
NAME = "loss under 1 to GitHub"


def _choose(box: QComboBox, data: object) -> None:
    index = box.findData(data)
    assert index >= 0, f"{box.objectName()} has no {data!r}"
    box.setCurrentIndex(index)


def _type(edit: QLineEdit, text: str) -> None:
    edit.clear()
    QTest.keyClicks(edit, text)


def _add_webhook_in_team_settings(qtbot, window, ctx, url: str):
    tabs = _child(window, QTabWidget, "main-tabs")
    tabs.setCurrentWidget(_child(window, QWidget, "tab-team-settings"))
    add = _child(window, QPushButton, "webhook-add")
    qtbot.waitUntil(add.isEnabled, timeout=10_000)
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QWidget, "webhook-dialog") is not None, timeout=5_000)
    dialog = _child(window, QWidget, "webhook-dialog")
    _type(_child(dialog, QLineEdit, "webhook-name"), "github-dispatch")
    _type(_child(dialog, QLineEdit, "webhook-url"), url)
    save = _child(dialog, QPushButton, "webhook-save")
    qtbot.waitUntil(save.isEnabled, timeout=5_000)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    [hook] = wait_until(lambda: integrations.list_integrations(ctx.db, ctx.team.id, "webhook"), timeout=15)
    assert hook.config["url"] == url
    return hook


def _walk_wizard(qtbot, wizard: QWizard, hook_id: int, shots) -> None:
    qtbot.waitUntil(lambda: getattr(wizard, "_loaded", False), timeout=10_000)
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    # Event: train/loss, average of the last 3 below 1.0
    _choose(_child(wizard, QComboBox, "wizard-event-type"), "RUN_METRIC")
    metric = _child(wizard, QComboBox, "wizard-metric")
    metric.lineEdit().clear()
    QTest.keyClicks(metric.lineEdit(), "train/loss")
    _choose(_child(wizard, QComboBox, "wizard-agg"), "AVERAGE")
    _type(_child(wizard, QLineEdit, "wizard-window"), "3")
    _choose(_child(wizard, QComboBox, "wizard-cmp"), "$lt")
    _type(_child(wizard, QLineEdit, "wizard-threshold"), "1.0")
    qtbot.waitUntil(next_button.isEnabled, timeout=5_000)
    summary = _child(wizard, QLabel, "wizard-preview-summary")
    qtbot.waitUntil(lambda: summary.text() and "Computing" not in summary.text(), timeout=15_000)
    shots("e2e-wizard-1-event.png")
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    # Action: the webhook, with the GitHub repository_dispatch template from the gallery
    _choose(_child(wizard, QComboBox, "wizard-action-type"), "GENERIC_WEBHOOK")
    _choose(_child(wizard, QComboBox, "wizard-webhook-integration"), hook_id)
    payload = _child(wizard, QPlainTextEdit, "wizard-payload")
    payload.clear()  # start from nothing so the template visibly comes from the gallery
    template = _child(wizard, QComboBox, "wizard-template")
    assert template.itemData(1) == "GitHub repository_dispatch"
    template.setFocus()
    QTest.keyClick(template, Qt.Key.Key_Down)  # the arrow key "activates" item 1 like a user pick
    qtbot.waitUntil(lambda: '"client_payload"' in payload.toPlainText(), timeout=5_000)
    assert template.currentIndex() == 0  # the gallery resets to its prompt after inserting
    qtbot.waitUntil(next_button.isEnabled, timeout=5_000)
    shots("e2e-wizard-2-action.png")
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    # Details: the name
    _type(_child(wizard, QLineEdit, "wizard-name"), NAME)
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    qtbot.waitUntil(finish.isEnabled, timeout=5_000)
    shots("e2e-wizard-3-details.png")
    with qtbot.waitSignal(wizard.saved, timeout=10_000):
        qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)


def _run_test_from_the_menu(qtbot, window) -> None:
    table = _child(window, QTableView, "automations-table")
    qtbot.waitUntil(lambda: table.model().rowCount() == 1, timeout=10_000)
    table.selectRow(0)
    more = _child(window, QToolButton, "automation-more")
    qtbot.waitUntil(more.isEnabled, timeout=5_000)
    test = _child(window, QAction, "automation-test")
    qtbot.waitUntil(test.isEnabled, timeout=5_000)
    test.trigger()  # what choosing Test in the `…` menu does


def test_wizard_run_metric_webhook_is_tested_and_fires(qtbot, app_window, tmp_path, artifacts_dir):
    window, ctx = app_window
    receiver = FakeWebhook()
    training = None
    try:
        hook = _add_webhook_in_team_settings(qtbot, window, ctx, receiver.url)
        with (tmp_path / "training.log").open("w") as log:
            training = subprocess.Popen(
                [sys.executable, "-m", "desktop.demo_training", "--db-url", ctx.db.url, "--project", PROJECT,
                 "--step-delay", "0.05", "--epochs", "30", "--seed", "7", "--name", "mlp-wizard"],
                stdout=log, stderr=subprocess.STDOUT)
        project = wait_until(
            lambda: next((p for p in teams.list_projects(ctx.db, ctx.team.id) if p.name == PROJECT), None),
            timeout=60, message="the training run never created its project")

        window.open_project(project.id, tab="automations")
        qtbot.waitUntil(lambda: window.findChild(QPushButton, "automation-new") is not None, timeout=20_000)
        page = _child(window, QWidget, "automations-page")
        new = _child(page, QPushButton, "automation-new")
        qtbot.waitUntil(new.isEnabled, timeout=5_000)
        qtbot.mouseClick(new, Qt.MouseButton.LeftButton)
        wizard = page.last_wizard
        assert isinstance(wizard, QWizard)
        _walk_wizard(qtbot, wizard, hook.id, lambda name: wizard.grab().save(str(artifacts_dir / name)))

        [automation] = automations.list_automations(ctx.db, project_id=project.id)
        assert automation.name == NAME and automation.event_type == "RUN_METRIC"
        assert automation.event_filter["run_metric_filter"]["threshold_filter"] == {
            "name": "train/loss", "agg_op": "AVERAGE", "window_size": 3, "cmp_op": "$lt", "threshold": 1.0}
        assert automation.action_type == "GENERIC_WEBHOOK"
        assert automation.action_config["integration_id"] == hook.id
        assert '"repository_dispatch"' in automation.action_config["request_payload"] or \
            '"client_payload"' in automation.action_config["request_payload"]

        _run_test_from_the_menu(qtbot, window)

        # The receiver gets the test delivery and the real firing (in either order).
        def finished() -> tuple | None:
            done = [x for x in executions.list_executions(ctx.db, project_id=project.id) if x.status == "finished"]
            tests = [x for x in done if x.is_test]
            real = [x for x in done if not x.is_test]
            return (tests, real) if tests and real else None

        tests, real = wait_until(finished, timeout=150, message="the test and the real firing should both finish")
        received = receiver.wait_for_requests(2, timeout=10)
        bodies = [FakeWebhook.json(r) for r in received]
        assert all(b["client_payload"]["automation"] == NAME for b in bodies)
        assert any(b["client_payload"]["project"] == PROJECT for b in bodies)
        firing = real[-1]
        assert firing.attempts[-1].status_code == 200

        # History: the test is marked, the real execution's detail shows HTTP 200 and the payload.
        _child(page, QTabWidget, "automations-tabs").setCurrentIndex(1)
        history = _child(page, QTableView, "history-table")
        model = history.model()

        def listed_finished() -> bool:
            rows = [(model.index(r, 1).data(), model.index(r, 4).data()) for r in range(model.rowCount())]
            return {(f"{NAME} (test)", "Finished"), (NAME, "Finished")} <= set(rows)

        qtbot.waitUntil(listed_finished, timeout=20_000)
        labels = [model.index(r, 1).data() for r in range(model.rowCount())]
        assert f"{NAME} (test)" in labels and NAME in labels
        detail = _child(page, QTextBrowser, "history-detail")
        history.selectRow(labels.index(f"{NAME} (test)"))
        qtbot.waitUntil(lambda: "TEST" in detail.toPlainText(), timeout=5_000)
        window.grab().save(str(artifacts_dir / "e2e-wizard-4-history-test.png"))

        # a later crossing inside the cooldown is listed as skipped: pick the delivered firing
        rows = [(model.index(r, 1).data(), model.index(r, 4).data()) for r in range(model.rowCount())]
        history.selectRow(rows.index((NAME, "Finished")))
        qtbot.waitUntil(lambda: "Attempts" in detail.toPlainText() and "TEST" not in detail.toPlainText(),
                        timeout=5_000)
        text = detail.toPlainText()
        assert "200" in text.split("Attempts", 1)[1]
        rendered = json.dumps(NAME)
        assert "client_payload" in text and rendered.strip('"') in text and "${" not in text
        detail.verticalScrollBar().setValue(detail.verticalScrollBar().maximum())  # the payload and attempts
        window.grab().save(str(artifacts_dir / "e2e-wizard-5-history-real.png"))
    finally:
        if training is not None:
            training.kill()
            training.wait(timeout=30)
        receiver.close()
