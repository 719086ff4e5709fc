"""Test a webhook or Slack integration: one real delivery now, shown with its HTTP status and body.

The payload typed here is never saved; the delivery is recorded in history as a test.
"""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget,
)

from desktop.context import AppContext
from desktop.engine import service, templating
from desktop.engine.actions import webhook as webhook_action
from desktop.page_helpers import alive, error_label, show_message, user_message
from desktop.tasks import TaskRunner
from store import entities as e

DEFAULT_PAYLOAD = '{\n  "event_type": "${event_type}",\n  "automation_name": "${automation_name}",\n  "test": true\n}'
TEST_VARIABLES = ("event_type", "event_author", "entity_name", "project_name", "automation_name")
OK_COLOR, BAD_COLOR = "#2e9d4f", "#d64545"


class IntegrationTestDialog(QDialog):
    """Object names: "integration-test-dialog", "test-payload" (webhooks only), "test-payload-error",
    "test-send", "test-status" (HTTP status line), "test-response" (the endpoint's body).

    Attributes:
        last_execution: the recorded test execution once a send finished (None before).
    """

    def __init__(self, ctx: AppContext, tasks: TaskRunner, integration: e.Integration,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("integration-test-dialog")
        self.setWindowTitle(f"Test {integration.name}")
        self.setMinimumWidth(560)
        self._ctx, self._tasks, self._integration = ctx, tasks, integration
        self._sending = False
        self.last_execution: e.Execution | None = None
        is_webhook = integration.kind == "webhook"
        self._available = [*TEST_VARIABLES, *webhook_action.secret_names(integration)] if is_webhook else []

        layout = QVBoxLayout(self)
        where = integration.config.get("url", "") if is_webhook else integration.config.get("channel", "")
        intro = QLabel(
            f"Sends one request to <b>{escape(where)}</b> now. "
            + ("Edit the JSON payload below; it is not saved. Use ${variables} and the webhook's "
               "secrets (e.g. ${ACCESS_TOKEN}); history shows secrets masked."
               if is_webhook else "Posts a short test message to the channel.")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        payload_label = QLabel("<b>Payload</b> (JSON, not saved)")
        payload_label.setVisible(is_webhook)
        layout.addWidget(payload_label)
        self.payload = QPlainTextEdit(DEFAULT_PAYLOAD)
        self.payload.setObjectName("test-payload")
        self.payload.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.payload.setVisible(is_webhook)
        self.payload.textChanged.connect(self._validate)
        layout.addWidget(self.payload, 1)
        self.payload_error = error_label("test-payload-error")
        layout.addWidget(self.payload_error)

        layout.addWidget(QLabel("<b>Result</b>"))
        self.status = QLabel("Not sent yet.")
        self.status.setObjectName("test-status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # it quotes what the endpoint answered
        bold = QFont(self.status.font())
        bold.setBold(True)
        self.status.setFont(bold)
        layout.addWidget(self.status)
        self.response = QPlainTextEdit()
        self.response.setObjectName("test-response")
        self.response.setReadOnly(True)
        self.response.setPlaceholderText("The endpoint's response body appears here.")
        self.response.setMaximumHeight(140)
        self.response.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.response)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.send_button = QPushButton("Send test")
        self.send_button.setObjectName("test-send")
        self.send_button.setDefault(True)
        buttons.addButton(self.send_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.send_button.clicked.connect(self.send)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._validate()

    # -- validation --------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """The payload editor's messages; only invalid JSON blocks sending."""
        if self._integration.kind != "webhook":
            return []
        return templating.check_json_template(self.payload.toPlainText(), self._available)

    def _blocking(self) -> bool:
        return any(p.startswith("not valid JSON") for p in self.problems())

    def _validate(self) -> None:
        show_message(self.payload_error, "; ".join(self.problems()))
        self.send_button.setEnabled(not self._blocking() and not self._sending)

    # -- sending -----------------------------------------------------------------------------
    def send(self) -> None:
        if self._sending or self._blocking():
            return
        self._sending = True
        self.send_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText("Sending…")
        self.response.clear()
        db, integration_id = self._ctx.db, self._integration.id
        payload = self.payload.toPlainText() if self._integration.kind == "webhook" else None
        self._tasks.run(lambda: service.send_test(db, integration_id, payload=payload), self._on_sent, self._on_failed)

    def _finish(self, text: str, ok: bool, body: str = "") -> None:
        self._sending = False
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {OK_COLOR if ok else BAD_COLOR};")
        self.response.setPlainText(body)
        self._validate()

    def _on_sent(self, execution: e.Execution) -> None:
        if not alive(self):
            return
        self.last_execution = execution
        attempt = execution.attempts[-1] if execution.attempts else None
        ok = execution.status == "finished"
        if attempt is not None and attempt.status_code is not None:
            text = f"HTTP {attempt.status_code} in {attempt.latency_ms:.0f} ms"
        else:
            text = "No response"
        if not ok:
            text += f" — {(attempt.error if attempt and attempt.error else execution.reason) or 'failed'}"
        self._finish(text, ok, attempt.response_excerpt if attempt else "")

    def _on_failed(self, exc: Exception) -> None:
        if alive(self):
            self._finish(f"Could not send: {user_message(exc)}", False)
