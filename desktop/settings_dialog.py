"""File → Settings…: database, engine timings, quiet hours for desktop notifications, theme."""
from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import Qt, QTime
from PySide6.QtWidgets import (
    QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit, QSpinBox, QTimeEdit, QVBoxLayout, QWidget,
)

from desktop import theme
from desktop.engine.settings import EngineSettings, load_settings, save_settings
from desktop.tasks import TaskRunner
from store.db import data_dir

log = logging.getLogger("runbell.settings")

THEME_LABELS = {"system": "System", "light": "Light", "dark": "Dark"}


def check_database_url(url: str) -> str:
    """Open (without migrating) and connect once; raises StoreError/other on failure. Runs off the UI thread."""
    from store.db import Database

    db = Database(url, migrate=False)
    try:
        with db.engine.connect():
            pass
    finally:
        db.dispose()
    return url


def _hhmm(value: QTime) -> str:
    return value.toString("HH:mm")


class SettingsDialog(QDialog):
    """Saves engine settings to settings.json and the theme to QSettings when OK is pressed.

    A changed database URL is checked in the background first and applies on the next start.
    """

    def __init__(self, tasks: TaskRunner, current_url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings-dialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(600)
        self._tasks = tasks
        self._current_url = current_url
        saved = load_settings()
        self._saved = saved

        self.db_url = QLineEdit(saved.database_url or "", self)
        self.db_url.setObjectName("settings-db-url")
        self.db_url.setPlaceholderText(f"default: sqlite:///{data_dir() / 'runbell.db'}")
        self.db_url.setAccessibleName("Database URL")
        self.db_url.setToolTip("A SQLAlchemy URL, e.g. sqlite:////path/runbell.db or "
                               "postgresql+psycopg://user:password@host/db. A password is kept in the OS "
                               "keyring, not in settings.json. Applies when Runbell restarts.")
        self.heartbeat = QSpinBox(self)
        self.heartbeat.setObjectName("settings-heartbeat")
        self.heartbeat.setRange(1, 24 * 60)
        self.heartbeat.setSuffix(" min")
        self.heartbeat.setValue(saved.heartbeat_timeout_minutes)
        self.heartbeat.setAccessibleName("Heartbeat timeout in minutes")
        self.heartbeat.setToolTip("A running run that sends nothing for this long is marked crashed.")
        self.cooldown = QSpinBox(self)
        self.cooldown.setObjectName("settings-cooldown")
        self.cooldown.setRange(0, 30 * 24 * 60)
        self.cooldown.setSuffix(" min")
        self.cooldown.setValue(saved.default_cooldown_seconds // 60)
        self.cooldown.setAccessibleName("Default cooldown for new automations in minutes")

        hours = saved.quiet_hours()
        self.quiet = QCheckBox("Quiet hours for desktop notifications", self)
        self.quiet.setObjectName("settings-quiet")
        self.quiet.setChecked(hours is not None)
        self.quiet_from = self._time_edit("settings-quiet-from", "Quiet hours start", saved.quiet_from or "22:00")
        self.quiet_to = self._time_edit("settings-quiet-to", "Quiet hours end", saved.quiet_to or "07:00")
        self.quiet.toggled.connect(self._sync_quiet)
        quiet_row = QHBoxLayout()
        quiet_row.addWidget(self.quiet_from)
        quiet_row.addWidget(QLabel("to", self))
        quiet_row.addWidget(self.quiet_to)
        quiet_row.addStretch(1)

        self.theme = QComboBox(self)
        self.theme.setObjectName("settings-theme")
        self.theme.setAccessibleName("Theme")
        for key, label in THEME_LABELS.items():
            self.theme.addItem(label, key)
        self.theme.setCurrentIndex(list(THEME_LABELS).index(theme.saved_theme()))

        form = QFormLayout()
        form.addRow("&Database URL:", self.db_url)
        form.addRow("", self._note(f"Data folder: {data_dir()} — a new database applies on restart."))
        form.addRow("&Heartbeat timeout:", self.heartbeat)
        form.addRow("Default &cooldown:", self.cooldown)
        form.addRow(self.quiet)
        form.addRow("", quiet_row)
        form.addRow("", self._note("Slack and webhooks are never silenced; skipped desktop notifications "
                                   "are listed in the history with the reason."))
        form.addRow("&Theme:", self.theme)

        self.error = QLabel(self)
        self.error.setObjectName("settings-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d04040;")
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._sync_quiet(self.quiet.isChecked())

    def _time_edit(self, name: str, accessible: str, value: str) -> QTimeEdit:
        edit = QTimeEdit(QTime.fromString(value[:5], "HH:mm"), self)
        edit.setObjectName(name)
        edit.setDisplayFormat("HH:mm")
        edit.setAccessibleName(accessible)
        return edit

    def _note(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setEnabled(False)  # drawn in the muted colour of both themes
        return label

    def _sync_quiet(self, on: bool) -> None:
        self.quiet_from.setEnabled(on)
        self.quiet_to.setEnabled(on)

    def chosen(self) -> EngineSettings:
        quiet_on = self.quiet.isChecked()
        return replace(
            self._saved,
            database_url=self.db_url.text().strip() or None,
            heartbeat_timeout_minutes=self.heartbeat.value(),
            default_cooldown_seconds=self.cooldown.value() * 60,
            quiet_from=_hhmm(self.quiet_from.time()) if quiet_on else None,
            quiet_to=_hhmm(self.quiet_to.time()) if quiet_on else None,
        )

    def save(self) -> None:
        """Check a new database URL in the background, then persist everything and close."""
        settings = self.chosen()
        if settings.database_url and settings.database_url != (self._saved.database_url or self._current_url):
            self.buttons.setEnabled(False)
            self.error.hide()
            self._tasks.run(lambda: check_database_url(settings.database_url),
                            lambda _url: self._persist(settings), self._url_failed)
            return
        self._persist(settings)

    def _url_failed(self, exc: Exception) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(f"Runbell cannot use this database: {exc}")
        self.error.show()

    def _persist(self, settings: EngineSettings) -> None:
        try:
            save_settings(settings)
        except (OSError, ValueError) as exc:
            self._url_failed(exc)
            return
        chosen_theme = self.theme.currentData()
        theme.save_theme(chosen_theme)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, chosen_theme)
        self.accept()
