"""Team Settings: admins change members' roles (the last admin stays), Slack bot-token integrations."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton

from desktop.context import AppContext
from desktop.team_settings.members_section import ADMIN_ONLY_TOOLTIP
from desktop.team_settings.page import TeamSettingsPage
from desktop.team_settings.slack_dialog import SlackDialog
from store import integrations, teams
from store.errors import ValidationError
from tests.ui_manage_fixtures import (  # noqa: F401 (fixtures)
    OFFSCREEN_NOISE, admin_ctx, memory_keyring, save_screenshot, tasks, viewer_ctx, watcher,
)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)

BOT_TOKEN = "xoxb-1234-5678-b0t-very-secret-t0ken"


def _page(qtbot, ctx, tasks, watcher, users: int = 1) -> TeamSettingsPage:
    page = TeamSettingsPage(ctx, tasks, watcher)
    qtbot.addWidget(page)
    page.resize(900, 900)
    page.show()
    qtbot.waitUntil(lambda: page.members.table.rowCount() == users, timeout=5000)
    return page


def _select_user(page: TeamSettingsPage, username: str) -> None:
    table = page.members.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == username)
    table.selectRow(row)


def _roles(page: TeamSettingsPage) -> dict[str, str]:
    table = page.members.table
    return {table.item(r, 0).text(): table.item(r, 2).text() for r in range(table.rowCount())}


def test_store_refuses_to_demote_the_last_admin(db, admin_ctx):
    with pytest.raises(ValidationError, match="last admin"):
        teams.set_role(db, admin_ctx.user.id, "member")
    assert teams.list_users(db, admin_ctx.team.id)[0].role == "admin"
    _, bob = teams.ensure_default_team(db, "bob")
    teams.set_role(db, bob.id, "admin")
    assert teams.set_role(db, admin_ctx.user.id, "viewer").role == "viewer"  # another admin remains
    with pytest.raises(ValidationError, match="bob is the team's last admin"):
        teams.set_role(db, bob.id, "member")
    assert teams.set_role(db, bob.id, "admin").role == "admin"  # admin → admin is no demotion


def test_admin_changes_a_members_role(qtbot, db, admin_ctx, viewer_ctx, tasks, watcher, memory_keyring):
    page = _page(qtbot, admin_ctx, tasks, watcher, users=2)
    role = page.findChild(QComboBox, "member-role")
    apply = page.findChild(QPushButton, "member-role-apply")
    assert not apply.isEnabled()  # nobody selected
    _select_user(page, "victor")
    assert role.isEnabled() and role.currentData() == "viewer"
    assert not apply.isEnabled()  # the role shown is already theirs
    role.setCurrentIndex(role.findData("member"))
    assert apply.isEnabled()
    apply.click()
    qtbot.waitUntil(lambda: _roles(page).get("victor") == "member", timeout=5000)
    assert {u.username: u.role for u in teams.list_users(db, admin_ctx.team.id)} == {
        "alice": "admin", "victor": "member"}
    save_screenshot(page.members, "ui-team-members-roles.png")


def test_last_admin_cannot_demote_themselves(qtbot, db, admin_ctx, tasks, watcher, memory_keyring):
    page = _page(qtbot, admin_ctx, tasks, watcher)
    _select_user(page, "alice")
    page.members.role.setCurrentIndex(page.members.role.findData("viewer"))
    page.members.apply.click()
    qtbot.waitUntil(page.members.message.isVisible, timeout=5000)
    assert "last admin" in page.members.message.text() and "Role not changed" in page.members.message.text()
    assert page.members.role.currentData() == "admin"  # the picker goes back to the stored role
    assert teams.list_users(db, admin_ctx.team.id)[0].role == "admin"


def test_non_admins_see_role_changes_disabled_with_the_reason(
    qtbot, db, admin_ctx, viewer_ctx, tasks, watcher, memory_keyring,
):
    _, mia = teams.ensure_default_team(db, "mia")
    member_ctx = AppContext(db, admin_ctx.team, mia)
    for ctx in (viewer_ctx, member_ctx):
        page = _page(qtbot, ctx, tasks, watcher, users=3)
        _select_user(page, "victor")
        for widget in (page.members.role, page.members.apply):
            assert not widget.isEnabled()
            assert widget.toolTip() == ADMIN_ONLY_TOOLTIP
        page.members.change_role()  # even called directly it does nothing
    assert {u.username: u.role for u in teams.list_users(db, admin_ctx.team.id)}["victor"] == "viewer"


def _sqlite_files(db) -> bytes:
    """The SQLite file and its -wal as they are on disk now (before any checkpoint)."""
    path = Path(db.engine.url.database or "")
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.is_file())


def test_slack_bot_mode_validates_as_you_type(qtbot, db, admin_ctx, tasks, memory_keyring):
    dialog = SlackDialog(admin_ctx, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    mode = dialog.findChild(QComboBox, "slack-mode")
    assert [mode.itemText(i) for i in range(mode.count())] == ["Incoming webhook", "Bot token"]
    assert dialog.url.isVisible() and not dialog.token.isVisible()
    mode.setCurrentIndex(mode.findData("bot"))
    channel_id = dialog.findChild(QLineEdit, "slack-channel-id")
    token = dialog.findChild(QLineEdit, "slack-bot-token")
    assert channel_id.isVisible() and token.isVisible() and not dialog.url.isVisible()
    assert token.echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.save_button.isEnabled() and not dialog.error.isVisible()  # nothing typed yet
    qtbot.keyClicks(channel_id, "#ml-alerts")
    assert "C0123456789" in dialog.error.text() and not dialog.save_button.isEnabled()
    channel_id.clear()
    qtbot.keyClicks(channel_id, "c0abc")
    assert dialog.error.isVisible()  # lower case is not a channel ID
    channel_id.clear()
    qtbot.keyClicks(channel_id, "C0ABC123")
    assert not dialog.error.isVisible() and not dialog.save_button.isEnabled()  # token still missing
    qtbot.keyClicks(token, "xoxp-user-token")
    assert "xoxb-" in dialog.error.text() and not dialog.save_button.isEnabled()
    save_screenshot(dialog, "ui-slack-bot-dialog-invalid.png")
    token.clear()
    qtbot.keyClicks(token, BOT_TOKEN)
    assert dialog.save_button.isEnabled() and not dialog.error.isVisible()
    mode.setCurrentIndex(mode.findData("webhook"))
    assert not dialog.save_button.isEnabled()  # webhook mode needs its URL
    assert integrations.list_integrations(db, admin_ctx.team.id) == []


def test_slack_bot_token_goes_to_the_keyring_only(qtbot, db, admin_ctx, tasks, watcher, memory_keyring):
    page = _page(qtbot, admin_ctx, tasks, watcher)
    dialog = page.open_slack_dialog()
    dialog.mode.setCurrentIndex(dialog.mode.findData("bot"))
    qtbot.keyClicks(dialog.workspace, "acme")
    qtbot.keyClicks(dialog.channel, "#ml-alerts")
    qtbot.keyClicks(dialog.channel_id, "C0ABC123")
    qtbot.keyClicks(dialog.token, BOT_TOKEN)
    save_screenshot(dialog, "ui-slack-bot-dialog.png")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: page.slack.table.rowCount() == 1, timeout=5000)
    assert [page.slack.table.item(0, c).text() for c in (0, 1)] == ["acme", "#ml-alerts"]
    [saved] = integrations.list_integrations(db, admin_ctx.team.id, kind="slack")
    assert saved.config["mode"] == "bot" and saved.config["channel_id"] == "C0ABC123"
    assert integrations.credential(saved, "bot_token") == BOT_TOKEN
    assert BOT_TOKEN in memory_keyring.values.values()
    on_disk = _sqlite_files(db)
    assert on_disk and BOT_TOKEN.encode() not in on_disk and b"very-secret-t0ken" not in on_disk
