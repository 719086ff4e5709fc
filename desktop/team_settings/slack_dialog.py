"""Add a Slack incoming-webhook integration. The URL is a credential: password field, keyring only."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from desktop.context import AppContext
from desktop.tasks import TaskRunner
from desktop.team_settings.save_dialog import SaveDialog
from store import entities as e
from store import integrations
from store.errors import ValidationError


class SlackDialog(SaveDialog):
    """Object names: "slack-dialog", fields "slack-workspace", "slack-channel", "slack-url",
    message "slack-error", button "slack-save".

    Signals:
        saved(store.entities.Integration): the integration was created (the dialog then closes).
    """

    def __init__(self, ctx: AppContext, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(ctx, tasks, prefix="slack", title="Add Slack integration", min_width=480,
                         parent=parent)
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
        help_text = QLabel(
            "Create an incoming webhook for the channel in Slack (Apps → Incoming Webhooks) and "
            "paste its URL. The URL is stored in the OS keyring, never in the database."
        )

        form = QFormLayout()
        form.addRow("Workspace", self.workspace)
        form.addRow("Channel", self.channel)
        form.addRow("Incoming-webhook URL", self.url)
        self._lay_out(help_text, form, (self.workspace, self.channel, self.url))

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

    def _typed_problem(self) -> str:
        # Only complain about fields the user has started on; an empty form just can't be saved.
        problem = self.problem()
        return problem if problem and self.url.text().strip() else ""

    def _store_call(self) -> Callable[[], e.Integration]:
        db, team_id = self._ctx.db, self._ctx.team.id
        workspace, channel, url = self.workspace.text(), self.channel.text(), self.url.text()
        return lambda: integrations.create_slack(
            db, team_id, workspace=workspace, channel=channel, webhook_url=url
        )
