"""The Projects tab: a list of the team's projects; opening one shows its ProjectPage."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QStackedWidget, QVBoxLayout, QWidget,
)

from desktop.context import AppContext
from desktop.guard import alive
from desktop.projects.project_page import ProjectPage
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from store import entities as e
from store import events, teams

PROJECT_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class ProjectsPage(QWidget):
    """Signals:
        projects_loaded(): the list shows the current projects.
        project_opened(object): a ProjectPage is now shown.
    """

    projects_loaded = Signal()
    project_opened = Signal(object)

    def __init__(self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tab-projects")
        self._ctx = ctx
        self._tasks = tasks
        self._watcher = watcher
        self._projects: dict[int, e.Project] = {}
        self._pending_open: tuple[int, str] | None = None
        self.project_page: ProjectPage | None = None

        self.list = QListWidget(self)
        self.list.setObjectName("project-list")
        self.list.setAccessibleName("Projects")
        self.list.itemActivated.connect(self._on_activated)
        self.empty = QLabel(
            "No projects yet. A training script creates one on its first run:\n"
            "from store import tracking as rb; rb.init(project=\"my-project\")\n"
            "or start the demo with: runbell demo", self,
        )
        self.empty.setObjectName("project-empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty.hide()
        open_button = QPushButton("Open", self)
        open_button.setObjectName("project-open")
        open_button.clicked.connect(self._open_selected)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(open_button)

        list_page = QWidget(self)
        list_layout = QVBoxLayout(list_page)
        title = QLabel("Projects", list_page)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        list_layout.addWidget(title)
        list_layout.addWidget(self.list, 1)
        list_layout.addWidget(self.empty, 1)
        list_layout.addLayout(buttons)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(list_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setObjectName("projects-refresh")
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(300)
        self._refresh_timer.timeout.connect(self.refresh)
        watcher.events_arrived.connect(self._on_events)
        self.refresh()

    # -- list ---------------------------------------------------------------------------------------

    def refresh(self) -> None:
        db, team_id = self._ctx.db, self._ctx.team.id
        self._tasks.run(lambda: teams.list_projects(db, team_id), alive(self, self._on_projects),
                        alive(self, self._on_failed))

    def _on_events(self, batch: Sequence[e.Event]) -> None:
        if any(ev.type == events.PROJECT_CREATED for ev in batch) and not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _on_projects(self, projects: list[e.Project]) -> None:
        selected = self.list.currentItem().data(PROJECT_ID_ROLE) if self.list.currentItem() else None
        self._projects = {p.id: p for p in projects}
        self.list.clear()
        for project in projects:
            item = QListWidgetItem(project.name, self.list)
            item.setData(PROJECT_ID_ROLE, project.id)
            item.setToolTip(f"Created {project.created_at:%Y-%m-%d %H:%M}")
            if project.id == selected:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self.list.setVisible(bool(projects))
        self.empty.setVisible(not projects)
        self.projects_loaded.emit()
        if self._pending_open and self._pending_open[0] in self._projects:
            project_id, tab = self._pending_open
            self.open_project(project_id, tab)

    def _on_failed(self, exc: Exception) -> None:
        self.empty.setText(f"Could not load the projects: {exc}")
        self.empty.show()

    def _on_activated(self, item: QListWidgetItem) -> None:
        self.open_project(item.data(PROJECT_ID_ROLE))

    def _open_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.open_project(item.data(PROJECT_ID_ROLE))

    # -- one project --------------------------------------------------------------------------------

    def open_project(self, project_id: int, tab: str = "workspace") -> ProjectPage | None:
        """Show the project (once the list knows it: a project created a moment ago opens on load)."""
        project = self._projects.get(project_id)
        if project is None:
            self._pending_open = (project_id, tab)
            self.refresh()
            return None
        self._pending_open = None
        if self.project_page is None or self.project_page.project.id != project_id:
            self.close_project()
            page = ProjectPage(self._ctx, self._tasks, self._watcher, project, self.stack)
            page.back_requested.connect(self.close_project)
            self.stack.addWidget(page)
            self.project_page = page
        self.stack.setCurrentWidget(self.project_page)
        self.project_page.show_tab(tab)
        self.project_opened.emit(self.project_page)
        return self.project_page

    def close_project(self) -> None:
        """Back to the list; the project page stops its timers and goes away."""
        page, self.project_page = self.project_page, None
        self.stack.setCurrentIndex(0)
        if page is not None:
            page.shutdown()
            self.stack.removeWidget(page)
            page.deleteLater()
        self.list.setFocus()

    def shutdown(self) -> None:
        self._refresh_timer.stop()
        if self.project_page is not None:
            self.project_page.shutdown()
