"""The Registries tab: linked versions, detail, alias/tag/unlink changes, the production move, roles."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from desktop.registries.detail import VersionDetail
from desktop.registries_page import RegistriesPage
from store import artifact_files, artifacts, registries, registry_links, runs
from store.registries import PermissionDenied
from tests.ui_manage_fixtures import (  # noqa: F401 (fixtures)
    OFFSCREEN_NOISE, admin_ctx, project, save_screenshot, tasks, viewer_ctx, watcher,
)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def linked(db, admin_ctx, project, tmp_path):
    """v0 (production) and v1 (staging, latest) of Model/digits-classifier, from one run."""
    run = runs.create_run(db, project.id, name="golden-sun-3", username="alice")
    model = registries.find_registry(db, admin_ctx.team.id, "Model")
    links = []
    for n, (acc, alias) in enumerate(((0.93, "production"), (0.96, "staging"))):
        path = tmp_path / f"weights-{n}.npz"
        path.write_bytes(f"weights {n}".encode())
        version = artifacts.log_version(db, project.id, "digits-mlp", "model", artifact_files.store_files(path),
                                        metadata={"val_acc": acc, "hidden": 64}, run_id=run.id, username="alice")
        links.append(registry_links.link_version(db, version.id, model.id, "digits-classifier",
                                                 username="alice", aliases=[alias]))
    return links


def _page(qtbot, ctx, tasks, watcher, rows: int) -> RegistriesPage:
    page = RegistriesPage(ctx, tasks=tasks, watcher=watcher)
    qtbot.addWidget(page)
    page.resize(1200, 620)
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == rows, timeout=5000)
    return page


def _cells(page: RegistriesPage, row: int) -> list[str]:
    return [page.model.index(row, c).data() for c in range(page.model.columnCount())]


def _button(page: RegistriesPage, name: str) -> QPushButton:
    return page.detail.findChild(QPushButton, name)


def _box(qtbot, page, name: str) -> QMessageBox:
    def shown() -> list[QMessageBox]:
        return [b for b in page.findChildren(QMessageBox, name) if b.isVisible()]

    qtbot.waitUntil(lambda: len(shown()) == 1, timeout=5000)
    return shown()[0]


def _select(qtbot, page: RegistriesPage, version: str) -> None:
    row = next(r for r in range(page.model.rowCount()) if page.model.link(r).version == version)
    page.table.selectRow(row)
    qtbot.waitUntil(lambda: page.detail.link is not None and page.detail.link.version == version, timeout=5000)


def test_the_tab_shows_registries_collections_and_linked_versions(qtbot, admin_ctx, tasks, watcher, linked):
    page = _page(qtbot, admin_ctx, tasks, watcher, rows=2)
    assert page.registry_names() == ["Model", "Dataset"]
    assert page.collections.currentItem().text() == "digits-classifier  (2)"
    newest, oldest = _cells(page, 0), _cells(page, 1)
    assert newest[:3] == ["v1", "latest, staging", ""] and newest[4] == "golden-sun-3"
    assert oldest[:2] == ["v0", "production"] and "val_acc=0.93" in oldest[5]
    assert "admin" in page.role_label.text()
    _select(qtbot, page, "v0")
    summary = page.detail.summary.text()
    assert "digits-classifier:v0" in summary and "digits/digits-mlp:v0" in summary and "golden-sun-3" in summary
    save_screenshot(page, "ui-registries.png")


def test_moving_production_asks_first_and_then_moves_it(qtbot, db, admin_ctx, tasks, watcher, linked):
    page = _page(qtbot, admin_ctx, tasks, watcher, rows=2)
    _select(qtbot, page, "v1")
    page.detail.aliases.input.setText("production")
    _button(page, "alias-add").click()
    box = _box(qtbot, page, "confirm-move-alias")
    assert "from digits-classifier:v0 to v1" in box.text()
    save_screenshot(box, "ui-registries-move-production.png")
    box.findChild(QPushButton, "confirm-no").click()
    assert registry_links.alias_holder(db, linked[0].collection_id, "production").id == linked[0].id

    page.detail.aliases.input.setText("production")
    _button(page, "alias-add").click()
    _box(qtbot, page, "confirm-move-alias").findChild(QPushButton, "confirm-yes").click()
    qtbot.waitUntil(lambda: _cells(page, 0)[1] == "latest, production, staging", timeout=5000)
    assert _cells(page, 1)[1] == ""
    assert registry_links.alias_holder(db, linked[0].collection_id, "production").id == linked[1].id


def test_tags_aliases_and_unlink_from_the_detail_pane(qtbot, db, admin_ctx, tasks, watcher, linked):
    page = _page(qtbot, admin_ctx, tasks, watcher, rows=2)
    _select(qtbot, page, "v1")
    page.detail.tags.input.setText("europe")
    _button(page, "tag-add").click()
    qtbot.waitUntil(lambda: _cells(page, 0)[2] == "europe", timeout=5000)
    page.detail.aliases.input.setText("candidate")  # not held elsewhere: no question
    _button(page, "alias-add").click()
    qtbot.waitUntil(lambda: "candidate" in _cells(page, 0)[1], timeout=5000)
    _select(qtbot, page, "v1")
    page.detail.aliases.list.findItems("staging", Qt.MatchFlag.MatchExactly)[0].setSelected(True)
    _button(page, "alias-remove").click()
    qtbot.waitUntil(lambda: _cells(page, 0)[1] == "candidate, latest", timeout=5000)
    assert registry_links.get_link(db, linked[1].id).tags == ("europe",)

    _select(qtbot, page, "v0")
    _button(page, "unlink-version").click()
    _box(qtbot, page, "confirm-unlink").findChild(QPushButton, "confirm-yes").click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5000)
    assert [x.version for x in registry_links.list_linked_versions(db, linked[0].collection_id)] == ["v1"]


def test_versions_linked_elsewhere_appear_without_a_manual_refresh(qtbot, db, admin_ctx, project, tasks,
                                                                  watcher, linked, tmp_path):
    page = _page(qtbot, admin_ctx, tasks, watcher, rows=2)
    path = tmp_path / "new.npz"
    path.write_bytes(b"new weights")
    version = artifacts.log_version(db, project.id, "digits-mlp", "model", artifact_files.store_files(path))
    registry_links.link_version(db, version.id, linked[0].registry_id, "digits-classifier", username="alice")
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=5000)
    assert _cells(page, 0)[:2] == ["v2", "latest"]


def test_a_registry_viewer_sees_but_cannot_change(qtbot, db, viewer_ctx, tasks, watcher, linked):
    page = _page(qtbot, viewer_ctx, tasks, watcher, rows=2)
    assert "viewer" in page.role_label.text()
    _select(qtbot, page, "v1")
    page.detail.aliases.list.findItems("staging", Qt.MatchFlag.MatchExactly)[0].setSelected(True)
    detail = page.findChild(VersionDetail, "version-detail")
    for name in ("alias-add", "alias-remove", "tag-add", "tag-remove", "unlink-version"):
        button = _button(page, name)
        assert not button.isEnabled(), name
        assert "Viewers of this registry" in button.toolTip(), name
    assert not detail.aliases.input.isEnabled()
    page.add_alias("production")  # even if called directly, nothing is asked or changed
    page.unlink_selected()
    assert page.findChild(QMessageBox) is None
    with pytest.raises(PermissionDenied):
        registry_links.add_alias(db, linked[1].id, "production", username=viewer_ctx.user.username)
    assert registry_links.alias_holder(db, linked[0].collection_id, "production").id == linked[0].id


def test_custom_registries_are_created_renamed_and_deleted_from_the_tab(qtbot, db, admin_ctx, tasks, watcher,
                                                                         linked):
    from PySide6.QtWidgets import QDialogButtonBox

    page = _page(qtbot, admin_ctx, tasks, watcher, rows=2)
    buttons = page.registry_buttons
    assert buttons.new.isEnabled() and not buttons.rename.isEnabled()  # Model is built in
    assert "built in" in buttons.rename.toolTip()
    dialog = page.new_registry()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.name.setText("model")  # taken, ignoring case
    assert not ok.isEnabled() and "already has a registry named 'model'" in dialog.problem.text()
    dialog.name.setText("eval sets")
    assert not ok.isEnabled() and "not valid" in dialog.problem.text()
    dialog.name.setText("Eval-sets")
    dialog.description.setText("held-out evaluation data")
    assert ok.isEnabled() and dialog.problem.text() == ""
    save_screenshot(dialog, "registry-new-dialog.png")
    ok.click()
    qtbot.waitUntil(lambda: page.current_registry() is not None and page.current_registry().name == "Eval-sets",
                    timeout=5000)
    assert sorted(page.registry_names()) == ["Dataset", "Eval-sets", "Model"]
    save_screenshot(page, "registries-custom.png")
    assert buttons.rename.isEnabled() and buttons.delete.isEnabled()
    rename = page.rename_registry()
    rename.name.setText("Evaluation")
    rename.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: "Evaluation" in page.registry_names(), timeout=5000)
    assert [r.description for r in registries.list_registries(db, admin_ctx.team.id)
            if r.name == "Evaluation"] == ["held-out evaluation data"]
    page.delete_registry()
    _box(qtbot, page, "registry-delete-confirm").findChild(QPushButton, "confirm-yes").click()
    qtbot.waitUntil(lambda: "Evaluation" not in page.registry_names(), timeout=5000)
    assert {r.name for r in registries.list_registries(db, admin_ctx.team.id)} == {"Model", "Dataset"}


def test_team_viewers_cannot_create_registries_from_the_tab(qtbot, viewer_ctx, tasks, watcher, linked):
    page = _page(qtbot, viewer_ctx, tasks, watcher, rows=2)
    assert not page.registry_buttons.new.isEnabled()
    assert "viewers" in page.registry_buttons.new.toolTip()
