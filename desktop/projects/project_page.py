"""One project: sub-tabs Workspace, Runs, Artifacts and Automations."""
from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QToolButton, QVBoxLayout, QWidget

from desktop.artifacts.page import ArtifactsPage
from desktop.context import AppContext
from desktop.runs_table import RunsPage
from desktop.store_watcher import StoreWatcher
from desktop.tabs import add_named_tab
from desktop.tasks import TaskRunner
from desktop.workspace import WorkspaceView
from desktop.workspace.visibility import RunVisibility
from store import entities as e

log = logging.getLogger("runbell.projects")

SUB_TABS = ("workspace", "runs", "artifacts", "automations")


def _automations_page(ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, project_id: int,
                      parent: QWidget) -> QWidget:
    try:
        from desktop.automations.page import AutomationsPage
    except ModuleNotFoundError as exc:
        if exc.name not in ("desktop.automations.page", "desktop.automations"):
            raise
        log.error("the Automations page is missing from this build: %s", exc)
        return QLabel("The Automations page is not available in this build.", parent)
    return AutomationsPage(ctx, tasks, watcher, project_id, parent)


class ProjectPage(QWidget):
    """Signals:
        back_requested(): the user wants the project list again.
    """

    back_requested = Signal()

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, project: e.Project,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("project-page")
        self.project = project

        back = QToolButton(self)
        back.setObjectName("project-back")
        back.setText("← Projects")
        back.setAutoRaise(True)
        back.setAccessibleName("Back to the project list")
        back.clicked.connect(self.back_requested)
        title = QLabel(project.name, self)
        title.setObjectName("project-title")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        header = QHBoxLayout()
        header.addWidget(back)
        header.addWidget(title, 1)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("project-tabs")
        # one set of hidden runs: unticking a run in the table hides its curves, and back
        self.visibility = RunVisibility(self)
        self.workspace = WorkspaceView(ctx, tasks, watcher, project.id, self.tabs, visibility=self.visibility)
        self.runs = RunsPage(ctx, tasks, watcher, project.id, self.tabs, visibility=self.visibility)
        self.artifacts = ArtifactsPage(ctx, tasks, watcher, project.id, self.tabs)
        self.automations = _automations_page(ctx, tasks, watcher, project.id, self.tabs)
        for name, widget, label in (
            ("workspace", self.workspace, "Workspace"), ("runs", self.runs, "Runs"),
            ("artifacts", self.artifacts, "Artifacts"), ("automations", self.automations, "Automations"),
        ):
            add_named_tab(self.tabs, name, label, widget)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)

    def show_tab(self, name: str) -> None:
        """Switch to "workspace", "runs", "artifacts" or "automations"."""
        self.tabs.setCurrentIndex(SUB_TABS.index(name))

    def shutdown(self) -> None:
        """Stop timers before the page is deleted."""
        for child in (self.workspace, self.runs, self.automations):
            stop = getattr(child, "shutdown", None)
            if callable(stop):
                stop()
