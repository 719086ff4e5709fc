"""Follow the event log (cursor "engine") and turn matching events into executions.

- `metrics` → every enabled RUN_METRIC automation of the run's project whose metric is in the
  batch and whose run filter matches is evaluated at each new step of the batch, so a crossing
  inside a batch is not missed. It fires on the false→true edge, then at most once per run per
  cooldown; a suppressed edge is recorded `skipped` with the reason.
- `run_state` → RUN_STATE automations (crashed counts as FAILED; killed never triggers).
- `alert` (`run.alert()`) → a DESKTOP_NOTIFICATION execution named "run.alert".

The edge/cooldown memory lives in the database (written in the same transaction as the
execution), so replaying the log after a restart never fires twice. An automation only reacts
to events newer than itself, so a first start over an old database does not fire on history.
One broken automation is reported once (log + failed execution) and never stops the others.
"""
from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from store import automations, events, executions, runs
from store import entities as e
from store.db import Database
from store.errors import NotFound, StoreError, StoreUnavailable

from desktop.engine import conditions, firing, run_filter, templating
from desktop.engine.actions import DESKTOP_NOTIFICATION, slack
from desktop.engine.conditions import format_number

log = logging.getLogger("runbell.engine.evaluate")

CURSOR = "engine"
RUN_METRIC = "RUN_METRIC"
RUN_STATE = "RUN_STATE"
RUN_ALERT = "RUN_ALERT"
ALERT_AUTOMATION_NAME = "run.alert"
ALERT_MAX_AGE = timedelta(hours=1)
LEASE_TTL = timedelta(seconds=15)
STATE_NAMES = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED", "crashed": "FAILED"}
_TYPES = (events.METRICS, events.RUN_STATE, events.ALERT, events.AUTOMATION_CHANGED)


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


def parse_state_filter(event_filter: Mapping[str, Any]) -> tuple[str, frozenset[str]]:
    """(run filter, states) of a RUN_STATE automation; CRASHED is an alias of FAILED."""
    raw = (event_filter.get("run_state_filter") or {}).get("states")
    if not isinstance(raw, list) or not raw:
        raise ValueError("choose at least one run state (RUNNING, FINISHED or FAILED)")
    states = set()
    for state in raw:
        name = str(state).strip().upper()
        name = "FAILED" if name == "CRASHED" else name
        if name not in ("RUNNING", "FINISHED", "FAILED"):
            raise ValueError(f"unknown run state {state!r}; use RUNNING, FINISHED or FAILED")
        states.add(name)
    text = event_filter.get("run_filter") or run_filter.MATCH_ALL
    run_filter.parse(text)
    return text, frozenset(states)


@dataclass(frozen=True)
class _RunCtx:
    run: e.Run
    project: e.Project
    team: e.Team


class Evaluator:
    """Only one evaluator per database works at a time (a lease in the database), so an app
    and a headless `runbell engine` on the same database never both fire one edge."""

    def __init__(self, db: Database, *, batch_size: int = 500, time_budget: float = 2.0) -> None:
        self.db = db
        self._holder = secrets.randbits(20)
        self._lease_until = 0.0
        self.batch_size = batch_size
        self.time_budget = time_budget
        self._by_project: dict[int | None, list[e.Automation]] | None = None
        self._parsed: dict[tuple[int, datetime], Any] = {}
        self._reported: set[tuple[int, datetime]] = set()
        self._runs: dict[str, _RunCtx | None] = {}
        self.pending_written = 0

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
        self._lease_until = now + LEASE_TTL.total_seconds() if ok else 0.0
        return ok

    def close(self) -> None:
        """Hand the lease over at once (another engine may take over evaluation)."""
        if self._lease_until:
            self._lease_until = 0.0
            executions.release_lease(self.db, CURSOR, self._holder)

    def run_once(self) -> int:
        """Process new events; returns how many `pending` executions were written."""
        self.pending_written = 0
        if not self.holds_lease():
            return 0
        position = events.get_cursor(self.db, CURSOR) or 0
        deadline = time.monotonic() + self.time_budget
        while True:
            batch = events.events_after(self.db, position, limit=self.batch_size, types=_TYPES)
            if not batch:
                break
            self._runs = {}
            for event in batch:
                changed = self._handle(event)
                position = event.id
                if changed:  # keep the window in which a crash could replay a change minimal
                    events.set_cursor(self.db, CURSOR, position)
            events.set_cursor(self.db, CURSOR, position)
            if len(batch) < self.batch_size or time.monotonic() > deadline:
                break
        return self.pending_written

    def _handle(self, event: e.Event) -> bool:
        if event.type == events.AUTOMATION_CHANGED:
            self._by_project = None
            return False
        if event.type == events.ALERT:
            return self._on_alert(event)
        wanted = RUN_METRIC if event.type == events.METRICS else RUN_STATE
        candidates = [a for a in self._automations().get(event.project_id, [])
                      if a.event_type == wanted and a.created_at <= event.created_at]
        changed = False
        for automation in candidates:
            try:
                if wanted == RUN_METRIC:
                    changed |= self._on_metrics(automation, event)
                else:
                    changed |= self._on_run_state(automation, event)
            except StoreError:
                raise
            except Exception:  # a bug must not stop the other automations
                log.exception("automation %r failed on event %s", automation.name, event.id)
        return changed

    def _automations(self) -> dict[int | None, list[e.Automation]]:
        if self._by_project is None:
            grouped: dict[int | None, list[e.Automation]] = {}
            for a in automations.list_automations(self.db, enabled_only=True, event_types=(RUN_METRIC, RUN_STATE)):
                grouped.setdefault(a.project_id, []).append(a)
            self._by_project = grouped
        return self._by_project

    def _context(self, run_id: str | None) -> _RunCtx | None:
        if run_id is None:
            return None
        if run_id not in self._runs:
            try:
                self._runs[run_id] = _RunCtx(*runs.run_context(self.db, run_id))
            except NotFound:
                self._runs[run_id] = None
        return self._runs[run_id]

    def _parse(self, automation: e.Automation, event: e.Event) -> Any:
        """The parsed filter, or None after reporting an invalid automation (once per version)."""
        key = (automation.id, automation.updated_at)
        if key not in self._parsed:
            try:
                if automation.event_type == RUN_METRIC:
                    parsed = conditions.parse_run_metric_filter(automation.event_filter)
                    run_filter.parse(parsed.run_filter)
                else:
                    parsed = parse_state_filter(automation.event_filter)
            except ValueError as exc:
                parsed = exc
            self._parsed[key] = parsed
        parsed = self._parsed[key]
        if isinstance(parsed, ValueError):
            if key not in self._reported:
                self._reported.add(key)
                log.warning("automation %r is invalid and cannot fire: %s", automation.name, parsed)
                executions.record_firing(
                    self.db, automation=automation, project_id=event.project_id, run_id=event.run_id,
                    event_type=automation.event_type, event={"event_id": event.id},
                    action_type=automation.action_type, action={}, status="failed",
                    reason=f"the automation is invalid and cannot fire: {parsed}; edit it to fix",
                )
            return None
        return parsed

    # --- run metric threshold --------------------------------------------------------------------

    def _on_metrics(self, automation: e.Automation, event: e.Event) -> bool:
        parsed = self._parse(automation, event)
        if parsed is None or parsed.condition.metric not in (event.payload.get("keys") or ()):
            return False
        ctx = self._context(event.run_id)
        if ctx is None or not run_filter.matches(parsed.run_filter, ctx.run):
            return False
        condition = parsed.condition
        first_step = int(event.payload.get("first_step", 0))
        last_step = int(event.payload.get("last_step", first_step))
        count = max(1, int(event.payload.get("count", 1)))
        steps, values, _walls = runs.metric_series(self.db, ctx.run.id, condition.metric, max_step=last_step,
                                                   last=condition.needed + count - 1)
        start = next((i for i, step in enumerate(steps) if step >= first_step), len(steps))
        results = conditions.evaluate_each(values.tolist(), condition, start)
        if not results:
            return False
        # Steps at or before the last recorded change were already judged (a replay after a
        # restart or a lost cursor): evaluating them again could see a stale false→true edge.
        done = executions.edge_step(self.db, automation.id, ctx.run.id)
        if done is not None:
            results = [(i, r) for i, r in results if int(steps[i]) > done]
        if not results:
            return False
        was_true, last_fired = executions.run_state(self.db, automation.id, ctx.run.id)
        changed = False
        for index, result in results:
            step = int(steps[index])
            if result.satisfied and not was_true:
                if self._fire_metric(automation, condition, ctx, step, result, last_fired):
                    last_fired = _now()
                was_true = changed = True
            elif not result.satisfied and was_true:
                executions.remember_condition(self.db, automation.id, ctx.run.id, False)
                was_true, changed = False, True
            else:
                continue
            executions.set_edge_step(self.db, automation.id, ctx.run.id, step)
        return changed

    def _fire_metric(self, automation: e.Automation, condition: conditions.ThresholdCondition, ctx: _RunCtx,
                     step: int, result: conditions.Evaluation, last_fired: datetime | None) -> bool:
        run, project = ctx.run, ctx.project
        variables = templating.variables_for_run_metric(
            automation_name=automation.name, entity_name=ctx.team.name, project_name=project.name,
            run_name=run.name, run_id=run.id, event_author=run.username, condition=condition,
            metric_value=result.value, metric_values=result.window, step=step,
        )
        description = conditions.describe(condition)
        value = format_number(result.value)
        event = templating.to_storable({
            "type": RUN_METRIC, "run_id": run.id, "run_name": run.name, "project_name": project.name,
            "entity_name": ctx.team.name, "author": run.username, "metric_name": condition.metric,
            "metric_value": result.value, "metric_values": list(result.window), "step": step,
            "condition": description, "run_url": variables["run_url"],
        })
        details = firing.Firing(
            event_type=RUN_METRIC, event=event, variables=variables, default_title=automation.name,
            default_text=f"{description}: now {value} at step {step} in run {run.name} ({project.name})",
            fields=(("Project", project.name), ("Run", f"{run.name} ({run.id})"), ("Condition", description),
                    ("Value", value), ("Step", str(step)), ("User", run.username or "-")),
            target={"kind": "run", "project_id": project.id, "project_name": project.name, "run_id": run.id},
        )
        return self._write(automation, details, ctx, last_fired)

    # --- run state -------------------------------------------------------------------------------

    def _on_run_state(self, automation: e.Automation, event: e.Event) -> bool:
        state = str(event.payload.get("state", ""))
        name = STATE_NAMES.get(state)  # killed never triggers
        parsed = self._parse(automation, event)
        if parsed is None or name is None or name not in parsed[1]:
            return False
        ctx = self._context(event.run_id)
        if ctx is None or not run_filter.matches(parsed[0], ctx.run):
            return False
        run, project = ctx.run, ctx.project
        _was, last_fired = executions.run_state(self.db, automation.id, run.id)
        variables = templating.variables_for_run_state(
            automation_name=automation.name, entity_name=ctx.team.name, project_name=project.name,
            run_name=run.name, run_id=run.id, event_author=run.username, run_status=state,
        )
        exit_code = event.payload.get("exit_code")
        details = firing.Firing(
            event_type=RUN_STATE,
            event={"type": RUN_STATE, "run_id": run.id, "run_name": run.name, "project_name": project.name,
                   "entity_name": ctx.team.name, "author": run.username, "new_run_state": state,
                   "previous_state": event.payload.get("previous"), "exit_code": exit_code,
                   "run_url": variables["run_url"]},
            variables=variables, default_title=automation.name,
            default_text=f"Run {run.name} ({project.name}) is now {state}"
                         + (f" (exit code {exit_code})" if exit_code not in (None, 0) else ""),
            fields=(("Project", project.name), ("Run", f"{run.name} ({run.id})"), ("State", state),
                    ("User", run.username or "-")),
            target={"kind": "run", "project_id": project.id, "project_name": project.name, "run_id": run.id},
        )
        self._write(automation, details, ctx, last_fired)
        return True

    # --- writing executions ----------------------------------------------------------------------

    def _write(self, automation: e.Automation, details: firing.Firing, ctx: _RunCtx,
               last_fired: datetime | None) -> bool:
        """Write the firing (one execution per target) or a `skipped` one; True if it fired."""
        now = _now()
        cooldown = timedelta(seconds=automation.cooldown_seconds)
        targets = firing.targets(self.db, automation, details)
        common = dict(automation=automation, project_id=ctx.project.id, run_id=ctx.run.id,
                      event_type=details.event_type, event=details.event)
        if last_fired is not None and cooldown and now - last_fired < cooldown:
            reason = (f"suppressed: already fired for run {ctx.run.name} at {last_fired:%Y-%m-%d %H:%M:%S} UTC; "
                      f"this automation fires at most once per run every {human_duration(cooldown.total_seconds())}")
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
        ctx = self._context(event.run_id)
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
