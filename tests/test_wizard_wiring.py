"""Where the wizard opens: the bell's "Advanced…" (values carried over) and the Automations page."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, seed_run, tasks, threshold_automation, ui_ctx, watcher  # noqa: E402, F401

from desktop.automations.page import AutomationsPage  # noqa: E402
from desktop.bell_dialog import BellDialog  # noqa: E402
from store import teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def project(ui_ctx):
    project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")
    seed_run(ui_ctx.db, project.id, {"val/acc": [0.5, 0.7]})
    return project


def test_bell_advanced_carries_the_values_into_the_wizard(qtbot, ui_ctx, project, tasks):
    dialog = BellDialog(ui_ctx, project.id, "val/acc", tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.ready, timeout=10_000):
        dialog.show()
    dialog.aggregation_combo.setCurrentText("Max")
    dialog.window_spin.setValue(7)
    dialog.operator_combo.setCurrentText("<")
    qtbot.keyClicks(dialog.threshold_edit, "0.25")
    qtbot.mouseClick(dialog.advanced_button, qtbot_button())
    wizard = dialog.advanced_wizard
    qtbot.addWidget(wizard)
    qtbot.waitSignal(wizard.ready, timeout=10_000).wait() if not wizard._loaded else None
    page = wizard.event_page
    form = page.forms["RUN_METRIC"]
    assert page.metric.currentText() == "val/acc"
    assert (form.agg.currentData(), form.window.text(), form.cmp.currentData(), form.threshold.text()) == (
        "MAX", "7", "$lt", "0.25")
    assert wizard.action_page.current_type() == "DESKTOP_NOTIFICATION"
    assert page.isComplete()


def qtbot_button():
    from PySide6.QtCore import Qt
    return Qt.MouseButton.LeftButton


def test_automations_page_opens_the_wizard_for_new_and_edit(qtbot, ui_ctx, project, tasks, watcher):
    existing = threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="acc", metric="val/acc", threshold=0.9)
    page = AutomationsPage(ui_ctx, tasks, watcher, project.id)
    qtbot.addWidget(page)
    page.show()
    page.new_button.click()
    wizard = page.last_wizard
    assert wizard is not None and wizard.automation is None
    wizard.reject()
    page.automations_tab.edit_requested.emit(existing)
    wizard = page.last_wizard
    assert wizard.automation == existing
    with qtbot.waitSignal(wizard.ready, timeout=10_000):
        pass
    assert wizard.details_page.name.text() == "acc"
    assert wizard.event_page.forms["RUN_METRIC"].threshold.text() == "0.9"
    wizard.reject()
