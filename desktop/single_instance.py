"""One Runbell per database: a second launch asks the first to show its window, then exits.

The first instance listens on a QLocalServer whose name derives from the user and the database
URL (two different databases may run side by side). A QLockFile makes claim-or-connect atomic
when two launches race.
"""
from __future__ import annotations

import getpass
import hashlib
import logging

from PySide6.QtCore import QDir, QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger("runbell.instance")

ACTIVATE = b"activate\n"
CONNECT_MS = 1000


def server_name(db_url: str) -> str:
    digest = hashlib.sha256(f"{getpass.getuser()}\n{db_url}".encode()).hexdigest()[:24]
    return f"runbell-{digest}"


class SingleInstance(QObject):
    """`claim()` → True for the first instance (it then emits `activated`), False for a later one.

    Signals:
        activated(): another launch on the same database asked this one to show itself.
    """

    activated = Signal()

    def __init__(self, db_url: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(db_url)
        self._server: QLocalServer | None = None

    def claim(self) -> bool:
        lock = QLockFile(QDir.temp().filePath(f"{self.name}.lock"))
        if not lock.tryLock(5000):
            log.warning("could not lock %s; starting anyway", lock.fileName())
        try:
            if self._ask_running_instance():
                return False
            server = QLocalServer(self)
            server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
            QLocalServer.removeServer(self.name)  # a socket left behind by a crash
            if not server.listen(self.name):
                log.warning("single-instance server failed: %s", server.errorString())
                return True
            server.newConnection.connect(self._on_connection)
            self._server = server
            return True
        finally:
            lock.unlock()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None

    def _ask_running_instance(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_MS):
            return False
        socket.write(ACTIVATE)
        socket.waitForBytesWritten(CONNECT_MS)
        socket.disconnectFromServer()
        log.info("Runbell already runs on this database; asked it to show its window")
        return True

    def _on_connection(self) -> None:
        # The client writes its one line right after connecting, so reading synchronously is
        # at most a short wait, and no connection object outlives this slot.
        assert self._server is not None
        while (conn := self._server.nextPendingConnection()) is not None:
            if not conn.bytesAvailable():
                conn.waitForReadyRead(CONNECT_MS)
            message = bytes(conn.readAll())
            conn.abort()
            conn.deleteLater()
            if ACTIVATE.strip() in message:
                log.info("another launch asked this instance to show its window")
                self.activated.emit()
