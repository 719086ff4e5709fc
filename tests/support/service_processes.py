"""Process plumbing for the private test desktop (Linux, Qt-free).

Service processes run in their own process group, log to a file, are sent
SIGTERM (then SIGKILL) on cleanup, and on Linux get ``PR_SET_PDEATHSIG`` so they
die with the test process even if it is killed outright.  Cleanups go onto a
``contextlib.ExitStack``; without one, a module-level stack is used that is
closed at interpreter exit (or by ``stop_all()``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

#: Environment variable: when "1", tests must fail (not skip) if the desktop
#: services are unavailable.  .ci/run sets it.
REQUIRE_ENV = "RUNBELL_REQUIRE_DESKTOP"

# Variables that would leak the host's desktop session into ours.
HOST_SESSION_VARS = (
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
        self.processes: list[ServiceProcess] = []


_default_stack = ServiceStack()
atexit.register(_default_stack.close)


def stack_or_default(stack: contextlib.ExitStack | None) -> contextlib.ExitStack:
    """*stack*, or the module-level one that ``stop_all()`` and interpreter exit close."""
    return _default_stack if stack is None else stack


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


def daemon_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for daemons: host session vars removed, XDG dirs private."""
    env = {k: v for k, v in os.environ.items() if k not in HOST_SESSION_VARS}
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


def make_workdir(workdir: str | os.PathLike[str] | None, stack: contextlib.ExitStack, prefix: str) -> Path:
    if workdir is not None:
        path = Path(workdir)
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = Path(tempfile.mkdtemp(prefix=prefix))
    stack.callback(shutil.rmtree, path, ignore_errors=True)
    return path


class ServiceProcess:
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


def spawn(stack: contextlib.ExitStack, *args, **kwargs) -> ServiceProcess:
    proc = ServiceProcess(*args, **kwargs)
    stack.callback(proc.stop)
    if isinstance(stack, ServiceStack):
        stack.processes.append(proc)
    return proc


def _read_line_from_fd(fd: int, proc: ServiceProcess, timeout: float, what: str) -> str:
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


def spawn_reporting(
    stack: contextlib.ExitStack,
    name: str,
    argv: Callable[[int], list[str]],
    *,
    workdir: Path,
    timeout: float,
    what: str,
) -> tuple[ServiceProcess, str]:
    """Spawn a daemon that says it is ready by writing one line to a pipe.

    *argv* is given the pipe's write fd; returns the process and that line.
    """
    read_fd, write_fd = os.pipe()
    try:
        proc = spawn(
            stack,
            name,
            argv(write_fd),
            env=daemon_env(workdir),
            log_dir=workdir,
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        write_fd = -1
        line = _read_line_from_fd(read_fd, proc, timeout, what)
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    return proc, line
