"""RUN_STATE automations (a `run_state` event) and RUN_STALLED automations (a scheduled check).

Run state: running / finished / failed; `crashed` (stale heartbeat, case C4) counts as failed and
`killed` never fires. The id of the last event that fired is kept per (automation, run) so a
replay after a crash between the firing and the cursor write does not fire again.

Stalled: a `running` run whose newest step is older than T minutes. When a step is "new" is
judged by the run's `last_step` as the check sees it; after a restart it is the time of the
run's newest `metrics` event (or its creation), so a stall that began while the engine was down
still fires, and one that already fired does not fire again (the edge memory is in the database).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from store import entities as e
from store import events, runs

from desktop.engine import firing, run_events, run_filter, templating
from desktop.engine.conditions import format_number

if TYPE_CHECKING:
    from desktop.engine.evaluator import Evaluator

STATE_NAMES = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED", "crashed": "FAILED"}


def on_run_state(ev: Evaluator, automation: e.Automation, parsed: run_events.ParsedEvent, event: e.Event) -> bool:
    state = str(event.payload.get("state", ""))
    name = STATE_NAMES.get(state)  # killed never triggers
    if name is None or name not in parsed.condition.states:
        return False
    ctx = ev.context(event.run_id)
    if ctx is None or not run_filter.matches(parsed.run_filter, ctx.run):
        return False
    done = ev.memory.edge_step(automation.id, ctx.run.id, ctx.project.id)
    if done is not None and done >= event.id:
        return False  # already judged before a restart
    run, project = ctx.run, ctx.project
    _was, last_fired = ev.memory.run_state(automation.id, run.id, project.id)
    variables = templating.variables_for_run_state(
        automation_name=automation.name, entity_name=ctx.team.name, project_name=project.name,
        run_name=run.name, run_id=run.id, event_author=run.username, run_status=state,
    )
    exit_code = event.payload.get("exit_code")
    details = firing.Firing(
        event_type=run_events.RUN_STATE,
        event={"type": run_events.RUN_STATE, "run_id": run.id, "run_name": run.name, "project_name": project.name,
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
    ev.write(automation, details, ctx, last_fired, cause=event)
    ev.memory.set_edge_step(automation.id, run.id, event.id)
    return True


def _step_since(ev: Evaluator, run: e.Run, now: datetime) -> datetime:
    """Since when the run's newest step is unchanged, as far as this engine knows."""
    seen = ev.step_seen.get(run.id)
    if seen is not None and seen[0] == run.last_step:
        return seen[1]
    if seen is None:  # first look since the engine started: trust the database
        since = events.last_event_at(ev.db, events.METRICS, run.id) or run.created_at
    else:
        since = now  # a new step since the last check
    ev.step_seen[run.id] = (run.last_step, since)
    return since


def check_stalls(ev: Evaluator, automations: Sequence[e.Automation], now: datetime) -> None:
    by_project: dict[int | None, list[e.Automation]] = {}
    for automation in automations:
        by_project.setdefault(automation.project_id, []).append(automation)
    for project_id, group in by_project.items():
        if project_id is None:
            continue
        running = [r for r in runs.list_runs(ev.db, project_id) if r.state == "running"]
        live = {r.id for r in running}
        for run_id in [r for r in ev.step_seen if r not in live]:
            ev.step_seen.pop(run_id, None)  # ended runs are not watched any more
        for run in running:
            since = _step_since(ev, run, now)
            for automation in group:
                parsed = ev.parse(automation, None)
                if parsed is None or not run_filter.matches(parsed.run_filter, run):
                    continue
                _check(ev, automation, parsed, run, since, now)


def _check(ev: Evaluator, automation: e.Automation, parsed: run_events.ParsedEvent, run: e.Run,
           since: datetime, now: datetime) -> None:
    stalled = (now - since).total_seconds() >= parsed.condition.seconds
    was_true, last_fired = ev.memory.run_state(automation.id, run.id, run.project_id)
    if stalled == was_true:
        return
    if not stalled:
        ev.memory.remember_condition(automation.id, run.id, False)
        return
    ctx = ev.context(run.id)
    if ctx is None:
        return
    project = ctx.project
    minutes = round((now - since).total_seconds() / 60, 1)
    variables = templating.variables_for_run_stalled(
        automation_name=automation.name, entity_name=ctx.team.name, project_name=project.name,
        run_name=run.name, run_id=run.id, event_author=run.username, stalled_minutes=minutes,
        step=run.last_step,
    )
    details = firing.Firing(
        event_type=run_events.RUN_STALLED,
        event={"type": run_events.RUN_STALLED, "run_id": run.id, "run_name": run.name, "project_name": project.name,
               "entity_name": ctx.team.name, "author": run.username, "step": run.last_step,
               "last_step_at": since.isoformat(), "stalled_minutes": minutes,
               "condition": parsed.condition.describe(), "run_url": variables["run_url"]},
        variables=variables, default_title=automation.name,
        default_text=(f"Run {run.name} ({project.name}) has logged no new step for {format_number(minutes)} min "
                      f"(last step {run.last_step})"),
        fields=(("Project", project.name), ("Run", f"{run.name} ({run.id})"),
                ("No new step for", f"{format_number(minutes)} min"), ("Last step", str(run.last_step)),
                ("User", run.username or "-")),
        target={"kind": "run", "project_id": project.id, "project_name": project.name, "run_id": run.id},
    )
    ev.write(automation, details, ctx, last_fired)
