"""Wizard step 2: what happens when it fires — Slack, webhook, desktop notification or no-op.

Object names: "wizard-action-page", "wizard-action-type", "wizard-slack-integration",
"wizard-slack-desktop", "wizard-title", "wizard-message", "wizard-severity",
"wizard-webhook-integration", "wizard-template", "wizard-payload" (with "wizard-payload-completer"),
"wizard-payload-warning" (unknown variables), "wizard-payload-secret-warning" (team secrets the
webhook does not carry), "wizard-payload-rendered" (the payload rendered with a sample event),
"wizard-payload-render-error", "wizard-action-error".
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox, QFormLayout, QGroupBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget,
)

from desktop.engine import templating
from desktop.wizard.fields import BuildPage, WARN_STYLE, combo, line_edit, message_label, select_data, show_problem
from desktop.wizard.payload_editor import PayloadEdit, render_sample
from desktop.wizard.payloads import DEFAULT_PAYLOAD, TEMPLATES
from store import entities as e

SLACK, WEBHOOK, DESKTOP, NO_OP = "NOTIFICATION", "GENERIC_WEBHOOK", "DESKTOP_NOTIFICATION", "NO_OP"
ACTIONS = [("Slack message", SLACK), ("Webhook", WEBHOOK), ("Desktop notification", DESKTOP),
           ("No action (record only)", NO_OP)]
SEVERITIES = [("Info", "INFO"), ("Warning", "WARN"), ("Error", "ERROR")]
_JSON_PROBLEM = "not valid JSON"
LIVE_CHECK_CHARS = 20_000  # payloads up to this are checked on every keystroke
PAYLOAD_PAUSE_MS = 300  # bigger ones once typing pauses this long
MAX_PAYLOAD_CHARS = 256 * 1024


def _slack_label(integration: e.Integration) -> str:
    channel = integration.config.get("channel") or integration.name
    workspace = integration.config.get("workspace") or ""
    return f"{channel} ({workspace})" if workspace else channel


class ActionPage(BuildPage):
    def __init__(self, event_type: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wizard-action-page")
        self.setTitle("Action")
        self.setSubTitle("What should happen when it fires?")
        self._event_type = event_type
        self._webhooks: dict[int, e.Integration] = {}
        self._team_secrets: set[str] = set()
        self._secrets_known = False  # until the team's secrets are read, none is reported missing
        self._missing: set[int | None] = set()  # integrations an edited automation names but the team lost
        self._pending: dict[str, Any] = {}
        self.action_type = combo("wizard-action-type", ACTIONS)

        self.slack_box = QGroupBox("Slack")
        self.slack_integration = combo("wizard-slack-integration", [])
        self.slack_desktop = QCheckBox("Also show a desktop notification")
        self.slack_desktop.setObjectName("wizard-slack-desktop")
        slack_form = QFormLayout(self.slack_box)
        slack_form.addRow("Channel", self.slack_integration)
        slack_form.addRow(self.slack_desktop)

        self.message_box = QGroupBox("Message")
        self.title = line_edit("wizard-title", placeholder="empty: the automation's name")
        self.message = QPlainTextEdit()
        self.message.setObjectName("wizard-message")
        self.message.setPlaceholderText("Empty: a summary of the event (run, metric values, project)")
        self.message.setFixedHeight(70)
        self.severity = combo("wizard-severity", SEVERITIES)
        message_form = QFormLayout(self.message_box)
        message_form.addRow("Title", self.title)
        message_form.addRow("Text", self.message)
        message_form.addRow("Severity", self.severity)

        self.webhook_box = QGroupBox("Webhook")
        self.webhook_integration = combo("wizard-webhook-integration", [])
        self.template = combo("wizard-template", [("Insert a template…", None), *((k, k) for k in TEMPLATES)])
        self.payload = PayloadEdit(DEFAULT_PAYLOAD)
        self.payload.setMinimumHeight(150)
        self.payload_warning = message_label("wizard-payload-warning", WARN_STYLE)
        self.secret_warning = message_label("wizard-payload-secret-warning", WARN_STYLE)
        self.rendered = QPlainTextEdit()
        self.rendered.setObjectName("wizard-payload-rendered")
        self.rendered.setReadOnly(True)
        self.rendered.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.rendered.setFixedHeight(150)
        self.rendered.setStyleSheet("QPlainTextEdit { color: palette(placeholder-text); }")
        self.render_error = message_label("wizard-payload-render-error")
        self.variables_hint = QLabel()
        self.variables_hint.setObjectName("wizard-variables")
        self.variables_hint.setWordWrap(True)
        self.variables_hint.setStyleSheet("color: #7f8790;")
        hook_form = QFormLayout(self.webhook_box)
        hook_form.addRow("Webhook", self.webhook_integration)
        hook_form.addRow("Template", self.template)
        hook_form.addRow(self.payload)
        hook_form.addRow(self.payload_warning)
        hook_form.addRow(self.secret_warning)
        hook_form.addRow(self.variables_hint)
        hook_form.addRow(QLabel("Rendered with a sample event:"))
        hook_form.addRow(self.rendered)
        hook_form.addRow(self.render_error)

        self.error = message_label("wizard-action-error")
        layout = QVBoxLayout(self)
        top = QFormLayout()
        top.addRow("Action", self.action_type)
        layout.addLayout(top)
        for box in (self.slack_box, self.message_box, self.webhook_box):
            layout.addWidget(box)
        layout.addWidget(self.error)
        layout.addStretch(1)

        self.action_type.currentIndexChanged.connect(self._on_type_changed)
        self.template.activated.connect(self._on_template)
        for box in (self.slack_integration, self.webhook_integration, self.severity):
            box.currentIndexChanged.connect(self._revalidate)
        self.slack_desktop.toggled.connect(self._revalidate)
        self.title.textChanged.connect(self._revalidate)
        self.message.textChanged.connect(self._revalidate)
        self._payload_timer = QTimer(self)  # big payloads are checked once typing pauses
        self._payload_timer.setSingleShot(True)
        self._payload_timer.setInterval(PAYLOAD_PAUSE_MS)
        self._payload_timer.timeout.connect(self._revalidate)
        self.payload.textChanged.connect(self._on_payload_edited)
        self._on_type_changed()

    # -- data -------------------------------------------------------------------------------------
    def set_team_secrets(self, names: list[str]) -> None:
        """The team's secret names: using one the webhook does not carry gets its own warning."""
        self._team_secrets = set(names)
        self._secrets_known = True
        self._revalidate()

    def set_integrations(self, slack: list[e.Integration], webhooks: list[e.Integration]) -> None:
        self._webhooks = {i.id: i for i in webhooks}
        for box, items, label in ((self.slack_integration, slack, _slack_label),
                                  (self.webhook_integration, webhooks, lambda i: i.name)):
            box.blockSignals(True)
            box.clear()
            for integration in items:
                box.addItem(label(integration), integration.id)
            box.blockSignals(False)
        if "integration_id" in self._pending:
            wanted = self._pending["integration_id"]  # None: its integration was deleted
            box = self.slack_integration if self.current_type() == SLACK else self.webhook_integration
            if wanted is None or not select_data(box, wanted):  # deleted since: show it, and say so
                box.insertItem(0, "(deleted: choose another)" if wanted is None else f"integration #{wanted} (deleted)",
                               wanted)
                box.setCurrentIndex(0)
                self._missing.add(wanted)
        self._revalidate()

    def load(self, action_type: str, config: Mapping[str, Any]) -> None:
        if not select_data(self.action_type, action_type):
            return
        self._pending = dict(config or {})
        self.title.setText(str(config.get("title") or ""))
        self.message.setPlainText(str(config.get("message") or ""))
        select_data(self.severity, config.get("severity", "INFO"))
        self.slack_desktop.setChecked(bool(config.get("notify_desktop")))
        if action_type == WEBHOOK:
            self.payload.setPlainText(str(config.get("request_payload") or ""))
        box = self.slack_integration if action_type == SLACK else self.webhook_integration
        if "integration_id" in config:
            select_data(box, config["integration_id"])
        self._revalidate()

    def current_type(self) -> str:
        return self.action_type.currentData()

    def build(self) -> tuple[str, dict[str, Any]]:
        """(action_type, action_config); ValueError says what is missing."""
        kind = self.current_type()
        text = {"title": self.title.text().strip(), "message": self.message.toPlainText(),
                "severity": self.severity.currentData()}
        if kind == SLACK:
            if self.slack_integration.currentData() in self._missing:
                raise ValueError("the Slack channel this automation used was deleted; choose another "
                                 "(or add one in Team Settings → Slack integrations)")
            if self.slack_integration.currentData() is None:
                raise ValueError("choose a Slack channel (add one in Team Settings → Slack integrations)")
            return kind, {"integration_id": self.slack_integration.currentData(), **text,
                          "notify_desktop": self.slack_desktop.isChecked()}
        if kind == WEBHOOK:
            if self.webhook_integration.currentData() in self._missing:
                raise ValueError("the webhook this automation used was deleted; choose another "
                                 "(or add one in Team Settings → Webhooks)")
            if self.webhook_integration.currentData() is None:
                raise ValueError("choose a webhook (add one in Team Settings → Webhooks)")
            lost = [n for n in self._webhook_secrets() if self._secrets_known and n not in self._team_secrets]
            if lost:
                raise ValueError(f"the webhook uses the secret {', '.join(lost)}, which was deleted; create it "
                                 "again in Team Settings → Secrets, or change the webhook")
            payload = self.payload.toPlainText()
            if not payload.strip():
                raise ValueError("write the JSON payload the webhook receives, or insert a template")
            if len(payload) > MAX_PAYLOAD_CHARS:
                raise ValueError(f"the payload has {len(payload):,} characters; keep it under "
                                 f"{MAX_PAYLOAD_CHARS:,} (receivers cap request bodies too)")
            for problem in self._payload_problems(payload):
                if problem.startswith(_JSON_PROBLEM):
                    raise ValueError(f"the payload is {problem}")
            _rendered, problem = render_sample(payload, self._event_type(), self._webhook_secrets())
            if problem:
                raise ValueError(f"the payload is {problem}")
            return kind, {"integration_id": self.webhook_integration.currentData(), "request_payload": payload}
        if kind == DESKTOP:
            return kind, text
        return NO_OP, {}

    def _payload_problems(self, payload: str) -> list[str]:
        return templating.check_webhook_payload(payload, self._event_type(), self._webhook_secrets())

    def _webhook_secrets(self) -> list[str]:
        hook = self._webhooks.get(self.webhook_integration.currentData())
        if hook is None:
            return []
        return [s for s in (hook.config.get("access_token_secret"), hook.config.get("signing_secret")) if s]

    # -- reactions --------------------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802 (Qt override): the event type may have changed
        self._revalidate()

    def _on_type_changed(self) -> None:
        kind = self.current_type()
        self.slack_box.setVisible(kind == SLACK)
        self.message_box.setVisible(kind in (SLACK, DESKTOP))
        self.webhook_box.setVisible(kind == WEBHOOK)
        self._revalidate()

    def _on_template(self, index: int) -> None:
        name = self.template.itemData(index)
        if name is not None:
            self.payload.setPlainText(TEMPLATES[name])
        self.template.setCurrentIndex(0)

    def _on_payload_edited(self) -> None:
        if len(self.payload.toPlainText()) <= LIVE_CHECK_CHARS:
            self._revalidate()
        else:
            self._payload_timer.start()
            self.completeChanged.emit()  # Next waits for the check

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return not self._payload_timer.isActive() and super().isComplete()

    def _revalidate(self) -> None:
        if self.current_type() == WEBHOOK:
            self._check_payload()
        show_problem(self.error, self.problem())
        self.completeChanged.emit()

    def _check_payload(self) -> None:
        payload, event_type, attached = self.payload.toPlainText(), self._event_type(), self._webhook_secrets()
        names = templating.webhook_variable_names(event_type, attached)
        self.payload.set_variables(names)
        unknown = templating.unknown_variables(payload, names)
        unattached = [n for n in unknown if n in self._team_secrets]
        other = [n for n in unknown if n not in self._team_secrets]
        warnings = ["these variables do not apply and will be empty: " + ", ".join("${" + n + "}" for n in other)
                    ] if other else []
        warnings += [p for p in self._payload_problems(payload) if p.startswith("not a variable")]
        show_problem(self.payload_warning, "; ".join(warnings) or None)
        hook = self._webhooks.get(self.webhook_integration.currentData())
        show_problem(self.secret_warning, (
            f"team secret {', '.join('${' + n + '}' for n in unattached)} is not attached to the webhook "
            f"“{hook.name if hook else '?'}” and will be empty; attach it as the webhook's access token or "
            "signing secret in Team Settings → Webhooks") if unattached else None)
        self.variables_hint.setText("Variables (type ${ to complete): " + ", ".join(names))
        rendered, problem = render_sample(payload, event_type, attached)
        self.rendered.setPlainText(rendered)
        shown_below = any(p.startswith(_JSON_PROBLEM) for p in self._payload_problems(payload))
        show_problem(self.render_error, problem and not shown_below and f"The payload is {problem}")
