"""A training process for the tracking-client tests: `tracking_child.py MODE DB_URL [ARG]`.

Prints `RUN <id>` once the run exists. Modes:
  burst N   10 metrics x N steps, keys m0..m9, value = step + k / 10 (concurrency test)
  clean | exception | exit3 | exit0 | caught-exit | with-systemexit   how the process ends
  paced FLUSH_INTERVAL   logs `loss` every 50 ms and prints `LOGGED <step>` after each log();
                         prints `READY` after its first flush; runs until a signal ends it
  sigterm-mid-write      sends itself SIGTERM from inside its own write transaction
  fork-child-exits       forks a worker that exits normally, prints `STATE <state>` after it
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from store import runs  # noqa: E402
from store import tracking as rb  # noqa: E402

# A shell's background job starts with SIGINT ignored, and children inherit that: restore the
# default so the SIGINT test sees what a training script in a terminal sees.
signal.signal(signal.SIGINT, signal.default_int_handler)


def say(line: str) -> None:
    print(line, flush=True)


def burst(db_url: str, steps: int) -> None:
    run = rb.init(project="burst", db_url=db_url)
    say(f"RUN {run.id}")
    for step in range(steps):
        run.log({f"m{k}": step + k / 10 for k in range(10)})
        if step % 100 == 99:
            time.sleep(0.005)  # stands in for a training step's compute
    run.finish()


def ending(mode: str, db_url: str) -> None:
    if mode == "with-systemexit":
        with rb.init(project="ends", db_url=db_url) as run:
            say(f"RUN {run.id}")
            run.log({"loss": 1.0})
            raise SystemExit(4)
    run = rb.init(project="ends", db_url=db_url, flush_interval=30)  # only exit paths flush
    say(f"RUN {run.id}")
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)})
    if mode == "exception":
        raise ValueError("boom at step 9")
    if mode == "exit3":
        sys.exit(3)
    if mode == "exit0":
        sys.exit(0)
    if mode == "caught-exit":
        try:
            sys.exit(5)
        except SystemExit:
            pass
        run.log({"loss": 0.01})


def paced(db_url: str, flush_interval: float) -> None:
    run = rb.init(project="paced", db_url=db_url, flush_interval=flush_interval)
    say(f"RUN {run.id}")
    for step in range(600):  # 30 s at most; the test signals long before
        run.log({"loss": 1.0 / (step + 1)}, step=step)
        say(f"LOGGED {step}")
        if step == 0:
            run.flush()
            say("READY")
        time.sleep(0.05)
    sys.exit(99)


def sigterm_mid_write(db_url: str) -> None:
    """SIGTERM lands while the main thread is inside its own database write transaction."""
    from store import events

    real_record = events.record

    def record_then_signal(session, type_, **kwargs):
        real_record(session, type_, **kwargs)
        if type_ == events.METRICS:
            events.record = real_record
            os.kill(os.getpid(), signal.SIGTERM)

    run = rb.init(project="ends", db_url=db_url, flush_interval=30)
    say(f"RUN {run.id}")
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)})
    events.record = record_then_signal
    run.flush()
    say("SURVIVED")


def fork_child_exits(db_url: str) -> None:
    """A forked worker that exits normally must not end its parent's run."""
    run = rb.init(project="ends", db_url=db_url)
    say(f"RUN {run.id}")
    run.log({"loss": 1.0})
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # runs the atexit hooks inherited from the parent
    os.waitpid(pid, 0)
    say(f"STATE {runs.get_run(run._db, run.id).state}")
    run.log({"loss": 0.5})


def main() -> None:
    mode, db_url, *rest = sys.argv[1:]
    if mode == "fork-child-exits":
        fork_child_exits(db_url)
    elif mode == "sigterm-mid-write":
        sigterm_mid_write(db_url)
    elif mode == "burst":
        burst(db_url, int(rest[0]))
    elif mode == "paced":
        paced(db_url, float(rest[0]))
    else:
        ending(mode, db_url)


if __name__ == "__main__":
    main()
