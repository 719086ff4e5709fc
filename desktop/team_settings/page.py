"""Team Settings: members, webhooks, Slack integrations and secrets (values only in the OS keyring).

Object names: "team-settings-page", "keyring-banner", the members section (see members_section.py), "slack-table",
"slack-add", "slack-test", "slack-delete", the webhooks section (see webhooks_section.py), "secrets-table", "secret-add", "secret-replace", "secret-delete";
dialogs "slack-dialog" / "secret-dialog" (see their modules); confirmation boxes
"confirm-delete-slack" / "confirm-delete-secret" (buttons "confirm-yes" / "confirm-no").
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.context import AppContext
from desktop.page_helpers import (
    VIEWER_TOOLTIP, Reloader, alive, confirm, local_time, show_message, user_message,
)
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from desktop.team_settings.members_section import MembersSection
from desktop.team_settings.secret_dialog import SecretDialog
from desktop.team_settings.section import Section
from desktop.team_settings.slack_dialog import SlackDialog
from desktop.team_settings.test_dialog import IntegrationTestDialog
from desktop.team_settings.webhooks_section import WebhooksSection
from store import automations, integrations, secrets, teams
from store import entities as e
from store import events

WATCHED = (events.INTEGRATION_CHANGED, events.SECRET_CHANGED, events.AUTOMATION_CHANGED, events.MEMBER_CHANGED)
BANNER_STYLE = (
    "QLabel { background: #fff4ce; color: #4d3800; border: 1px solid #e0b400;"
    " border-radius: 4px; padding: 8px; }"
)


_Dialog = TypeVar("_Dialog", SlackDialog, SecretDialog)


@dataclass(frozen=True)
class _Snapshot:
    users: list[e.User]
    slack: list[e.Integration]
    webhooks: list[e.Integration]
    secrets: list[e.SecretName]
    backend_problem: str | None


class TeamSettingsPage(QWidget):
    """Attributes:
        last_dialog: the most recently opened Slack/secret dialog (for tests and the e2e driver).
    """

    def __init__(self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("team-settings-page")
        self._ctx = ctx
        self._tasks = tasks
        self._problem: str | None = None
        self._secret_names: list[str] = []
        self._slack: list[e.Integration] = []
        self.last_dialog: QDialog | None = None
        self.reloader = Reloader(tasks, self._fetch, self._apply, self._on_load_error, parent=self)
        self._build()
        self._update_buttons()
        watcher.events_arrived.connect(self._on_events)
        self.reloader.request(immediate=True)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.banner = QLabel()
        self.banner.setObjectName("keyring-banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()

        self.members = MembersSection(self._ctx, self._tasks)
        self.members.changed.connect(self.refresh)
        self.slack = Section("Slack integrations", "slack-table", ("Workspace", "Channel", "Added"),
                             hint="Each integration posts to one channel, through an incoming webhook or as a bot.",
                             empty_text="No Slack channel connected yet.")
        self.slack_add = self.slack.add_button("Add Slack integration…", "slack-add")
        self.slack_test = self.slack.add_button("Test…", "slack-test")
        self.slack_delete = self.slack.add_button("Delete", "slack-delete")
        self.slack_test.clicked.connect(self.test_selected_slack)
        self.slack_add.clicked.connect(self.open_slack_dialog)
        self.slack_delete.clicked.connect(self.delete_selected_slack)
        self.slack.table.itemSelectionChanged.connect(self._update_buttons)

        self.secrets = Section("Secrets", "secrets-table", ("Name", "Updated"),
                               hint="Use secrets as webhook access tokens, signing keys or ${NAME} in "
                                    "payloads. Values live in the OS keyring and are never shown again.",
                               empty_text="No secrets yet.")
        self.secret_add = self.secrets.add_button("New secret…", "secret-add")
        self.secret_replace = self.secrets.add_button("Replace value…", "secret-replace")
        self.secret_delete = self.secrets.add_button("Delete", "secret-delete")
        self.secret_add.clicked.connect(self.open_secret_dialog)
        self.secret_replace.clicked.connect(self.open_replace_dialog)
        self.secret_delete.clicked.connect(self.delete_selected_secret)
        self.secrets.table.itemSelectionChanged.connect(self._update_buttons)

        body = QWidget()
        column = QVBoxLayout(body)
        self.webhooks = WebhooksSection(self._ctx, self._tasks)
        self.webhooks.changed.connect(self.refresh)
        for section in (self.members, self.webhooks, self.slack, self.secrets):
            column.addWidget(section)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)

    # -- loading -----------------------------------------------------------------------------
    def _fetch(self) -> _Snapshot:
        db, team_id = self._ctx.db, self._ctx.team.id
        return _Snapshot(
            users=teams.list_users(db, team_id),
            slack=integrations.list_integrations(db, team_id, kind="slack"),
            webhooks=integrations.list_integrations(db, team_id, kind="webhook"),
            secrets=secrets.list_secrets(db, team_id),
            backend_problem=secrets.backend_problem(),
        )

    def _apply(self, snap: _Snapshot) -> None:
        self._slack = snap.slack
        self.members.set_users(snap.users)
        self.slack.set_rows([
            (i.id, (i.config.get("workspace", ""), i.config.get("channel", ""), local_time(i.created_at)))
            for i in snap.slack
        ])
        self.secrets.set_rows([(s.name, (s.name, local_time(s.updated_at))) for s in snap.secrets])
        self._secret_names = [s.name for s in snap.secrets]
        self.webhooks.set_webhooks(snap.webhooks, self._secret_names)
        self._problem = snap.backend_problem
        if self._problem:
            self.banner.setText(
                "<b>Secrets and Slack integrations cannot be saved on this machine.</b><br>"
                + escape(self._problem[:1].upper() + self._problem[1:])
            )
        self.banner.setVisible(bool(self._problem))
        self._update_buttons()

    def _on_load_error(self, exc: Exception) -> None:
        show_message(self.secrets.message, f"Could not load team settings: {user_message(exc)}")

    def _on_events(self, batch: list[e.Event]) -> None:
        if any(ev.type in WATCHED for ev in batch):
            self.reloader.request()

    def refresh(self) -> None:
        self.reloader.request(immediate=True)

    # -- permissions -------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        can = self._ctx.can_edit
        writable = can and not self._problem
        why_not = VIEWER_TOOLTIP if not can else (self._problem or "")
        self.slack_add.setEnabled(writable)
        self.slack_add.setToolTip(why_not if not writable else "Add a channel through its incoming-webhook URL")
        self.secret_add.setEnabled(writable)
        self.secret_add.setToolTip(why_not if not writable else "Store a new secret in the OS keyring")
        has_secret = self.secrets.selected_key() is not None
        self.secret_replace.setEnabled(writable and has_secret)
        self.secret_replace.setToolTip(why_not if not writable else "Give the selected secret a new value")
        self.slack_delete.setEnabled(can and self.slack.selected_key() is not None)
        self.slack_test.setEnabled(can and self.slack.selected_key() is not None)
        self.slack_test.setToolTip(VIEWER_TOOLTIP if not can else "Post a test message to the selected channel")
        self.secret_delete.setEnabled(can and has_secret)
        for button in (self.slack_delete, self.secret_delete):
            button.setToolTip(VIEWER_TOOLTIP if not can else "Delete the selected entry")

    # -- Slack -------------------------------------------------------------------------------
    def _open(self, dialog: _Dialog) -> _Dialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda _saved: self.refresh())
        self.last_dialog = dialog
        dialog.open()
        return dialog

    def open_slack_dialog(self) -> SlackDialog | None:
        if not self.slack_add.isEnabled():
            return None
        return self._open(SlackDialog(self._ctx, self._tasks, self))

    def test_selected_slack(self) -> IntegrationTestDialog | None:
        integration_id = self.slack.selected_key()
        chosen = next((i for i in self._slack if i.id == integration_id), None)
        if chosen is None or not self._ctx.can_edit:
            return None
        dialog = IntegrationTestDialog(self._ctx, self._tasks, chosen, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_dialog = dialog
        dialog.open()
        return dialog

    def delete_selected_slack(self) -> None:
        integration_id = self.slack.selected_key()
        if integration_id is None or not self._ctx.can_edit:
            return
        db, team_id = self._ctx.db, self._ctx.team.id
        row = self.slack.table.currentRow()
        label = " ".join(self.slack.table.item(row, c).text() for c in (0, 1)) if row >= 0 else "integration"

        def users() -> list[str]:
            return [a.name for a in automations.list_automations(db, team_id=team_id)
                    if a.action_config.get("integration_id") == integration_id]

        def ask(names: list[str]) -> None:
            if not alive(self):
                return
            details = ("Automations that post here will fail until you change their action: "
                       + ", ".join(names)) if names else "No automation posts to this channel."
            confirm(self, object_name="confirm-delete-slack", title="Delete Slack integration",
                    text=f"Delete the Slack integration {label}?", details=details,
                    confirm_text="Delete", on_confirm=lambda: self._run_change(
                        lambda: integrations.delete_integration(db, integration_id), self.slack))

        self._tasks.run(users, ask, lambda exc: self._show_error(self.slack, exc))

    # -- secrets -----------------------------------------------------------------------------
    def open_secret_dialog(self) -> SecretDialog | None:
        if not self.secret_add.isEnabled():
            return None
        return self._open(SecretDialog(self._ctx, self._tasks, self._secret_names, parent=self))

    def open_replace_dialog(self) -> SecretDialog | None:
        name = self.secrets.selected_key()
        if name is None or not self.secret_replace.isEnabled():
            return None
        return self._open(SecretDialog(self._ctx, self._tasks, self._secret_names,
                                       replace=str(name), parent=self))

    def delete_selected_secret(self) -> None:
        name = self.secrets.selected_key()
        if name is None or not self._ctx.can_edit:
            return
        name = str(name)
        db, team_id = self._ctx.db, self._ctx.team.id

        def ask(users: list[str]) -> None:
            if not alive(self):
                return
            details = ("Still used by: " + ", ".join(users) + ". They will fail until you update them."
                       if users else "No webhook or automation uses it.")
            confirm(self, object_name="confirm-delete-secret", title="Delete secret",
                    text=f"Delete the secret {name}? This is immediate and permanent.", details=details,
                    confirm_text="Delete", on_confirm=lambda: self._run_change(
                        lambda: secrets.delete_secret(db, team_id, name), self.secrets))

        self._tasks.run(lambda: secrets.secret_users(db, team_id, name), ask,
                        lambda exc: self._show_error(self.secrets, exc))

    # -- shared ------------------------------------------------------------------------------
    def _run_change(self, change: Callable[[], object], section: Section) -> None:
        show_message(section.message, "")

        def done(_: object) -> None:
            if alive(self):
                self.refresh()

        self._tasks.run(change, done, lambda exc: self._show_error(section, exc))

    def _show_error(self, section: Section, exc: Exception) -> None:
        if alive(self):
            show_message(section.message, user_message(exc))
            self.refresh()
