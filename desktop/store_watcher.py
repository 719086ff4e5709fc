"""Follows the store's event log in a worker thread and tells the UI what changed.

The UI never polls the database itself: screens connect to `events_arrived` and refresh
(their own loads go through `TaskRunner`).
"""
from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal

from store import events
from store.db import Database
from store.errors import StoreError

log = logging.getLogger("runbell.watcher")


class _Follower(QThread):
    batch = Signal(list)

    def __init__(self, db: Database, interval_s: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("store-watcher")
        self._db = db
        self._interval = interval_s
        self._stop = threading.Event()

    def run(self) -> None:
        position = None
        while not self._stop.is_set():
            new = []
            try:
                if position is None:
                    position = events.head_position(self._db)
                page = events.read_page(self._db, position, limit=5000)
                new, position = page.events, page.next_position
            except StoreError as exc:
                log.warning("event log unavailable: %s", exc)
            if new:
                self.batch.emit(new)
                if len(new) == 5000:
                    continue
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        self.wait(5000)


class StoreWatcher(QObject):
    """Signals:
        events_arrived(list[store.entities.Event]): new events, oldest first.
    """

    events_arrived = Signal(list)

    def __init__(self, db: Database, interval_s: float = 0.1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._follower = _Follower(db, interval_s, self)
        self._follower.batch.connect(self.events_arrived)

    def start(self) -> None:
        self._follower.start()

    def stop(self) -> None:
        self._follower.stop()
