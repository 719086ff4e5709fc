"""Application start-up: the QApplication, the database, the in-process engine and the window."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMessageLogContext, QObject, QThread, QTimer, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop import resources
from desktop.gui_gc import UiThreadCollector
from desktop.tray import tray_available

log = logging.getLogger("runbell.app")
qt_log = logging.getLogger("runbell.qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message_handler(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's own messages go to `logging`, at the matching level."""
    where = f" ({context.category})" if context.category and context.category != "default" else ""
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s%s", message, where)


def create_app(argv: Sequence[str]) -> QApplication:
    """The QApplication with Runbell's name, icon and style (reuses an existing instance)."""
    QApplication.setApplicationName("Runbell")
    QApplication.setOrganizationName("Runbell")
    QApplication.setApplicationDisplayName("Runbell")
    QApplication.setDesktopFileName("runbell")
    app = QApplication.instance() or QApplication(list(argv))
    assert isinstance(app, QApplication)
    qInstallMessageHandler(_qt_message_handler)
    app.setStyle("Fusion")  # same look everywhere; Fusion follows the OS light/dark scheme
    from desktop.theme import install_theme

    install_theme(app)
    app.setWindowIcon(resources.app_icon())
    app.setQuitOnLastWindowClosed(not tray_available())
    return app


def crash_text(exc_type: type[BaseException], exc: BaseException) -> str:
    """What the crash dialog says: the error, that data is safe, and where the log is."""
    from desktop.logs import log_file

    text = "".join(traceback.format_exception_only(exc_type, exc)).strip()
    path = log_file()
    where = f"The details are in the log:\n{path}" if path else "The details were written to the terminal."
    return (f"{text}\n\nRunbell keeps running; your runs and automations are saved in the database "
            f"as they change.\n\n{where}")


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    log.critical("uncaught exception", exc_info=(exc_type, exc, tb))
    app = QApplication.instance()
    # A dialog only from the UI thread: widgets touched from a worker thread crash the process.
    if app is not None and QThread.currentThread() is app.thread():
        QMessageBox.critical(None, "Runbell: unexpected error", crash_text(exc_type, exc))


class NotificationClicks(QObject):
    """Carries a clicked notification's target from the notifier's thread to the UI thread.

    Signals:
        clicked(dict): the target of the notification ({"kind": "run", "project_id", "run_id"}).
    """

    clicked = Signal(dict)

    def emit_from_any_thread(self, target: dict) -> None:
        self.clicked.emit(dict(target))  # queued to this object's (the UI) thread


def start_engine(db: Any, on_notification_clicked: Any = None, **engine_options: Any) -> Any:
    """The automation engine in this process (its own threads, no Qt), or None if it is missing.

    `engine_options` go to Engine (e.g. heartbeat_timeout from the settings)."""
    try:
        from desktop.engine.service import Engine
    except ModuleNotFoundError as exc:
        if exc.name not in ("desktop.engine.service", "desktop.engine"):
            raise
        log.error("the automation engine is missing from this build: %s", exc)
        return None
    engine = Engine(db, on_notification_clicked=on_notification_clicked, **engine_options)
    engine.start()
    return engine


def launch_demo_training(db_url: str) -> subprocess.Popen:
    """The demo's real training run, as its own process (the database URL travels in RUNBELL_DB,
    never on the command line where other users could read a password)."""
    env = dict(os.environ, RUNBELL_DB=db_url)
    if getattr(sys, "frozen", False):
        cmd = [sys.executable, "demo-training"]
    else:
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        cmd = [sys.executable, "-m", "desktop.demo_training"]
    log.info("starting the demo training: %s", " ".join(cmd))
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)


def _leave_running(proc: subprocess.Popen | None) -> None:
    """Quitting does not stop the demo's training: it ends by itself within a minute, and a
    stopped run would show up as `failed`, which it is not."""
    if proc is not None and proc.poll() is None:
        log.info("the demo training (pid %s) finishes on its own", proc.pid)


def _quit_on_signals(app: QApplication, quit_app: Any) -> QTimer:
    """Ctrl+C in the terminal and SIGTERM (logout, `kill`) quit cleanly, stopping the engine.

    Python runs signal handlers only between bytecodes, so a named no-op timer lets it in
    while Qt's event loop waits.
    """
    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %s: quitting", signum)
        QTimer.singleShot(0, quit_app)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    wakeup = QTimer(app)
    wakeup.setObjectName("signal-wakeup")
    wakeup.timeout.connect(lambda: None)
    wakeup.start(250)
    return wakeup


def _welcome(ctx: Any, tasks: Any, window: Any) -> None:
    """The first-run welcome, when this is a fresh install; a started demo opens its project."""
    from desktop.first_run import WelcomeDialog, should_welcome

    if not should_welcome(ctx.db, ctx.team.id):
        return
    dialog = WelcomeDialog(ctx, tasks, window)
    dialog.user_changed.connect(window.set_user)
    dialog.demo_started.connect(lambda started: window.open_project(started.project.id))
    dialog.open()


@dataclass
class Started:
    """What `run_gui` hands to `on_ready` once the window shows."""

    db: Any
    team: Any
    window: Any
    engine: Any
    project: Any = None  # the demo project, with demo=True


def run_gui(
    db_url: str | None = None, demo: bool = False, *, quit_after: float | None = None,
    on_ready: Callable[[Started], None] | None = None, first_run: bool = False,
) -> int:
    """Open the database, start the engine and show the window; returns the exit code.

    `quit_after` (seconds) quits on its own; `on_ready` runs once everything has started
    (both for `runbell smoke`, the packaged build's self-test). `first_run` allows the welcome
    dialog on a fresh install (`runbell` alone; never for smoke, demo or tests).
    """
    from desktop.context import AppContext
    from desktop.main_window import MainWindow
    from desktop.store_watcher import StoreWatcher
    from desktop.tasks import TaskRunner
    from store import teams
    from desktop.single_instance import SingleInstance
    from desktop.engine.settings import configured_url, load_settings
    from store.db import Database, default_url
    from store.errors import StoreError

    app = create_app(sys.argv)
    collector = UiThreadCollector(app)  # before any worker thread starts: see gui_gc.py
    db_url = configured_url(db_url)
    settings = load_settings()
    sys.excepthook = _excepthook
    instance = SingleInstance(db_url or default_url(), app)
    if not instance.claim():
        collector.uninstall()
        return 0  # the running instance shows its window instead
    try:
        db = Database(db_url)
        team, user = teams.ensure_default_team(db)
    except StoreError as exc:
        log.error("cannot open the database: %s", exc)
        QMessageBox.critical(None, "Runbell cannot open its database", str(exc))
        instance.close()
        collector.uninstall()
        return 2
    ctx = AppContext(db, team, user)
    tasks = TaskRunner(app)
    watcher = StoreWatcher(db, parent=app)
    watcher.start()
    clicks = NotificationClicks(app)
    engine = start_engine(db, on_notification_clicked=clicks.emit_from_any_thread,
                          heartbeat_timeout=settings.heartbeat_timeout)
    window = MainWindow(ctx, tasks, watcher, engine)
    clicks.clicked.connect(lambda target: window.open_notification_target(target))
    instance.activated.connect(window.show_and_raise)
    window.show()
    training = None
    try:
        started = Started(db, team, window, engine)
        if demo:
            from desktop.demo import prepare_demo

            started.project = prepare_demo(db, team)
            training = launch_demo_training(db.url)
            window.open_project(started.project.id)
        elif first_run:
            QTimer.singleShot(0, lambda: _welcome(ctx, tasks, window))
        _quit_on_signals(app, window.quit_app)
        if on_ready is not None:
            QTimer.singleShot(0, lambda: on_ready(started))
        if quit_after is not None:
            QTimer.singleShot(int(quit_after * 1000), window.quit_app)
        log.info("Runbell ready")
        return app.exec()
    finally:
        window.shutdown()
        instance.close()
        _leave_running(training)
        db.dispose()
        collector.uninstall()
