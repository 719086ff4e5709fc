"""Watching a private test session bus through ``dbus-monitor`` (Linux, Qt-free).

* ``wait_for_bus_name`` - block until a well-known name gets an owner, watched
  through ``NameOwnerChanged`` (no polling loops)
* ``NotificationRecorder`` - every ``org.freedesktop.Notifications.Notify``
  call, parsed into a ``Notification`` by ``parse_notify_call``
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.service_processes import (
    ServiceProcess,
    ServiceStack,
    daemon_env,
    make_workdir,
    require_binaries,
    spawn,
)

_HEADER_RE = re.compile(r"^(method call|method return|signal|error) time=\S+ sender=(\S+) -> "
                        r"destination=(.*?) serial=\d+(?: reply_serial=\d+)?"
                        r"(?: path=(\S+); interface=(\S+); member=(\S+))?$")

_NOTIFY_RE = re.compile(
    r'\A   string "(?P<app_name>.*?)"\n'
    r"   uint32 (?P<replaces_id>\d+)\n"
    r'   string "(?P<app_icon>.*?)"\n'
    r'   string "(?P<summary>.*?)"\n'
    r'   string "(?P<body>.*?)"\n'
    r"   array \[\n(?P<actions>.*?)   \]\n"
    r"   array \[\n(?P<hints>.*?)   \]\n"
    r"   int32 (?P<expire_timeout>-?\d+)\Z",
    re.S,
)
_NAME_OWNER_CHANGED_RE = re.compile(
    r'\A   string "(?P<name>[^"\n]*)"\n   string "(?P<old>[^"\n]*)"\n   string "(?P<new>[^"\n]*)"\Z'
)
_ACTION_RE = re.compile(r'^      string "(.*)"$', re.M)


@dataclass(frozen=True)
class Notification:
    """One ``org.freedesktop.Notifications.Notify`` call seen on the bus."""

    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: tuple[str, ...]
    expire_timeout: int
    sender: str = ""
    raw: str = field(default="", repr=False)


def parse_notify_call(args_text: str, sender: str = "") -> Notification | None:
    """Parse the argument lines ``dbus-monitor`` prints for a Notify call.

    ``dbus-monitor`` prints strings unescaped, so a body containing newlines or
    quotes spans lines; the parser relies on the fixed signature
    ``susssasa{sv}i`` to find where each argument ends.  Returns None until
    *args_text* holds a complete call.
    """
    match = _NOTIFY_RE.match(args_text)
    if match is None:
        return None
    return Notification(
        app_name=match["app_name"],
        replaces_id=int(match["replaces_id"]),
        app_icon=match["app_icon"],
        summary=match["summary"],
        body=match["body"],
        actions=tuple(_ACTION_RE.findall(match["actions"])),
        expire_timeout=int(match["expire_timeout"]),
        sender=sender,
        raw=args_text,
    )


class _DbusMonitor:
    """Run ``dbus-monitor --address BUS RULES...`` and parse its output.

    Subclasses implement ``_on_message(kind, sender, member, args_text)``,
    which returns True once the message is complete (it is called after
    every argument line).  ``start()`` returns once the monitor is attached
    (dbus-monitor reports ``NameLost`` for its own name when it becomes a
    monitor), so nothing sent afterwards can be missed.
    """

    def __init__(self, bus_address: str, rules: list[str], *, name: str) -> None:
        self.bus_address = bus_address
        self.rules = rules
        self._name = name
        self._cond = threading.Condition()
        self._ready = False
        self._eof = False
        self._proc: ServiceProcess | None = None
        self._thread: threading.Thread | None = None
        self._stack = ServiceStack()

    @property
    def name(self) -> str:
        """Name of the dbus-monitor process (as in logs and ``DesktopSession.pids``)."""
        return self._name

    @property
    def pid(self) -> int | None:
        """Pid of the dbus-monitor process (None before start)."""
        return None if self._proc is None else self._proc.pid

    def start(self, timeout: float = 15.0) -> "_DbusMonitor":
        (monitor,) = require_binaries(("dbus-monitor",)).values()
        try:
            wd = make_workdir(None, self._stack, "runbell-monitor-")
            env = daemon_env(wd)
            self._proc = spawn(
                self._stack, self._name,
                [monitor, "--address", self.bus_address, *self.rules],
                env=env, log_dir=wd, stdout=subprocess.PIPE,
            )
            self._thread = threading.Thread(
                target=self._reader, name=f"{self._name}-reader", daemon=True
            )
            self._thread.start()
            with self._cond:
                if not self._cond.wait_for(lambda: self._ready or self._eof, timeout):
                    raise self._proc.failure(f"not attached to the bus after {timeout:g}s")
                if not self._ready:
                    raise self._proc.failure("exited before attaching to the bus")
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        self._stack.close()  # stops dbus-monitor -> reader sees EOF
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _on_message(self, kind: str, sender: str, member: str, args_text: str) -> bool:
        raise NotImplementedError

    def _reader(self) -> None:
        assert self._proc is not None and self._proc.popen.stdout is not None
        stream = self._proc.popen.stdout
        current: tuple[str, str, str] | None = None
        args: list[str] = []
        try:
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                header = _HEADER_RE.match(line)
                if header and (current is None or not args or not self._continues_string(args)):
                    current = (header[1], header[2], header[6] or "")
                    args = []
                    continue
                if current is None:
                    continue
                args.append(line)
                kind, sender, member = current
                if member == "NameLost" and sender == "org.freedesktop.DBus" and not self._ready:
                    with self._cond:
                        self._ready = True
                        self._cond.notify_all()
                    current = None
                    continue
                if self._on_message(kind, sender, member, "\n".join(args)):
                    current = None
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    @staticmethod
    def _continues_string(args: list[str]) -> bool:
        """True if the last argument line opened a string that is still open."""
        text = "\n".join(args)
        last_start = text.rfind('\n   string "')
        if last_start < 0 and text.startswith('   string "'):
            last_start = 0
        if last_start < 0:
            return False
        return not text.endswith('"')


class _NameOwnerWatch(_DbusMonitor):
    """Wait until a well-known bus name gets an owner (NameOwnerChanged)."""

    def __init__(self, bus_address: str, name: str) -> None:
        rule = (
            "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
            f"member='NameOwnerChanged',arg0='{name}'"
        )
        super().__init__(bus_address, [rule], name=f"watch-{name}")
        self.bus_name = name
        self.owner: str | None = None
        #: The service being started; if it dies, wait() fails at once.
        self.process: ServiceProcess | None = None

    def _on_message(self, kind: str, sender: str, member: str, args_text: str) -> bool:
        match = _NAME_OWNER_CHANGED_RE.match(args_text)
        if match is None or member != "NameOwnerChanged":
            return False
        if match["name"] == self.bus_name:
            with self._cond:
                self.owner = match["new"] or None
                self._cond.notify_all()
        return True

    def wait(self, timeout: float, process: ServiceProcess | None = None) -> str:
        """Return the owner's unique name; fail if *process* dies first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.owner is None:
                if process is not None and not process.alive():
                    raise process.failure(f"exited before owning {self.bus_name}")
                if self._eof:
                    raise self._proc.failure("stopped while waiting for a bus name")  # type: ignore[union-attr]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    culprit = process or self._proc
                    raise culprit.failure(f"{self.bus_name} not owned after {timeout:g}s")  # type: ignore[union-attr]
                # Wake up periodically only to notice a crashed daemon.
                self._cond.wait(min(remaining, 0.25))
            return self.owner


@contextlib.contextmanager
def wait_for_bus_name(bus_address: str, name: str, *, timeout: float = 15.0):
    """Context manager: attach a watcher, run the body (which starts the
    service), then block on exit until *name* is owned.

    The body may assign ``watch.process`` (the spawned service) so that a
    crashing service fails fast instead of timing out.
    """
    watch = _NameOwnerWatch(bus_address, name)
    watch.start(timeout)
    try:
        yield watch
        watch.wait(timeout, watch.process)
    finally:
        watch.close()


class NotificationRecorder(_DbusMonitor):
    """Records every ``org.freedesktop.Notifications.Notify`` call on a bus.

    Runs ``dbus-monitor --address BUS "interface='org.freedesktop.Notifications',
    member='Notify'"`` and parses each call in a reader thread.  It sees the
    calls whoever answers them (or even if nobody does).
    """

    RULE = "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"

    def __init__(self, bus_address: str) -> None:
        super().__init__(bus_address, [self.RULE], name="notification-recorder")
        self._notifications: list[Notification] = []

    def start(self, timeout: float = 15.0) -> "NotificationRecorder":
        super().start(timeout)
        return self

    @property
    def notifications(self) -> list[Notification]:
        """Snapshot of the notifications recorded so far, oldest first."""
        with self._cond:
            return list(self._notifications)

    def clear(self) -> None:
        with self._cond:
            self._notifications.clear()

    def wait_for(
        self,
        predicate: Callable[[Notification], bool] = lambda n: True,
        timeout: float = 10.0,
    ) -> Notification:
        """Return the first recorded notification matching *predicate*,
        blocking (on a Condition, no polling) until one arrives.

        Raises ``TimeoutError`` listing what was seen if none arrives within
        *timeout* seconds, or if the recorder stopped.
        """
        def find() -> Notification | None:
            return next((n for n in self._notifications if predicate(n)), None)

        with self._cond:
            found = self._cond.wait_for(lambda: find() or self._eof, timeout)
            if isinstance(found, Notification):
                return found
            seen = "\n  ".join(repr(n) for n in self._notifications) or "(none)"
            why = "recorder stopped" if self._eof else f"timed out after {timeout:g}s"
            raise TimeoutError(f"no matching notification ({why}); seen:\n  {seen}")

    def _on_message(self, kind: str, sender: str, member: str, args_text: str) -> bool:
        if kind != "method call" or member != "Notify":
            return False
        note = parse_notify_call(args_text, sender)
        if note is None:
            return False
        with self._cond:
            self._notifications.append(note)
            self._cond.notify_all()
        return True
