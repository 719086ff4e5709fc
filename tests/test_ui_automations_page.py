"""The project's Automations page: list, summaries, enabled toggle, delete, history, roles."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from tests.ui_manage_fixtures import OFFSCREEN_NOISE
from desktop.automations.automations_model import ACTION, ENABLED, EVENT, LAST, NAME
from desktop.automations.history_model import ACTION as H_ACTION
from desktop.automations.history_model import AUTOMATION, STATUS, STATUS_COLORS
from desktop.automations.page import AutomationsPage
from desktop.automations.summary import action_summary, condition_summary
from store import automations, executions, integrations
from store import models as m
from store.errors import NotFound
from tests.ui_manage_fixtures import (  # noqa: F401 (fixtures)
    admin_ctx, make_automation, make_execution, memory_keyring, project, save_screenshot, tasks,
    viewer_ctx, watcher,
)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


def _page(qtbot, ctx, tasks, watcher, project, expected_rows: int) -> AutomationsPage:
    page = AutomationsPage(ctx, tasks, watcher, project.id)
    qtbot.addWidget(page)
    page.resize(1100, 600)
    page.show()
    qtbot.waitUntil(lambda: page.automations_tab.model.rowCount() == expected_rows, timeout=5000)
    return page


def _cell(page: AutomationsPage, row: int, col: int) -> str:
    proxy = page.automations_tab.proxy
    return proxy.index(row, col).data()


def _row_named(page: AutomationsPage, name: str) -> int:
    proxy = page.automations_tab.proxy
    return next(r for r in range(proxy.rowCount()) if proxy.index(r, NAME).data() == name)


def _open_box(qtbot, page, object_name: str) -> QMessageBox:
    """The confirmation box on screen (a closed one may linger until its deferred delete)."""
    def shown() -> list[QMessageBox]:
        return [b for b in page.findChildren(QMessageBox, object_name) if b.isVisible()]

    qtbot.waitUntil(lambda: len(shown()) == 1, timeout=3000)
    return shown()[0]


def _click_confirm(qtbot, page, object_name: str) -> None:
    _open_box(qtbot, page, object_name).findChild(QPushButton, "confirm-yes").click()


def test_table_lists_automations_with_event_and_action_summaries(
    qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring,
):
    slack = integrations.create_slack(db, admin_ctx.team.id, workspace="acme", channel="ml-alerts",
                                      webhook_url="http://127.0.0.1:9/services/T/B/x")
    hook = integrations.create_webhook(db, admin_ctx.team.id, name="ci-dispatch", url="https://example.com/h")
    make_automation(db, admin_ctx, project, "acc is good")
    make_automation(db, admin_ctx, project, "loss spikes", metric="train/loss", agg=None, cmp="$gte",
                    threshold=4, action_type="NOTIFICATION",
                    action_config={"integration_id": slack.id, "title": "t", "message": "m",
                                   "severity": "WARN", "notify_desktop": True})
    make_automation(db, admin_ctx, project, "tell CI", action_type="GENERIC_WEBHOOK",
                    action_config={"integration_id": hook.id, "request_payload": "{}"})
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 3)
    table = page.findChild(type(page.automations_tab.table), "automations-table")
    assert table is page.automations_tab.table

    rows = {_cell(page, r, NAME): (_cell(page, r, EVENT), _cell(page, r, ACTION), _cell(page, r, LAST))
            for r in range(3)}
    assert rows["acc is good"] == ("AVERAGE(val/acc) over 5 > 0.9", "Desktop notification", "never")
    assert rows["loss spikes"] == ("train/loss >= 4", "Slack #ml-alerts + desktop", "never")
    assert rows["tell CI"][1] == "Webhook ci-dispatch"

    # an automation created elsewhere shows up through the store watcher
    make_automation(db, admin_ctx, project, "another one")
    qtbot.waitUntil(lambda: page.automations_tab.model.rowCount() == 4, timeout=5000)
    save_screenshot(page, "ui-automations-list.png")


def test_search_filters_by_name(qtbot, db, admin_ctx, project, tasks, watcher):
    for name in ("acc is good", "Loss spikes", "loss plateau"):
        make_automation(db, admin_ctx, project, name)
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 3)
    qtbot.keyClicks(page.automations_tab.search, "LOSS")
    proxy = page.automations_tab.proxy
    assert sorted(proxy.index(r, NAME).data() for r in range(proxy.rowCount())) == ["Loss spikes", "loss plateau"]


def test_toggling_enabled_persists(qtbot, db, admin_ctx, project, tasks, watcher):
    auto = make_automation(db, admin_ctx, project, "acc is good")
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 1)
    table = page.automations_tab.table
    index = page.automations_tab.proxy.index(0, ENABLED)
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    table.setFocus()
    table.setCurrentIndex(index)
    qtbot.keyClick(table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: automations.get_automation(db, auto.id).enabled is False, timeout=5000)
    assert page.automations_tab.proxy.index(0, ENABLED).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    qtbot.keyClick(table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: automations.get_automation(db, auto.id).enabled is True, timeout=5000)
    # other fields are untouched by the toggle (case C1)
    assert automations.get_automation(db, auto.id).event_filter == auto.event_filter


def test_delete_asks_first_and_keeps_history(qtbot, db, admin_ctx, project, tasks, watcher):
    doomed = make_automation(db, admin_ctx, project, "doomed")
    make_automation(db, admin_ctx, project, "survivor")
    fired = make_execution(db, doomed, status="finished", attempts=[(200, "ok", "")])
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 2)
    tab = page.automations_tab
    assert not tab.delete_button.isEnabled()  # nothing selected yet
    tab.table.selectRow(_row_named(page, "doomed"))
    assert tab.delete_button.isEnabled()
    assert _cell(page, _row_named(page, "doomed"), LAST) != "never"

    tab.delete_button.click()
    box = _open_box(qtbot, page, "confirm-delete-automation")
    assert "doomed" in box.text() and "history is kept" in box.informativeText()
    box.findChild(QPushButton, "confirm-no").click()
    assert not box.isVisible()
    assert automations.get_automation(db, doomed.id).name == "doomed"

    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Delete)  # the keyboard way asks too
    _click_confirm(qtbot, page, "confirm-delete-automation")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=5000)
    assert _cell(page, 0, NAME) == "survivor"
    with pytest.raises(NotFound):
        automations.get_automation(db, doomed.id)
    kept = executions.get_execution(db, fired.id)
    assert (kept.automation_id, kept.automation_name, kept.status) == (None, "doomed", "finished")
    history = page.history_tab
    qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=5000)
    assert history.model.index(0, AUTOMATION).data() == "doomed"


def test_history_newest_first_filter_and_detail(qtbot, db, admin_ctx, project, tasks, watcher):
    hook = integrations.create_webhook(db, admin_ctx.team.id, name="ci-dispatch", url="https://example.com/hook")
    auto = make_automation(db, admin_ctx, project, "acc is good", action_type="GENERIC_WEBHOOK",
                           action_config={"integration_id": hook.id, "request_payload": '{"auth": "${GH}"}'})
    make_execution(db, auto, status="finished", run_name="first-run", attempts=[(200, "ok", "")])
    make_execution(db, auto, status="failed", run_name="second-run", action={
        "integration_id": hook.id, "webhook": "ci-dispatch", "url": "https://example.com/hook",
        "rendered_payload": '{"auth": "********", "run": "second-run"}'},
        attempts=[(503, "upstream down, try later", "HTTP 503"), (None, "", "connection refused")])
    make_execution(db, auto, status="skipped", run_name="third-run")
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 1)
    history = page.history_tab
    qtbot.waitUntil(lambda: history.model.rowCount() == 3, timeout=5000)
    assert [history.model.execution(r).event["run_name"] for r in range(3)] == ["third-run", "second-run", "first-run"]
    assert [history.model.index(r, STATUS).data() for r in range(3)] == ["Skipped", "Failed", "Finished"]
    assert history.model.index(1, H_ACTION).data() == "Webhook ci-dispatch"
    color = history.model.index(1, STATUS).data(Qt.ItemDataRole.ForegroundRole)
    assert color.name() == STATUS_COLORS["failed"]
    page.show_history()

    combo = history.status_filter
    assert combo.objectName() == "status-filter"
    combo.setCurrentIndex(combo.findData("failed"))
    qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=5000)
    history.table.selectRow(0)
    text = history.detail.toPlainText()
    assert history.detail.objectName() == "history-detail"
    for expected in ("second-run", "val/acc = 0.93", "503", "upstream down, try later", "connection refused",
                     '"auth": "********"', "https://example.com/hook", "Attempts (2)"):
        assert expected in text, expected
    page.resize(1100, 900)
    save_screenshot(page, "ui-automations-history.png")
    bar = history.detail.verticalScrollBar()
    bar.setValue(bar.maximum())
    save_screenshot(history.detail, "ui-automations-history-attempts.png")

    combo.setCurrentIndex(combo.findData(None))
    qtbot.waitUntil(lambda: history.model.rowCount() == 3, timeout=5000)
    assert history.selected_execution() is not None  # the selection survived the reload

    # a new firing appears on top through the store watcher, and in the "last execution" column
    newest = make_execution(db, auto, status="pending", run_name="fourth-run")
    qtbot.waitUntil(lambda: history.model.rowCount() == 4, timeout=5000)
    assert history.model.execution(0).id == newest.id
    assert history.selected_execution().event["run_name"] == "second-run"
    qtbot.waitUntil(lambda: _cell(page, 0, LAST) != "never", timeout=5000)


def test_resend_sends_a_new_copy_of_a_failed_execution(qtbot, db, admin_ctx, project, tasks, watcher):
    auto = make_automation(db, admin_ctx, project, "acc is good")
    failed = make_execution(db, auto, status="failed", attempts=[(500, "boom", "HTTP 500")])
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 1)
    history = page.history_tab
    qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=5000)
    assert not history.resend_button.isEnabled()
    history.table.selectRow(0)
    assert history.resend_button.isEnabled()
    history.resend_button.click()
    qtbot.waitUntil(lambda: history.model.rowCount() == 2, timeout=5000)
    copy = history.model.execution(0)
    assert copy.event["resend_of"] == failed.id and copy.attempts == ()  # a fresh retry budget
    assert history.model.index(0, STATUS).data() == "Pending"
    assert executions.get_execution(db, failed.id).status == "failed"  # the original stays in history


def test_toggling_an_automation_deleted_elsewhere_names_it_and_drops_it(qtbot, db, admin_ctx, project, tasks,
                                                                          watcher):
    auto = make_automation(db, admin_ctx, project, "acc is good")
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 1)
    tab = page.automations_tab
    with db.session() as s:  # deleted by another app on the same database, no event seen yet
        s.delete(s.get(m.Automation, auto.id))
    tab.proxy.setData(tab.proxy.index(0, ENABLED), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    qtbot.waitUntil(lambda: "“acc is good”: it was deleted meanwhile" in tab.message.text(), timeout=5000)
    qtbot.waitUntil(lambda: tab.proxy.rowCount() == 0, timeout=5000)


def test_viewer_cannot_toggle_or_delete(qtbot, db, admin_ctx, viewer_ctx, project, tasks, watcher):
    auto = make_automation(db, admin_ctx, project, "acc is good")
    page = _page(qtbot, viewer_ctx, tasks, watcher, project, 1)
    tab = page.automations_tab
    index = tab.proxy.index(0, ENABLED)
    assert not index.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert not index.flags() & Qt.ItemFlag.ItemIsEnabled
    assert "Viewers" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert not tab.proxy.setData(index, Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    tab.table.selectRow(0)
    tab.table.setCurrentIndex(index)
    qtbot.keyClick(tab.table, Qt.Key.Key_Space)
    assert not tab.delete_button.isEnabled()
    assert "Viewers" in tab.delete_button.toolTip()
    tab.delete_selected()
    assert page.findChild(QMessageBox, "confirm-delete-automation") is None
    assert automations.get_automation(db, auto.id).enabled is True
    assert not page.history_tab.resend_button.isEnabled()


@pytest.mark.parametrize(("event_type", "event_filter", "expected"), [
    ("RUN_METRIC", {"run_metric_filter": {"threshold_filter": {
        "name": "val/acc", "agg_op": "AVERAGE", "window_size": 5, "cmp_op": "$gt", "threshold": 0.9}}},
     "AVERAGE(val/acc) over 5 > 0.9"),
    ("RUN_METRIC", {"run_metric_filter": {"threshold_filter": {
        "name": "loss", "agg_op": None, "window_size": 5, "cmp_op": "$lte", "threshold": 0.1}}},
     "loss <= 0.1"),
    ("RUN_METRIC_CHANGE", {"run_metric_filter": {"change_filter": {
        "name": "loss", "agg_op": "AVERAGE", "current_window_size": 10, "prior_window_size": 50,
        "change_dir": "DECREASE", "change_type": "RELATIVE", "change_amount": 0.25}}},
     "AVERAGE(loss) over 10 vs prior 50 decreases by >= 25%"),
    ("RUN_METRIC_ZSCORE", {"run_metric_filter": {"zscore_filter": {
        "name": "acc", "window_size": 30, "threshold": 2, "change_dir": "ANY"}}},
     "|zscore(acc)| over 30 >= 2"),
    ("RUN_STATE", {"run_filter": '{"$and": []}', "run_state_filter": {"states": ["FINISHED", "FAILED"]}},
     "Run state → finished, failed"),
    ("ADD_ARTIFACT_ALIAS", {"filter": {"$or": [{"$and": [{"alias": {"$regex": "^prod-.*"}}]}]}},
     "Alias added matching ^prod-.*"),
    ("RUN_METRIC", {"run_filter": '{"$and": [{"display_name": {"$contains": "exp"}}]}',
                    "run_metric_filter": {"threshold_filter": {
                        "name": "acc", "agg_op": "MAX", "window_size": 3, "cmp_op": "$ne", "threshold": 1}}},
     "MAX(acc) over 3 != 1 (filtered runs)"),
])
def test_condition_summary(event_type, event_filter, expected):
    assert condition_summary(event_type, event_filter) == expected


def test_action_summary_without_integration_says_so():
    assert action_summary("NOTIFICATION", {"integration_id": 99}, {}) == "Slack (integration deleted)"
    assert action_summary("NO_OP", {}) == "No action (record only)"


def test_detail_of_a_run_state_slack_execution_as_the_engine_records_it(db, admin_ctx, project, memory_keyring):
    from desktop.automations.history_detail import detail_html
    from desktop.automations.summary import execution_action_summary, execution_event_summary

    slack = integrations.create_slack(db, admin_ctx.team.id, workspace="acme", channel="ml-alerts",
                                      webhook_url="http://127.0.0.1:9/services/T/B/x")
    auto = make_automation(db, admin_ctx, project, "run failed", action_type="NOTIFICATION",
                           action_config={"integration_id": slack.id, "notify_desktop": True})
    x = executions.record_firing(
        db, automation=auto, project_id=project.id, run_id="0ro45k91", event_type="RUN_STATE",
        event={"type": "RUN_STATE", "run_id": "0ro45k91", "run_name": "golden-sun-3", "new_run_state": "failed",
               "exit_code": 2},
        action_type="NOTIFICATION",
        action={"integration_id": slack.id, "channel": "ml-alerts", "title": "run failed", "text": "exit 2",
                "severity": "ERROR", "message": {"text": "[ERROR] run failed: exit 2", "blocks": []}},
    )
    assert execution_event_summary(x) == "run golden-sun-3: → failed"
    assert execution_action_summary(x) == "Slack #ml-alerts"
    html = detail_html(x)
    for expected in ("Slack #ml-alerts", "Exit code", "[ERROR] run failed: exit 2", "No delivery attempt yet"):
        assert expected in html, expected
    assert "http://127.0.0.1:9/services" not in html  # the Slack URL is a credential: never shown
