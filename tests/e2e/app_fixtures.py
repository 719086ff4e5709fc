"""Fixtures and helpers shared by the end-to-end tests: the real main window with the real
engine on a temp database, the D-Bus notification recorder and the loopback Slack server."""
from __future__ import annotations

import os

import pytest

from desktop.app import NotificationClicks, start_engine
from desktop.context import AppContext
from desktop.main_window import MainWindow
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from store import teams
from store.db import Database
from tests.support.desktop_session import NotificationRecorder
from tests.support.fake_slack import FakeSlack


@pytest.fixture
def recorder():
    rec = NotificationRecorder(os.environ["DBUS_SESSION_BUS_ADDRESS"]).start()
    yield rec
    rec.close()


@pytest.fixture
def slack():
    server = FakeSlack()
    yield server
    server.close()


@pytest.fixture
def app_window(qtbot, tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'e2e.db'}")
    team, user = teams.ensure_default_team(db)
    ctx = AppContext(db, team, user)
    tasks = TaskRunner()
    watcher = StoreWatcher(db)
    watcher.start()
    clicks = NotificationClicks()
    engine = start_engine(db, on_notification_clicked=clicks.emit_from_any_thread)
    window = MainWindow(ctx, tasks, watcher, engine, use_tray=False)
    clicks.clicked.connect(window.open_notification_target)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    yield window, ctx
    window.shutdown()
    db.dispose()


def child(parent, cls, name):
    widget = parent.findChild(cls, name)
    assert widget is not None, f"no {cls.__name__} named {name}"
    return widget
