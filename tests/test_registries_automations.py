"""The registry's Automations and History tabs, the New-automation dialog, registry roles on
automations (UI and store), and notifications of artifact firings opening the registry."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from desktop.engine import artifact_events as rules
from desktop.registries.detail import VIEWER_REGISTRY_TOOLTIP
from desktop.registries_page import RegistriesPage
from store import artifact_files, artifacts, automations, executions, integrations, registries, registry_automations, registry_links, runs
from store.registries import PermissionDenied
from tests.registry_wizard import DISPATCH_PAYLOAD, create_alias_webhook
from tests.ui_manage_fixtures import (  # noqa: F401 (fixtures)
    OFFSCREEN_NOISE, admin_ctx, memory_keyring, project, save_screenshot, tasks, viewer_ctx, watcher,
)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def model_registry(db, admin_ctx):
    return registries.find_registry(db, admin_ctx.team.id, "Model")


@pytest.fixture
def hook(db, admin_ctx, memory_keyring):  # noqa: F811
    return integrations.create_webhook(db, admin_ctx.team.id, name="github-dispatch",
                                       url="https://api.github.com/repos/acme/deploy/dispatches")


@pytest.fixture
def linked(db, admin_ctx, project, model_registry, tmp_path):
    run = runs.create_run(db, project.id, name="golden-sun-3", username="alice")
    path = tmp_path / "weights.npz"
    path.write_bytes(b"weights")
    version = artifacts.log_version(db, project.id, "digits-mlp", "model", artifact_files.store_files(path),
                                    metadata={"val_acc": 0.95}, run_id=run.id, username="alice")
    return registry_links.link_version(db, version.id, model_registry.id, "digits-classifier", username="alice")


def _alias_automation(db, ctx, registry_id, name, hook, *, collection_id=None, regex="^production$"):
    return registry_automations.create_registry_automation(
        db, team_id=ctx.team.id, registry_id=registry_id, username=ctx.user.username, name=name,
        event_type=rules.ADD_ARTIFACT_ALIAS,
        event_filter=rules.scoped_filter(registry_id=registry_id, collection_id=collection_id, alias_regex=regex),
        scope_type="collection" if collection_id else "registry", action_type="GENERIC_WEBHOOK",
        action_config={"integration_id": hook.id, "request_payload": DISPATCH_PAYLOAD})


def _page(qtbot, ctx, tasks, watcher) -> RegistriesPage:  # noqa: F811
    page = RegistriesPage(ctx, tasks=tasks, watcher=watcher)
    qtbot.addWidget(page)
    page.resize(1200, 620)
    page.show()
    qtbot.waitUntil(lambda: page.list.count() == 2, timeout=5000)
    return page


def _names(page: RegistriesPage) -> list[str]:
    model = page.automations_tab.model
    return [model.automation(r).name for r in range(model.rowCount())]


def test_the_registry_tabs_list_its_automations_and_their_history(
        qtbot, db, admin_ctx, project, model_registry, hook, linked, tasks, watcher, artifacts_dir):  # noqa: F811
    dataset = registries.find_registry(db, admin_ctx.team.id, "Dataset")
    mine = _alias_automation(db, admin_ctx, model_registry.id, "deploy on production", hook)
    _alias_automation(db, admin_ctx, model_registry.id, "staging in digits", hook,
                      collection_id=linked.collection_id, regex="^staging$")
    _alias_automation(db, admin_ctx, dataset.id, "dataset golden", hook, regex="^golden$")
    automations.create_automation(db, team_id=admin_ctx.team.id, project_id=project.id, name="project alias",
                                  event_type=rules.ADD_ARTIFACT_ALIAS, event_filter=rules.scoped_filter(alias_regex="x"),
                                  action_type="NO_OP", action_config={})
    executions.record_firing(db, automation=mine, project_id=None, run_id=None, event_type=rules.ADD_ARTIFACT_ALIAS,
                             event={"type": rules.ADD_ARTIFACT_ALIAS, "alias": "production",
                                    "artifact_version_string": "acme/wandb-registry-Model/digits-classifier:v0"},
                             action_type="GENERIC_WEBHOOK", action={"integration_id": hook.id}, status="finished")
    page = _page(qtbot, admin_ctx, tasks, watcher)
    page.show_tab("automations")
    qtbot.waitUntil(lambda: _names(page) == ["deploy on production", "staging in digits"], timeout=5000)
    event_tip = page.automations_tab.model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert "alias ~ ^production$" in event_tip
    page.show_tab("history")
    history = page.history_tab
    qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=5000)
    cells = [history.model.index(0, c).data() for c in range(history.model.columnCount())]
    assert cells[1] == "deploy on production" and cells[4] == "Finished"
    assert cells[2] == "alias production → acme/wandb-registry-Model/digits-classifier:v0"
    history.table.selectRow(0)
    assert "production" in history.detail.toPlainText()
    save_screenshot(page, "registry-history.png")

    # Dataset shows only its own automation and none of the Model history.
    page.select_registry("Dataset")
    page.show_tab("automations")
    qtbot.waitUntil(lambda: _names(page) == ["dataset golden"], timeout=5000)
    qtbot.waitUntil(lambda: history.model.rowCount() == 0, timeout=5000)


def test_toggle_and_delete_write_to_the_store(qtbot, db, admin_ctx, model_registry, hook, tasks, watcher):  # noqa: F811
    automation = _alias_automation(db, admin_ctx, model_registry.id, "deploy on production", hook)
    page = _page(qtbot, admin_ctx, tasks, watcher)
    tab = page.automations_tab
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=5000)
    enabled = tab.model.index(0, 3)
    assert tab.model.setData(enabled, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    qtbot.waitUntil(lambda: not automations.get_automation(db, automation.id).enabled, timeout=5000)
    tab.table.selectRow(0)
    assert tab.delete_button.isEnabled()
    tab.delete_selected()
    box = next(b for b in tab.findChildren(QMessageBox, "confirm-delete-automation") if b.isVisible())
    box.findChild(object, "confirm-yes").click()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 0, timeout=5000)
    assert registry_automations.list_registry_automations(db, admin_ctx.team.id, model_registry.id) == []


def test_a_viewer_sees_registry_automations_but_cannot_change_them(
        qtbot, db, admin_ctx, viewer_ctx, model_registry, hook, tasks, watcher):  # noqa: F811
    automation = _alias_automation(db, admin_ctx, model_registry.id, "deploy on production", hook)
    page = _page(qtbot, viewer_ctx, tasks, watcher)
    tab = page.automations_tab
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=5000)
    assert not page.new_automation.isEnabled() and page.new_automation.toolTip() == VIEWER_REGISTRY_TOOLTIP
    assert page.open_wizard() is None
    tab.table.selectRow(0)
    assert not tab.delete_button.isEnabled() and tab.delete_button.toolTip() == VIEWER_REGISTRY_TOOLTIP
    enabled = tab.model.index(0, 3)
    assert not tab.model.flags(enabled) & Qt.ItemFlag.ItemIsUserCheckable
    assert enabled.data(Qt.ItemDataRole.ToolTipRole) == VIEWER_REGISTRY_TOOLTIP
    # The store refuses as well.
    with pytest.raises(PermissionDenied, match="viewer"):
        _alias_automation(db, viewer_ctx, model_registry.id, "sneaky", hook)
    with pytest.raises(PermissionDenied):
        registry_automations.set_enabled(db, automation.id, False, username=viewer_ctx.user.username)
    with pytest.raises(PermissionDenied):
        registry_automations.delete(db, automation.id, username=viewer_ctx.user.username)
    with pytest.raises(PermissionDenied):  # the wizard's save path checks the same way
        registry_automations.require_access(db, automation.event_filter, viewer_ctx.user.username)
    registry_automations.require_access(db, automation.event_filter, admin_ctx.user.username)
    assert automations.get_automation(db, automation.id).enabled


def test_new_automation_opens_the_wizard_on_the_registry_and_lists_what_it_saved(
        qtbot, db, admin_ctx, model_registry, hook, linked, tasks, watcher):  # noqa: F811
    page = _page(qtbot, admin_ctx, tasks, watcher)
    qtbot.waitUntil(page.new_automation.isEnabled, timeout=5000)
    page.new_automation.click()
    wizard = page.last_wizard
    assert wizard is not None and wizard.isVisible()
    create_alias_webhook(qtbot, wizard, registry_id=model_registry.id, hook_id=hook.id, name="deploy digits")
    [created] = registry_automations.list_registry_automations(db, admin_ctx.team.id, model_registry.id)
    assert created.name == "deploy digits" and created.scope_type == "registry" and created.project_id is None
    assert created.event_filter["scope"] == {"registry_id": model_registry.id}
    assert rules.describe_filter(created) == "alias ~ ^production$"
    assert created.action_type == "GENERIC_WEBHOOK" and created.action_config["integration_id"] == hook.id
    qtbot.waitUntil(lambda: _names(page) == ["deploy digits"], timeout=5000)
    assert page.tabs.currentWidget() is page.automations_tab


def test_show_registry_navigates_to_the_collection_and_version(
        qtbot, db, admin_ctx, model_registry, linked, tasks, watcher):  # noqa: F811
    page = _page(qtbot, admin_ctx, tasks, watcher)
    page.select_registry("Dataset")
    qtbot.waitUntil(lambda: page.list.currentItem().text() == "Dataset", timeout=5000)
    page.show_tab("history")
    page.show_registry(model_registry.id, linked.collection_id, linked.id)
    qtbot.waitUntil(lambda: page.list.currentItem().text() == "Model" and page.selected_link() is not None
                    and page.selected_link().id == linked.id, timeout=5000)
    assert page.tabs.currentIndex() == 0
