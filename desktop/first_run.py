"""The welcome shown once on a fresh install: who you are, the demo, and where data lives."""
from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from desktop.context import AppContext
from desktop.tasks import TaskRunner
from store import teams
from store import entities as e
from store.db import Database, data_dir, log_dir

log = logging.getLogger("runbell.first_run")

SETTINGS_WELCOMED = "first_run/welcomed"


def should_welcome(db: Database, team_id: int) -> bool:
    """A fresh install: no project yet and the welcome never closed before."""
    if QSettings().value(SETTINGS_WELCOMED, False, type=bool):
        return False
    return not teams.list_projects(db, team_id)


@dataclass
class DemoStarted:
    project: e.Project
    training: subprocess.Popen


def start_demo(db: Database, team: e.Team) -> DemoStarted:
    """What `runbell demo` does: the project and its alert, then the training in its own process."""
    from desktop.app import launch_demo_training
    from desktop.demo import prepare_demo

    project = prepare_demo(db, team)
    return DemoStarted(project, launch_demo_training(db.url))


class WelcomeDialog(QDialog):
    """Signals: demo_started(DemoStarted) once the demo project exists and its training runs;
    user_changed(e.User) after the display name is saved."""

    demo_started = Signal(object)
    user_changed = Signal(object)

    def __init__(self, ctx: AppContext, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome-dialog")
        self.setWindowTitle("Welcome to Runbell")
        self.ctx = ctx
        self._tasks = tasks
        self.demo: DemoStarted | None = None
        self.setMinimumWidth(620)

        intro = QLabel(
            "<b>Runbell watches your training runs and rings when a metric crosses a line</b> — "
            "on the desktop, in Slack or to a webhook.", self)
        intro.setWordWrap(True)
        self.name = QLineEdit(ctx.user.display_name, self)
        self.name.setObjectName("welcome-name")
        self.name.setAccessibleName("Your display name")
        form = QFormLayout()
        form.addRow("Team:", QLabel(ctx.team.name, self))
        form.addRow("User:", QLabel(f"{ctx.user.username} ({ctx.user.role})", self))
        form.addRow("&Display name:", self.name)
        where = QLabel(
            f"Data folder: {data_dir()}<br>Logs: {log_dir()}<br>Database: {ctx.db.display_url}", self)
        where.setObjectName("welcome-where")
        where.setWordWrap(True)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel(self)
        self.status.setObjectName("welcome-status")
        self.status.setWordWrap(True)

        self.demo_button = QPushButton("Start the &demo", self)
        self.demo_button.setObjectName("welcome-demo")
        self.demo_button.setToolTip("A small real training run with a desktop alert on val/acc")
        self.close_button = QPushButton("&Get started", self)
        self.close_button.setObjectName("welcome-close")
        self.close_button.setDefault(True)
        self.demo_button.clicked.connect(self.start_demo)
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(where)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def start_demo(self) -> None:
        self.demo_button.setEnabled(False)
        self.status.setText("Starting the demo…")
        db, team = self.ctx.db, self.ctx.team
        self._tasks.run(lambda: start_demo(db, team), self._demo_running, self._demo_failed)

    def _demo_running(self, started: DemoStarted) -> None:
        self.demo = started
        self.status.setText(f"The demo runs in project {started.project.name}; an alert rings when "
                            "val/acc averages above 0.9.")
        self.demo_started.emit(started)
        self.accept()

    def _demo_failed(self, exc: Exception) -> None:
        log.error("the demo did not start: %s", exc)
        self.demo_button.setEnabled(True)
        self.status.setText(f"The demo did not start: {exc}")

    def done(self, result: int) -> None:
        """Closing in any way saves the name and marks the welcome as seen."""
        QSettings().setValue(SETTINGS_WELCOMED, True)
        name = self.name.text().strip()
        if name and name != self.ctx.user.display_name:
            db, user_id = self.ctx.db, self.ctx.user.id
            self._tasks.run(lambda: teams.set_display_name(db, user_id, name), self.user_changed.emit,
                           lambda exc: log.error("cannot save the display name: %s", exc))
        super().done(result)
