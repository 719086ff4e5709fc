"""Team Settings: members, Slack integrations and secrets; credentials only ever in the keyring."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QLineEdit, QMessageBox, QPushButton
from shiboken6 import isValid

from desktop.team_settings.page import TeamSettingsPage
from desktop.team_settings.secret_dialog import SecretDialog
from desktop.team_settings.slack_dialog import SlackDialog
from store import integrations, secrets
from tests.ui_manage_fixtures import (  # noqa: F401 (fixtures)
    OFFSCREEN_NOISE, admin_ctx, database_bytes, make_automation, memory_keyring, no_keyring, project,
    save_screenshot, tasks, viewer_ctx, watcher,
)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)

SLACK_URL = "http://127.0.0.1:8765/services/T0RUNBELL/B0TEST/sl4ck-very-secret-t0ken"


def _page(qtbot, ctx, tasks, watcher) -> TeamSettingsPage:
    page = TeamSettingsPage(ctx, tasks, watcher)
    qtbot.addWidget(page)
    page.resize(900, 900)
    page.show()
    qtbot.waitUntil(lambda: page.members.table.rowCount() >= 1, timeout=5000)
    return page


def _confirm_box(qtbot, page, name: str) -> QMessageBox:
    def shown() -> list[QMessageBox]:
        return [b for b in page.findChildren(QMessageBox, name) if b.isVisible()]

    qtbot.waitUntil(lambda: len(shown()) == 1, timeout=5000)
    return shown()[0]


def test_members_are_listed_with_roles(qtbot, admin_ctx, viewer_ctx, tasks, watcher, memory_keyring):
    page = _page(qtbot, admin_ctx, tasks, watcher)
    qtbot.waitUntil(lambda: page.members.table.rowCount() == 2)
    rows = {page.members.table.item(r, 0).text(): page.members.table.item(r, 2).text() for r in range(2)}
    assert rows == {"alice": "admin", "victor": "viewer"}
    assert page.banner.isHidden()


def test_slack_dialog_validates_the_url_as_you_type(qtbot, db, admin_ctx, tasks, watcher, memory_keyring):
    page = _page(qtbot, admin_ctx, tasks, watcher)
    page.slack_add.click()
    dialog = page.findChild(SlackDialog, "slack-dialog")
    assert dialog is not None and dialog.isVisible()
    url = dialog.findChild(QLineEdit, "slack-url")
    save = dialog.findChild(QPushButton, "slack-save")
    assert url.echoMode() == QLineEdit.EchoMode.Password
    assert not save.isEnabled()
    qtbot.keyClicks(dialog.findChild(QLineEdit, "slack-workspace"), "acme")
    qtbot.keyClicks(dialog.findChild(QLineEdit, "slack-channel"), "#ml-alerts")
    qtbot.keyClicks(url, "http://example.com/services/T/B/x")
    assert not save.isEnabled()
    assert dialog.error.isVisible() and "https" in dialog.error.text()
    url.clear()
    qtbot.keyClicks(url, "https://hooks.example.com/x")
    assert not save.isEnabled() and "hooks.slack.com/services" in dialog.error.text()
    save_screenshot(dialog, "ui-slack-dialog-invalid.png")
    save.click()  # disabled: nothing happens
    assert integrations.list_integrations(db, admin_ctx.team.id) == []


def test_slack_url_goes_to_the_keyring_and_never_to_the_database(
    qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring,
):
    page = _page(qtbot, admin_ctx, tasks, watcher)
    dialog = page.open_slack_dialog()
    qtbot.keyClicks(dialog.workspace, "acme")
    qtbot.keyClicks(dialog.channel, "#ml-alerts")
    qtbot.keyClicks(dialog.url, SLACK_URL)
    assert dialog.save_button.isEnabled() and not dialog.error.isVisible()
    dialog.save_button.click()
    qtbot.waitUntil(lambda: page.slack.table.rowCount() == 1, timeout=5000)
    assert [page.slack.table.item(0, c).text() for c in (0, 1)] == ["acme", "#ml-alerts"]
    assert not isValid(dialog) or not dialog.isVisible()  # closed (and deleted)
    saved = integrations.list_integrations(db, admin_ctx.team.id, kind="slack")
    assert integrations.credential(saved[0], "webhook_url") == SLACK_URL
    assert SLACK_URL in memory_keyring.values.values()
    stored = database_bytes(db)
    assert b"sl4ck-very-secret-t0ken" not in stored and SLACK_URL.encode() not in stored
    save_screenshot(page, "ui-team-settings.png")

    # delete asks first, naming the automations that post there
    make_automation(db, admin_ctx, project, "to slack", action_type="NOTIFICATION",
                    action_config={"integration_id": saved[0].id, "title": "t", "message": "m"})
    page.slack.table.selectRow(0)
    page.slack_delete.click()
    box = _confirm_box(qtbot, page, "confirm-delete-slack")
    assert "to slack" in box.informativeText()
    box.findChild(QPushButton, "confirm-yes").click()
    qtbot.waitUntil(lambda: page.slack.table.rowCount() == 0, timeout=5000)
    assert integrations.list_integrations(db, admin_ctx.team.id) == []
    assert SLACK_URL not in memory_keyring.values.values()


def test_slack_dialog_shows_keyring_failure_and_saves_nothing(qtbot, db, admin_ctx, tasks, no_keyring):
    dialog = SlackDialog(admin_ctx, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.channel, "#ml-alerts")
    qtbot.keyClicks(dialog.url, SLACK_URL)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=5000)
    assert "Not saved" in dialog.error.text() and "keyring" in dialog.error.text()
    assert SLACK_URL not in dialog.error.text()
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert integrations.list_integrations(db, admin_ctx.team.id) == []


def test_secret_add_replace_and_delete(qtbot, db, admin_ctx, project, tasks, watcher, memory_keyring):
    page = _page(qtbot, admin_ctx, tasks, watcher)
    dialog = page.open_secret_dialog()
    assert dialog.objectName() == "secret-dialog"
    assert dialog.value.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(dialog.name, "GH-PAT")
    assert not dialog.save_button.isEnabled() and "letters, digits and underscores" in dialog.error.text()
    save_screenshot(dialog, "ui-secret-dialog-invalid.png")
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, "GH_PAT")
    assert not dialog.error.isVisible() and not dialog.save_button.isEnabled()  # no value yet
    qtbot.keyClicks(dialog.value, "tok-123-first")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: page.secrets.table.rowCount() == 1, timeout=5000)
    assert page.secrets.table.item(0, 0).text() == "GH_PAT"
    assert secrets.secret_value(admin_ctx.team.id, "GH_PAT") == "tok-123-first"
    assert b"tok-123-first" not in database_bytes(db)

    # the same name again is refused: replace is the way to change a value
    again = page.open_secret_dialog()
    qtbot.keyClicks(again.name, "GH_PAT")
    assert "already exists" in again.error.text() and not again.save_button.isEnabled()
    again.reject()

    page.secrets.table.selectRow(0)
    replace = page.open_replace_dialog()
    assert replace.name.isReadOnly() and replace.name.text() == "GH_PAT"
    assert replace.value.text() == ""  # write-only: the old value is never loaded
    qtbot.keyClicks(replace.value, "tok-456-second")
    replace.save_button.click()
    qtbot.waitUntil(lambda: secrets.secret_value(admin_ctx.team.id, "GH_PAT") == "tok-456-second", timeout=5000)
    assert b"tok-456-second" not in database_bytes(db)

    # delete lists who still uses the secret
    integrations.create_webhook(db, admin_ctx.team.id, name="ci", url="https://example.com/h",
                                access_token_secret="GH_PAT")
    make_automation(db, admin_ctx, project, "dispatch", action_type="GENERIC_WEBHOOK",
                    action_config={"integration_id": 1, "request_payload": '{"t": "${GH_PAT}"}'})
    qtbot.waitUntil(lambda: page.secrets.selected_key() == "GH_PAT", timeout=5000)
    page.secret_delete.click()
    box = _confirm_box(qtbot, page, "confirm-delete-secret")
    assert "webhook ci" in box.informativeText() and "automation dispatch" in box.informativeText()
    save_screenshot(box, "ui-secret-delete-confirm.png")
    box.findChild(QPushButton, "confirm-yes").click()
    qtbot.waitUntil(lambda: page.secrets.table.rowCount() == 0, timeout=5000)
    assert secrets.list_secrets(db, admin_ctx.team.id) == []
    assert memory_keyring.values == {}


def test_no_keyring_backend_shows_banner_and_blocks_adding(qtbot, db, admin_ctx, tasks, watcher, no_keyring):
    page = _page(qtbot, admin_ctx, tasks, watcher)
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=5000)
    assert page.banner.objectName() == "keyring-banner"
    assert "cannot be saved" in page.banner.text() and "gnome-keyring" in page.banner.text()
    for button in (page.slack_add, page.secret_add):
        assert not button.isEnabled()
        assert "keyring" in button.toolTip()
    assert page.open_secret_dialog() is None and page.open_slack_dialog() is None
    save_screenshot(page, "ui-team-settings-no-keyring.png")

    dialog = SecretDialog(admin_ctx, tasks)  # even a dialog opened anyway saves nothing
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.name, "TOKEN")
    qtbot.keyClicks(dialog.value, "v4lue")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=5000)
    assert "Not saved" in dialog.error.text()
    assert secrets.list_secrets(db, admin_ctx.team.id) == []


def test_viewer_cannot_add_or_delete(qtbot, db, admin_ctx, viewer_ctx, tasks, watcher, memory_keyring):
    secrets.set_secret(db, admin_ctx.team.id, "TOKEN", "v")
    page = _page(qtbot, viewer_ctx, tasks, watcher)
    qtbot.waitUntil(lambda: page.secrets.table.rowCount() == 1, timeout=5000)
    page.secrets.table.selectRow(0)
    for button in (page.slack_add, page.slack_delete, page.secret_add, page.secret_replace, page.secret_delete):
        assert not button.isEnabled(), button.objectName()
        assert "Viewers" in button.toolTip(), button.objectName()
    page.delete_selected_secret()
    assert page.findChild(QMessageBox) is None
    assert page.open_secret_dialog() is None

