"""A `metrics` event against one metric automation (threshold, change, z-score, NaN/Inf).

Windows are read back from the database (only the values the new steps need), so the state
after a restart is exactly the state before it; the per-(automation, run) edge memory and the
step of the last change live in the database too (executions.run_state / edge_step).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from store import entities as e
from store import runs

from desktop.engine import conditions, firing, run_events, run_filter, templating
from desktop.engine.conditions import Evaluation, ThresholdCondition, format_number
from desktop.engine.metric_rules import ChangeCondition, NanCondition, ZScoreCondition

if TYPE_CHECKING:
    from desktop.engine.evaluator import Evaluator, RunCtx

# (step, evaluation, metric name) per evaluated step, oldest first
Results = list[tuple[int, Evaluation, str]]


def on_metrics(ev: Evaluator, automation: e.Automation, parsed: run_events.ParsedEvent, event: e.Event) -> bool:
    """Evaluate each new step of the batch; True if the edge memory changed."""
    condition = parsed.condition
    keys = tuple(event.payload.get("keys") or ())
    any_metric = isinstance(condition, NanCondition) and condition.metric is None
    if not keys or (not any_metric and condition.metric not in keys):
        return False
    ctx = ev.context(event.run_id)
    if ctx is None or not run_filter.matches(parsed.run_filter, ctx.run):
        return False
    first_step = int(event.payload.get("first_step", 0))
    last_step = int(event.payload.get("last_step", first_step))
    count = max(1, int(event.payload.get("count", 1)))
    if any_metric:
        results = _any_metric_nan(ev, ctx.run.id, keys, first_step, last_step)
    else:
        results = _evaluate(ev, event, ctx.run.id, condition, first_step, last_step, count)
    # Steps at or before the last recorded change were already judged (a replay after a
    # restart or a lost cursor): evaluating them again could see a stale false→true edge.
    memory = ev.memory
    done = memory.edge_step(automation.id, ctx.run.id, ctx.project.id)
    if done is not None:
        results = [r for r in results if r[0] > done]
    if not results:
        return False
    was_true, last_fired = memory.run_state(automation.id, ctx.run.id, ctx.project.id)
    changed = False
    for step, result, metric in results:
        if result.satisfied and not was_true:
            details = _firing(automation, parsed, ctx, step, result, metric)
            if ev.write(automation, details, ctx, last_fired, cause=event):
                last_fired = _fired_at(ev, automation, ctx)
            was_true = changed = True
        elif not result.satisfied and was_true:
            memory.remember_condition(automation.id, ctx.run.id, False)
            was_true, changed = False, True
        else:
            continue
        memory.set_edge_step(automation.id, ctx.run.id, step)
    return changed


def _evaluate(ev: Evaluator, event: e.Event, run_id: str, condition: Any, first_step: int, last_step: int,
              count: int) -> Results:
    """Each new step's evaluation. The window comes from the batch's metric tails (else the
    database); threshold automations that share metric, aggregation and window share the
    aggregated values, so 100 thresholds on one metric aggregate once per event."""
    n = condition.needed + count - 1
    shared = isinstance(condition, ThresholdCondition)
    memo_key = (event.id, run_id, condition.metric, n, condition.agg if shared else condition)
    points = ev.tails.memo.get(memo_key)
    if points is None:
        window = ev.tails.window(run_id, condition.metric, last_step, n)
        if window is None:
            steps, values, _walls = runs.metric_series(ev.db, run_id, condition.metric, max_step=last_step, last=n)
        else:
            steps, values = window
        start = int(np.searchsorted(steps, first_step, side="left"))
        points = (steps.tolist(), values.tolist(), start, {})
        ev.tails.memo[memo_key] = points
    steps, values, start, aggregated = points
    if not shared:
        return [(steps[i], r, condition.metric) for i, r in conditions.evaluate_each(values, condition, start)]
    # The same windows as conditions.evaluate_each, aggregated once per (event, metric, agg, window).
    spans = aggregated.get(condition.needed)
    if spans is None:
        need = condition.needed
        spans = []
        for end in range(max(start, need - 1), len(values)):
            window = tuple(values[end - need + 1:end + 1])
            spans.append((steps[end], conditions.aggregate(window, condition.agg), window, {}))
        aggregated[condition.needed] = spans
    results: Results = []
    for step, value, window, made in spans:
        satisfied = conditions.compare(value, condition.cmp, condition.threshold)
        if satisfied not in made:  # two Evaluations per step, shared by all thresholds
            made[satisfied] = Evaluation(satisfied, value, window)
        results.append((step, made[satisfied], condition.metric))
    return results


def _fired_at(ev: Evaluator, automation: e.Automation, ctx: RunCtx) -> Any:
    from desktop.engine import evaluator  # the clock tests move lives there

    return evaluator._now()


def _any_metric_nan(ev: Evaluator, run_id: str, keys: tuple[str, ...], first: int, last: int) -> Results:
    """Per step of the batch: is any metric logged at that step NaN/±Inf (the first such key)?"""
    by_step: dict[int, list[tuple[str, float]]] = {}
    for key in sorted(keys):
        steps, values, _walls = runs.metric_series(ev.db, run_id, key, min_step=first, max_step=last)
        for step, value in zip(steps.tolist(), values.tolist()):
            by_step.setdefault(int(step), []).append((key, float(value)))
    results: Results = []
    for step in sorted(by_step):
        bad = [(k, v) for k, v in by_step[step] if not math.isfinite(v)]
        key, value = bad[0] if bad else by_step[step][0]
        results.append((step, Evaluation(bool(bad), value, (value,)), key))
    return results


def _firing(automation: e.Automation, parsed: run_events.ParsedEvent, ctx: RunCtx, step: int,
            result: Evaluation, metric: str) -> firing.Firing:
    run, project, team = ctx.run, ctx.project, ctx.team
    condition = parsed.condition
    description = condition.describe()
    value = format_number(result.value)
    common: dict[str, Any] = dict(automation_name=automation.name, entity_name=team.name, project_name=project.name,
                                  run_name=run.name, run_id=run.id, event_author=run.username)
    if isinstance(condition, ThresholdCondition):
        variables = templating.variables_for_run_metric(
            **common, condition=condition, metric_value=result.value, metric_values=result.window, step=step)
        text = f"{description}: now {value} at step {step} in run {run.name} ({project.name})"
    else:
        variables = templating.variables_for_metric_event(
            **common, event_type=parsed.event_type, metric_name=metric, metric_value=result.value,
            metric_values=result.window, metric_filter=description,
            metric_filter_short=getattr(condition, "describe_short", condition.describe)(),
            comparison_op=_comparison(condition), threshold=_threshold(condition), step=step,
            extra=result.details)
        text = _text(condition, result, metric, step, run, project)
    event = templating.to_storable({
        "type": parsed.event_type, "run_id": run.id, "run_name": run.name, "project_name": project.name,
        "entity_name": team.name, "author": run.username, "metric_name": metric,
        "metric_value": result.value, "metric_values": list(result.window), "step": step,
        "condition": description, "run_url": variables["run_url"], **result.details,
    })
    fields = [("Project", project.name), ("Run", f"{run.name} ({run.id})"), ("Condition", description),
              ("Value", value), ("Step", str(step))]
    fields += [(k.replace("_", " ").capitalize(), format_number(v)) for k, v in result.details.items()]
    fields.append(("User", run.username or "-"))
    return firing.Firing(
        event_type=parsed.event_type, event=event, variables=variables, default_title=automation.name,
        default_text=text, fields=tuple(fields),
        target={"kind": "run", "project_id": project.id, "project_name": project.name, "run_id": run.id},
    )


def _comparison(condition: Any) -> str:
    if isinstance(condition, NanCondition):
        return "is"
    if isinstance(condition, ZScoreCondition) and condition.direction == "DECREASE":
        return "<="
    return ">="


def _threshold(condition: Any) -> float | None:
    if isinstance(condition, ChangeCondition):
        return condition.amount
    if isinstance(condition, ZScoreCondition):
        return condition.threshold
    return None


def _text(condition: Any, result: Evaluation, metric: str, step: int, run: e.Run, project: e.Project) -> str:
    where = f"at step {step} in run {run.name} ({project.name})"
    if isinstance(condition, NanCondition):
        return f"{metric} is {format_number(result.value)} {where}"
    if isinstance(condition, ChangeCondition):
        prior = format_number(result.details.get("prior_value"))
        return f"{condition.describe()}: {prior} → {format_number(result.value)} {where}"
    z = result.details.get("zscore")
    return f"{condition.describe()}: {metric} = {format_number(result.value)} (z = {format_number(z)}) {where}"
