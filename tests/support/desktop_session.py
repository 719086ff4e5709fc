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

Process plumbing lives in ``service_processes``, bus watching (including the
recorder) in ``dbus_monitor``; their public names are re-exported here.

Apt packages: xvfb dbus gnome-keyring dunst (``dbus-monitor``/``dbus-send`` come
with ``dbus``); see ``.ci/run``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from tests.support.dbus_monitor import (
    Notification,
    NotificationRecorder,
    parse_notify_call,
    wait_for_bus_name,
)
from tests.support.service_processes import (
    HOST_SESSION_VARS,
    REQUIRE_ENV,
    DesktopUnavailable,
    ServiceStack,
    daemon_env,
    desktop_required,
    make_workdir,
    missing_binaries,
    require_binaries,
    spawn,
    spawn_reporting,
    stack_or_default,
    stop_all,
)

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
    stack = stack_or_default(stack)
    (xvfb,) = require_binaries(BINARIES_XVFB).values()
    wd = make_workdir(workdir, stack, "runbell-xvfb-")
    proc, number = spawn_reporting(
        stack,
        "Xvfb",
        lambda fd: [xvfb, "-displayfd", str(fd), "-screen", "0", screen, "-nolisten", "tcp", "-noreset"],
        workdir=wd,
        timeout=timeout,
        what="its display number",
    )
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
    stack = stack_or_default(stack)
    paths = require_binaries(BINARIES_DBUS)
    wd = make_workdir(workdir, stack, "runbell-dbus-")
    socket_dir = wd / "bus"
    socket_dir.mkdir(mode=0o700, exist_ok=True)
    config = wd / "session-bus.conf"
    config.write_text(_BUS_CONFIG.format(socket_dir=socket_dir))
    proc, address = spawn_reporting(
        stack,
        "dbus-daemon",
        lambda fd: [paths["dbus-daemon"], f"--config-file={config}", "--nofork",
                    "--nopidfile", f"--print-address={fd}"],
        workdir=wd,
        timeout=timeout,
        what="its address",
    )
    if not address.startswith("unix:"):
        raise proc.failure(f"printed an unexpected address {address!r}")
    return address


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
    env = {k: v for k, v in os.environ.items() if k not in HOST_SESSION_VARS}
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
    stack = stack_or_default(stack)
    (daemon,) = require_binaries(BINARIES_KEYRING).values()
    wd = make_workdir(workdir, stack, "runbell-keyring-")
    run = Path(runtime_dir) if runtime_dir is not None else wd / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = daemon_env(wd, {"DBUS_SESSION_BUS_ADDRESS": bus_address, "XDG_RUNTIME_DIR": str(run)})
    with wait_for_bus_name(bus_address, SECRETS_NAME, timeout=timeout) as watch:
        proc = watch.process = spawn(
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
    stack = stack_or_default(stack)
    paths = require_binaries(BINARIES_NOTIFICATIONS + ("dbus-monitor",))
    wd = make_workdir(workdir, stack, "runbell-dunst-")
    run = Path(runtime_dir) if runtime_dir is not None else wd / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = wd / "dunstrc"
    config.write_text(_DUNSTRC)
    env = daemon_env(wd, {
        "DISPLAY": display,
        "DBUS_SESSION_BUS_ADDRESS": bus_address,
        "XDG_RUNTIME_DIR": str(run),
        "XDG_SESSION_TYPE": "x11",
    })
    recorder = NotificationRecorder(bus_address).start(timeout)
    stack.callback(recorder.close)
    with wait_for_bus_name(bus_address, NOTIFICATIONS_NAME, timeout=timeout) as watch:
        watch.process = spawn(
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
            pids[self.recorder.name] = self.recorder.pid
        return pids

    def subprocess_env(self) -> dict[str, str]:
        """Full environment for launching a program inside this session."""
        env = {k: v for k, v in os.environ.items() if k not in HOST_SESSION_VARS}
        env.update(self.env)
        return env

    def apply_to_os_environ(self) -> None:
        """Export ``env`` into ``os.environ`` (and drop WAYLAND_DISPLAY etc.);
        ``close()`` restores what was there before."""
        if not self._started:
            raise RuntimeError("DesktopSession not started")
        if self._saved_environ is None:
            keys = set(HOST_SESSION_VARS) | set(self.env)
            self._saved_environ = {k: os.environ.get(k) for k in keys}
        for key in HOST_SESSION_VARS:
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
