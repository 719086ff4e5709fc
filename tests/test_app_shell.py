"""The app around the window: single instance, tray status and pausing, crash text, log file."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from desktop.engine import quiet  # noqa: E402
from desktop.single_instance import SingleInstance, server_name  # noqa: E402
from desktop.tray import Tray, pause_status  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class FakeEngine:
    running = True
    last_error = None


# --- quiet (no Qt) -----------------------------------------------------------------------------

def test_pause_is_persisted_and_expires(_private_home):
    now = datetime(2025, 3, 4, 10, 0, tzinfo=timezone.utc)
    assert quiet.desktop_notifications_paused_until(now) is None
    until = quiet.pause_desktop_notifications(quiet.for_one_hour(now))
    assert until == now + timedelta(hours=1)
    assert (_private_home / quiet.PAUSE_FILE).exists()  # in the data folder: the engine reads it
    assert quiet.desktop_notifications_paused_until(now) == until
    assert quiet.desktop_notifications_paused_until(now + timedelta(minutes=61)) is None  # expired
    quiet.resume_desktop_notifications()
    assert quiet.desktop_notifications_paused_until(now) is None
    quiet.resume_desktop_notifications()  # resuming twice is fine


def test_until_tomorrow_is_8am_local_next_day():
    mine = quiet.until_tomorrow()
    local_now = datetime.now().astimezone()
    assert mine.date() == local_now.date() + timedelta(days=1) and (mine.hour, mine.minute) == (8, 0)


def test_a_broken_pause_file_means_not_paused(_private_home, caplog):
    (_private_home / quiet.PAUSE_FILE).write_text("{not json", "utf-8")
    assert quiet.desktop_notifications_paused_until() is None
    assert "unreadable" in caplog.text


# --- tray ------------------------------------------------------------------------------------------

def test_tray_status_and_pause_actions(qtbot, _private_home, artifacts_dir):
    opened, quitted = [], []
    tray = Tray(FakeEngine(), lambda: opened.append(1), lambda: quitted.append(1))
    names = [a.objectName() for a in tray.menu.actions() if a.objectName()]
    assert names == ["tray-status", "tray-last-alert", "tray-pause-hour", "tray-pause-tomorrow", "tray-resume",
                     "tray-open", "tray-quit"]
    assert tray.status_action.text() == "Engine running" and not tray.status_action.isEnabled()
    assert tray.resume_action.isVisible() is False and tray.pause_hour_action.isVisible()

    tray.update_status("engine running", "val/acc > 0.9 · finished · 14:02")
    assert tray.last_alert_action.text() == "Last alert: val/acc > 0.9 · finished · 14:02"
    assert "Last alert: val/acc > 0.9" in tray.icon.toolTip()

    before = datetime.now(timezone.utc)
    tray.pause_hour_action.trigger()
    until = quiet.desktop_notifications_paused_until()
    assert until is not None and timedelta(minutes=59) < until - before <= timedelta(hours=1, seconds=5)
    assert tray.resume_action.isVisible() and not tray.pause_hour_action.isVisible()
    assert "Desktop notifications paused until" in tray.icon.toolTip()
    tray.menu.adjustSize()
    assert tray.menu.grab().save(str(artifacts_dir / "tray-menu-paused.png"))

    tray.resume_action.trigger()
    assert quiet.desktop_notifications_paused_until() is None
    assert not tray.resume_action.isVisible()

    tray.pause_tomorrow_action.trigger()
    assert quiet.desktop_notifications_paused_until() == quiet.until_tomorrow().astimezone(timezone.utc)

    tray.open_action.trigger()
    tray.quit_action.trigger()
    assert opened == [1] and quitted == [1]


def test_pause_status_text():
    assert pause_status(None) == ""
    soon = datetime.now().astimezone().replace(hour=23, minute=59, second=0)
    assert pause_status(soon) == "desktop notifications paused until 23:59"


# --- single instance ---------------------------------------------------------------------------------

def test_second_instance_on_the_same_database_activates_the_first(qtbot, db_url):
    first = SingleInstance(db_url)
    assert first.claim()
    try:
        assert SingleInstance(db_url + "-other").claim()  # another database runs side by side
        with qtbot.waitSignal(first.activated, timeout=5000):
            assert SingleInstance(db_url).claim() is False
    finally:
        first.close()
    again = SingleInstance(db_url)  # after the first closes, a new launch is first again
    assert again.claim()
    again.close()
    assert server_name(db_url) != server_name(db_url + "-other")


@pytest.mark.slow
def test_second_launch_exits_and_the_first_window_is_shown(tmp_path, db_url):
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    cmd = [sys.executable, "-m", "desktop", "--db", db_url]
    first = subprocess.Popen([*cmd, "--quit-after", "120"], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)
    seen: list[str] = []
    ready, asked = threading.Event(), threading.Event()

    def watch() -> None:
        for line in first.stderr:
            seen.append(line)
            if "Runbell ready" in line:
                ready.set()
            if "asked this instance to show" in line:
                asked.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        assert ready.wait(90), "".join(seen)[-3000:]
        second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
        assert second.returncode == 0, second.stderr[-3000:]
        assert "already runs on this database" in second.stderr
        assert "Runbell ready" not in second.stderr
        assert asked.wait(30), "".join(seen)[-3000:]
    finally:
        first.terminate()  # SIGTERM quits cleanly
        code = first.wait(60)
        reader.join(10)
        first.stderr.close()
    assert code == 0, "".join(seen)[-3000:]


# --- crash dialog and log ------------------------------------------------------------------------------

def test_crash_dialog_names_the_log_file(qapp, monkeypatch, _private_home):
    import logging

    from desktop import app as app_module
    from desktop import logs

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()  # setup_logging only configures a fresh process
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, title, text: shown.append((title, text)))
    try:
        logs.setup_logging()
        path = logs.log_file()
        assert path == _private_home / "logs" / "runbell.log"
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            app_module._excepthook(RuntimeError, exc, exc.__traceback__)
        for handler in root.handlers:
            handler.flush()
        [(title, text)] = shown
        assert title == "Runbell: unexpected error"
        assert "RuntimeError: boom" in text and str(path) in text
        logged = path.read_text("utf-8")
        assert "uncaught exception" in logged and "RuntimeError: boom" in logged  # with the traceback
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        root.handlers[:] = saved
        monkeypatch.setattr(logs, "_log_file", None)


def test_qt_messages_go_to_the_log(qapp, caplog):
    from PySide6.QtCore import QMessageLogContext, QtMsgType

    from desktop import app as app_module

    app_module._qt_message_handler(QtMsgType.QtInfoMsg, QMessageLogContext(), "hello from Qt")
    [record] = [r for r in caplog.records if r.name == "runbell.qt"]
    assert record.getMessage() == "hello from Qt" and record.levelname == "INFO"
