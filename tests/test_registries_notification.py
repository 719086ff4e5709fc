"""A clicked notification of an artifact firing opens the registry collection (registry scope) or the
project's Artifacts tab (project scope)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, qsettings_isolated, tasks, ui_ctx, watcher  # noqa: E402, F401

from desktop.main_window import MainWindow  # noqa: E402
from desktop.registries_page import RegistriesPage  # noqa: E402
from store import artifact_files, artifacts, registries, registry_links, runs, teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE, r"This plugin does not support raise\(\)")


class _Engine:
    running, last_error = True, None

    def stop(self) -> None:
        self.running = False


@pytest.fixture
def linked(db, ui_ctx, tmp_path):
    project = teams.get_or_create_project(db, ui_ctx.team.id, "digits")
    run = runs.create_run(db, project.id, name="golden-sun-3", username="alice")
    path = tmp_path / "weights.npz"
    path.write_bytes(b"weights")
    version = artifacts.log_version(db, project.id, "digits-mlp", "model", artifact_files.store_files(path),
                                    run_id=run.id, username="alice")
    model = registries.find_registry(db, ui_ctx.team.id, "Model")
    return project, version, registry_links.link_version(db, version.id, model.id, "digits-classifier", username="alice")


def test_artifact_notifications_open_the_registry_or_the_artifacts_tab(
        qtbot, db, ui_ctx, tasks, watcher, qsettings_isolated, linked):  # noqa: F811
    project, version, link = linked
    window = MainWindow(ui_ctx, tasks, watcher, _Engine(), use_tray=False)
    qtbot.addWidget(window)
    window.show()
    page = window.registries.findChild(RegistriesPage, "registries-page")
    qtbot.waitUntil(lambda: page.list.count() == 2, timeout=5000)
    page.select_registry("Dataset")
    qtbot.waitUntil(lambda: page.list.currentItem() is not None and page.list.currentItem().text() == "Dataset",
                    timeout=5000)
    window.open_notification_target({"kind": "artifact", "scope": "registry", "project_id": None,
                                     "registry_id": link.registry_id, "collection_id": link.collection_id,
                                     "version_id": version.id, "link_id": link.id})
    assert window.tabs.currentWidget() is window.registries
    qtbot.waitUntil(lambda: page.list.currentItem().text() == "Model" and page.selected_link() is not None
                    and page.selected_link().id == link.id, timeout=5000)

    window.open_notification_target({"kind": "artifact", "scope": "project", "project_id": project.id,
                                     "registry_id": None, "collection_id": version.artifact_id,
                                     "version_id": version.id, "link_id": None})
    qtbot.waitUntil(lambda: window.projects.project_page is not None, timeout=5000)
    project_page = window.projects.project_page
    qtbot.waitUntil(lambda: project_page.tabs.currentIndex() == 2 and project_page.artifacts.isVisible(), timeout=5000)
    window.shutdown()
