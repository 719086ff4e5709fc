"""The tracking client: concurrent writers, values, step order, buffering, alerts, hooks (SPEC §3)."""
from __future__ import annotations

import contextlib
import math
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy.exc as sa_exc

from store import events, runs
from store import tracking as rb
from store.errors import StoreUnavailable

CHILD = Path(__file__).parent / "scripts" / "tracking_child.py"
WAIT = 20.0


@pytest.fixture(autouse=True)
def _no_run_left_behind():
    yield
    rb.finish()


def wait_until(predicate, timeout: float = WAIT) -> None:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not predicate():
            if done.wait(0.01):
                raise AssertionError(f"condition not met within {timeout} s")
    finally:
        deadline.cancel()


def test_four_processes_store_every_point_once_in_step_order_while_the_app_reads(db, db_url):
    steps, keys = 5_000, [f"m{k}" for k in range(10)]
    with contextlib.ExitStack() as stack:
        children = [
            stack.enter_context(subprocess.Popen([sys.executable, str(CHILD), "burst", db_url, str(steps)],
                                                 stdout=subprocess.PIPE, text=True))
            for _ in range(4)
        ]
        run_ids = [child.stdout.readline().split()[1] for child in children]
        seen: dict[str, list[int]] = {run_id: [] for run_id in run_ids}
        for child in children:
            stack.callback(child.kill)  # only matters if an assertion below fails
        while any(child.poll() is None for child in children):
            for run_id in run_ids:
                seen[run_id].append(len(runs.metric_series(db, run_id, "m0")[0]))
        assert [child.wait(WAIT) for child in children] == [0, 0, 0, 0]

    for run_id in run_ids:
        for k, key in enumerate(keys):
            got_steps, values, _ = runs.metric_series(db, run_id, key)
            assert got_steps.tolist() == list(range(steps)), (run_id, key)
            np.testing.assert_array_equal(values, np.arange(steps) + k / 10)
        metric_events = events.events_after(db, 0, limit=100_000, types=(events.METRICS,))
        written = sum(ev.payload["count"] for ev in metric_events if ev.run_id == run_id)
        assert written == steps * len(keys)
        assert runs.get_run(db, run_id).state == "finished"
        assert seen[run_id] == sorted(seen[run_id])  # the reader only ever saw counts grow
    partial = [c for counts in seen.values() for c in counts if 0 < c < steps]
    assert partial, "the reader never saw a run part-way through"


def test_nan_and_infinities_are_stored_as_such_and_numpy_scalars_accepted(db, db_url):
    run = rb.init(project="values", db_url=db_url)
    run.log({"loss": math.nan, "gain": np.float32(0.5), "n": np.int64(7), "ok": True})
    run.log({"loss": math.inf, "gain": np.array(0.25), "n": 3, "ok": np.bool_(False)})
    run.log({"loss": -math.inf, "gain": 1, "n": 2**40, "ok": False})
    run.finish()
    assert np.isnan(runs.metric_series(db, run.id, "loss")[1][0])
    assert runs.metric_series(db, run.id, "loss")[1][1:].tolist() == [math.inf, -math.inf]
    assert runs.metric_series(db, run.id, "gain")[1].tolist() == [0.5, 0.25, 1.0]
    assert runs.metric_series(db, run.id, "n")[1].tolist() == [7.0, 3.0, float(2**40)]
    assert runs.metric_series(db, run.id, "ok")[1].tolist() == [1.0, 0.0, 0.0]


def test_a_point_at_an_older_step_is_rejected_with_a_warning_and_not_stored(db, db_url):
    run = rb.init(project="order", db_url=db_url)
    run.log({"loss": 0.5, "acc": 0.1}, step=5)
    with pytest.warns(rb.StepOrderWarning, match=r"'loss' logged at step 3 but already logged at step 5"):
        run.log({"loss": 0.9, "val/acc": 0.7}, step=3)  # val/acc is new: stored at 3
    with pytest.warns(rb.StepOrderWarning, match=r"'acc' logged at step 5 but already logged at step 5"):
        run.log({"acc": 0.2}, step=5)
    run.log({"loss": 0.4}, step=6)
    run.finish()
    assert runs.metric_series(db, run.id, "loss")[0].tolist() == [5, 6]
    assert runs.metric_series(db, run.id, "loss")[1].tolist() == [0.5, 0.4]
    assert runs.metric_series(db, run.id, "acc")[1].tolist() == [0.1]
    assert runs.metric_series(db, run.id, "val/acc")[0].tolist() == [3]


def test_non_numeric_values_and_unusable_keys_are_skipped_with_a_warning(db, db_url):
    run = rb.init(project="values", db_url=db_url)
    with pytest.warns(rb.NonNumericValueWarning) as caught:
        run.log({"loss": "high", "acc": 0.5, "vec": np.ones(3), 7: 1.0, "x" * 257: 1.0, "c": 1j})
    run.finish()
    assert len(caught) == 5
    said = [str(w.message) for w in caught]
    assert "'loss' = 'high' is not a number" in said[0]
    assert any("need 1 to 256 characters" in m and "has 257" in m for m in said)
    assert any("must be text, not int" in m for m in said)
    assert runs.metric_keys(db, run.project_id) == ["acc"]


def test_steps_follow_wandb_semantics(db, db_url):
    run = rb.init(project="steps", db_url=db_url)
    run.log({"a": 1.0})
    run.log({"a": 2.0})
    run.log({"b": 3.0}, step=10)
    run.log({"a": 4.0})  # lands on the current step 10, then the step advances
    run.log({"a": 5.0})
    run.finish()
    assert runs.metric_series(db, run.id, "a")[0].tolist() == [0, 1, 10, 11]
    assert runs.metric_series(db, run.id, "b")[0].tolist() == [10]


def test_log_never_waits_for_the_database(db, db_url, monkeypatch):
    release, writing = threading.Event(), threading.Event()
    real_append = runs.append_points

    def stuck_append(*args, **kwargs):
        writing.set()
        release.wait(WAIT)
        return real_append(*args, **kwargs)

    monkeypatch.setattr(runs, "append_points", stuck_append)
    run = rb.init(project="fast", db_url=db_url, flush_interval=0.01)
    run.log({"loss": 0.0})
    assert writing.wait(WAIT)  # the writer thread is now stuck in the database
    for step in range(1, 2_000):
        run.log({"loss": float(step)})
    assert run.step == 2_000  # every call returned while the writer was blocked
    release.set()
    run.finish()
    assert runs.metric_series(db, run.id, "loss")[0].tolist() == list(range(2_000))


def test_points_are_kept_and_written_in_order_when_the_database_is_unavailable(db, db_url, monkeypatch):
    refused = []
    real_append = runs.append_points

    def flaky_append(db_, run_id, points):
        if len(refused) < 4:
            refused.append(len(points))
            raise StoreUnavailable("database is locked")
        return real_append(db_, run_id, points)

    monkeypatch.setattr(runs, "append_points", flaky_append)
    run = rb.init(project="flaky", db_url=db_url, flush_interval=0.01)
    for step in range(150):
        run.log({"loss": float(step)})
    wait_until(lambda: len(refused) == 4)
    for step in range(150, 300):
        run.log({"loss": float(step)})
    wait_until(lambda: len(runs.metric_series(db, run.id, "loss")[0]) == 300)
    run.finish()
    steps, values, _ = runs.metric_series(db, run.id, "loss")
    assert steps.tolist() == list(range(300)) and values.tolist() == [float(s) for s in range(300)]
    assert runs.get_run(db, run.id).state == "finished"


def test_a_point_the_database_refuses_loses_only_itself(db, db_url, monkeypatch, caplog):
    real_append = runs.append_points

    def picky_append(db_, run_id, points, **kwargs):
        if any(key == "bad" for key, *_ in points):  # what PostgreSQL does with some values
            raise sa_exc.DataError("INSERT", {}, Exception("invalid byte sequence"))
        return real_append(db_, run_id, points, **kwargs)

    monkeypatch.setattr(runs, "append_points", picky_append)
    run = rb.init(project="picky", db_url=db_url, flush_interval=0.01)
    run.log({"before": 1.0}, step=0)
    run.log({"bad": 1.0, "ok": 2.0}, step=1)
    run.log({"later": 3.0}, step=2)
    run.finish()
    assert runs.metric_keys(db, run.project_id) == ["before", "later", "ok"]
    assert "point ('bad', 1) refused by the database and dropped" in caplog.text
    assert runs.get_run(db, run.id).state == "finished"


def test_keys_with_nul_and_steps_past_the_largest_are_refused_when_logged(db, db_url):
    run = rb.init(project="edges", db_url=db_url)
    with pytest.warns(rb.NonNumericValueWarning):
        run.log({"nul\x00key": 1.0, "fine": 1.0})
    run.log({"fine": 2.0}, step=2 ** 63 - 1)
    run.log({"other": 3.0})  # the current step, the largest there is
    with pytest.raises(ValueError, match="would not fit the database"):
        run.log({"other": 4.0})
    run.finish()
    assert runs.metric_series(db, run.id, "fine")[0].tolist() == [0, 2 ** 63 - 1]
    assert runs.metric_series(db, run.id, "other")[0].tolist() == [2 ** 63 - 1]


def test_alert_never_waits_for_a_locked_database_and_goes_out_when_it_frees(db, db_url):
    run = rb.init(project="alerts", db_url=db_url, flush_interval=30)
    path = db_url.removeprefix("sqlite:///")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another program holds the database
    try:
        started = time.monotonic()
        run.alert("Diverged", "loss is NaN", level="ERROR")
        assert time.monotonic() - started < 5  # not the 30 s busy timeout: the training loop goes on
    finally:
        locker.execute("COMMIT")
        locker.close()
    wait_until(lambda: any(ev.run_id == run.id for ev in events.events_after(db, 0, types=(events.ALERT,))))
    run.finish()


def test_alert_is_recorded_after_the_points_logged_before_it(db, db_url):
    run = rb.init(project="alerts", db_url=db_url, flush_interval=30)
    run.log({"loss": 0.1})
    run.alert("Loss is low", "loss reached 0.1", level="warning")
    with pytest.raises(ValueError, match="INFO, WARN or ERROR"):
        run.alert("x", "y", level="LOUD")
    run.finish()
    evs = [ev for ev in events.events_after(db, 0, types=(events.METRICS, events.ALERT)) if ev.run_id == run.id]
    assert [ev.type for ev in evs] == [events.METRICS, events.ALERT]
    assert evs[1].payload == {"title": "Loss is low", "text": "loss reached 0.1", "level": "WARN"}


def test_context_manager_marks_failed_with_the_traceback_tail_or_finished(db, db_url):
    with pytest.raises(ZeroDivisionError):
        with rb.init(project="ctx", db_url=db_url) as failing:
            failing.log({"loss": 1.0})
            _ = 1 / 0
    with rb.init(project="ctx", db_url=db_url, name="fine") as fine:
        fine.log({"loss": 1.0})
    failed = runs.get_run(db, failing.id)
    assert (failed.state, failed.exit_code) == ("failed", 1)
    assert "ZeroDivisionError: division by zero" in failed.error_tail
    assert runs.metric_series(db, failing.id, "loss")[0].tolist() == [0]
    assert (runs.get_run(db, fine.id).state, runs.get_run(db, fine.id).name) == ("finished", "fine")


def test_a_run_the_user_killed_in_the_app_stays_killed(db, db_url):
    """C3: `killed` (stopped from the app) is never overwritten by the client's end."""
    run = rb.init(project="ctx", db_url=db_url)
    run.log({"loss": 1.0})
    runs.set_state(db, run.id, "killed")
    run.finish()
    assert runs.get_run(db, run.id).state == "killed"
    assert runs.metric_series(db, run.id, "loss")[0].tolist() == [0]


def test_module_level_api_uses_the_current_run_and_creates_the_project(db, db_url):
    with pytest.raises(RuntimeError, match="rb.init"):
        rb.log({"loss": 1.0})
    run = rb.init(project="new-project", db_url=db_url, config={"lr": np.float32(0.5), "layers": (2, 3)},
                  tags=["baseline"], group="sweep-1")
    assert rb.run is run and run.url == f"runbell://run/{run.id}"
    rb.log({"loss": 1.0})
    second = rb.init(project="new-project", db_url=db_url)  # finishes the first, like wandb
    assert runs.get_run(db, run.id).state == "finished"
    rb.finish()
    assert rb.run is None and runs.get_run(db, second.id).state == "finished"
    stored = runs.get_run(db, run.id)
    assert stored.config == {"lr": 0.5, "layers": [2, 3]}
    assert (stored.tags, stored.group) == (("baseline",), "sweep-1")


def test_hooks_are_installed_while_a_run_lives_and_restored_after(db_url):
    before = (sys.excepthook, sys.exit, signal.getsignal(signal.SIGTERM))
    run = rb.init(project="hooks", db_url=db_url)
    assert sys.excepthook is not before[0] and signal.getsignal(signal.SIGTERM) is not before[2]
    run.finish()
    assert (sys.excepthook, sys.exit, signal.getsignal(signal.SIGTERM)) == before


def test_a_run_started_outside_the_main_thread_works_without_signal_hooks(db, db_url):
    handler = signal.getsignal(signal.SIGTERM)
    result: dict[str, object] = {}

    def train() -> None:
        run = rb.init(project="thread", db_url=db_url)
        result["sigterm"] = signal.getsignal(signal.SIGTERM)
        run.log({"loss": 1.0})
        run.finish()
        result["id"] = run.id

    worker = threading.Thread(target=train)
    worker.start()
    worker.join(WAIT)
    assert result["sigterm"] is handler
    assert runs.get_run(db, result["id"]).state == "finished"
