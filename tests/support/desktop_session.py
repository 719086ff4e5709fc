"""Private, throw-away desktop session for tests (Linux, Qt-free).

Starts real desktop services as child processes, each isolated from the host's
session, and tears them down again:

* ``Xvfb``                 - an X server (``start_xvfb``)
* ``dbus-daemon``          - a session bus (``start_dbus_session``)
* ``gnome-keyring-daemon`` - a Secret Service with an unlocked default
                             ("login") collection (``start_keyring``)
* ``dunst``                - an org.freedesktop.Notifications server, plus a
                             ``NotificationRecorder`` built on ``dbus-monitor``
                             (``start_notification_daemon``)

``DesktopSession`` bundles all of them::

    with DesktopSession() as desktop:
        desktop.apply_to_os_environ()        # undone by close()
        ...                                  # code under test
        note = desktop.recorder.wait_for(lambda n: n.summary == "Done", timeout=10)

Every ``start_*`` function takes a keyword-only ``stack`` (a
``contextlib.ExitStack``) that receives the cleanup callbacks; without one, a
module-level stack is used that is closed at interpreter exit (or by
``stop_all()``).  Processes run in their own process group, are sent SIGTERM
(then SIGKILL) on cleanup, and on Linux also get ``PR_SET_PDEATHSIG`` so they
die with the test process even if it is killed outright.  (PDEATHSIG fires when
the *thread* that started them exits: start sessions from the main thread or a
thread that outlives the session.)

A missing program (or one that fails to come up) raises ``DesktopUnavailable``;
tests decide whether that means skip or fail (see ``desktop_required()``).

Readiness is event driven: Xvfb reports its display on ``-displayfd``,
dbus-daemon its address on ``--print-address``, and bus names are awaited by
watching ``NameOwnerChanged`` through ``dbus-monitor``; no sleep loops.

Apt packages: xvfb dbus gnome-keyring dunst (``dbus-monitor``/``dbus-send`` come
with ``dbus``); see ``.ci/run``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "REQUIRE_ENV",
    "DesktopUnavailable",
    "Notification",
    "NotificationRecorder",
    "DesktopSession",
    "desktop_required",
    "missing_binaries",
    "require_binaries",
    "start_xvfb",
    "start_dbus_session",
    "start_keyring",
    "start_notification_daemon",
    "wait_for_bus_name",
    "parse_notify_call",
    "stop_all",
    "verify_keyring",
    "ServiceStack",
]

#: Environment variable: when "1", tests must fail (not skip) if the desktop
#: services are unavailable.  .ci/run sets it.
REQUIRE_ENV = "RUNBELL_REQUIRE_DESKTOP"

#: Default Xvfb screen geometry/depth.
DEFAULT_SCREEN = "1600x1000x24"

#: Password of the throw-away login keyring.  gnome-keyring only creates the
#: login collection when it is given a *non-empty* password on stdin.
KEYRING_PASSWORD = "runbell-test"

KEYRING_BACKEND = "keyring.backends.SecretService.Keyring"
NOTIFICATIONS_NAME = "org.freedesktop.Notifications"
SECRETS_NAME = "org.freedesktop.secrets"

BINARIES_XVFB = ("Xvfb",)
BINARIES_DBUS = ("dbus-daemon", "dbus-monitor")
BINARIES_KEYRING = ("gnome-keyring-daemon",)
BINARIES_NOTIFICATIONS = ("dunst",)

# Variables that would leak the host's desktop session into ours.
_HOST_SESSION_VARS = (
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
    "XAUTHORITY",
    "GNOME_KEYRING_CONTROL",
    "SSH_AUTH_SOCK",
    "DBUS_STARTER_ADDRESS",
    "DBUS_STARTER_BUS_TYPE",
)


class DesktopUnavailable(RuntimeError):
    """A desktop service cannot be provided (missing binary, failed start)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def desktop_required() -> bool:
    """True when ``RUNBELL_REQUIRE_DESKTOP=1``: unavailability must fail tests."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


def missing_binaries(names: Iterable[str]) -> list[str]:
    """Names from *names* that are not on ``PATH``."""
    return [name for name in names if shutil.which(name) is None]


def require_binaries(names: Iterable[str]) -> dict[str, str]:
    """Map each name to its full path, or raise ``DesktopUnavailable``."""
    names = list(names)
    missing = missing_binaries(names)
    if missing:
        raise DesktopUnavailable(
            "missing program(s): " + ", ".join(missing)
            + " (Debian: apt-get install xvfb dbus gnome-keyring dunst)"
        )
    return {name: shutil.which(name) for name in names}  # type: ignore[misc]


# --------------------------------------------------------------------------
# process plumbing

class ServiceStack(contextlib.ExitStack):
    """ExitStack that also remembers the service processes pushed onto it."""

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[_Process] = []


_default_stack = ServiceStack()
atexit.register(_default_stack.close)


def stop_all() -> None:
    """Stop everything started without an explicit ``stack``."""
    _default_stack.close()


def _pdeathsig_preexec() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    sigterm = int(signal.SIGTERM)

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sigterm, 0, 0, 0)

    return preexec


_PREEXEC = _pdeathsig_preexec()


def _daemon_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for daemons: host session vars removed, XDG dirs private."""
    env = {k: v for k, v in os.environ.items() if k not in _HOST_SESSION_VARS}
    home = workdir / "home"
    for sub in ("home", "home/data", "home/config", "home/cache", "home/state"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_STATE_HOME=str(home / "state"),
        NO_AT_BRIDGE="1",  # keep GTK/GLib from looking for an a11y bus
        GSETTINGS_BACKEND="memory",
    )
    if extra:
        env.update(extra)
    return env


def _workdir(workdir: str | os.PathLike[str] | None, stack: contextlib.ExitStack, prefix: str) -> Path:
    if workdir is not None:
        path = Path(workdir)
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = Path(tempfile.mkdtemp(prefix=prefix))
    stack.callback(shutil.rmtree, path, ignore_errors=True)
    return path


class _Process:
    """A child process in its own process group, logging to a file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str],
        log_dir: Path,
        stdin: int | IO[bytes] | None = subprocess.DEVNULL,
        stdout: int | None = None,
        pass_fds: tuple[int, ...] = (),
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")
        try:
            self.popen = subprocess.Popen(
                argv,
                env=dict(env),
                stdin=stdin,
                stdout=self._log if stdout is None else stdout,
                stderr=self._log,
                pass_fds=pass_fds,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_PREEXEC,
                close_fds=True,
            )
        except OSError as exc:
            self._log.close()
            raise DesktopUnavailable(f"cannot start {name}: {exc}") from exc

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, limit: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def failure(self, what: str) -> DesktopUnavailable:
        status = self.popen.poll()
        state = "running" if status is None else f"exit status {status}"
        tail = self.log_tail().strip()
        return DesktopUnavailable(
            f"{self.name}: {what} ({state})" + (f"\n--- {self.log_path}:\n{tail}" if tail else "")
        )

    def stop(self, timeout: float = 5.0) -> None:
        try:
            if self.popen.poll() is None:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(self.popen.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        self.popen.wait(timeout)
                        break
                    except subprocess.TimeoutExpired:
                        continue
            else:
                # The leader is gone; make sure nothing it forked lingers.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)
        finally:
            for stream in (self.popen.stdin, self.popen.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            self._log.close()


def _spawn(stack: contextlib.ExitStack, *args, **kwargs) -> _Process:
    proc = _Process(*args, **kwargs)
    stack.callback(proc.stop)
    if isinstance(stack, ServiceStack):
        stack.processes.append(proc)
    return proc


def _read_line_from_fd(fd: int, proc: _Process, timeout: float, what: str) -> str:
    """Read one newline-terminated line that *proc* writes to pipe *fd*."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise proc.failure(f"timed out after {timeout:g}s waiting for {what}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:  # writer closed the pipe: process died
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(1.0)
            raise proc.failure(f"exited before reporting {what}")
        data += chunk
    return data.decode().strip()


# --------------------------------------------------------------------------
# Xvfb


def start_xvfb(
    *,
    screen: str = DEFAULT_SCREEN,
    stack: contextlib.ExitStack | None = None,
    workdir: str | os.PathLike[str] | None = None,
    timeout: float = 15.0,
) -> str:
    """Start ``Xvfb`` on a free display; return the display string (``":N"``).

    Runs ``Xvfb -displayfd FD -screen 0 <screen> -nolisten tcp``: the server
    picks a free display number and writes it to FD once it accepts clients.
    """
    stack = _default_stack if stack is None else stack
    (xvfb,) = require_binaries(BINARIES_XVFB).values()
    wd = _workdir(workdir, stack, "runbell-xvfb-")
    read_fd, write_fd = os.pipe()
    try:
        proc = _spawn(
            stack,
            "Xvfb",
            [xvfb, "-displayfd", str(write_fd), "-screen", "0", screen,
             "-nolisten", "tcp", "-noreset"],
            env=_daemon_env(wd),
            log_dir=wd,
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        write_fd = -1
        number = _read_line_from_fd(read_fd, proc, timeout, "its display number")
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    if not number.isdigit():
        raise proc.failure(f"reported an unexpected display {number!r}")
    return f":{number}"


# --------------------------------------------------------------------------
# D-Bus session bus

_BUS_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- Private test session bus: no service activation (so nothing from the
       host is auto-started), socket in a private directory. -->
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def start_dbus_session(
    *,
    stack: contextlib.ExitStack | None = None,
    workdir: str | os.PathLike[str] | None = None,
    timeout: float = 15.0,
) -> str:
    """Start a private session ``dbus-daemon``; return its bus address.

    Uses a generated config (like ``--session`` but without service
    activation) and ``--nofork --print-address=FD``; the address is printed
    once the bus accepts connections.
    """
    stack = _default_stack if stack is None else stack
    paths = require_binaries(BINARIES_DBUS)
    wd = _workdir(workdir, stack, "runbell-dbus-")
    socket_dir = wd / "bus"
    socket_dir.mkdir(mode=0o700, exist_ok=True)
    config = wd / "session-bus.conf"
    config.write_text(_BUS_CONFIG.format(socket_dir=socket_dir))
    read_fd, write_fd = os.pipe()
    try:
        proc = _spawn(
            stack,
            "dbus-daemon",
            [paths["dbus-daemon"], f"--config-file={config}", "--nofork",
             "--nopidfile", f"--print-address={write_fd}"],
            env=_daemon_env(wd),
            log_dir=wd,
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        write_fd = -1
        address = _read_line_from_fd(read_fd, proc, timeout, "its address")
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    if not address.startswith("unix:"):
        raise proc.failure(f"printed an unexpected address {address!r}")
    return address


# --------------------------------------------------------------------------
# dbus-monitor based watching / recording

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
        self._proc: _Process | None = None
        self._thread: threading.Thread | None = None
        self._stack = ServiceStack()

    @property
    def pid(self) -> int | None:
        """Pid of the dbus-monitor process (None before start)."""
        return None if self._proc is None else self._proc.pid

    def start(self, timeout: float = 15.0) -> "_DbusMonitor":
        (monitor,) = require_binaries(("dbus-monitor",)).values()
        try:
            wd = _workdir(None, self._stack, "runbell-monitor-")
            env = _daemon_env(wd)
            self._proc = _spawn(
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
        self.process: _Process | None = None

    def _on_message(self, kind: str, sender: str, member: str, args_text: str) -> bool:
        match = _NAME_OWNER_CHANGED_RE.match(args_text)
        if match is None or member != "NameOwnerChanged":
            return False
        if match["name"] == self.bus_name:
            with self._cond:
                self.owner = match["new"] or None
                self._cond.notify_all()
        return True

    def wait(self, timeout: float, process: _Process | None = None) -> str:
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


# --------------------------------------------------------------------------
# gnome-keyring

_KEYRING_CHECK = textwrap.dedent(
    """
    import sys
    try:
        from keyring.backends.SecretService import Keyring
    except ImportError as exc:
        print("keyring library not importable:", exc)
        sys.exit(3)
    backend = Keyring()
    backend.priority  # raises if the Secret Service is unusable
    service, user, secret = "runbell-desktop-session-check", "probe", "s3cr\\u00e9t"
    backend.set_password(service, user, secret)
    got = backend.get_password(service, user)
    backend.delete_password(service, user)
    gone = backend.get_password(service, user)
    if got != secret or gone is not None:
        print("round trip mismatch:", repr(got), repr(gone))
        sys.exit(1)
    """
)


def verify_keyring(bus_address: str, *, timeout: float = 30.0) -> None:
    """Check with the ``keyring`` library (SecretService backend) that a
    password can be set, read and deleted on *bus_address*.

    Runs in a child interpreter (``sys.executable``) so the test process's
    environment is not touched.  Raises ``DesktopUnavailable`` on failure.
    """
    env = {k: v for k, v in os.environ.items() if k not in _HOST_SESSION_VARS}
    env["DBUS_SESSION_BUS_ADDRESS"] = bus_address
    env.pop("PYTHON_KEYRING_BACKEND", None)
    try:
        result = subprocess.run(
            [sys.executable, "-c", _KEYRING_CHECK],
            env=env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise DesktopUnavailable(f"keyring round trip hung for {timeout:g}s") from exc
    if result.returncode != 0:
        raise DesktopUnavailable(
            "keyring round trip through gnome-keyring failed:\n"
            + (result.stdout + result.stderr).strip()[-2000:]
        )


def start_keyring(
    bus_address: str,
    *,
    stack: contextlib.ExitStack | None = None,
    workdir: str | os.PathLike[str] | None = None,
    runtime_dir: str | os.PathLike[str] | None = None,
    verify: bool = True,
    timeout: float = 15.0,
) -> None:
    """Start ``gnome-keyring-daemon`` (Secret Service only) on *bus_address*.

    Runs ``gnome-keyring-daemon --foreground --unlock --components=secrets``
    with ``KEYRING_PASSWORD`` on stdin: with ``--unlock`` the daemon creates
    the "login" keyring (the default alias) with that password if absent and
    unlocks it, so clients never hit an (unanswerable) prompt.  Keyring files
    live in ``workdir`` (``XDG_DATA_HOME``).  Returns once
    ``org.freedesktop.secrets`` is owned; with *verify* (default) also does a
    set/get/delete round trip through the ``keyring`` library.
    """
    stack = _default_stack if stack is None else stack
    (daemon,) = require_binaries(BINARIES_KEYRING).values()
    wd = _workdir(workdir, stack, "runbell-keyring-")
    run = Path(runtime_dir) if runtime_dir is not None else wd / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = _daemon_env(wd, {"DBUS_SESSION_BUS_ADDRESS": bus_address, "XDG_RUNTIME_DIR": str(run)})
    with wait_for_bus_name(bus_address, SECRETS_NAME, timeout=timeout) as watch:
        proc = watch.process = _spawn(
            stack,
            "gnome-keyring-daemon",
            [daemon, "--foreground", "--unlock", "--components=secrets"],
            env=env, log_dir=wd, stdin=subprocess.PIPE,
        )
        # The daemon reads the password up to EOF; no trailing newline (it
        # would become part of the password).
        assert proc.popen.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.popen.stdin.write(KEYRING_PASSWORD.encode())
        proc.popen.stdin.close()
    if verify:
        verify_keyring(bus_address)


# --------------------------------------------------------------------------
# notifications

_DUNSTRC = """\
# Minimal dunst config for tests (dunst >= 1.9).
[global]
    monitor = 0
    follow = none
    font = DejaVu Sans 10
    show_indicators = no
    sticky_history = no
    history_length = 0

[urgency_low]
    timeout = 10

[urgency_normal]
    timeout = 10

[urgency_critical]
    timeout = 10
"""


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


def start_notification_daemon(
    display: str,
    bus_address: str,
    *,
    stack: contextlib.ExitStack | None = None,
    workdir: str | os.PathLike[str] | None = None,
    runtime_dir: str | os.PathLike[str] | None = None,
    timeout: float = 15.0,
) -> NotificationRecorder:
    """Start ``dunst`` on *display* / *bus_address* and a recorder.

    dunst is an X11 client: it needs the Xvfb *display*.  It is run with a
    minimal config written to *workdir*.  Returns, once
    ``org.freedesktop.Notifications`` is owned, a started
    ``NotificationRecorder`` (also closed by *stack*).
    """
    stack = _default_stack if stack is None else stack
    paths = require_binaries(BINARIES_NOTIFICATIONS + ("dbus-monitor",))
    wd = _workdir(workdir, stack, "runbell-dunst-")
    run = Path(runtime_dir) if runtime_dir is not None else wd / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = wd / "dunstrc"
    config.write_text(_DUNSTRC)
    env = _daemon_env(wd, {
        "DISPLAY": display,
        "DBUS_SESSION_BUS_ADDRESS": bus_address,
        "XDG_RUNTIME_DIR": str(run),
        "XDG_SESSION_TYPE": "x11",
    })
    recorder = NotificationRecorder(bus_address).start(timeout)
    stack.callback(recorder.close)
    with wait_for_bus_name(bus_address, NOTIFICATIONS_NAME, timeout=timeout) as watch:
        watch.process = _spawn(
            stack, "dunst", [paths["dunst"], "-config", str(config)],
            env=env, log_dir=wd,
        )
    return recorder


# --------------------------------------------------------------------------
# the whole session


class DesktopSession:
    """Xvfb + session bus + gnome-keyring + dunst, as a context manager.

    ``DesktopSession(keyring=False)`` / ``notifications=False`` skip parts.
    After ``start()`` (or ``with``):

    * ``display``, ``bus_address``, ``runtime_dir``, ``workdir``
    * ``recorder`` - the ``NotificationRecorder`` (None if notifications=False)
    * ``env`` - variables a client needs (DISPLAY, DBUS_SESSION_BUS_ADDRESS,
      XDG_RUNTIME_DIR, XDG_SESSION_TYPE, QT_QPA_PLATFORM=xcb and, with the
      keyring, PYTHON_KEYRING_BACKEND)
    * ``subprocess_env()`` - ``os.environ`` + ``env`` minus host-session vars
    * ``apply_to_os_environ()`` - put ``env`` into ``os.environ``; ``close()``
      restores the previous values
    * ``pids`` - pids of the running service processes
    """

    def __init__(
        self,
        *,
        screen: str = DEFAULT_SCREEN,
        keyring: bool = True,
        notifications: bool = True,
        timeout: float = 15.0,
    ) -> None:
        self.screen = screen
        self.want_keyring = keyring
        self.want_notifications = notifications
        self.timeout = timeout
        self.display: str | None = None
        self.bus_address: str | None = None
        self.workdir: Path | None = None
        self.runtime_dir: Path | None = None
        self.recorder: NotificationRecorder | None = None
        self.env: dict[str, str] = {}
        self._stack = ServiceStack()
        self._saved_environ: dict[str, str | None] | None = None
        self._started = False

    def required_binaries(self) -> tuple[str, ...]:
        names = BINARIES_XVFB + BINARIES_DBUS
        if self.want_keyring:
            names += BINARIES_KEYRING
        if self.want_notifications:
            names += BINARIES_NOTIFICATIONS
        return names

    def start(self) -> "DesktopSession":
        if self._started:
            return self
        require_binaries(self.required_binaries())
        self._started = True
        try:
            self.workdir = Path(tempfile.mkdtemp(prefix="runbell-desktop-"))
            self._stack.callback(shutil.rmtree, self.workdir, ignore_errors=True)
            self.runtime_dir = self.workdir / "run"
            self.runtime_dir.mkdir(mode=0o700)
            s, t = self._stack, self.timeout
            self.display = start_xvfb(screen=self.screen, stack=s, workdir=self.workdir / "xvfb", timeout=t)
            self.bus_address = start_dbus_session(stack=s, workdir=self.workdir / "dbus", timeout=t)
            if self.want_keyring:
                start_keyring(self.bus_address, stack=s, workdir=self.workdir / "keyring",
                              runtime_dir=self.runtime_dir, timeout=t)
            if self.want_notifications:
                self.recorder = start_notification_daemon(
                    self.display, self.bus_address, stack=s,
                    workdir=self.workdir / "dunst", runtime_dir=self.runtime_dir, timeout=t)
            self.env = {
                "DISPLAY": self.display,
                "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
                "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "XDG_SESSION_TYPE": "x11",
                "QT_QPA_PLATFORM": "xcb",
            }
            if self.want_keyring:
                self.env["PYTHON_KEYRING_BACKEND"] = KEYRING_BACKEND
        except BaseException:
            self.close()
            raise
        return self

    @property
    def pids(self) -> dict[str, int]:
        """Service name -> pid, including the recorder's dbus-monitor."""
        pids = {p.name: p.pid for p in self._stack.processes}
        if self.recorder is not None and self.recorder.pid is not None:
            pids[self.recorder._name] = self.recorder.pid
        return pids

    def subprocess_env(self) -> dict[str, str]:
        """Full environment for launching a program inside this session."""
        env = {k: v for k, v in os.environ.items() if k not in _HOST_SESSION_VARS}
        env.update(self.env)
        return env

    def apply_to_os_environ(self) -> None:
        """Export ``env`` into ``os.environ`` (and drop WAYLAND_DISPLAY etc.);
        ``close()`` restores what was there before."""
        if not self._started:
            raise RuntimeError("DesktopSession not started")
        if self._saved_environ is None:
            keys = set(_HOST_SESSION_VARS) | set(self.env)
            self._saved_environ = {k: os.environ.get(k) for k in keys}
        for key in _HOST_SESSION_VARS:
            os.environ.pop(key, None)
        os.environ.update(self.env)

    def restore_os_environ(self) -> None:
        saved, self._saved_environ = self._saved_environ, None
        if saved is None:
            return
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def close(self) -> None:
        """Restore ``os.environ`` and stop all processes (idempotent)."""
        try:
            self.restore_os_environ()
        finally:
            self._stack.close()
            self._stack = ServiceStack()
            self._started = False

    def __enter__(self) -> "DesktopSession":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
