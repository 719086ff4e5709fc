"""How a training process ends, seen by the tracking client: uncaught exception, `sys.exit(n)`,
a clean end, SIGTERM/SIGINT (SPEC §3, case C3).

The hooks are process-wide and shared by every live run of this process; `store.tracking`
registers runs here. Each hook chains to whatever was installed before it, and they are removed
again when the last run of the process ends (if nobody replaced them meanwhile).

Why `sys.exit` is wrapped: `SystemExit` never reaches `sys.excepthook`, and atexit callbacks run
after the interpreter has dropped the exception, so the status has to be caught on the way in
(the same approach as wandb's `ExitHooks`). `raise SystemExit(n)` written out by hand bypasses
the wrapper; inside `with rb.init(...)` the context manager still sees it.
"""
from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import traceback
from types import FrameType, TracebackType
from typing import Any, Protocol

log = logging.getLogger("runbell.tracking")

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TrackedRun(Protocol):
    def _finalize(self, exit_code: int, error_tail: str | None) -> None: ...
    def _note_signal(self, signum: int) -> None: ...
    def _busy_in_this_thread(self) -> bool: ...


class _State:
    def __init__(self) -> None:
        self.runs: list[TrackedRun] = []
        self.exit_status: Any = None
        self.exit_called = False
        self.deferred_signal: tuple[int, FrameType | None] | None = None
        self.orig_exit: Any = None
        self.orig_excepthook: Any = None
        self.orig_handlers: dict[int, Any] = {}
        self.installed = False
        self.terminating = False


_state = _State()
_lock = threading.RLock()


def register(run: TrackedRun) -> None:
    """Track `run` until it ends; installs the hooks with the first run of the process."""
    with _lock:
        _state.runs.append(run)
        _install()


def unregister(run: TrackedRun) -> None:
    with _lock:
        if run in _state.runs:
            _state.runs.remove(run)
        if not _state.runs:
            _uninstall()


def exit_code_of(status: Any) -> int:
    """The process exit code CPython derives from a `SystemExit` status."""
    if status is None:
        return 0
    if isinstance(status, int):
        return status
    return 1


def exception_tail(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    return "".join(traceback.format_exception(exc_type, exc, tb))[-4000:]


def exit_code_for_exception(exc: BaseException) -> int:
    if isinstance(exc, SystemExit):
        return exit_code_of(exc.code)
    if isinstance(exc, KeyboardInterrupt):
        return 128 + signal.SIGINT
    return 1


def program_continued() -> None:
    """A run logged after `sys.exit()`: the `SystemExit` was caught, so forget its status."""
    _state.exit_called = False
    _state.exit_status = None


def exit_was_called() -> bool:
    return _state.exit_called


# -- the hooks -------------------------------------------------------------------------------

def _install() -> None:
    if not _state.installed:
        _state.orig_exit = sys.exit
        sys.exit = _exit
        _state.orig_excepthook = sys.excepthook
        sys.excepthook = _excepthook
        atexit.register(_atexit)
        _state.installed = True
    if threading.current_thread() is not threading.main_thread():
        # signal.signal() only works in the main thread; the other hooks still cover the run.
        log.debug("tracking run started outside the main thread: SIGTERM/SIGINT not hooked")
        return
    for signum in HANDLED_SIGNALS:
        if signum in _state.orig_handlers:
            continue
        previous = signal.getsignal(signum)
        if previous in (signal.SIG_IGN, None):
            continue  # the program chose to ignore it, or a non-Python handler owns it
        signal.signal(signum, _on_signal)
        _state.orig_handlers[signum] = previous


def _uninstall() -> None:
    if not _state.installed:
        return
    if sys.exit is _exit:
        sys.exit = _state.orig_exit
    if sys.excepthook is _excepthook:
        sys.excepthook = _state.orig_excepthook
    atexit.unregister(_atexit)
    _state.installed = False
    _state.exit_called = False
    _state.exit_status = None
    if threading.current_thread() is threading.main_thread():
        for signum, previous in list(_state.orig_handlers.items()):
            if signal.getsignal(signum) is _on_signal:
                signal.signal(signum, previous)
            del _state.orig_handlers[signum]
    # Outside the main thread our signal handlers stay; with no runs they just pass the signal on.


def _exit(status: Any = None, /) -> None:
    if threading.current_thread() is threading.main_thread():
        _state.exit_status = status
        _state.exit_called = True
    _state.orig_exit(status)


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    try:
        # Print the traceback first: the user sees it even if the database is slow.
        (_state.orig_excepthook or sys.__excepthook__)(exc_type, exc, tb)
    finally:
        _finalize_all(exit_code_for_exception(exc), exception_tail(exc_type, exc, tb))


def _atexit() -> None:
    code = exit_code_of(_state.exit_status) if _state.exit_called else 0
    tail = f"sys.exit({_state.exit_status!r})" if code else None
    _finalize_all(code, tail)


def _finalize_all(exit_code: int, error_tail: str | None) -> None:
    with _lock:
        live = list(_state.runs)
    for run in live:
        try:
            run._finalize(exit_code, error_tail)
        except Exception:  # one broken run must not keep the others running
            log.exception("could not record the end of run %r", run)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _state.terminating:
        # A second signal while we store the last points: the user insists, stop right now.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    with _lock:
        live = list(_state.runs)
    if signum != signal.SIGINT or not _interactive():
        for run in live:
            run._note_signal(signum)
    previous = _state.orig_handlers.get(signum, signal.SIG_DFL)
    if signum == signal.SIGINT and previous is signal.default_int_handler:
        # Ctrl-C: let KeyboardInterrupt unwind the program normally; the run ends `failed`
        # when it does (the note above makes even a caught interrupt end `failed`).
        previous(signum, frame)
        return
    if any(run._busy_in_this_thread() for run in live):
        # The main thread was interrupted in the middle of a database write of its own;
        # writing again from here would wait on that very transaction. Finish it first.
        _state.deferred_signal = (signum, frame)
        return
    _terminate(signum, frame)


def _interactive() -> bool:
    # In a REPL or notebook Ctrl-C stops one cell, not the training session.
    return hasattr(sys, "ps1") or bool(sys.flags.interactive) or "ipykernel" in sys.modules


def resume_deferred_signal() -> None:
    """Called by a run when the main thread leaves its database write."""
    pending = _state.deferred_signal
    if pending is None or threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        if any(run._busy_in_this_thread() for run in _state.runs):
            return
    _state.deferred_signal = None
    _terminate(*pending)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Store everything, mark the runs failed, then do what the signal would have done."""
    name = signal.Signals(signum).name
    _state.terminating = True
    _finalize_all(128 + signum, f"terminated by {name}")
    previous = _state.orig_handlers.pop(signum, signal.SIG_DFL)
    signal.signal(signum, previous)
    if callable(previous):
        _state.terminating = False
        previous(signum, frame)
        return
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # only reached where the default action does not end the process


def _forget_runs_after_fork() -> None:
    # A forked child (e.g. a data-loader worker) must not end its parent's runs; the lock may
    # have been held by a thread that does not exist in the child.
    global _lock
    _lock = threading.RLock()
    _state.runs.clear()
    _state.deferred_signal = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_after_fork)
