"""The main window: its tabs, opening a project, tray life and a clean shutdown."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QTabWidget, QToolButton  # noqa: E402
from ui_fixtures import (  # noqa: E402, F401
    OFFSCREEN_NOISE, qsettings_isolated, seed_run, tasks, ui_ctx, watcher,
)

from desktop.main_window import SETTINGS_GEOMETRY, MainWindow  # noqa: E402
from desktop.projects import ProjectPage  # noqa: E402
from desktop.tray import engine_status  # noqa: E402
from store import teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)
ROOT = Path(__file__).resolve().parents[1]


class FakeEngine:
    def __init__(self) -> None:
        self.running = True
        self.last_error = None
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1
        self.running = False


@pytest.fixture
def engine():
    return FakeEngine()


def make_window(qtbot, ui_ctx, tasks, watcher, engine, **kwargs) -> MainWindow:
    window = MainWindow(ui_ctx, tasks, watcher, engine, **kwargs)
    qtbot.addWidget(window)
    window.show()
    return window


def test_tabs_and_opening_a_project(qtbot, ui_ctx, tasks, watcher, engine, qsettings_isolated, artifacts_dir):
    project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")
    run = seed_run(ui_ctx.db, project.id, {"train/loss": [2.0, 1.2, 0.8, 0.6], "val/acc": [0.3, 0.6, 0.8, 0.93]})
    window = make_window(qtbot, ui_ctx, tasks, watcher, engine, use_tray=False)
    tabs = window.findChild(QTabWidget, "main-tabs")
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Projects", "Registries", "Team Settings"]
    assert [tabs.widget(i).objectName() for i in range(tabs.count())] == [
        "tab-projects", "tab-registries", "tab-team-settings"]
    assert window.engine_label.text() == "Engine running"
    # menu hints come and go in the status bar; who and where stays
    window.statusBar().showMessage("Open the settings")
    window.statusBar().clearMessage()
    assert window.identity_label.isVisible() and f"team {ui_ctx.team.name}" in window.identity_label.text()

    qtbot.waitUntil(lambda: window.projects.list.count() == 1, timeout=10_000)
    assert window.projects.list.item(0).text() == "digits"
    window.grab().save(str(artifacts_dir / "main-projects.png"))
    with qtbot.waitSignal(window.projects.project_opened, timeout=5000) as opened:
        window.projects.list.itemActivated.emit(window.projects.list.item(0))
    page = opened.args[0]
    assert isinstance(page, ProjectPage) and page.project.id == project.id
    sub = page.tabs
    assert [sub.tabText(i) for i in range(sub.count())] == ["Workspace", "Runs", "Artifacts", "Automations"]
    assert [sub.widget(i).objectName() for i in range(sub.count())] == [
        "tab-workspace", "tab-runs", "tab-artifacts", "tab-automations"]
    curve = lambda: page.workspace.curve(run.id, "val/acc")  # noqa: E731
    qtbot.waitUntil(lambda: curve() is not None and curve().xData is not None and len(curve().xData) == 4,
                    timeout=10_000)
    assert page.workspace.findChild(QToolButton, "bell-val/acc") is not None
    window.grab().save(str(artifacts_dir / "main-workspace.png"))

    # open_project from elsewhere (the demo, a notification) switches tab and sub-tab
    window.show_tab("team-settings")
    assert window.open_project(project.id, "runs") is page
    assert tabs.currentWidget().objectName() == "tab-projects"
    assert sub.currentWidget().objectName() == "tab-runs"
    window.projects.close_project()
    assert window.projects.project_page is None


def test_open_project_created_after_the_list_loaded(qtbot, ui_ctx, tasks, watcher, engine, qsettings_isolated):
    window = make_window(qtbot, ui_ctx, tasks, watcher, engine, use_tray=False)
    qtbot.waitUntil(lambda: window.projects.empty.isVisible(), timeout=10_000)
    project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "fresh")
    with qtbot.waitSignal(window.projects.project_opened, timeout=10_000):
        assert window.open_project(project.id) is None  # not in the list yet: opens once loaded
    assert window.projects.project_page.project.name == "fresh"


@pytest.mark.qt_log_ignore(
    # offscreen has no tray and cannot raise windows; a real session (xcb, Wayland) has both
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged", r"This plugin does not support raise\(\)",
)
def test_close_hides_to_tray_and_quit_stops_everything(qtbot, ui_ctx, tasks, watcher, engine, qsettings_isolated):
    window = make_window(qtbot, ui_ctx, tasks, watcher, engine, use_tray=True)
    window.resize(900, 640)
    window.close()
    assert not window.isVisible()
    assert engine.stopped == 0  # the engine keeps running in the tray
    window.show_and_raise()
    assert window.isVisible()
    window.quit_action.trigger()
    assert engine.stopped == 1
    assert not window.isVisible()
    assert not watcher._follower.isRunning()
    assert QSettings().value(SETTINGS_GEOMETRY) is not None
    window.shutdown()  # idempotent
    assert engine.stopped == 1
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"


def test_without_a_tray_closing_quits(qtbot, ui_ctx, tasks, watcher, engine, qsettings_isolated):
    window = make_window(qtbot, ui_ctx, tasks, watcher, engine, use_tray=False)
    window.close()
    assert engine.stopped == 1 and not watcher._follower.isRunning()


def test_geometry_is_remembered(qtbot, ui_ctx, tasks, watcher, engine, qsettings_isolated):
    window = make_window(qtbot, ui_ctx, tasks, watcher, engine, use_tray=False)
    window.resize(777, 555)
    window.show_tab("registries")
    window.shutdown()
    again = MainWindow(ui_ctx, tasks, watcher, engine, use_tray=False)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (777, 555)
    assert again.tabs.currentWidget().objectName() == "tab-registries"


def test_engine_status_text():
    assert engine_status(None) == "engine not running"
    engine = FakeEngine()
    assert engine_status(engine) == "engine running"
    engine.running, engine.last_error = False, "database is locked"
    assert engine_status(engine) == "engine stopped (last error: database is locked)"


def test_cli_version_and_help():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "desktop", "--version"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("runbell ")
    out = subprocess.run([sys.executable, "-m", "desktop", "--help"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert "demo" in out.stdout and "engine" in out.stdout and "--db" in out.stdout


def test_the_app_starts_and_quits_cleanly(tmp_path, db_url):
    """`runbell --quit-after`: the smoke test packaged builds use too."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "desktop", "--db", db_url, "--quit-after", "1.5"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Runbell ready" in proc.stderr
    for bad in ("Traceback", "ModuleNotFoundError", "ImportError", "FileNotFoundError"):
        assert bad not in proc.stderr, proc.stderr[-3000:]


def test_a_role_change_applies_to_the_open_window_at_once(qtbot, ui_ctx, tasks, watcher, engine, qsettings_isolated):
    project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")
    seed_run(ui_ctx.db, project.id, {"val/acc": [0.3, 0.6]})
    _, other = teams.ensure_default_team(ui_ctx.db, "bob")
    teams.set_role(ui_ctx.db, other.id, "admin")  # so the signed-in admin can be demoted
    window = make_window(qtbot, ui_ctx, tasks, watcher, engine, use_tray=False)
    qtbot.waitUntil(lambda: window.projects.list.count() == 1, timeout=10_000)
    window.open_project(project.id)
    page = window.projects.project_page
    qtbot.waitUntil(lambda: page.workspace.panel("val/acc") is not None, timeout=10_000)
    assert page.workspace.panel("val/acc").bell.isEnabled()
    teams.set_role(ui_ctx.db, ui_ctx.user.id, "viewer")  # by another admin, maybe on another machine
    qtbot.waitUntil(lambda: window.ctx.user.role == "viewer", timeout=10_000)
    assert "(viewer)" in window.identity_label.text()
    # the same project, built again for the new role once the rebuilt list has loaded (in the
    # background: under load that comes after the role change shows)
    qtbot.waitUntil(lambda: window.projects.project_page not in (None, page), timeout=10_000)
    reopened = window.projects.project_page
    assert reopened.project.id == project.id
    qtbot.waitUntil(lambda: reopened.workspace.panel("val/acc") is not None, timeout=10_000)
    bell = reopened.workspace.panel("val/acc").bell
    assert not bell.isEnabled() and "Viewers cannot create automations" in bell.toolTip()
