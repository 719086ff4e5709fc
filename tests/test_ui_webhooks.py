"""Team Settings → Webhooks and Slack Test: validation as you type, Test against a loopback
receiver (status and body shown, recorded as a test), delete lists the automations using it."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton

from desktop.team_settings.page import TeamSettingsPage
from desktop.team_settings.test_dialog import IntegrationTestDialog
from desktop.team_settings.webhook_dialog import WebhookDialog
from store import executions, integrations, secrets
from tests.support.fake_slack import FakeSlack
from tests.support.fake_webhook import FakeWebhook
from tests.ui_manage_fixtures import (  # noqa: F401 (fixtures)
    OFFSCREEN_NOISE, admin_ctx, make_automation, memory_keyring, project, save_screenshot, tasks,
    viewer_ctx, watcher,
)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


def _page(qtbot, ctx, tasks, watcher) -> TeamSettingsPage:
    page = TeamSettingsPage(ctx, tasks, watcher)
    qtbot.addWidget(page)
    page.resize(1000, 1000)
    page.show()
    qtbot.waitUntil(lambda: page.members.table.rowCount() >= 1, timeout=5000)
    return page


def _select(qtbot, section, key) -> None:
    qtbot.waitUntil(lambda: section.select_key(key), timeout=5000)


def _new_dialog(qtbot, page) -> WebhookDialog:
    dialog = page.webhooks.open_dialog()
    assert isinstance(dialog, WebhookDialog)
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def test_webhook_dialog_validates_name_url_and_secrets_as_you_type(
        qtbot, db, admin_ctx, tasks, watcher, memory_keyring):
    secrets.set_secret(db, admin_ctx.team.id, "GH_TOKEN", "ghp-value")
    page = _page(qtbot, admin_ctx, tasks, watcher)
    qtbot.waitUntil(lambda: page.secrets.table.rowCount() == 1)
    dialog = _new_dialog(qtbot, page)
    assert not dialog.save_button.isEnabled() and dialog.error.isHidden()  # empty: no nagging

    dialog.name.setText(" leading space")
    assert "starts with a letter or digit" in dialog.error.text()
    dialog.name.setText("x" * 65)  # the field holds at most the 64 characters a name may have
    assert dialog.name.text() == "x" * 64 and dialog.error.isHidden()
    dialog.name.setText("ci dispatch")
    assert dialog.error.isHidden() and not dialog.save_button.isEnabled()  # URL still missing

    dialog.url.setText("http://example.com/hook")
    assert "https://" in dialog.error.text() and not dialog.save_button.isEnabled()
    dialog.url.setText("notaurl")
    assert "must start with https://" in dialog.error.text()
    dialog.url.setText("https://api.example.com/hooks/runbell")
    assert dialog.error.isHidden() and dialog.save_button.isEnabled()

    assert [dialog.token.itemText(i) for i in range(dialog.token.count())] == ["(none)", "GH_TOKEN"]
    dialog.token.setCurrentIndex(dialog.token.findData("GH_TOKEN"))
    dialog.standard.setChecked(True)
    save_screenshot(dialog, "webhook-dialog.png")
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save_button.click()
    (saved,) = integrations.list_integrations(db, admin_ctx.team.id, kind="webhook")
    assert (saved.name, saved.config["url"], saved.config["access_token_secret"],
            saved.config["signing_secret"], saved.config["standard_webhooks"]) == (
        "ci dispatch", "https://api.example.com/hooks/runbell", "GH_TOKEN", None, True)
    qtbot.waitUntil(lambda: page.webhooks.table.rowCount() == 1, timeout=5000)
    cells = [page.webhooks.table.item(0, c).text() for c in range(4)]
    assert cells == ["ci dispatch", "api.example.com", "token: GH_TOKEN", "Yes"]

    # a name already taken cannot be saved twice
    again = _new_dialog(qtbot, page)
    again.name.setText("ci dispatch")
    assert "already exists" in again.error.text() and not again.save_button.isEnabled()
    again.reject()


def test_editing_a_webhook_whose_secret_was_deleted_says_so(qtbot, db, admin_ctx, tasks, watcher, memory_keyring):
    team_id = admin_ctx.team.id
    secrets.set_secret(db, team_id, "SIGNING", "s3cret")
    hook = integrations.create_webhook(db, team_id, name="ci", url="https://ci.example.com/h", signing_secret="SIGNING")
    secrets.delete_secret(db, team_id, "SIGNING")
    page = _page(qtbot, admin_ctx, tasks, watcher)
    _select(qtbot, page.webhooks, hook.id)
    dialog = page.webhooks.edit_selected()
    assert dialog is not None
    assert "SIGNING no longer exists" in dialog.error.text() and not dialog.save_button.isEnabled()
    assert dialog.signing.currentText() == "SIGNING (missing)"
    dialog.signing.setCurrentIndex(0)  # (none)
    dialog.url.setText("https://ci.example.com/v2")
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save_button.click()
    updated = integrations.get_integration(db, hook.id)
    assert (updated.config["url"], updated.config["signing_secret"]) == ("https://ci.example.com/v2", None)


def test_webhook_test_dialog_shows_the_endpoints_status_and_body(
        qtbot, db, admin_ctx, tasks, watcher, memory_keyring):
    team_id = admin_ctx.team.id
    secrets.set_secret(db, team_id, "GH_TOKEN", "ghp-very-secret")
    with FakeWebhook() as receiver:
        hook = integrations.create_webhook(db, team_id, name="ci", url=receiver.url, access_token_secret="GH_TOKEN")
        receiver.queue(202, '{"queued": "job-17"}')
        page = _page(qtbot, admin_ctx, tasks, watcher)
        _select(qtbot, page.webhooks, hook.id)
        save_screenshot(page, "team-settings-webhooks.png")
        dialog = page.webhooks.test_selected()
        assert isinstance(dialog, IntegrationTestDialog)
        qtbot.waitUntil(dialog.isVisible)

        dialog.payload.setPlainText('{"ref": "main", "token": "${GH_TOKEN}",')
        assert "Not valid JSON" in dialog.payload_error.text() and not dialog.send_button.isEnabled()
        dialog.payload.setPlainText('{"ref": "main", "token": "${GH_TOKEN}", "who": "${run_name}"}')
        assert "will be empty: ${run_name}" in dialog.payload_error.text()  # a warning only
        dialog.payload.setPlainText('{"ref": "main", "token": "${GH_TOKEN}", "event": "${event_type}"}')
        assert dialog.payload_error.isHidden() and dialog.send_button.isEnabled()

        dialog.send_button.click()
        assert dialog.status.text() == "Sending…" and not dialog.send_button.isEnabled()  # not blocking
        qtbot.waitUntil(lambda: dialog.last_execution is not None, timeout=10_000)
        (request,) = receiver.wait_for_requests(1)
        assert FakeWebhook.json(request) == {"ref": "main", "token": "ghp-very-secret", "event": "TEST"}
        assert dialog.status.text().startswith("HTTP 202")
        assert dialog.response.toPlainText() == '{"queued": "job-17"}'
        assert dialog.send_button.isEnabled()
        save_screenshot(dialog, "webhook-test-dialog.png")

        receiver.queue(500, "boom: upstream down")
        dialog.send_button.click()
        qtbot.waitUntil(lambda: dialog.status.text().startswith("HTTP 500"), timeout=10_000)
        assert dialog.response.toPlainText() == "boom: upstream down"

    recorded = executions.list_executions(db)
    assert [x.is_test for x in recorded] == [True, True]
    assert "ghp-very-secret" not in str(recorded[-1].action)  # history keeps the secret masked


def test_slack_test_button_posts_and_shows_the_reply(qtbot, db, admin_ctx, tasks, watcher, memory_keyring):
    with FakeSlack() as slack:
        made = integrations.create_slack(db, admin_ctx.team.id, workspace="acme", channel="#ml",
                                         webhook_url=slack.webhook_url)
        page = _page(qtbot, admin_ctx, tasks, watcher)
        _select(qtbot, page.slack, made.id)
        assert page.slack_test.isEnabled()
        page.slack_test.click()
        dialog = page.last_dialog
        assert isinstance(dialog, IntegrationTestDialog) and dialog.payload.isHidden()
        dialog.send_button.click()
        qtbot.waitUntil(lambda: dialog.last_execution is not None, timeout=10_000)
        (message,) = slack.wait_for_messages(1)
        assert "test message from Runbell" in message.text
        assert dialog.status.text().startswith("HTTP 200")
        assert dialog.response.toPlainText() == "ok"


def test_delete_webhook_lists_the_automations_that_use_it(
        qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring):
    hook = integrations.create_webhook(db, admin_ctx.team.id, name="ci", url="https://ci.example.com/h")
    make_automation(db, admin_ctx, project, "deploy on acc", action_type="GENERIC_WEBHOOK",
                    action_config={"integration_id": hook.id, "request_payload": "{}"})
    make_automation(db, admin_ctx, project, "desktop only")
    page = _page(qtbot, admin_ctx, tasks, watcher)
    _select(qtbot, page.webhooks, hook.id)
    page.webhooks.delete.click()

    def box() -> QMessageBox | None:
        shown = [b for b in page.findChildren(QMessageBox, "confirm-delete-webhook") if b.isVisible()]
        return shown[0] if shown else None

    qtbot.waitUntil(lambda: box() is not None, timeout=5000)
    assert "deploy on acc" in box().informativeText() and "desktop only" not in box().informativeText()
    box().findChild(QPushButton, "confirm-yes").click()
    qtbot.waitUntil(lambda: page.webhooks.table.rowCount() == 0, timeout=5000)
    assert integrations.list_integrations(db, admin_ctx.team.id, kind="webhook") == []


def test_viewer_cannot_add_edit_test_or_delete_webhooks(
        qtbot, db, admin_ctx, viewer_ctx, tasks, watcher, memory_keyring):
    hook = integrations.create_webhook(db, admin_ctx.team.id, name="ci", url="https://ci.example.com/h")
    page = _page(qtbot, viewer_ctx, tasks, watcher)
    _select(qtbot, page.webhooks, hook.id)
    section = page.webhooks
    assert not any(b.isEnabled() for b in (section.add, section.edit, section.test, section.delete))
    assert section.open_dialog() is None and section.test_selected() is None
