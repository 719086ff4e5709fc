"""Scopes in the wizard: project, registry, registry collection — the events each allows and the
stored shape, opened from a project or for a registry (no project)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from test_wizard import finish, project, raw_row, retype  # noqa: E402, F401
from ui_fixtures import OFFSCREEN_NOISE, tasks, ui_ctx  # noqa: E402, F401

from desktop.engine import artifact_events as art  # noqa: E402
from desktop.engine import run_events  # noqa: E402
from desktop.wizard.wizard import AutomationWizard  # noqa: E402
from store import automations, registries, registry_links  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def registry(ui_ctx):
    registry = registries.create_registry(ui_ctx.db, ui_ctx.team.id, "vision", username=ui_ctx.user.username)
    registry_links.create_collection(ui_ctx.db, registry.id, "classifier", username=ui_ctx.user.username)
    registry_links.create_collection(ui_ctx.db, registry.id, "detector", username=ui_ctx.user.username)
    return registry


def opened(qtbot, wizard: AutomationWizard) -> AutomationWizard:
    qtbot.addWidget(wizard)
    with qtbot.waitSignal(wizard.ready, timeout=10_000):
        wizard.show()
    return wizard


def save_without_action(qtbot, wizard: AutomationWizard, name: str):
    """From the Event page: no action, the name, Create; the saved automation."""
    wizard.next()
    ap = wizard.action_page
    ap.action_type.setCurrentIndex(ap.action_type.findData("NO_OP"))
    wizard.next()
    retype(qtbot, wizard.details_page.name, name)
    return finish(qtbot, wizard)


def offered(page) -> list[str]:
    return [page.event_type.itemData(i) for i in range(page.event_type.count())]


def test_each_scope_offers_the_events_the_engine_allows(qtbot, ui_ctx, project, registry, tasks):
    wizard = opened(qtbot, AutomationWizard(ui_ctx, tasks, project.id))
    page = wizard.event_page
    scope = page.scope_picker.scope
    assert [scope.itemData(i) for i in range(scope.count())] == ["project", "registry", "collection"]
    assert offered(page) == [*run_events.RUN_EVENTS, art.CREATE_ARTIFACT, art.ADD_ARTIFACT_ALIAS,
                             art.ADD_ARTIFACT_TAG, art.REMOVE_ARTIFACT_TAG]
    scope.setCurrentIndex(scope.findData("registry"))
    assert offered(page) == [art.ADD_ARTIFACT_ALIAS, art.LINK_ARTIFACT, art.UNLINK_ARTIFACT]
    assert not page.preview.isVisibleTo(page) and not page.run_filter_box.isVisibleTo(page)
    scope.setCurrentIndex(scope.findData("collection"))
    assert offered(page) == [art.ADD_ARTIFACT_ALIAS, art.LINK_ARTIFACT, art.UNLINK_ARTIFACT]
    picker = page.scope_picker
    picker.registry.setCurrentIndex(picker.registry.findData(registry.id))
    assert [picker.collection.itemText(i) for i in range(picker.collection.count())] == ["classifier", "detector"]


def test_a_registry_wizard_creates_a_registry_automation(qtbot, ui_ctx, registry, tasks, artifacts_dir):
    wizard = opened(qtbot, AutomationWizard(ui_ctx, tasks, project_id=None, registry_id=registry.id))
    page = wizard.event_page
    scope = page.scope_picker.scope
    assert [scope.itemData(i) for i in range(scope.count())] == ["registry", "collection"]  # no project here
    assert page.scope_picker.registry.currentData() == registry.id
    assert page.preview is None
    page.event_type.setCurrentIndex(page.event_type.findData(art.LINK_ARTIFACT))
    QApplication.processEvents()
    assert wizard.grab().save(str(artifacts_dir / "wizard-event-registry.png"))
    assert page.isComplete()
    saved = save_without_action(qtbot, wizard, "linked to vision")
    stored = automations.get_automation(ui_ctx.db, saved.id)
    assert (stored.project_id, stored.scope_type, stored.event_type) == (None, "registry", "LINK_ARTIFACT")
    assert stored.event_filter == {"scope": {"registry_id": registry.id}, "filter": {"$or": [{"$and": []}]}}
    rule = art.parse_rule(stored)  # the engine accepts it
    assert (rule.registry_id, rule.collection_id) == (registry.id, None)


def test_a_collection_alias_automation_from_a_project_and_an_edit_that_keeps_it(qtbot, ui_ctx, project, registry, tasks):
    detector = next(c for c in registry_links.list_collections(ui_ctx.db, registry.id) if c.name == "detector")
    wizard = opened(qtbot, AutomationWizard(ui_ctx, tasks, project.id))
    page, picker = wizard.event_page, wizard.event_page.scope_picker
    picker.scope.setCurrentIndex(picker.scope.findData("collection"))
    picker.registry.setCurrentIndex(picker.registry.findData(registry.id))
    picker.collection.setCurrentIndex(picker.collection.findData(detector.id))
    page.event_type.setCurrentIndex(page.event_type.findData(art.ADD_ARTIFACT_ALIAS))
    retype(qtbot, page.forms[art.ADD_ARTIFACT_ALIAS].regex, "^prod")
    saved = save_without_action(qtbot, wizard, "detector to prod")
    stored = automations.get_automation(ui_ctx.db, saved.id)
    assert (stored.project_id, stored.scope_type) == (None, "collection")
    assert stored.event_filter == {"scope": {"registry_id": registry.id, "collection_id": detector.id},
                                   "filter": {"$or": [{"$and": [{"alias": {"$regex": "^prod"}}]}]}}
    assert art.parse_rule(stored).collection_id == detector.id

    # C1: editing only the name keeps scope and filter byte for byte
    before = raw_row(ui_ctx.db, saved.id)
    edit = opened(qtbot, AutomationWizard(ui_ctx, tasks, project_id=None, registry_id=registry.id, automation=stored))
    assert edit.event_page.scope_type() == "collection"
    assert edit.event_page.scope_picker.collection.currentData() == detector.id
    assert edit.event_page.forms[art.ADD_ARTIFACT_ALIAS].regex.text() == "^prod"
    assert edit.changes() == {}
    edit.next()
    edit.next()
    edit.details_page.name.setText("detector → prod")
    assert edit.changes() == {"name": "detector → prod"}
    finish(qtbot, edit)
    after = raw_row(ui_ctx.db, saved.id)
    assert after[:2] == before[:2] and after[2] == "detector → prod"
    assert automations.get_automation(ui_ctx.db, saved.id).scope_type == "collection"


def test_a_registry_without_collections_cannot_take_a_collection_scope(qtbot, ui_ctx, tasks):
    empty = registries.create_registry(ui_ctx.db, ui_ctx.team.id, "empty", username=ui_ctx.user.username)
    wizard = opened(qtbot, AutomationWizard(ui_ctx, tasks, project_id=None, registry_id=empty.id))
    picker = wizard.event_page.scope_picker
    picker.scope.setCurrentIndex(picker.scope.findData("collection"))
    assert not wizard.event_page.isComplete()
    assert "collection" in wizard.event_page.error.text()
