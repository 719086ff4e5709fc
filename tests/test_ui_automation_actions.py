"""Automations list `…` menu: Duplicate, Test (a real delivery marked as a test in History),
Export…/Import… through the file dialogs, sorting by last execution; History's automation filter."""
from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt

from desktop.automations.automations_model import LAST, NAME
from desktop.automations.history_model import AUTOMATION
from desktop.automations.page import AutomationsPage
from desktop.automations.row_actions import copy_name
from desktop.engine.dispatcher import Dispatcher
from store import automations, executions, integrations
from tests.support.fake_webhook import FakeWebhook
from tests.ui_manage_fixtures import (  # noqa: F401 (fixtures)
    OFFSCREEN_NOISE, admin_ctx, make_automation, make_execution, memory_keyring, project, save_screenshot,
    tasks, viewer_ctx, watcher,
)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


def _page(qtbot, ctx, tasks, watcher, project, rows: int) -> AutomationsPage:
    page = AutomationsPage(ctx, tasks, watcher, project.id)
    qtbot.addWidget(page)
    page.resize(1100, 650)
    page.show()
    qtbot.waitUntil(lambda: page.automations_tab.model.rowCount() == rows, timeout=5000)
    return page


def _names(page: AutomationsPage) -> list[str]:
    proxy = page.automations_tab.proxy
    return [proxy.index(r, NAME).data() for r in range(proxy.rowCount())]


def test_duplicate_makes_a_uniquely_named_copy_with_every_setting(
        qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring):
    original = make_automation(db, admin_ctx, project, "acc high", threshold=0.95, window=7, enabled=False)
    make_automation(db, admin_ctx, project, "acc high (copy)")
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 2)
    tab = page.automations_tab
    tab.select_automation(original.id)
    assert tab.duplicate_action.isEnabled()
    tab.duplicate_action.trigger()
    qtbot.waitUntil(lambda: "acc high (copy 2)" in _names(page), timeout=5000)
    copy = next(a for a in automations.list_automations(db, project_id=project.id) if a.name == "acc high (copy 2)")
    assert (copy.event_type, copy.event_filter, copy.action_type, copy.action_config, copy.enabled,
            copy.cooldown_seconds) == (original.event_type, original.event_filter, original.action_type,
                                       original.action_config, False, original.cooldown_seconds)
    assert tab.notice.text() == "Created “acc high (copy 2)”."
    qtbot.waitUntil(lambda: tab.selected_automation() is not None and tab.selected_automation().id == copy.id)
    assert copy_name("x" * 255, set()) == "x" * 248 + " (copy)"


def test_test_fires_the_real_action_and_history_marks_it(
        qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring):
    with FakeWebhook() as receiver:
        hook = integrations.create_webhook(db, admin_ctx.team.id, name="ci", url=receiver.url)
        automation = make_automation(
            db, admin_ctx, project, "deploy", metric="val/acc", action_type="GENERIC_WEBHOOK",
            action_config={"integration_id": hook.id,
                           "request_payload": '{"metric": "${metric_name}", "value": ${metric_value}, '
                                              '"run": "${run_name}", "who": "${automation_name}"}'})
        page = _page(qtbot, admin_ctx, tasks, watcher, project, 1)
        tab = page.automations_tab
        tab.select_automation(automation.id)
        tab.test_action.trigger()
        qtbot.waitUntil(lambda: "queued" in tab.notice.text(), timeout=5000)
        dispatcher = Dispatcher(db)  # what the running engine does on its next tick
        try:
            dispatcher.dispatch_due()
            (request,) = receiver.wait_for_requests(1)
        finally:
            dispatcher.shutdown()
    assert FakeWebhook.json(request) == {"metric": "val/acc", "value": 0.93, "run": "sample-run", "who": "deploy"}
    (fired,) = executions.list_executions(db, automation_id=automation.id)
    assert fired.is_test and fired.status == "finished" and fired.attempts[0].status_code == 200

    history = page.history_tab
    page.show_history()
    qtbot.waitUntil(lambda: history.model.rowCount() == 1 and history.model.execution(0).status == "finished",
                    timeout=5000)
    assert history.model.index(0, AUTOMATION).data() == "deploy (test)"
    history.table.selectRow(0)
    assert "TEST" in history.detail.toPlainText()
    assert "200" in history.detail.toPlainText() and "sample-run" in history.detail.toPlainText()
    save_screenshot(page, "automations-history-test.png")


def test_export_then_import_round_trip_through_the_file_dialogs(
        qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring, tmp_path):
    hook = integrations.create_webhook(db, admin_ctx.team.id, name="ci", url="https://ci.example.com/h")
    make_automation(db, admin_ctx, project, "acc high", threshold=0.97)
    make_automation(db, admin_ctx, project, "to ci", action_type="GENERIC_WEBHOOK",
                    action_config={"integration_id": hook.id, "request_payload": '{"a": 1}'})
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 2)
    tab = page.automations_tab
    target = tmp_path / "exported.json"

    dialog = tab.choose_export_file()
    qtbot.waitUntil(dialog.isVisible)
    dialog.selectFile(str(target))
    dialog.accept()
    qtbot.waitUntil(lambda: tab.notice.text().startswith("Exported 2 automations"), timeout=5000)
    document = json.loads(target.read_text())
    assert sorted(a["name"] for a in document["automations"]) == ["acc high", "to ci"]

    dialog = tab.choose_import_file()
    qtbot.waitUntil(dialog.isVisible)
    dialog.selectFile(str(target))
    dialog.accept()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=5000)
    assert tab.notice.text() == "Imported 2 automations: “acc high (2)”, “to ci (2)”."
    copies = {a.name: a for a in automations.list_automations(db, project_id=project.id)}
    assert copies["acc high (2)"].event_filter == copies["acc high"].event_filter
    assert copies["to ci (2)"].action_config["integration_id"] == hook.id

    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "something-else"}')
    tab.import_from(str(broken))
    qtbot.waitUntil(tab.message.isVisible, timeout=5000)
    assert tab.message.text().startswith("Nothing imported: not a Runbell automations file")
    assert tab.notice.isHidden()
    assert len(automations.list_automations(db, project_id=project.id)) == 4


def test_last_execution_column_sorts_by_time(qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring):
    older = make_automation(db, admin_ctx, project, "a older")
    never = make_automation(db, admin_ctx, project, "b never")
    newer = make_automation(db, admin_ctx, project, "c newer")
    make_execution(db, older, status="finished")
    make_execution(db, newer, status="finished")
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 3)
    page.automations_tab.table.sortByColumn(LAST, Qt.SortOrder.DescendingOrder)
    assert _names(page) == [newer.name, older.name, never.name]


def test_history_filters_by_automation(qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring):
    first = make_automation(db, admin_ctx, project, "first")
    second = make_automation(db, admin_ctx, project, "second")
    make_execution(db, first, status="finished")
    make_execution(db, second, status="failed")
    make_execution(db, second, status="finished")
    page = _page(qtbot, admin_ctx, tasks, watcher, project, 2)
    history = page.history_tab
    qtbot.waitUntil(lambda: history.model.rowCount() == 3, timeout=5000)
    combo = history.automation_filter
    assert [combo.itemText(i) for i in range(combo.count())] == ["All automations", "first", "second"]

    assert history.select_automation_filter(second.id)
    qtbot.waitUntil(lambda: history.model.rowCount() == 2, timeout=5000)
    assert {history.model.execution(r).automation_id for r in range(2)} == {second.id}
    history.status_filter.setCurrentIndex(history.status_filter.findData("failed"))
    qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=5000)
    assert history.model.execution(0).status == "failed"
    with qtbot.waitSignal(history.reloader.loaded, timeout=5000):
        history.reloader.request(immediate=True)  # a reload keeps the chosen automation
    assert combo.currentData() == second.id and history.model.rowCount() == 1
    history.select_automation_filter(None)
    history.status_filter.setCurrentIndex(0)
    qtbot.waitUntil(lambda: history.model.rowCount() == 3, timeout=5000)


def test_viewer_cannot_duplicate_test_or_import(qtbot, db, admin_ctx, viewer_ctx, project, tasks, watcher,
                                                memory_keyring):
    automation = make_automation(db, admin_ctx, project, "acc high")
    page = _page(qtbot, viewer_ctx, tasks, watcher, project, 1)
    tab = page.automations_tab
    tab.select_automation(automation.id)
    assert not tab.duplicate_action.isEnabled() and not tab.test_action.isEnabled()
    assert not tab.import_action.isEnabled() and tab.export_action.isEnabled()
    assert tab.choose_import_file() is None
