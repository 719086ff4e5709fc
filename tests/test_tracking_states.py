"""How a training process ends decides its run's state (SPEC §3; cases C3, C4).

Each test runs `scripts/tracking_child.py` in its own process against a temp database.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from store import events, runs
from tests.support.waiting import wait_until

CHILD = Path(__file__).parent / "scripts" / "tracking_child.py"
WAIT = 30.0


class Child:
    """A child training process whose stdout lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, str(CHILD), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.seen: list[str] = []
        self.logged: list[int] = []
        self.run_id = self.expect("RUN ").split()[1]

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, prefix: str) -> str:
        """The next line starting with `prefix`, collecting `LOGGED n` lines on the way."""
        while True:
            line = self.lines.get(timeout=WAIT)
            if line is None:
                raise AssertionError(f"child ended before printing {prefix!r}: {self.proc.stderr.read()}")
            self._note(line)
            if line.startswith(prefix):
                return line

    def _note(self, line: str) -> None:
        self.seen.append(line)
        if line.startswith("LOGGED "):
            self.logged.append(int(line.split()[1]))

    def finish(self) -> tuple[int, str]:
        """Wait for the end; return (returncode, stderr) after collecting every remaining line."""
        try:
            returncode = self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self._reader.join(WAIT)
        while (line := self.lines.get_nowait()) is not None:
            self._note(line)
        stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return returncode, stderr


def ended(db_url: str, mode: str) -> tuple[int, str, str]:
    child = Child(mode, db_url)
    returncode, stderr = child.finish()
    return returncode, stderr, child.run_id


@pytest.mark.parametrize(
    ("mode", "returncode", "state", "exit_code", "points"),
    [
        ("clean", 0, "finished", 0, 10),
        ("exit0", 0, "finished", 0, 10),
        ("exit3", 3, "failed", 3, 10),
        ("caught-exit", 0, "finished", 0, 11),  # sys.exit(5) caught, the script went on
        ("with-systemexit", 4, "failed", 4, 1),  # `raise SystemExit(4)` inside `with rb.init()`
    ],
)
def test_the_way_a_process_exits_sets_the_state_and_keeps_every_point(db, db_url, mode, returncode, state,
                                                                       exit_code, points):
    code, stderr, run_id = ended(db_url, mode)
    assert code == returncode, stderr
    run = runs.get_run(db, run_id)
    assert (run.state, run.exit_code) == (state, exit_code)
    assert run.finished_at is not None
    loss_steps = runs.metric_series(db, run_id, "loss")[0].tolist()
    assert loss_steps == list(range(points))


def test_an_uncaught_exception_marks_failed_with_the_traceback_tail(db, db_url):
    code, stderr, run_id = ended(db_url, "exception")
    assert code == 1
    assert "ValueError: boom at step 9" in stderr  # the previous excepthook still printed it
    run = runs.get_run(db, run_id)
    assert (run.state, run.exit_code) == ("failed", 1)
    assert "Traceback" in run.error_tail and run.error_tail.rstrip().endswith("ValueError: boom at step 9")
    assert runs.metric_series(db, run_id, "loss")[0].tolist() == list(range(10))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_worker_exiting_does_not_end_the_parents_run(db, db_url):
    child = Child("fork-child-exits", db_url)
    assert child.expect("STATE ") == "STATE running"
    returncode, stderr = child.finish()
    assert returncode == 0, stderr
    assert runs.get_run(db, child.run_id).state == "finished"
    assert runs.metric_series(db, child.run_id, "loss")[0].tolist() == [0, 1]


@pytest.mark.parametrize("flush_interval", ["0.05", "30"])
def test_sigterm_stores_every_point_logged_before_it_and_marks_failed(db, db_url, flush_interval):
    """C3: a process logging every 50 ms gets SIGTERM: all its points stored, run `failed`.

    With a 30 s flush interval every point after the first lives only in the buffer when the
    signal arrives, so the signal handler itself must store them.
    """
    child = Child("paced", db_url, flush_interval)
    child.expect("READY")
    child.expect("LOGGED 6")
    child.proc.send_signal(signal.SIGTERM)
    returncode, stderr = child.finish()
    assert returncode == -signal.SIGTERM, stderr  # the default action still ends the process
    stored = runs.metric_series(db, child.run_id, "loss")[0].tolist()
    assert set(child.logged) <= set(stored)
    assert stored == list(range(len(stored))) and len(stored) >= 7
    run = runs.get_run(db, child.run_id)
    assert (run.state, run.exit_code) == ("failed", 128 + signal.SIGTERM)
    assert run.error_tail == "terminated by SIGTERM"


def test_sigterm_inside_the_main_threads_own_write_waits_for_that_write(db, db_url):
    """C3: a handler that wrote from inside the interrupted transaction would wait on itself."""
    child = Child("sigterm-mid-write", db_url)
    returncode, stderr = child.finish()
    assert returncode == -signal.SIGTERM, stderr
    assert "SURVIVED" not in child.seen
    run = runs.get_run(db, child.run_id)
    assert (run.state, run.exit_code) == ("failed", 128 + signal.SIGTERM)
    assert runs.metric_series(db, child.run_id, "loss")[0].tolist() == list(range(10))


def test_sigint_ends_the_run_failed_with_its_points(db, db_url):
    child = Child("paced", db_url, "30")
    child.expect("LOGGED 3")
    child.proc.send_signal(signal.SIGINT)
    returncode, stderr = child.finish()
    assert returncode == -signal.SIGINT and "KeyboardInterrupt" in stderr
    stored = runs.metric_series(db, child.run_id, "loss")[0].tolist()
    assert set(child.logged) <= set(stored)
    run = runs.get_run(db, child.run_id)
    assert (run.state, run.exit_code) == ("failed", 128 + signal.SIGINT)
    assert "KeyboardInterrupt" in run.error_tail


def test_sigkill_leaves_the_run_running_until_its_heartbeat_goes_stale(db, db_url):
    """C4 (store part): nothing runs on SIGKILL; the stale heartbeat later marks it `crashed`."""
    child = Child("paced", db_url, "0.05")
    child.expect("READY")
    os.kill(child.proc.pid, signal.SIGKILL)
    returncode, _ = child.finish()
    assert returncode == -signal.SIGKILL
    assert runs.get_run(db, child.run_id).state == "running"
    now = datetime.now(timezone.utc)
    assert runs.mark_stale_runs_crashed(db, timedelta(seconds=60), now=now) == []  # heartbeat is fresh
    later = now + timedelta(seconds=61)
    assert runs.mark_stale_runs_crashed(db, timedelta(seconds=60), now=later) == [child.run_id]
    run = runs.get_run(db, child.run_id)
    assert (run.state, run.error_tail) == ("crashed", "heartbeat lost")
    assert runs.metric_series(db, child.run_id, "loss")[0].tolist()[:1] == [0]


def test_a_suspended_process_that_resumes_is_running_again_and_ends_as_it_really_ends(db, db_url):
    """A laptop asleep past the heartbeat timeout: presumed crashed, then alive after all."""
    child = Child("paced", db_url, "0.05")
    child.expect("READY")
    os.kill(child.proc.pid, signal.SIGSTOP)
    try:
        later = datetime.now(timezone.utc) + timedelta(seconds=61)
        assert runs.mark_stale_runs_crashed(db, timedelta(seconds=60), now=later) == [child.run_id]
        assert runs.get_run(db, child.run_id).state == "crashed"
    finally:
        os.kill(child.proc.pid, signal.SIGCONT)
    wait_until(lambda: runs.get_run(db, child.run_id).state == "running", timeout=20)
    os.kill(child.proc.pid, signal.SIGTERM)  # and now it ends for real: its own end is recorded
    child.finish()
    run = runs.get_run(db, child.run_id)
    assert run.state == "failed" and "SIGTERM" in run.error_tail
    states = [ev.payload["state"] for ev in events.events_after(db, 0, types=(events.RUN_STATE,))
              if ev.run_id == child.run_id]
    assert states == ["running", "crashed", "running", "failed"]
