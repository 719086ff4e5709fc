"""The bell's quick dialog: validation as you type, unique names, and the exact stored shape."""
from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from ui_fixtures import (  # noqa: E402, F401
    OFFSCREEN_NOISE, seed_run, slack_integration_row, tasks, threshold_automation, ui_ctx,
)

from desktop.alert_spec import default_name, parse_threshold  # noqa: E402
from desktop.bell_dialog import NO_SLACK_HINT, BellDialog  # noqa: E402
from desktop.context import AppContext  # noqa: E402
from store import automations, teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def project(ui_ctx):
    project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")
    seed_run(ui_ctx.db, project.id, {"val/acc": [0.5, 0.7, 0.8]})
    return project


def open_dialog(qtbot, ctx, project, tasks, metric="val/acc") -> BellDialog:
    dialog = BellDialog(ctx, project.id, metric, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.ready, timeout=10_000):
        dialog.show()
    return dialog


def type_threshold(qtbot, dialog: BellDialog, text: str) -> None:
    dialog.threshold_edit.clear()
    qtbot.keyClicks(dialog.threshold_edit, text)


def screenshot(dialog: BellDialog, path) -> None:
    QApplication.processEvents()  # let pending layout requests settle before grabbing
    dialog.grab().save(str(path))


def stored(ctx) -> list:
    return automations.list_automations(ctx.db, team_id=ctx.team.id)


def test_non_numeric_threshold_disables_save_with_an_inline_message(qtbot, ui_ctx, project, tasks, artifacts_dir):
    dialog = open_dialog(qtbot, ui_ctx, project, tasks)
    assert not dialog.save_button.isEnabled()  # no threshold yet
    assert not dialog.threshold_error.isVisible()  # empty is incomplete, not wrong
    type_threshold(qtbot, dialog, "0.9x")
    assert not dialog.save_button.isEnabled()
    assert dialog.threshold_error.isVisible()
    assert dialog.threshold_error.text().startswith("not a number")
    screenshot(dialog, artifacts_dir / "bell-dialog-invalid.png")
    type_threshold(qtbot, dialog, "0.9")
    assert dialog.save_button.isEnabled()
    assert not dialog.threshold_error.isVisible()
    assert dialog.name_edit.text() == "val/acc avg5 > 0.9"
    for bad in ("nan", "inf", "1_000", "0,9"):
        type_threshold(qtbot, dialog, bad)
        assert not dialog.save_button.isEnabled(), bad
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert stored(ui_ctx) == []


def test_saving_stores_the_original_threshold_shape_with_a_desktop_action(qtbot, ui_ctx, project, tasks):
    dialog = open_dialog(qtbot, ui_ctx, project, tasks)
    assert dialog.metric_label.text() == "val/acc"
    assert not dialog.metric_warning.isVisible()
    assert dialog.aggregation_combo.currentText() == "Average" and dialog.window_spin.value() == 5
    assert dialog.window_spin.maximum() == 10_000  # no larger window than the engine evaluates
    type_threshold(qtbot, dialog, "0.9")
    assert not dialog.slack_check.isEnabled() and dialog.slack_hint.text() == NO_SLACK_HINT
    with qtbot.waitSignal(dialog.saved, timeout=10_000) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    [auto] = stored(ui_ctx)
    assert saved.args[0].id == auto.id
    assert auto.name == "val/acc avg5 > 0.9"
    assert auto.project_id == project.id and auto.scope_type == "project" and auto.enabled
    assert auto.created_by == "alice"
    assert auto.event_type == "RUN_METRIC"
    assert auto.event_filter == {
        "run_filter": '{"$and": []}',
        "run_metric_filter": {"threshold_filter": {
            "name": "val/acc", "agg_op": "AVERAGE", "window_size": 5, "cmp_op": "$gt", "threshold": 0.9}},
    }
    assert json.loads(auto.event_filter["run_filter"]) == {"$and": []}
    assert auto.action_type == "DESKTOP_NOTIFICATION"
    assert auto.action_config == {
        "title": "val/acc avg5 > 0.9", "message": "", "severity": "INFO",
    }


def test_last_value_min_operator_and_slack_with_desktop_copy(qtbot, ui_ctx, project, tasks, artifacts_dir):
    slack_id = slack_integration_row(ui_ctx.db, ui_ctx.team.id, "#ml-alerts")
    dialog = open_dialog(qtbot, ui_ctx, project, tasks, metric="train/loss")
    assert dialog.metric_warning.isVisible()  # never logged: warned, still allowed
    assert "train/loss" in dialog.metric_warning.text()
    dialog.aggregation_combo.setCurrentText("Last")
    assert not dialog.window_spin.isEnabled()
    dialog.operator_combo.setCurrentText("<=")
    type_threshold(qtbot, dialog, "-2")
    assert dialog.slack_check.isEnabled() and not dialog.slack_hint.isVisible()
    dialog.slack_check.setChecked(True)
    assert dialog.slack_combo.currentData() == slack_id
    screenshot(dialog, artifacts_dir / "bell-dialog-slack.png")
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    [auto] = stored(ui_ctx)
    assert auto.name == "train/loss <= -2"
    assert auto.event_filter["run_metric_filter"]["threshold_filter"] == {
        "name": "train/loss", "agg_op": None, "window_size": 1, "cmp_op": "$lte", "threshold": -2}
    assert auto.action_type == "NOTIFICATION"
    assert auto.action_config == {
        "integration_id": slack_id, "title": "train/loss <= -2", "message": "",
        "severity": "INFO", "notify_desktop": True,
    }


def test_slack_only_and_no_action(qtbot, ui_ctx, project, tasks):
    slack_id = slack_integration_row(ui_ctx.db, ui_ctx.team.id)
    dialog = open_dialog(qtbot, ui_ctx, project, tasks)
    type_threshold(qtbot, dialog, "0.5")
    dialog.desktop_check.setChecked(False)
    assert not dialog.save_button.isEnabled()
    assert dialog.status_label.isVisible() and dialog.status_label.text() == "choose at least one action"
    dialog.slack_check.setChecked(True)
    assert dialog.save_button.isEnabled() and not dialog.status_label.isVisible()
    dialog.aggregation_combo.setCurrentText("Max")
    dialog.window_spin.setValue(3)
    dialog.operator_combo.setCurrentText("!=")
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    [auto] = stored(ui_ctx)
    assert auto.name == "val/acc max3 != 0.5"
    assert auto.event_filter["run_metric_filter"]["threshold_filter"]["agg_op"] == "MAX"
    assert auto.event_filter["run_metric_filter"]["threshold_filter"]["window_size"] == 3
    assert auto.event_filter["run_metric_filter"]["threshold_filter"]["cmp_op"] == "$ne"
    assert auto.action_config["integration_id"] == slack_id
    assert auto.action_config["notify_desktop"] is False


def test_duplicate_name_shows_an_error_and_saves_nothing(qtbot, ui_ctx, project, tasks):
    existing = threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="val/acc avg5 > 0.9",
                                    metric="val/acc", threshold=0.9)
    dialog = open_dialog(qtbot, ui_ctx, project, tasks)
    type_threshold(qtbot, dialog, "0.9")
    assert dialog.name_error.isVisible() and "already exists" in dialog.name_error.text()
    assert not dialog.save_button.isEnabled()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert [a.id for a in stored(ui_ctx)] == [existing.id]

    # a name taken after the dialog loaded its list is caught on save; the dialog stays open
    dialog.name_edit.setText("my alert")
    assert dialog.save_button.isEnabled()
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="my alert", metric="x", threshold=1)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.name_error.isVisible(), timeout=10_000)
    assert "already exists" in dialog.name_error.text()
    assert dialog.isVisible() and not dialog.save_button.isEnabled()
    assert sorted(a.name for a in stored(ui_ctx)) == ["my alert", "val/acc avg5 > 0.9"]


def test_store_errors_show_in_the_dialog_and_nothing_is_half_saved(qtbot, ui_ctx, project, tasks, monkeypatch):
    from store.errors import StoreUnavailable

    dialog = open_dialog(qtbot, ui_ctx, project, tasks)
    type_threshold(qtbot, dialog, "0.9")

    def locked(*_args, **_kwargs):
        raise StoreUnavailable("database unavailable: database is locked")

    monkeypatch.setattr(automations, "create_automation", locked)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "locked" in dialog.status_label.text() and dialog.status_label.isVisible(),
                    timeout=10_000)
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert stored(ui_ctx) == []


def test_advanced_is_enabled_and_viewers_cannot_save(qtbot, ui_ctx, project, tasks):
    dialog = open_dialog(qtbot, ui_ctx, project, tasks)
    assert dialog.advanced_button.isEnabled()  # opens the wizard: tests/test_wizard_wiring.py
    _, other = teams.ensure_default_team(ui_ctx.db, "victor")  # the last admin cannot be demoted
    viewer = AppContext(ui_ctx.db, ui_ctx.team, teams.set_role(ui_ctx.db, other.id, "viewer"))
    dialog = open_dialog(qtbot, viewer, project, tasks)
    type_threshold(qtbot, dialog, "0.9")
    assert not dialog.save_button.isEnabled()
    assert "Viewers" in dialog.status_label.text()


def test_user_written_name_is_kept_when_the_condition_changes(qtbot, ui_ctx, project, tasks):
    dialog = open_dialog(qtbot, ui_ctx, project, tasks)
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, "accuracy is great")
    type_threshold(qtbot, dialog, "0.95")
    assert dialog.name_edit.text() == "accuracy is great"


def test_threshold_parsing_and_default_names():
    assert parse_threshold(" 3 ") == 3 and isinstance(parse_threshold("3"), int)
    assert parse_threshold("1e-3") == 0.001 and parse_threshold("-.5") == -0.5
    for bad in ("", "abc", "nan", "-inf", "1_0", "0,5"):
        with pytest.raises(ValueError):
            parse_threshold(bad)
    assert default_name("val/acc", "Average", 5, ">", "0.9") == "val/acc avg5 > 0.9"
    assert default_name("loss", "Last", 5, "<", "0.1") == "loss < 0.1"
    assert default_name("loss", "Min", 10, ">=", "") == "loss min10 >="
