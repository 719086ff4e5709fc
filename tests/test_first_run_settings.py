"""Issue 7: the first-run welcome, the settings dialog, quiet hours and the light/dark theme."""
from __future__ import annotations

import os
from datetime import datetime, time, timedelta, timezone

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, qsettings_isolated, tasks, ui_ctx, watcher  # noqa: E402, F401

from desktop import theme  # noqa: E402
from desktop.engine import quiet  # noqa: E402
from desktop.engine.settings import EngineSettings, configured_url, load_settings, save_settings  # noqa: E402
from desktop.first_run import WelcomeDialog, should_welcome  # noqa: E402
from store import automations, secrets, teams  # noqa: E402
from tests.support.memory_keyring import memory_keyring  # noqa: E402, F401  (fixture)

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


# --- quiet hours (no Qt) ------------------------------------------------------------------------------

def _local(hour: int, minute: int = 0, day: int = 4) -> datetime:
    return datetime(2025, 3, day, hour, minute).astimezone()


def test_quiet_hours_across_midnight():
    night = (time(22, 0), time(7, 0))
    assert quiet.quiet_hours_end(_local(21, 59), night) is None
    assert quiet.quiet_hours_end(_local(23, 30), night) == _local(7, 0, day=5).astimezone(timezone.utc)
    assert quiet.quiet_hours_end(_local(3, 0), night) == _local(7, 0).astimezone(timezone.utc)
    assert quiet.quiet_hours_end(_local(7, 0), night) is None  # the end is exclusive
    lunch = (time(12, 0), time(13, 0))
    assert quiet.quiet_hours_end(_local(12, 15), lunch) == _local(13, 0).astimezone(timezone.utc)
    assert quiet.quiet_hours_end(_local(13, 15), lunch) is None


def test_saved_quiet_hours_pause_desktop_notifications(_private_home):
    now = _local(23, 0)
    assert quiet.desktop_notifications_paused_until(now) is None
    save_settings(EngineSettings(quiet_from="22:00", quiet_to="07:00"))
    assert quiet.desktop_notifications_paused_until(now) == _local(7, 0, day=5).astimezone(timezone.utc)
    # a tray pause that lasts longer wins; a shorter one does not cut quiet hours short
    quiet.pause_desktop_notifications(now + timedelta(hours=1))
    assert quiet.desktop_notifications_paused_until(now) == _local(7, 0, day=5).astimezone(timezone.utc)
    assert quiet.desktop_notifications_paused_until(_local(12, 0, day=5)) is None  # both over
    save_settings(EngineSettings())
    assert quiet.desktop_notifications_paused_until(now) == now.astimezone(timezone.utc) + timedelta(hours=1)


def test_broken_settings_file_means_defaults(_private_home, caplog):
    (_private_home / "settings.json").write_text('{"heartbeat_timeout_minutes": 0}', "utf-8")
    assert load_settings() == EngineSettings()
    assert "unreadable" in caplog.text
    with pytest.raises(ValueError):
        save_settings(EngineSettings(quiet_from="25:00", quiet_to="07:00"))


def test_a_database_password_goes_to_the_keyring_not_the_settings_file(_private_home, memory_keyring,
                                                                      monkeypatch):
    url = "postgresql+psycopg://ml:s3cr%40t@db.example:5432/runbell?sslmode=require"
    save_settings(EngineSettings(database_url=url))
    text = (_private_home / "settings.json").read_text("utf-8")
    assert "s3cr" not in text and "ml@db.example:5432/runbell" in text
    assert list(memory_keyring.values.values()) == ["s3cr@t"]
    assert configured_url() == url  # what the app and `runbell engine` open
    monkeypatch.setenv("RUNBELL_DB", "sqlite:///elsewhere.db")
    assert configured_url() == "sqlite:///elsewhere.db"


def test_without_a_keyring_a_database_password_is_refused(_private_home, monkeypatch):
    monkeypatch.setattr(secrets, "backend_problem", lambda: "no usable OS keyring backend")
    with pytest.raises(ValueError, match="cannot be kept safely.*pgpass"):
        save_settings(EngineSettings(database_url="postgresql+psycopg://ml:pw@db/runbell"))
    assert not (_private_home / "settings.json").exists()
    save_settings(EngineSettings(database_url="postgresql+psycopg://ml@db/runbell"))  # no password: fine
    assert configured_url() == "postgresql+psycopg://ml@db/runbell"


# --- settings dialog ------------------------------------------------------------------------------------

def test_settings_persist_across_dialog_instances(qtbot, tasks, qsettings_isolated, tmp_path, db_url, artifacts_dir):
    from desktop.settings_dialog import SettingsDialog

    dialog = SettingsDialog(tasks, db_url)
    qtbot.addWidget(dialog)
    new_url = f"sqlite:///{tmp_path / 'other.db'}"
    dialog.db_url.setText(new_url)
    dialog.heartbeat.setValue(12)
    dialog.cooldown.setValue(30)
    dialog.quiet.setChecked(True)
    dialog.quiet_from.setTime(dialog.quiet_from.time().fromString("21:30", "HH:mm"))
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.show()
    assert dialog.grab().save(str(artifacts_dir / "settings.png"))
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()  # the URL is checked first
    saved = load_settings()
    assert saved == EngineSettings(database_url=new_url, heartbeat_timeout_minutes=12,
                                   default_cooldown_seconds=1800, quiet_from="21:30", quiet_to="07:00")
    assert theme.saved_theme() == "dark" and theme.resources_is_dark()

    again = SettingsDialog(tasks, db_url)
    qtbot.addWidget(again)
    assert again.db_url.text() == new_url and again.heartbeat.value() == 12 and again.cooldown.value() == 30
    assert again.quiet.isChecked() and again.quiet_from.time().toString("HH:mm") == "21:30"
    assert again.theme.currentData() == "dark"
    theme.apply_theme(QApplication.instance(), "light")


def test_settings_reject_a_database_url_that_cannot_open(qtbot, tasks, qsettings_isolated, db_url):
    from desktop.settings_dialog import SettingsDialog

    dialog = SettingsDialog(tasks, db_url)
    qtbot.addWidget(dialog)
    dialog.db_url.setText("nosuchdriver://x")
    dialog.show()
    dialog.save()
    qtbot.waitUntil(dialog.error.isVisible, timeout=10_000)
    assert "cannot use this database" in dialog.error.text() and dialog.isVisible()
    assert load_settings().database_url is None


# --- theme ------------------------------------------------------------------------------------------------

def test_theme_switch_changes_the_palette(qapp, qsettings_isolated):
    try:
        theme.apply_theme(qapp, "dark")
        window = qapp.palette().color(QPalette.ColorRole.Window)
        assert window.lightness() < 80 and theme.resources_is_dark()
        theme.apply_theme(qapp, "light")
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
        assert not theme.resources_is_dark()
    finally:
        theme.apply_theme(qapp, "light")


def test_main_window_screenshots_light_and_dark(qtbot, ui_ctx, tasks, watcher, qsettings_isolated, artifacts_dir):
    from desktop.main_window import MainWindow

    teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")
    window = MainWindow(ui_ctx, tasks, watcher, None, use_tray=False)
    qtbot.addWidget(window)
    window.resize(1100, 700)
    window.show()
    qtbot.waitUntil(lambda: window.projects.list.count() == 1, timeout=10_000)
    assert window.settings_action.shortcut().toString() == "Ctrl+,"
    assert window.tabs.tabBar().accessibleTabName(0) == "Projects"
    try:
        for name in ("light", "dark"):
            theme.apply_theme(QApplication.instance(), name)
            QApplication.processEvents()
            assert window.grab().save(str(artifacts_dir / f"main-{name}.png"))
    finally:
        theme.apply_theme(QApplication.instance(), "light")
        window.shutdown()


# --- first run ----------------------------------------------------------------------------------------------

def test_welcome_only_on_first_run_and_the_demo_starts(qtbot, ui_ctx, tasks, qsettings_isolated, artifacts_dir):
    assert should_welcome(ui_ctx.db, ui_ctx.team.id)
    dialog = WelcomeDialog(ui_ctx, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    assert ui_ctx.db.display_url in dialog.findChild(type(dialog.status), "welcome-where").text()
    dialog.name.setText("Alice Liddell")
    assert dialog.grab().save(str(artifacts_dir / "welcome.png"))
    changed = []
    dialog.user_changed.connect(changed.append)
    with qtbot.waitSignal(dialog.demo_started, timeout=30_000) as blocker:
        qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
    started = blocker.args[0]
    try:
        assert started.training.poll() is None or started.training.returncode == 0  # a real process
        assert [p.name for p in teams.list_projects(ui_ctx.db, ui_ctx.team.id)] == ["digits-demo"]
        [alert] = automations.list_automations(ui_ctx.db, team_id=ui_ctx.team.id)
        assert alert.project_id == started.project.id
        assert not dialog.isVisible()
        qtbot.waitUntil(lambda: bool(changed), timeout=10_000)  # the name is saved in a worker
        assert [u.display_name for u in changed] == ["Alice Liddell"]
        [user] = teams.list_users(ui_ctx.db, ui_ctx.team.id)
        assert user.display_name == "Alice Liddell"
        assert not should_welcome(ui_ctx.db, ui_ctx.team.id)
    finally:
        started.training.terminate()
        started.training.wait(30)


def test_welcome_is_not_shown_once_seen_or_when_projects_exist(qapp, ui_ctx, qsettings_isolated):
    teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "mine")
    assert not should_welcome(ui_ctx.db, ui_ctx.team.id)
