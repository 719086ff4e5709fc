"""The engine service: APScheduler jobs that evaluate events, dispatch deliveries and mark stale
runs crashed; plus `resend`, `send_test` and the headless `runbell engine` entry point.

The scheduler only triggers: each job does a bounded amount of work (evaluation has a time
budget, sends run on the dispatcher's own pool), so no job blocks another for long.
"""
from __future__ import annotations

import logging
import logging.handlers
import signal
import sys
import threading
from datetime import datetime, timedelta, timezone
from collections.abc import Callable
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from store import automations, executions, integrations, runs
from store import entities as e
from store.db import Database, log_dir
from store.errors import NotFound, StoreError

from desktop.engine import actions, masking, templating
from desktop.engine.actions import GENERIC_WEBHOOK, NOTIFICATION, ConfigError, Outcome, SendContext, slack, webhook
from desktop.engine.actions.base import DEFAULT_TIMEOUT
from desktop.engine.actions.desktop_notify import NativeNotifier, Notifier
from desktop.engine.dispatcher import BACKOFF_BASE, BACKOFF_CAP, DEFAULT_MAX_ATTEMPTS, DEFAULT_WORKERS, Dispatcher
from desktop.engine.evaluator import Evaluator

log = logging.getLogger("runbell.engine")

EVALUATE_JOB = "runbell-evaluate"
DISPATCH_JOB = "runbell-dispatch"
STALE_JOB = "runbell-stale-runs"
_EXECUTOR = "runbell-engine"


class _QuietOverrun(logging.Filter):
    """A 0.2 s poll that overlaps its previous run is expected under load, not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances" in str(record.msg):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            # Handlers have no level of their own: drop it unless debug logging was asked for.
            return _scheduler_log.isEnabledFor(logging.DEBUG)
        return True


_scheduler_log = logging.getLogger("runbell.engine.scheduler")
_scheduler_log.addFilter(_QuietOverrun())
# APScheduler logs every job run at INFO on the executor's logger; ours runs 10 times a second.
logging.getLogger(f"apscheduler.executors.{_EXECUTOR}").setLevel(logging.WARNING)


class Engine:
    """Evaluates the event log and delivers executions in background threads (no Qt).

    `notifier` shows desktop notifications; by default a NativeNotifier (desktop-notifier)
    owned and closed by the engine, calling `on_notification_clicked(target)` (on its own
    thread) when the user clicks one.
    """

    def __init__(
        self, db: Database, *, poll_seconds: float = 0.2, heartbeat_timeout: timedelta = timedelta(minutes=5),
        notifier: Notifier | None = None, workers: int = DEFAULT_WORKERS, http_timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS, backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        on_notification_clicked: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        masking.install()
        self.db = db
        self.poll_seconds = poll_seconds
        self.heartbeat_timeout = heartbeat_timeout
        self._owns_notifier = notifier is None
        self.notifier: Notifier = notifier if notifier is not None else NativeNotifier(on_clicked=on_notification_clicked)
        self.evaluator = Evaluator(db)
        self.dispatcher = Dispatcher(db, workers=workers, timeout=http_timeout, max_attempts=max_attempts,
                                     backoff_base=backoff_base, backoff_cap=backoff_cap, notifier=self.notifier)
        self.last_error: str | None = None
        self._scheduler = BackgroundScheduler(
            timezone=timezone.utc, logger=_scheduler_log,
            executors={_EXECUTOR: JobExecutor(3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None,
                          "executor": _EXECUTOR},
        )
        self._scheduler.add_listener(self._on_job_error, EVENT_JOB_ERROR)
        self._started = False

    @property
    def running(self) -> bool:
        return self._started

    def start(self) -> None:
        if self._started:
            return
        now = datetime.now(timezone.utc)
        stale_every = max(1.0, min(30.0, self.heartbeat_timeout.total_seconds() / 4))
        self._scheduler.add_job(self._evaluate, IntervalTrigger(seconds=self.poll_seconds), id=EVALUATE_JOB,
                                name="evaluate events", replace_existing=True, next_run_time=now)
        self._scheduler.add_job(self._dispatch, IntervalTrigger(seconds=self.poll_seconds), id=DISPATCH_JOB,
                                name="dispatch due executions", replace_existing=True, next_run_time=now)
        self._scheduler.add_job(self._mark_stale, IntervalTrigger(seconds=stale_every), id=STALE_JOB,
                                name="mark stale runs crashed", replace_existing=True, next_run_time=now)
        self._scheduler.start()
        self._started = True
        log.info("engine started (poll %.2f s, heartbeat timeout %s)", self.poll_seconds, self.heartbeat_timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the jobs, let deliveries under way finish (bounded), close the notifier."""
        if not self._started:
            if self._owns_notifier:
                self.notifier.close()
            return
        self._started = False
        self.evaluator.request_stop()  # a long evaluation pass returns after its current event
        self._scheduler.shutdown(wait=True)
        try:
            self.evaluator.close()
        except StoreError as exc:
            log.warning("could not release the evaluation lease: %s", exc)
        self.dispatcher.shutdown(timeout)
        if self._owns_notifier:
            self.notifier.close()
        log.info("engine stopped")

    def wake(self) -> None:
        """Run evaluation and dispatch as soon as possible (e.g. after a resend); non-blocking."""
        if not self._started:
            return
        now = datetime.now(timezone.utc)
        for job_id in (EVALUATE_JOB, DISPATCH_JOB):
            try:
                self._scheduler.modify_job(job_id, next_run_time=now)
            except LookupError:
                pass

    # --- jobs ------------------------------------------------------------------------------------

    def _evaluate(self) -> None:
        if self.evaluator.run_once():
            self.dispatcher.dispatch_due()  # low latency: do not wait for the next dispatch tick

    def _dispatch(self) -> None:
        self.dispatcher.dispatch_due()

    def _mark_stale(self) -> None:
        crashed = runs.mark_stale_runs_crashed(self.db, self.heartbeat_timeout)
        if crashed:
            log.info("runs without a heartbeat for %s marked crashed: %s", self.heartbeat_timeout, ", ".join(crashed))

    def _on_job_error(self, event: JobExecutionEvent) -> None:
        self.last_error = f"{event.job_id}: {type(event.exception).__name__}: {event.exception}"
        if isinstance(event.exception, StoreError):
            log.warning("engine job %s: %s (retrying on the next tick)", event.job_id, event.exception)
        else:
            log.error("engine job %s failed: %r", event.job_id, event.exception)


# --- history actions ---------------------------------------------------------------------------

def resend(db: Database, execution_id: int) -> e.Execution:
    """History's Resend: a pending execution is made due now; any other becomes a new pending copy
    (new delivery id, the original stays in history). The engine picks it up on its next tick."""
    original = executions.get_execution(db, execution_id)
    if original.status == "pending":
        executions.schedule_retry(db, original.id, datetime.now(timezone.utc), original.reason)
        return executions.get_execution(db, original.id)
    automation = None
    if original.automation_id is not None:
        try:
            automation = automations.get_automation(db, original.automation_id)
        except NotFound:
            automation = None
    return executions.record_firing(
        db, automation=automation, automation_name=original.automation_name, project_id=original.project_id,
        run_id=original.run_id, event_type=original.event_type, event={**original.event, "resend_of": original.id},
        action_type=original.action_type, action=original.action, status="pending",
        reason=f"resend of execution {original.id}", is_test=original.is_test,
    )


def send_test(
    db: Database, integration_id: int, *, payload: str | None = None, timeout: float = DEFAULT_TIMEOUT,
) -> e.Execution:
    """Team Settings → Test: one attempt now (call it off the GUI thread), recorded as a test
    execution with its attempt. Raises NotFound for an unknown integration."""
    integration = integrations.get_integration(db, integration_id)
    variables: dict[str, Any] = {"event_type": "TEST", "event_author": "", "entity_name": "",
                                 "project_name": "", "automation_name": "test"}
    if integration.kind == "slack":
        text = "This is a test message from Runbell. If you can read it, alerts will arrive here."
        action_type = NOTIFICATION
        action = {"integration_id": integration.id, "channel": integration.config.get("channel", ""),
                  "title": "Runbell test", "text": text, "severity": "INFO",
                  "message": slack.build_message("Runbell test", text, "INFO")}
    else:
        template = payload if payload is not None else '{"event_type": "${event_type}", "test": true}'
        action_type = GENERIC_WEBHOOK
        action = {"integration_id": integration.id, "webhook": integration.name,
                  "url": integration.config.get("url", ""), "request_payload": template,
                  "variables": templating.to_storable(variables),
                  "rendered_payload": webhook.masked_payload(template, variables, integration)}
    probe = e.Execution(
        id=0, automation_id=None, automation_name="test", project_id=None, run_id=None, scope="team",
        triggered_at=datetime.now(timezone.utc), event_type="TEST", event={}, action_type=action_type,
        action=action, status="pending", reason="", delivery_id=f"test-{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}",
        is_test=True, next_attempt_at=None, finished_at=None,
    )
    started = datetime.now(timezone.utc)
    try:
        outcome = actions.send(SendContext(db, timeout=timeout), probe)
    except ConfigError as exc:
        outcome = Outcome(ok=False, error=str(exc))
    record = executions.record_firing(
        db, automation=None, automation_name="test", project_id=None, run_id=None, event_type="TEST",
        event={"type": "TEST", "integration": integration.name}, action_type=action_type,
        action=outcome.action_update or action, status="finished" if outcome.ok else "failed",
        reason="test delivered" if outcome.ok else outcome.error, is_test=True,
    )
    executions.add_attempt(db, record.id, started_at=started, status_code=outcome.status_code,
                           response_excerpt=outcome.response_excerpt, error=outcome.error,
                           latency_ms=outcome.latency_ms)
    return executions.get_execution(db, record.id)


# --- `runbell engine` --------------------------------------------------------------------------

def _configure_logging() -> list[logging.Handler]:
    """stderr (unless the caller, e.g. the CLI, already set logging up) and engine.log, rotated."""
    root = logging.getLogger()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    if not root.handlers:
        handlers.append(logging.StreamHandler())
        root.setLevel(logging.INFO)
    try:
        handlers.append(logging.handlers.RotatingFileHandler(log_dir() / "engine.log", maxBytes=2_000_000,
                                                             backupCount=3, encoding="utf-8"))
    except OSError as exc:
        print(f"runbell engine: cannot write the log file ({exc}); logging to stderr only", file=sys.stderr)
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    masking.install(handlers)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handlers


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: say nothing of it
        return "<database>"


def run_headless(db_url: str | None = None, *, stop: threading.Event | None = None, **engine_options: Any) -> int:
    """`runbell engine`: run until SIGTERM/SIGINT (or `stop`); returns the process exit code.

    `engine_options` go to Engine (e.g. http_timeout, max_attempts, poll_seconds)."""
    handlers = _configure_logging()
    stop = stop or threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda signum, _frame: stop.set())
    try:
        try:
            db = Database(db_url)
        except StoreError as exc:
            log.error("cannot open the database: %s", exc)
            return 2
        engine = Engine(db, **engine_options)
        try:
            engine.start()
            log.info("engine running on %s; stop with Ctrl+C or SIGTERM", _safe_url(db.url))
            while not stop.wait(0.5):
                pass
            log.info("shutting down")
        finally:
            engine.stop()
            db.dispose()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        root = logging.getLogger()
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
