"""Durable delivery: claim due `pending` executions, send each on a worker thread, record every
attempt, retry network errors / 429 / 5xx with exponential backoff and jitter (never before a
Retry-After), fail at once on other 4xx and on configuration errors.

A hung endpoint only occupies one worker for at most the per-attempt timeout; the dispatcher
claims no more executions than it has free workers, so the rest stay claimable.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from store import executions
from store.db import Database
from store.entities import Execution
from store.errors import StoreError

from desktop.engine import actions, quiet
from desktop.engine.actions import DESKTOP_NOTIFICATION, ConfigError, Outcome, SendContext
from desktop.engine.actions.base import DEFAULT_TIMEOUT
from desktop.engine.actions.desktop_notify import Notifier

log = logging.getLogger("runbell.engine.dispatch")

DEFAULT_WORKERS = 4
DEFAULT_MAX_ATTEMPTS = 5
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
MAX_RETRY_AFTER = 3600.0  # an endpoint asking for more than an hour is treated as gone


def _now() -> datetime:
    return datetime.now(timezone.utc)


def backoff_delay(attempt: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
                  rng: Callable[[], float] = random.random) -> float:
    """Seconds before attempt `attempt + 1`: exponential, capped, with 'equal jitter' (½–1×)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rng() * ceiling / 2


class Dispatcher:
    def __init__(
        self, db: Database, *, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS, backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP, notifier: Notifier | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.ctx = SendContext(db, timeout=timeout, notifier=notifier)
        self.workers = workers
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # An attempt never outlives ctx.timeout (a hard deadline in actions.http), so a lease a
        # little longer than two attempts is safe, and short enough that a killed engine's
        # deliveries resume soon after a restart.
        self.lease = timedelta(seconds=self.ctx.timeout * 2 + 5)
        self._rng = rng
        self._pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runbell-dispatch")
        self._lock = threading.RLock()  # a done-callback may run inline while we hold it
        self._in_flight: dict[int, tuple[Execution, cf.Future[None]]] = {}
        self._closed = False

    # --- claiming ------------------------------------------------------------------------------

    def dispatch_due(self) -> int:
        """Claim due executions for the free workers and start them; returns how many started."""
        with self._lock:
            if self._closed:
                return 0
            free = self.workers - len(self._in_flight)
            if free <= 0:
                return 0
            claimed = executions.claim_due(self.db, limit=free, lease=self.lease)
            for execution in claimed:
                if execution.id in self._in_flight:
                    continue  # its lease ran out while a slow database held the attempt up: still ours
                future = self._pool.submit(self._run, execution)
                self._in_flight[execution.id] = (execution, future)
                future.add_done_callback(lambda _f, eid=execution.id, full=len(claimed) == free: self._done(eid, full))
            return len(claimed)

    def _done(self, execution_id: int, maybe_more: bool) -> None:
        with self._lock:
            self._in_flight.pop(execution_id, None)
        if maybe_more and not self._closed:
            try:
                self.dispatch_due()
            except StoreError as exc:
                log.warning("could not claim more deliveries: %s", exc)

    def busy(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def _run(self, execution: Execution) -> None:
        try:
            self.deliver(execution)
        except StoreError as exc:
            # The lease expires and a later pass resumes with the same delivery id.
            log.warning("delivery %s interrupted by a database problem: %s", execution.id, exc)
        except Exception:
            log.exception("delivery %s crashed", execution.id)

    # --- one attempt ---------------------------------------------------------------------------

    def deliver(self, execution: Execution) -> str:
        """Make one attempt now and record it; returns the execution's new status."""
        if execution.action_type == DESKTOP_NOTIFICATION and (until := quiet.desktop_notifications_paused_until()):
            # Paused from the tray: record why, but Slack and webhooks go out as usual.
            executions.complete(self.db, execution.id, "skipped",
                                f"desktop notifications paused until {until:%Y-%m-%d %H:%M} UTC")
            return "skipped"
        attempt = len(execution.attempts) + 1
        started = _now()
        permanent = False
        try:
            outcome = actions.send(self.ctx, execution)
        except ConfigError as exc:
            outcome, permanent = Outcome(ok=False, error=str(exc)), True
        except StoreError:
            raise
        except Exception as exc:  # a bug in a sender: record it, retry within the attempt limit
            log.exception("sender for %s failed", execution.action_type)
            outcome = Outcome(ok=False, retryable=True, error=f"internal error: {type(exc).__name__}")
        executions.add_attempt(
            self.db, execution.id, started_at=started, status_code=outcome.status_code,
            response_excerpt=outcome.response_excerpt, error=outcome.error, latency_ms=outcome.latency_ms,
        )
        return self._settle(execution, attempt, outcome, permanent)

    def _settle(self, execution: Execution, attempt: int, outcome: Outcome, permanent: bool) -> str:
        code = f" (HTTP {outcome.status_code})" if outcome.status_code else ""
        if outcome.ok:
            executions.complete(self.db, execution.id, "finished",
                                f"delivered on attempt {attempt}{code}", action=outcome.action_update)
            return "finished"
        if permanent or not outcome.retryable:
            executions.complete(self.db, execution.id, "failed", outcome.error or f"failed{code}",
                                action=outcome.action_update)
            return "failed"
        if attempt >= self.max_attempts:
            executions.complete(self.db, execution.id, "failed",
                                f"gave up after {attempt} attempts; last error: {outcome.error}",
                                action=outcome.action_update)
            return "failed"
        log.info("delivery %s attempt %d of %d failed: %s", execution.delivery_id, attempt, self.max_attempts,
                 outcome.error)
        delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng)
        if outcome.retry_after is not None:
            if outcome.retry_after > MAX_RETRY_AFTER:
                executions.complete(self.db, execution.id, "failed",
                                    f"{outcome.error}; the endpoint asks to wait {outcome.retry_after:g} s, "
                                    "more than an hour, so Runbell gave up", action=outcome.action_update)
                return "failed"
            delay = max(delay, outcome.retry_after)
        # Counted from now, after the response arrived: never earlier than Retry-After (case C5).
        at = _now() + timedelta(seconds=delay)
        executions.schedule_retry(
            self.db, execution.id, at,
            f"attempt {attempt} of {self.max_attempts} failed: {outcome.error}; next attempt in {delay:.1f} s",
        )
        return "pending"

    # --- shutdown ------------------------------------------------------------------------------

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop claiming, let attempts under way finish (bounded), hand unstarted ones back."""
        with self._lock:
            self._closed = True
            pending = list(self._in_flight.values())
        not_started = [ex for ex, fut in pending if fut.cancel()]
        for execution in not_started:
            try:
                executions.schedule_retry(self.db, execution.id, _now(), execution.reason)
            except StoreError as exc:
                log.warning("could not release delivery %s: %s", execution.id, exc)
        running = [fut for _ex, fut in pending if not fut.cancelled()]
        cf.wait(running, timeout=timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
