"""Add a Slack incoming-webhook integration. The URL is a credential: password field, keyring only."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from desktop.context import AppContext
from desktop.page_helpers import alive, error_label, show_message, user_message
from desktop.tasks import TaskRunner
from store import entities as e
from store import integrations
from store.errors import ValidationError


class SlackDialog(QDialog):
    """Object names: "slack-dialog", fields "slack-workspace", "slack-channel", "slack-url",
    message "slack-error", button "slack-save".

    Signals:
        saved(store.entities.Integration): the integration was created (the dialog then closes).
    """

    saved = Signal(object)

    def __init__(self, ctx: AppContext, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("slack-dialog")
        self.setWindowTitle("Add Slack integration")
        self.setMinimumWidth(480)
        self._ctx = ctx
        self._tasks = tasks
        self._saving = False

        self.workspace = QLineEdit()
        self.workspace.setObjectName("slack-workspace")
        self.workspace.setPlaceholderText("e.g. acme-ml")
        self.channel = QLineEdit()
        self.channel.setObjectName("slack-channel")
        self.channel.setPlaceholderText("e.g. #ml-alerts")
        self.url = QLineEdit()
        self.url.setObjectName("slack-url")
        self.url.setEchoMode(QLineEdit.EchoMode.Password)
        self.url.setPlaceholderText("https://hooks.slack.com/services/…")
        self.error = error_label("slack-error")
        help_text = QLabel(
            "Create an incoming webhook for the channel in Slack (Apps → Incoming Webhooks) and "
            "paste its URL. The URL is stored in the OS keyring, never in the database."
        )
        help_text.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("slack-save")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Workspace", self.workspace)
        form.addRow("Channel", self.channel)
        form.addRow("Incoming-webhook URL", self.url)
        layout = QVBoxLayout(self)
        layout.addWidget(help_text)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        for field in (self.workspace, self.channel, self.url):
            field.textChanged.connect(self._validate)
        self._validate()

    def problem(self) -> str | None:
        """What keeps the form from being saved (None when it can be saved)."""
        url = self.url.text().strip()
        if url:
            try:
                integrations.validate_slack_webhook_url(url)
            except ValidationError as exc:
                return str(exc)
        else:
            return "Paste the channel's incoming-webhook URL."
        if not self.channel.text().strip():
            return "Name the Slack channel the webhook posts to, e.g. #ml-alerts."
        return None

    def _validate(self) -> None:
        problem = self.problem()
        # Only complain about fields the user has started on; an empty form just can't be saved.
        shown = problem if problem and self.url.text().strip() else ""
        show_message(self.error, shown)
        self.save_button.setEnabled(problem is None and not self._saving)

    def save(self) -> None:
        if self.problem() is not None or self._saving:
            return
        self._saving = True
        self.save_button.setEnabled(False)
        show_message(self.error, "")
        db, team_id = self._ctx.db, self._ctx.team.id
        workspace, channel, url = self.workspace.text(), self.channel.text(), self.url.text()
        self._tasks.run(
            lambda: integrations.create_slack(db, team_id, workspace=workspace, channel=channel, webhook_url=url),
            self._on_saved, self._on_failed,
        )

    def _on_saved(self, integration: e.Integration) -> None:
        if not alive(self):
            return
        self._saving = False
        self.saved.emit(integration)
        self.accept()

    def _on_failed(self, exc: Exception) -> None:
        if not alive(self):
            return
        self._saving = False
        show_message(self.error, f"Not saved: {user_message(exc)}")
        self.save_button.setEnabled(self.problem() is None)
