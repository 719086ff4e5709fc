"""Team Settings → Webhooks: the list, New/Edit/Test/Delete (delete names the automations using it)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QWidget

from desktop.context import AppContext
from desktop.page_helpers import VIEWER_TOOLTIP, alive, confirm, show_message, user_message
from desktop.tasks import TaskRunner
from desktop.team_settings.section import Section
from desktop.team_settings.test_dialog import IntegrationTestDialog
from desktop.team_settings.webhook_dialog import WebhookDialog
from store import entities as e
from store import integrations


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _secrets_cell(config: dict) -> str:
    chosen = [f"token: {config['access_token_secret']}" if config.get("access_token_secret") else "",
              f"signing: {config['signing_secret']}" if config.get("signing_secret") else ""]
    return ", ".join(c for c in chosen if c) or "none"


class WebhooksSection(Section):
    """Object names: table "webhooks-table", buttons "webhook-add", "webhook-edit", "webhook-test",
    "webhook-delete"; dialogs "webhook-dialog" / "integration-test-dialog"; confirmation box
    "confirm-delete-webhook".

    Signals:
        changed(): a webhook was created, edited or deleted (the page reloads).
    Attributes:
        last_dialog: the most recently opened dialog (for tests and the e2e driver).
    """

    changed = Signal()

    def __init__(self, ctx: AppContext, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Webhooks", "webhooks-table", ("Name", "URL host", "Secrets", "Standard Webhooks"),
                         hint="Automations POST their JSON payload to a webhook. Attach secrets as the "
                              "access token (Authorization header) or the signing key.",
                         empty_text="No webhooks yet.", parent=parent)
        self._ctx, self._tasks = ctx, tasks
        self._webhooks: dict[int, e.Integration] = {}
        self._secret_names: list[str] = []
        self.last_dialog: QDialog | None = None
        self.add = self.add_button("New webhook…", "webhook-add")
        self.edit = self.add_button("Edit…", "webhook-edit")
        self.test = self.add_button("Test…", "webhook-test")
        self.delete = self.add_button("Delete", "webhook-delete")
        self.add.clicked.connect(lambda: self.open_dialog())
        self.edit.clicked.connect(self.edit_selected)
        self.test.clicked.connect(self.test_selected)
        self.delete.clicked.connect(self.delete_selected)
        self.table.itemSelectionChanged.connect(self.update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.edit_selected())
        self.update_buttons()

    def set_webhooks(self, webhooks: Sequence[e.Integration], secret_names: Sequence[str]) -> None:
        self._webhooks = {w.id: w for w in webhooks}
        self._secret_names = list(secret_names)
        self.set_rows([(w.id, (w.name, _host(w.config.get("url", "")), _secrets_cell(w.config),
                               "Yes" if w.config.get("standard_webhooks") else "No")) for w in webhooks])
        self.update_buttons()

    def selected_webhook(self) -> e.Integration | None:
        key = self.selected_key()
        return self._webhooks.get(key) if isinstance(key, int) else None

    def update_buttons(self) -> None:
        can, has = self._ctx.can_edit, self.selected_webhook() is not None
        self.add.setEnabled(can)
        self.edit.setEnabled(can and has)
        self.delete.setEnabled(can and has)
        self.test.setEnabled(can and has)
        for button, why in ((self.add, "Add a webhook endpoint"), (self.edit, "Change the selected webhook"),
                            (self.test, "Send a test request to the selected webhook"),
                            (self.delete, "Delete the selected webhook")):
            button.setToolTip(VIEWER_TOOLTIP if not can else why)

    # -- dialogs -----------------------------------------------------------------------------
    def _show(self, dialog: QDialog) -> QDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_dialog = dialog
        dialog.open()
        return dialog

    def open_dialog(self, webhook: e.Integration | None = None) -> WebhookDialog | None:
        if not self._ctx.can_edit:
            return None
        taken = [w.name for w in self._webhooks.values()]
        dialog = WebhookDialog(self._ctx, self._tasks, self._secret_names, taken, webhook=webhook, parent=self)
        dialog.saved.connect(lambda _saved: self.changed.emit())
        self._show(dialog)
        return dialog

    def edit_selected(self) -> WebhookDialog | None:
        chosen = self.selected_webhook()
        return self.open_dialog(chosen) if chosen is not None else None

    def test_selected(self) -> IntegrationTestDialog | None:
        chosen = self.selected_webhook()
        if chosen is None or not self._ctx.can_edit:
            return None
        dialog = IntegrationTestDialog(self._ctx, self._tasks, chosen, parent=self)
        self._show(dialog)
        return dialog

    def delete_selected(self) -> None:
        chosen = self.selected_webhook()
        if chosen is None or not self._ctx.can_edit:
            return
        db = self._ctx.db

        def ask(users: list[str]) -> None:
            if not alive(self):
                return
            details = ("Used by: " + ", ".join(users) + ". They will fail until you change their action."
                       if users else "No automation uses it.")
            confirm(self, object_name="confirm-delete-webhook", title="Delete webhook",
                    text=f"Delete the webhook {chosen.name}?", details=details, confirm_text="Delete",
                    on_confirm=lambda: self._run(lambda: integrations.delete_integration(db, chosen.id)))

        self._tasks.run(lambda: integrations.users_of(db, chosen.id), ask, self._failed)

    def _run(self, change: Callable[[], object]) -> None:
        show_message(self.message, "")
        self._tasks.run(change, lambda _r: alive(self) and self.changed.emit(), self._failed)

    def _failed(self, exc: Exception) -> None:
        if alive(self):
            show_message(self.message, user_message(exc))
            self.changed.emit()
