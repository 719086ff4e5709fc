"""The registry half of the product on real components (issue 4).

The digits demo training logs its model as an artifact; the user links it to
`Model/digits-classifier` from the project's Artifacts tab, creates a registry automation in the
Registries tab with the automation wizard (alias `^production$` → a GitHub `repository_dispatch` webhook to a loopback
receiver), adds `production` to the linked version; the receiver gets the rendered body and the
registry's History tab shows the execution finished.
"""
from __future__ import annotations

import json
import subprocess
import sys

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLineEdit, QMessageBox, QPushButton

from desktop.artifacts.page import ArtifactsPage
from desktop.registries_page import RegistriesPage
from store import integrations, registries, registry_automations, registry_links, teams
from tests.e2e.app_fixtures import child as _child
from tests.registry_wizard import create_alias_webhook
from tests.support.fake_webhook import FakeWebhook
from tests.support.waiting import wait_until

PROJECT = "digits-registry-e2e"


def _train(ctx, tmp_path) -> None:
    with (tmp_path / "training.log").open("w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "desktop.demo_training", "--db-url", ctx.db.url, "--project", PROJECT,
             "--epochs", "1", "--step-delay", "0", "--seed", "3", "--name", "mlp-registry"],
            stdout=log, stderr=subprocess.STDOUT, timeout=300)
    assert done.returncode == 0, (tmp_path / "training.log").read_text()[-3000:]


def _link_from_the_artifacts_tab(qtbot, window, project) -> None:
    window.open_project(project.id, tab="artifacts")  # opens once the project list has loaded
    qtbot.waitUntil(lambda: window.findChild(ArtifactsPage, "artifacts-page") is not None, timeout=20_000)
    page = _child(window, ArtifactsPage, "artifacts-page")
    qtbot.waitUntil(lambda: page.table.rowCount() == 1 and page.selected_version() is not None, timeout=20_000)
    assert page.selected_version().artifact_name == "digits-mlp"
    link = _child(page, QPushButton, "link-to-registry")
    qtbot.waitUntil(link.isEnabled, timeout=5_000)
    qtbot.mouseClick(link, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in page.findChildren(QDialog)), timeout=5_000)
    dialog = next(d for d in page.findChildren(QDialog) if d.isVisible())
    registry = dialog.findChild(object, "link-registry")
    registry.setCurrentIndex(registry.findText("Model"))
    collection = _child(dialog, QLineEdit, "link-collection")
    collection.clear()
    QTest.keyClicks(collection, "digits-classifier")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def _create_webhook_automation(qtbot, page: RegistriesPage, registry_id: int, hook_id: int, artifacts_dir) -> None:
    new = _child(page, QPushButton, "registry-automation-new")
    qtbot.waitUntil(new.isEnabled, timeout=10_000)
    qtbot.mouseClick(new, Qt.MouseButton.LeftButton)
    wizard = page.last_wizard
    assert wizard is not None
    create_alias_webhook(qtbot, wizard, registry_id=registry_id, hook_id=hook_id, name="deploy digits on production",
                         on_last_page=lambda: wizard.grab().save(str(artifacts_dir / "e2e-registry-wizard.png")))


def test_linking_and_promoting_the_digits_model_calls_the_registry_webhook(
        qtbot, app_window, tmp_path, artifacts_dir):  # noqa: F811
    window, ctx = app_window
    receiver = FakeWebhook()
    try:
        hook = integrations.create_webhook(ctx.db, ctx.team.id, name="github-dispatch", url=receiver.url)
        _train(ctx, tmp_path)
        project = next(p for p in teams.list_projects(ctx.db, ctx.team.id) if p.name == PROJECT)
        model = registries.find_registry(ctx.db, ctx.team.id, "Model")

        _link_from_the_artifacts_tab(qtbot, window, project)
        [collection] = wait_until(lambda: registry_links.list_collections(ctx.db, model.id), timeout=20,
                                  message="the version was never linked")
        assert collection.name == "digits-classifier"

        window.show_tab("registries")
        page = _child(window, RegistriesPage, "registries-page")
        page.show_registry(model.id, collection.id, tab="automations")
        qtbot.waitUntil(lambda: page.collections.count() == 1, timeout=10_000)
        _create_webhook_automation(qtbot, page, model.id, hook.id, artifacts_dir)
        [automation] = registry_automations.list_registry_automations(ctx.db, ctx.team.id, model.id)
        assert automation.event_filter["scope"] == {"registry_id": model.id}
        assert automation.action_config["integration_id"] == hook.id
        qtbot.waitUntil(lambda: page.automations_tab.model.rowCount() == 1, timeout=10_000)
        window.grab().save(str(artifacts_dir / "e2e-registry-automations.png"))

        # Add `production` to the linked version in the Versions tab.
        page.show_tab("versions")
        qtbot.waitUntil(lambda: page.selected_link() is not None and page.detail.link is not None, timeout=10_000)
        alias_input = _child(page.detail, QLineEdit, "alias-input")
        QTest.keyClicks(alias_input, "production")
        qtbot.mouseClick(_child(page.detail, QPushButton, "alias-add"), Qt.MouseButton.LeftButton)
        for box in page.findChildren(QMessageBox, "confirm-move-alias"):  # only if another version held it
            if box.isVisible():
                qtbot.mouseClick(box.findChild(QPushButton, "confirm-yes"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.selected_link() is not None and "production" in page.selected_link().aliases,
                        timeout=10_000)
        window.grab().save(str(artifacts_dir / "e2e-registries-tab.png"))

        # The loopback receiver got the GitHub repository_dispatch body, rendered.
        [received] = receiver.wait_for_requests(1, timeout=60)
        body = json.loads(received.body)
        assert body["event_type"] == "deploy-model"
        payload = body["client_payload"]
        assert payload["alias"] == "production"
        assert payload["artifact_collection_name"] == "digits-classifier"
        assert payload["artifact_version_string"].endswith("/digits-classifier:v0")
        assert payload["artifact_version_index"] in ("0", 0)
        assert payload["event_author"] == ctx.user.username
        assert len(payload) <= 10 and len(body["event_type"]) <= 100

        # The registry's History tab shows the execution finished.
        page.show_tab("history")
        history = page.history_tab
        qtbot.waitUntil(lambda: history.model.rowCount() == 1 and history.model.index(0, 4).data() == "Finished",
                        timeout=30_000)
        assert history.model.index(0, 1).data() == "deploy digits on production"
        assert history.model.index(0, 2).data() == f"alias production → {payload['artifact_version_string']}"
        history.table.selectRow(0)
        qtbot.waitUntil(lambda: "deploy-model" in history.detail.toPlainText()
                        or "production" in history.detail.toPlainText(), timeout=5_000)
        window.grab().save(str(artifacts_dir / "e2e-registry-history.png"))
    finally:
        receiver.close()
