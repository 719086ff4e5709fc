"""The main window: tabs Projects, Registries and Team Settings; tray life; clean shutdown."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget, QWidget

from desktop import resources
from desktop.context import AppContext
from desktop.guard import alive
from desktop.projects import ProjectPage, ProjectsPage
from desktop.store_watcher import StoreWatcher
from desktop.tabs import add_named_tab
from desktop.tasks import TaskRunner
from desktop.tray import Tray, engine_status, tray_available
from store import entities as e
from store import events, teams

log = logging.getLogger("runbell.window")

MAIN_TABS = ("projects", "registries", "team-settings")
STATUS_INTERVAL_MS = 5000
SETTINGS_GEOMETRY = "main_window/geometry"
SETTINGS_TAB = "main_window/tab"


def _optional_page(module: str, build: Callable[[Any], QWidget], missing_text: str, parent: QWidget) -> QWidget:
    """A page from another part of the app, or a note when this build lacks that module."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise  # a dependency of the page is missing: that is a real bug
        log.error("%s is missing from this build: %s", module, exc)
        label = QLabel(missing_text, parent)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label
    return build(mod)


class MainWindow(QMainWindow):
    """The window; closing it hides to the tray when there is one, Quit stops everything."""

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, engine: Any = None,
        *, use_tray: bool | None = None, parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main-window")
        self.setWindowTitle("Runbell")
        self.setWindowIcon(resources.app_icon())
        self.ctx = ctx
        self._tasks = tasks
        self._watcher = watcher
        self._engine = engine
        self._quitting = False
        self._shut_down = False
        self._told_about_tray = False

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("main-tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Main sections")
        self._build_pages()
        self.setCentralWidget(self.tabs)
        watcher.events_arrived.connect(self._on_events)

        self.settings_action = QAction("&Settings…", self)
        self.settings_action.setObjectName("action-settings")
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.settings_action.triggered.connect(self.open_settings)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setObjectName("action-quit")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # Windows has no standard Quit key
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.triggered.connect(self.quit_app)
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self._add_go_menu()

        self.engine_label = QLabel(self)
        self.engine_label.setObjectName("engine-status")
        self.engine_label.setAccessibleName("Engine status")
        self.statusBar().addPermanentWidget(self.engine_label)
        self._show_identity()

        use_tray = tray_available() if use_tray is None else use_tray
        self.tray = Tray(engine, self.show_and_raise, self.quit_app, self) if use_tray else None
        if self.tray is not None:
            self.tray.show()
        self._status_timer = QTimer(self)
        self._status_timer.setObjectName("engine-status-timer")
        self._status_timer.setInterval(STATUS_INTERVAL_MS)
        self._status_timer.timeout.connect(self._update_engine_status)
        self._status_timer.start()
        self._update_engine_status()
        self._restore_state()

    def _build_pages(self) -> None:
        """The three sections, built for the signed-in user's current role."""
        ctx, tasks, watcher = self.ctx, self._tasks, self._watcher
        self.projects = ProjectsPage(ctx, tasks, watcher, self.tabs)
        self.tabs.addTab(self.projects, "Projects")
        self.registries = add_named_tab(self.tabs, "registries", "Registries", _optional_page(
            "desktop.registries_page", lambda mod: mod.RegistriesPage(ctx, None, tasks=tasks, watcher=watcher),
            "Registries are not available in this build.", self.tabs,
        ))
        self.team_settings = add_named_tab(self.tabs, "team-settings", "Team Settings", _optional_page(
            "desktop.team_settings.page", lambda mod: mod.TeamSettingsPage(ctx, tasks, watcher, None),
            "Team Settings are not available in this build.", self.tabs,
        ))
        for i, text in enumerate(("Projects", "Registries", "Team Settings")):
            self.tabs.tabBar().setAccessibleTabName(i, text)
            self.tabs.setTabToolTip(i, f"{text} (Ctrl+{i + 1})")

    def _on_events(self, batch: list[e.Event]) -> None:
        """An admin changed the signed-in user's role (from another app on a shared database too)."""
        if any(ev.type == events.MEMBER_CHANGED and ev.payload.get("user_id") == self.ctx.user.id for ev in batch):
            db, user_id = self.ctx.db, self.ctx.user.id
            self._tasks.run(lambda: teams.get_user(db, user_id), alive(self, self._on_user_reloaded))

    def _on_user_reloaded(self, user: e.User) -> None:
        old = self.ctx.user.role
        self.set_user(user)
        if user.role != old and not self._shut_down:
            self._rebuild_pages()
            self.statusBar().showMessage(f"Your role changed from {old} to {user.role}; every page follows it now.",
                                         15_000)

    def _rebuild_pages(self) -> None:
        """Every page reads the role when it is built: build them again, where the user was."""
        index = self.tabs.currentIndex()
        opened = self.projects.project_page
        reopen = None if opened is None else opened.project.id
        self.projects.shutdown()
        for page in (self.projects, self.registries, self.team_settings):
            self.tabs.removeTab(self.tabs.indexOf(page))
            page.deleteLater()
        self._build_pages()
        self.tabs.setCurrentIndex(index)
        if reopen is not None:
            self.projects.open_project(reopen)

    def _add_go_menu(self) -> None:
        go_menu = self.menuBar().addMenu("&Go")
        for i, (name, text) in enumerate(zip(MAIN_TABS, ("&Projects", "&Registries", "&Team Settings"))):
            action = QAction(text, self)
            action.setObjectName(f"action-go-{name}")
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _checked=False, tab=name: self.show_tab(tab))
            go_menu.addAction(action)

    def _show_identity(self) -> None:
        # a permanent widget: status messages (menu hints) would wipe a showMessage() text for good
        ctx = self.ctx
        if getattr(self, "identity_label", None) is None:
            self.identity_label = QLabel(self)
            self.identity_label.setObjectName("identity-status")
            self.statusBar().insertWidget(0, self.identity_label, 1)
        self.identity_label.setText(
            f"{ctx.user.display_name} ({ctx.user.role}) · team {ctx.team.name} · {ctx.db.display_url}")

    def set_user(self, user: Any) -> None:
        """The signed-in user changed (e.g. a new display name from the welcome)."""
        self.ctx = replace(self.ctx, user=user)
        self._show_identity()

    def open_settings(self) -> Any:
        """File → Settings… (modal); returns the dialog once it closed."""
        from desktop.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self._tasks, self.ctx.db.url, self)
        dialog.exec()
        return dialog

    # -- navigation -----------------------------------------------------------------------------------

    def show_tab(self, name: str) -> None:
        """"projects", "registries" or "team-settings"."""
        self.tabs.setCurrentIndex(MAIN_TABS.index(name))

    def open_project(self, project_id: int, tab: str = "workspace", *, raise_window: bool = False) -> ProjectPage | None:
        """Jump to a project's page (the demo; a clicked notification passes raise_window=True).

        Returns None when the project is not listed yet; it then opens as soon as it is.
        """
        if raise_window:
            self.show_and_raise()
        self.show_tab("projects")
        return self.projects.open_project(project_id, tab)

    def open_notification_target(self, target: dict) -> None:
        """A clicked desktop notification: bring the window up on the run's project, or for an artifact
        firing (`{"kind": "artifact", ...}`) on the registry collection or the project's Artifacts tab."""
        project_id = target.get("project_id")
        if target.get("kind") == "artifact" and target.get("registry_id") is not None:
            self.show_and_raise()
            self.show_tab("registries")
            page = self.registries.findChild(QWidget, "registries-page")  # absent in builds without it
            if page is not None:
                page.show_registry(int(target["registry_id"]), target.get("collection_id"), target.get("link_id"))
            return
        if project_id is None:
            self.show_and_raise()
            return
        tab = "artifacts" if target.get("kind") == "artifact" else "workspace"
        self.open_project(int(project_id), tab, raise_window=True)

    def show_and_raise(self) -> None:
        self.show()
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.raise_()
        self.activateWindow()

    # -- life cycle -------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_state()
        if self.tray is not None and not self._quitting:
            event.ignore()
            self.hide()
            if not self._told_about_tray:
                self._told_about_tray = True
                self.tray.notify_hidden_once()
            return
        event.accept()
        if not self._quitting:  # no tray: closing the window quits the app
            self.quit_app()

    def quit_app(self) -> None:
        """Stop the engine, the watcher and background tasks, then leave the event loop."""
        self._quitting = True
        self.shutdown()
        self.close()
        QApplication.quit()

    def shutdown(self) -> None:
        """Idempotent clean stop of everything the window drives."""
        if self._shut_down:
            return
        self._shut_down = True
        self._save_state()
        self._status_timer.stop()
        self.projects.shutdown()
        stop = getattr(self._engine, "stop", None)
        if callable(stop):
            try:
                stop()
            except Exception:  # shutting down must go on
                log.exception("the engine did not stop cleanly")
        self._watcher.stop()
        if not self._tasks.wait_idle(10_000):
            log.warning("background tasks still running at shutdown")
        if self.tray is not None:
            self.tray.hide()

    def _update_engine_status(self) -> None:
        status = engine_status(self._engine)
        self.engine_label.setText(status[:1].upper() + status[1:])
        if self.tray is not None:
            self.tray.update_status(status, self._last_alert())

    def _last_alert(self) -> str | None:
        """"<automation> · <status> · <time>" of the newest non-test execution; None if unknown."""
        from store import executions
        from store.errors import StoreError

        try:
            recent = executions.list_executions(self.ctx.db, limit=10)
        except StoreError as exc:
            log.warning("tray: cannot read the last alert: %s", exc)
            return None
        latest = next((x for x in recent if not x.is_test), None)
        if latest is None:
            return ""
        when = latest.triggered_at.astimezone().strftime("%H:%M")
        return f"{latest.automation_name} · {latest.status} · {when}"

    def _restore_state(self) -> None:
        settings = QSettings()
        geometry = settings.value(SETTINGS_GEOMETRY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1200, 800)
        tab = settings.value(SETTINGS_TAB, 0, type=int)
        if 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)

    def _save_state(self) -> None:
        settings = QSettings()
        settings.setValue(SETTINGS_GEOMETRY, self.saveGeometry())
        settings.setValue(SETTINGS_TAB, self.tabs.currentIndex())
