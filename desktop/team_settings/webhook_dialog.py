"""Create or edit a webhook: name, URL, access-token and signing-secret pickers, Standard Webhooks."""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from desktop.context import AppContext
from desktop.tasks import TaskRunner
from desktop.team_settings.save_dialog import SaveDialog
from store import entities as e
from store import integrations
from store.errors import ValidationError

MAX_NAME = 64
NO_SECRET = "(none)"


def _secret_combo(object_name: str, names: Sequence[str], current: str | None) -> QComboBox:
    """A picker of team secret names; a chosen secret that no longer exists stays, marked missing."""
    combo = QComboBox()
    combo.setObjectName(object_name)
    combo.addItem(NO_SECRET, None)
    for name in names:
        combo.addItem(name, name)
    if current and current not in names:
        combo.addItem(f"{current} (missing)", current)
    if current:
        combo.setCurrentIndex(combo.findData(current))
    return combo


class WebhookDialog(SaveDialog):
    """New webhook (`webhook=None`) or edit one.

    Object names: "webhook-dialog", fields "webhook-name", "webhook-url", "webhook-token-secret",
    "webhook-signing-secret", "webhook-standard", message "webhook-error", button "webhook-save".

    Signals:
        saved(store.entities.Integration)
    """

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, secret_names: Sequence[str], taken_names: Collection[str] = (),
        webhook: e.Integration | None = None, parent: QWidget | None = None,
    ) -> None:
        super().__init__(ctx, tasks, prefix="webhook", min_width=520, parent=parent,
                         title=f"Edit webhook {webhook.name}" if webhook else "New webhook")
        self._webhook = webhook
        self._secrets = set(secret_names)
        self._taken = set(taken_names) - ({webhook.name} if webhook else set())
        config = webhook.config if webhook else {}

        self.name = QLineEdit(webhook.name if webhook else "")
        self.name.setObjectName("webhook-name")
        self.name.setPlaceholderText("e.g. ci-dispatch")
        self.name.setMaxLength(MAX_NAME)
        self.url = QLineEdit(config.get("url", ""))
        self.url.setObjectName("webhook-url")
        self.url.setPlaceholderText("https://api.example.com/hooks/runbell")
        self.token = _secret_combo("webhook-token-secret", secret_names, config.get("access_token_secret"))
        self.signing = _secret_combo("webhook-signing-secret", secret_names, config.get("signing_secret"))
        self.standard = QCheckBox("Standard Webhooks headers")
        self.standard.setObjectName("webhook-standard")
        self.standard.setToolTip("Also send webhook-id, webhook-timestamp and webhook-signature "
                                 "(standardwebhooks.com), signed with the signing secret")
        self.standard.setChecked(bool(config.get("standard_webhooks")))
        intro = QLabel(
            "Runbell POSTs the automation's JSON payload to this URL. The access token is sent as "
            "<code>Authorization: Bearer …</code>; the signing secret signs the body (HMAC-SHA256). "
            "Both are team secrets: create them under Secrets first."
        )

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("URL", self.url)
        form.addRow("Access token", self.token)
        form.addRow("Signing secret", self.signing)
        form.addRow("", self.standard)
        for combo in (self.token, self.signing):
            combo.currentIndexChanged.connect(self._validate)
        self._lay_out(intro, form, (self.name, self.url))
        self.name.setFocus()

    # -- validation --------------------------------------------------------------------------
    def _name_problem(self) -> str | None:
        name = self.name.text()
        if not name:
            return "Name the webhook."
        if len(name) > MAX_NAME:
            return f"A webhook name has at most {MAX_NAME} characters ({len(name)} now)."
        if not integrations.WEBHOOK_NAME.match(name):
            return ("A webhook name starts with a letter or digit and then has letters, digits, spaces, "
                    "'.', '_' or '-'.")
        if name in self._taken:
            return f"A webhook named {name} already exists."
        return None

    def _url_problem(self) -> str | None:
        if not self.url.text().strip():
            return "Enter the URL to POST to."
        try:
            integrations.validate_url(self.url.text(), what="webhook URL")
        except ValidationError as exc:
            return str(exc)
        return None

    def _secret_problem(self) -> str | None:
        for label, combo in (("access token", self.token), ("signing secret", self.signing)):
            chosen = combo.currentData()
            if chosen and chosen not in self._secrets:
                return f"The {label} secret {chosen} no longer exists: pick another or create it under Secrets."
        return None

    def problem(self) -> str | None:
        return self._name_problem() or self._url_problem() or self._secret_problem()

    def _typed_problem(self) -> str:
        # Only fields the user has started on complain; an empty form just cannot be saved.
        if self.name.text() and (p := self._name_problem()):
            return p
        if self.url.text() and (p := self._url_problem()):
            return p
        return self._secret_problem() or ""

    # -- saving ------------------------------------------------------------------------------
    def _store_call(self) -> Callable[[], e.Integration]:
        db, team_id = self._ctx.db, self._ctx.team.id
        name, url = self.name.text(), self.url.text().strip()
        token, signing, standard = self.token.currentData(), self.signing.currentData(), self.standard.isChecked()
        webhook = self._webhook
        if webhook is not None:
            return lambda: integrations.update_webhook(
                db, webhook.id, name=name, url=url, access_token_secret=token, signing_secret=signing,
                standard_webhooks=standard)

        def create() -> e.Integration:
            made = integrations.create_webhook(db, team_id, name=name, url=url, access_token_secret=token,
                                               signing_secret=signing)
            return integrations.set_webhook_options(db, made.id, standard_webhooks=standard) if standard else made

        return create
