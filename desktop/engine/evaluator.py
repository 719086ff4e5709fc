"""Follow the event log (cursor "engine") and turn matching events into executions.

- `metrics` → every enabled metric automation (threshold, change, z-score, NaN/Inf) of the run's
  project whose metric is in the batch and whose run filter matches is evaluated at each new step
  of the batch, so a crossing inside a batch is not missed (metric_events.py).
- `run_state` → RUN_STATE automations (crashed counts as FAILED; killed never triggers).
- RUN_STALLED is a scheduled check, not an event: `check_stalls` runs every `stall_check_seconds`
  from `run_once` (state_events.py).
- `alert` (`run.alert()`) → a DESKTOP_NOTIFICATION execution named "run.alert".
- artifact and registry events → CREATE_ARTIFACT, ADD_ARTIFACT_ALIAS, ADD/REMOVE_ARTIFACT_TAG,
  LINK/UNLINK_ARTIFACT automations, once per matching mutation (artifact_events.py).

Every run automation fires on the false→true edge per run, then at most once per run per
cooldown; a suppressed edge is recorded `skipped` with the reason. The edge/cooldown memory lives
in the database (written in the same transaction as the execution), so replaying the log after a
restart never fires twice, and events written while the engine was down are evaluated when it
starts. An automation only reacts to events newer than itself, so a first start over an old
database does not fire on history. One broken automation is reported once (log + failed
execution) and never stops the others.

Chain depth (case C7): an event whose payload has `caused_by` (the delivery id of an execution,
passed by whatever reacted to that delivery) is one level deeper than that execution; a firing
deeper than `max_chain_depth` is recorded `skipped`, which ends an automation loop.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from store import automations, events, executions, runs
from store import entities as e
from store.db import Database
from store.errors import NotFound, StoreError, StoreUnavailable

from desktop.engine import artifact_events, firing, metric_events, run_events, state_events
from desktop.engine.actions import DESKTOP_NOTIFICATION, slack
from desktop.engine.metric_tails import MetricTails
from desktop.engine.run_memory import RunMemory

log = logging.getLogger("runbell.engine.evaluate")

CURSOR = "engine"
RUN_METRIC = run_events.RUN_METRIC
RUN_STATE = run_events.RUN_STATE
RUN_ALERT = "RUN_ALERT"
ALERT_AUTOMATION_NAME = "run.alert"
ALERT_MAX_AGE = timedelta(hours=1)
LEASE_TTL = timedelta(seconds=15)
DEFAULT_MAX_CHAIN_DEPTH = 3
DEFAULT_STALL_CHECK_SECONDS = 10.0
STATE_NAMES = state_events.STATE_NAMES
_TYPES = (events.METRICS, events.RUN_STATE, events.ALERT, events.AUTOMATION_CHANGED,
          *artifact_events.EVENT_TYPES)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def human_duration(seconds: float) -> str:
    """`24 h`, `90 min`, `3 d`, `45 s`, `2.5 h`."""
    seconds = int(seconds)
    if seconds >= 2 * 86400 and seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds / 60:.1f} min"
    return f"{seconds} s"


@dataclass(frozen=True)
class RunCtx:
    run: e.Run
    project: e.Project
    team: e.Team


class Evaluator:
    """Only one evaluator per database works at a time (a lease in the database), so an app
    and a headless `runbell engine` on the same database never both fire one edge."""

    def __init__(self, db: Database, *, batch_size: int = 500, time_budget: float = 2.0,
                 max_chain_depth: int = DEFAULT_MAX_CHAIN_DEPTH,
                 stall_check_seconds: float = DEFAULT_STALL_CHECK_SECONDS) -> None:
        if max_chain_depth < 1:
            raise ValueError("the chain depth limit must be at least 1")
        self.db = db
        self._holder = secrets.randbits(20)
        self._lease_until = 0.0
        self.batch_size = batch_size
        self.time_budget = time_budget
        self.max_chain_depth = max_chain_depth
        self.stall_check_seconds = stall_check_seconds
        self._next_stall_check = 0.0
        self._by_project: dict[int | None, list[e.Automation]] | None = None
        self._artifact_automations: list[e.Automation] | None = None
        self._parsed: dict[tuple[int, datetime], Any] = {}
        self._reported: set[tuple[int, datetime]] = set()
        self._runs: dict[str, RunCtx | None] = {}
        self.step_seen: dict[str, tuple[int, datetime]] = {}  # run → (last step, when first seen)
        self.pending_written = 0
        # Caches for scale (issue 3); valid only while this evaluator holds the lease.
        self.memory = RunMemory(db, lambda project_id: [a.id for a in self._automations().get(project_id, [])])
        self.tails = MetricTails(db)
        self._stop = threading.Event()

    # --- the loop --------------------------------------------------------------------------------

    def holds_lease(self) -> bool:
        """Take or renew the evaluation lease (a database write only every TTL/2)."""
        now = time.monotonic()
        if now < self._lease_until - LEASE_TTL.total_seconds() / 2:
            return True
        try:
            ok = executions.try_lease(self.db, CURSOR, self._holder, LEASE_TTL)
        except StoreUnavailable as exc:
            log.debug("evaluation lease not renewed: %s", exc)
            ok = False
        if ok and now >= self._lease_until:  # newly taken: another engine may have written meanwhile
            self._forget_caches()
        self._lease_until = now + LEASE_TTL.total_seconds() if ok else 0.0
        return ok

    def _forget_caches(self) -> None:
        self.memory.clear()
        self.tails.clear()

    def request_stop(self) -> None:
        """Make a pass under way return after the event it is on (a prompt shutdown)."""
        self._stop.set()

    def close(self) -> None:
        """Hand the lease over at once (another engine may take over evaluation)."""
        self._forget_caches()
        if self._lease_until:
            self._lease_until = 0.0
            executions.release_lease(self.db, CURSOR, self._holder)

    def run_once(self) -> int:
        """Process new events (and, when due, the stall check); returns how many `pending`
        executions were written."""
        self.pending_written = 0
        if not self.holds_lease():
            return 0
        try:
            self._run_events()
        except BaseException:
            self._forget_caches()  # a write may have failed half-way: re-read the truth next time
            raise
        if time.monotonic() >= self._next_stall_check:
            self._next_stall_check = time.monotonic() + self.stall_check_seconds
            written = self.pending_written
            self.check_stalls()
            self.pending_written += written
        return self.pending_written

    def _run_events(self) -> None:
        stored = position = events.get_cursor(self.db, CURSOR) or 0
        deadline = time.monotonic() + self.time_budget
        while not self._stop.is_set():
            page = events.read_page(self.db, position, limit=self.batch_size, types=_TYPES)
            batch = page.events
            if not batch:
                position = page.next_position  # PostgreSQL: transactions with no events of ours
                break
            self._runs = {}
            self.tails.prepare(self._automations(), batch)
            unsaved = False
            for event, resume in zip(batch, page.resume):
                unsaved |= self._handle(event)
                if resume is None:
                    continue
                position = resume
                if unsaved:  # keep the window in which a crash could replay a change minimal
                    events.set_cursor(self.db, CURSOR, position)
                    stored, unsaved = position, False
                if self._stop.is_set():
                    break
            else:
                position = page.next_position
            events.set_cursor(self.db, CURSOR, position)
            stored = position
            if len(batch) < self.batch_size or time.monotonic() > deadline:
                break
        if position != stored:
            events.set_cursor(self.db, CURSOR, position)

    def check_stalls(self, now: datetime | None = None) -> int:
        """Fire RUN_STALLED automations for running runs without a new step for their time;
        returns how many `pending` executions were written."""
        self.pending_written = 0
        self._runs = {}
        stalled = [a for group in self._automations().values() for a in group
                   if a.event_type == run_events.RUN_STALLED]
        if stalled:
            state_events.check_stalls(self, stalled, now or _now())
        return self.pending_written

    def _handle(self, event: e.Event) -> bool:
        if event.type == events.AUTOMATION_CHANGED:
            self._by_project = self._artifact_automations = None
            self.memory.clear()  # a deleted automation's id may come back
            return False
        if event.type == events.ALERT:
            return self._on_alert(event)
        if event.type in artifact_events.EVENT_TYPES:
            if self._artifact_automations is None:
                self._artifact_automations = automations.list_automations(
                    self.db, enabled_only=True, event_types=artifact_events.ARTIFACT_AUTOMATION_EVENTS)
            return artifact_events.on_event(self, self._artifact_automations, event)
        wanted = run_events.METRIC_EVENTS if event.type == events.METRICS else (RUN_STATE,)
        candidates = [a for a in self._automations().get(event.project_id, [])
                      if a.event_type in wanted and a.created_at <= event.created_at]
        changed = False
        for automation in candidates:
            try:
                parsed = self.parse(automation, event)
                if parsed is None:
                    continue
                if event.type == events.METRICS:
                    changed |= metric_events.on_metrics(self, automation, parsed, event)
                else:
                    changed |= state_events.on_run_state(self, automation, parsed, event)
            except StoreError:
                raise
            except Exception:  # a bug must not stop the other automations
                log.exception("automation %r failed on event %s", automation.name, event.id)
        return changed

    def _automations(self) -> dict[int | None, list[e.Automation]]:
        if self._by_project is None:
            grouped: dict[int | None, list[e.Automation]] = {}
            for a in automations.list_automations(self.db, enabled_only=True, event_types=run_events.RUN_EVENTS):
                grouped.setdefault(a.project_id, []).append(a)
            self._by_project = grouped
        return self._by_project

    def context(self, run_id: str | None) -> RunCtx | None:
        """The run with its project and team (cached for one batch of events)."""
        if run_id is None:
            return None
        if run_id not in self._runs:
            try:
                self._runs[run_id] = RunCtx(*runs.run_context(self.db, run_id))
            except NotFound:
                self._runs[run_id] = None
        return self._runs[run_id]

    def parse(self, automation: e.Automation, event: e.Event | None) -> run_events.ParsedEvent | None:
        """The parsed filter, or None after reporting an invalid automation (once per version)."""
        return self._parsed_or_report(
            automation, event, lambda: run_events.parse_event(automation.event_type, automation.event_filter))

    def parse_artifact_rule(self, automation: e.Automation, event: e.Event) -> artifact_events.ArtifactRule | None:
        """The artifact automation's scope and filter, or None after reporting it invalid (once)."""
        return self._parsed_or_report(automation, event, lambda: artifact_events.parse_rule(automation))

    def _parsed_or_report(self, automation: e.Automation, event: e.Event | None, parse: Any) -> Any:
        key = (automation.id, automation.updated_at)
        if key not in self._parsed:
            try:
                for stored in (automation.event_filter, automation.action_config):
                    if e.UNREADABLE in stored:
                        raise ValueError(stored[e.UNREADABLE])
                parsed: Any = parse()
            except ValueError as exc:
                parsed = exc
            except Exception as exc:  # a row written by hand or by an older Runbell: report it, go on
                parsed = ValueError(f"{type(exc).__name__}: {exc}")
            self._parsed[key] = parsed
        parsed = self._parsed[key]
        if isinstance(parsed, ValueError):
            if key not in self._reported:
                self._reported.add(key)
                log.warning("automation %r is invalid and cannot fire: %s", automation.name, parsed)
                executions.record_firing(
                    self.db, automation=automation, project_id=automation.project_id,
                    run_id=event.run_id if event and event.run_id else None, event_type=automation.event_type,
                    event={"event_id": event.id} if event else {},
                    action_type=automation.action_type, action={}, status="failed",
                    reason=f"the automation is invalid and cannot fire: {parsed}; edit it to fix",
                )
            return None
        return parsed

    # --- writing executions ----------------------------------------------------------------------

    def chain_depth(self, cause: e.Event | None) -> tuple[int, str | None, e.Execution | None]:
        """(depth of a firing on this event, the causing delivery id, the causing execution).
        A firing on an event no automation caused has depth 1."""
        caused_by = (cause.payload.get("caused_by") if cause is not None else None) or None
        if not caused_by:
            return 1, None, None
        parent = executions.find_by_delivery_id(self.db, str(caused_by))
        parent_depth = 1
        if parent is not None:
            try:
                parent_depth = max(1, int(parent.event.get("chain_depth", 1)))
            except (TypeError, ValueError):
                parent_depth = 1
        return parent_depth + 1, str(caused_by), parent

    def chain_check(self, cause: e.Event | None) -> tuple[dict[str, Any], str]:
        """(`chain_depth` / `caused_by` to store with the firing, the reason to skip it or "")."""
        depth, caused_by, parent = self.chain_depth(cause)
        extra: dict[str, Any] = {"chain_depth": depth}
        if caused_by:
            extra["caused_by"] = caused_by
        if depth <= self.max_chain_depth:
            return extra, ""
        origin = f" (execution {parent.id} of {parent.automation_name!r})" if parent else ""
        return extra, (f"chain depth limit ({self.max_chain_depth}) reached: this event was caused by "
                       f"delivery {caused_by}{origin}, so firing would make a chain {depth} deep; "
                       "this stops automations from triggering each other forever")

    def write(self, automation: e.Automation, details: firing.Firing, ctx: RunCtx,
              last_fired: datetime | None, cause: e.Event | None = None) -> bool:
        """Write the firing (one execution per target) or a `skipped` one; True if it fired."""
        now = _now()
        extra, reason = self.chain_check(cause)
        event = {**details.event, **extra}
        cooldown = timedelta(seconds=automation.cooldown_seconds)
        targets = firing.targets(self.db, automation, details)
        common = dict(automation=automation, project_id=ctx.project.id, run_id=ctx.run.id,
                      event_type=details.event_type, event=event)
        if not reason and last_fired is not None and cooldown and now - last_fired < cooldown:
            reason = (f"suppressed: already fired for run {ctx.run.name} at {last_fired:%Y-%m-%d %H:%M:%S} UTC; "
                      f"this automation fires at most once per run every {human_duration(cooldown.total_seconds())}")
        self.memory.forget(automation.id, ctx.run.id)  # the firing rewrites it
        if reason:
            executions.record_firing(self.db, **common, action_type=targets[0].action_type,
                                     action=targets[0].action, status="skipped", reason=reason,
                                     condition=True, fired=False)
            return False
        for i, target in enumerate(targets):
            # Only the first record carries the edge/cooldown memory.
            executions.record_firing(self.db, **common, action_type=target.action_type, action=target.action,
                                     status=target.status, reason=target.reason,
                                     condition=True if i == 0 else None)
            self.pending_written += target.status == "pending"
        return True

    # --- run.alert -------------------------------------------------------------------------------

    def _on_alert(self, event: e.Event) -> bool:
        ctx = self.context(event.run_id)
        if ctx is None:
            return False
        payload = event.payload
        title = str(payload.get("title") or "Run alert")
        text = str(payload.get("text") or "")
        severity = slack.severity_of(payload.get("level"))
        age = _now() - event.created_at
        status, reason = "pending", ""
        if age > ALERT_MAX_AGE:
            status = "skipped"
            reason = (f"alert raised {human_duration(age.total_seconds())} ago while the engine was not running; "
                      "old alerts are not shown")
        executions.record_firing(
            self.db, automation=None, automation_name=ALERT_AUTOMATION_NAME, project_id=ctx.project.id,
            run_id=ctx.run.id, event_type=RUN_ALERT,
            event={"type": RUN_ALERT, "run_id": ctx.run.id, "run_name": ctx.run.name,
                   "project_name": ctx.project.name, "title": title, "text": text, "level": severity},
            action_type=DESKTOP_NOTIFICATION,
            action={"title": title, "message": f"{text}\n{ctx.run.name} · {ctx.project.name}".strip(),
                    "severity": severity,
                    "target": {"kind": "run", "project_id": ctx.project.id, "project_name": ctx.project.name,
                               "run_id": ctx.run.id}},
            status=status, reason=reason,
        )
        self.pending_written += status == "pending"
        return True
