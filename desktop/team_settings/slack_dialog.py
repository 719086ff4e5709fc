"""Add a Slack integration: an incoming webhook or a bot token. Both are credentials: password
fields, stored in the OS keyring only."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from desktop.context import AppContext
from desktop.tasks import TaskRunner
from desktop.team_settings.save_dialog import SaveDialog
from store import entities as e
from store import integrations
from store.errors import ValidationError

WEBHOOK, BOT = "webhook", "bot"
HELP = {
    WEBHOOK: "Create an incoming webhook for the channel in Slack (Apps → Incoming Webhooks) and "
             "paste its URL. The URL is stored in the OS keyring, never in the database.",
    BOT: "Install a Slack app with the chat:write scope, invite it to the channel, and paste its "
         "Bot User OAuth Token (OAuth & Permissions) and the channel ID (channel details → About). "
         "The token is stored in the OS keyring, never in the database.",
}


class SlackDialog(SaveDialog):
    """Object names: "slack-dialog", mode "slack-mode" ("webhook" / "bot"), fields
    "slack-workspace", "slack-channel", "slack-url" (webhook mode), "slack-channel-id" and
    "slack-bot-token" (bot mode), message "slack-error", button "slack-save".

    Signals:
        saved(store.entities.Integration): the integration was created (the dialog then closes).
    """

    def __init__(self, ctx: AppContext, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(ctx, tasks, prefix="slack", title="Add Slack integration", min_width=520,
                         parent=parent)
        self.mode = QComboBox()
        self.mode.setObjectName("slack-mode")
        self.mode.addItem("Incoming webhook", WEBHOOK)
        self.mode.addItem("Bot token", BOT)
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
        self.channel_id = QLineEdit()
        self.channel_id.setObjectName("slack-channel-id")
        self.channel_id.setPlaceholderText("e.g. C0123456789")
        self.token = QLineEdit()
        self.token.setObjectName("slack-bot-token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("xoxb-…")
        self.help = QLabel(HELP[WEBHOOK])

        self.form = QFormLayout()
        self.form.addRow("Connect with", self.mode)
        self.form.addRow("Workspace", self.workspace)
        self.form.addRow("Channel", self.channel)
        self.form.addRow("Incoming-webhook URL", self.url)
        self.form.addRow("Channel ID", self.channel_id)
        self.form.addRow("Bot token", self.token)
        self.mode.currentIndexChanged.connect(self._on_mode)
        self._lay_out(self.help, self.form,
                      (self.workspace, self.channel, self.url, self.channel_id, self.token))
        self._on_mode()

    @property
    def bot_mode(self) -> bool:
        return self.mode.currentData() == BOT

    def _on_mode(self) -> None:
        bot = self.bot_mode
        self.form.setRowVisible(self.url, not bot)
        self.form.setRowVisible(self.channel_id, bot)
        self.form.setRowVisible(self.token, bot)
        self.channel.setPlaceholderText("optional display name, e.g. #ml-alerts" if bot else "e.g. #ml-alerts")
        self.help.setText(HELP[self.mode.currentData()])
        self._validate()

    def _bot_problem(self) -> str | None:
        channel_id = self.channel_id.text().strip()
        if not channel_id:
            return "Enter the channel ID, e.g. C0123456789."
        if not integrations.SLACK_CHANNEL_ID.match(channel_id):
            return ("A Slack channel ID looks like C0123456789: C, G or D then capital letters and "
                    "digits (channel details → About → Channel ID).")
        token = self.token.text().strip()
        if not token:
            return "Paste the bot token (xoxb-…)."
        try:
            integrations.check_bot_token(token)
        except ValidationError as exc:
            return str(exc)[:1].upper() + str(exc)[1:] + "."
        return None

    def _webhook_problem(self) -> str | None:
        url = self.url.text().strip()
        if not url:
            return "Paste the channel's incoming-webhook URL."
        try:
            integrations.validate_slack_webhook_url(url)
        except ValidationError as exc:
            return str(exc)
        if not self.channel.text().strip():
            return "Name the Slack channel the webhook posts to, e.g. #ml-alerts."
        return None

    def problem(self) -> str | None:
        """What keeps the form from being saved (None when it can be saved)."""
        return self._bot_problem() if self.bot_mode else self._webhook_problem()

    def _typed_problem(self) -> str:
        # Only complain about fields the user has started on; an empty form just can't be saved.
        problem = self.problem()
        if not problem:
            return ""
        if self.bot_mode:
            id_problem = problem.startswith("A Slack channel ID")
            started = self.channel_id.text().strip() if id_problem else self.token.text().strip()
        else:
            started = self.url.text().strip()
        return problem if started else ""

    def _store_call(self) -> Callable[[], e.Integration]:
        db, team_id = self._ctx.db, self._ctx.team.id
        workspace, channel = self.workspace.text(), self.channel.text()
        if self.bot_mode:
            channel_id, token = self.channel_id.text(), self.token.text()
            return lambda: integrations.create_slack_bot(
                db, team_id, workspace=workspace, channel_id=channel_id, bot_token=token,
                channel_name=channel)
        url = self.url.text()
        return lambda: integrations.create_slack(
            db, team_id, workspace=workspace, channel=channel, webhook_url=url)

    def _forget_input(self) -> None:
        self.url.clear()
        self.token.clear()
