"""Project → Artifacts: versions table, alias/tag changes, the production move, linking, Would fire."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton

from desktop.artifacts.page import ArtifactsPage
from desktop.engine import artifact_events as rules
from store import artifact_files, artifacts, automations, registries, registry_links, runs
from store.errors import PermissionDenied
from tests.ui_manage_fixtures import (  # noqa: F401
    OFFSCREEN_NOISE, admin_ctx, project, save_screenshot, tasks, viewer_ctx, watcher,
)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def versions(db, admin_ctx, project, tmp_path):  # noqa: F811
    run = runs.create_run(db, project.id, name="golden-sun-3", username="alice")
    out = []
    for n, acc in enumerate((0.93, 0.96)):
        path = tmp_path / f"w{n}.npz"
        path.write_bytes(f"weights {n}".encode())
        out.append(artifacts.log_version(db, project.id, "digits-mlp", "model", artifact_files.store_files(path),
                                         metadata={"val_acc": acc}, run_id=run.id, username="alice",
                                         aliases=["production"] if n == 0 else []))
    automations.create_automation(db, team_id=admin_ctx.team.id, project_id=project.id, name="deploy on prod",
                                  event_type="ADD_ARTIFACT_ALIAS", action_type="NO_OP", action_config={},
                                  event_filter=rules.scoped_filter(alias_regex="^production$"))
    automations.create_automation(db, team_id=admin_ctx.team.id, project_id=project.id, name="new model",
                                  event_type="CREATE_ARTIFACT", action_type="NO_OP", action_config={},
                                  event_filter=rules.scoped_filter())
    return out


def test_versions_alias_move_tag_link_and_would_fire(qtbot, db, admin_ctx, project, tasks, watcher, versions):  # noqa: F811
    page = ArtifactsPage(admin_ctx, tasks, watcher, project.id)
    qtbot.addWidget(page)
    page.resize(1200, 560)
    page.show()
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    assert [page.table.item(0, c).text() for c in (0, 1, 4)] == ["v1", "latest", "golden-sun-3"]
    qtbot.waitUntil(lambda: "deploy on prod" in page.fire.text() and "new model" in page.fire.text(), timeout=5000)
    page.aliases.input.setText("staging")
    qtbot.waitUntil(lambda: "deploy on prod" not in page.fire.text(), timeout=5000)
    page.aliases.input.setText("production")
    qtbot.waitUntil(lambda: "deploy on prod" in page.fire.text(), timeout=5000)
    save_screenshot(page, "artifacts-page.png")

    page.add_alias("production")  # held by v0: asks first
    qtbot.waitUntil(lambda: any(b.isVisible() for b in page.findChildren(QMessageBox, "confirm-move-alias")), timeout=5000)
    box = next(b for b in page.findChildren(QMessageBox, "confirm-move-alias") if b.isVisible())
    next(b for b in box.findChildren(QPushButton) if b.text() == "Move production").click()
    qtbot.waitUntil(lambda: "production" in artifacts.get_version(db, versions[1].id).aliases, timeout=5000)

    page.tags.input.setText("..")  # refused: what was typed stays to be fixed
    page.tags.add.click()
    qtbot.waitUntil(lambda: "at least one letter or digit" in page.message.text(), timeout=5000)
    assert page.tags.input.text() == ".."
    page.tags.input.setText("europe")
    page.tags.add.click()
    qtbot.waitUntil(lambda: artifacts.get_version(db, versions[1].id).tags == ("europe",), timeout=5000)
    # the row is in the store before the background write's callback clears the field
    qtbot.waitUntil(lambda: page.tags.input.text() == "", timeout=5000)
    qtbot.waitUntil(lambda: page.table.item(0, 2).text() == "europe", timeout=5000)

    dialog = page.open_link_dialog()
    dialog.collection.setText("digits-classifier")
    dialog.accept()
    model = registries.find_registry(db, admin_ctx.team.id, "Model")
    qtbot.waitUntil(lambda: any(c.name == "digits-classifier" for c in registry_links.list_collections(db, model.id)),
                    timeout=5000)
    tasks.wait_idle()


def test_team_viewers_see_versions_but_cannot_change_them(qtbot, db, viewer_ctx, project, tasks, watcher,  # noqa: F811
                                                          versions):
    page = ArtifactsPage(viewer_ctx, tasks, watcher, project.id)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    page.table.selectRow(0)
    for widget in (page.aliases, page.tags, page.link_button):
        assert not widget.isEnabled() and "Viewers of this team" in widget.toolTip()
    page.add_alias("production")  # even when called directly: nothing is asked or changed
    assert page.findChild(QMessageBox) is None
    with pytest.raises(PermissionDenied, match="viewer of this team and cannot change aliases"):
        artifacts.add_alias(db, versions[1].id, "production", username=viewer_ctx.user.username)
    with pytest.raises(PermissionDenied, match="cannot change tags"):
        artifacts.add_tag(db, versions[1].id, "europe", username=viewer_ctx.user.username)
    assert artifacts.get_version(db, versions[0].id).aliases == ("production",)


def test_the_link_dialog_offers_only_registries_the_user_can_write(qtbot, db, admin_ctx, project, tasks,  # noqa: F811
                                                                   watcher, versions):
    from desktop.context import AppContext
    from store import teams

    _, member = teams.ensure_default_team(db, "mia")
    model = registries.find_registry(db, admin_ctx.team.id, "Model")
    registries.set_member_role(db, model.id, member.id, "viewer", username=admin_ctx.user.username)
    page = ArtifactsPage(AppContext(db, admin_ctx.team, member), tasks, watcher, project.id)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    page.table.selectRow(0)
    dialog = page.open_link_dialog()
    assert [dialog.registry.itemText(i) for i in range(dialog.registry.count())] == ["Dataset"]
    dialog.reject()
