"""A small Python API for automations, in the spirit of the original SDK (reference §7):

    from desktop.engine.sdk import RunEvent, SendWebhook, create_automation
    event = (RunEvent.metric("val/acc").avg(5) > 0.9) & RunEvent.name.matches_regex("^prod")
    create_automation(db, team.id, project.id, "acc high", event >> SendWebhook(hook.id, {"run": "${run_name}"}))

Conditions build exactly the stored shapes the evaluator parses (run_events.parse_event
validates every one), so what this module creates is what the Automations page shows and edits.
Errors are `store.errors.ValidationError` (a ValueError) with a message for the user, except
aggregating twice, which is an AttributeError as in the original.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from store import automations, integrations
from store import entities as e
from store.db import Database
from store.errors import NotFound, ValidationError

from desktop.engine import run_events
from desktop.engine.actions import DESKTOP_NOTIFICATION, GENERIC_WEBHOOK, NO_OP, NOTIFICATION
from desktop.engine.actions.slack import SEVERITIES
from desktop.engine.conditions import MAX_WINDOW
from desktop.engine.regex import compile_regex
from desktop.engine.sdk_actions import Action, DoNothing, SendDesktopNotification, SendNotification, SendWebhook

__all__ = ["Action", "DoNothing", "NewAutomation", "RunEvent", "SendDesktopNotification", "SendNotification",
           "SendWebhook", "create_automation"]

MAX_NAME = automations.MAX_NAME


def _window(value: Any, what: str = "window") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"the {what} must be a whole number of values, not {value!r}")
    if not 0 < value <= MAX_WINDOW:
        raise ValidationError(f"the {what} must be between 1 and {MAX_WINDOW} values (got {value})")
    return value


def _number(value: Any, what: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"the {what} must be a finite number, not {value!r}")
    return value


def _positive(value: Any, what: str) -> float | int:
    if _number(value, what) <= 0:
        raise ValidationError(f"the {what} must be greater than 0 (got {value!r})")
    return value


# --- run filters -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunFilter:
    """A run filter expression over run fields (reference §2.3); combine with `&`, `|`, `~`."""

    expr: Mapping[str, Any]

    def __and__(self, other: Any) -> Any:
        if isinstance(other, Condition):
            return other & self
        if isinstance(other, RunFilter):
            return RunFilter({"$and": [*_terms(self.expr), *_terms(other.expr)]})
        return NotImplemented

    def __or__(self, other: Any) -> RunFilter:
        if not isinstance(other, RunFilter):
            return NotImplemented
        return RunFilter({"$or": [dict(self.expr), dict(other.expr)]})

    def __invert__(self) -> RunFilter:
        return RunFilter({"$nor": [dict(self.expr)]})

    def stored(self) -> str:
        """The stored run filter: a JSON string, always wrapped in `{"$and": [...]}`."""
        return json.dumps({"$and": _terms(self.expr)})


def _terms(expr: Mapping[str, Any]) -> list[dict[str, Any]]:
    if set(expr) == {"$and"}:
        return [dict(t) for t in expr["$and"]]
    return [dict(expr)]


class _Field:
    """A filterable run field (`RunEvent.name` is the server's `display_name`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _f(self, op: str, value: Any) -> RunFilter:
        return RunFilter({self.name: {op: value}})

    def eq(self, value: Any) -> RunFilter:
        return self._f("$eq", value)

    def ne(self, value: Any) -> RunFilter:
        return self._f("$ne", value)

    __eq__ = eq  # type: ignore[assignment]
    __ne__ = ne  # type: ignore[assignment]
    __hash__ = object.__hash__

    def contains(self, text: str) -> RunFilter:
        return self._f("$contains", str(text))

    def matches_regex(self, pattern: str) -> RunFilter:
        try:
            compile_regex(pattern, "regular expression")
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return self._f("$regex", pattern)

    def in_(self, values: Iterable[Any]) -> RunFilter:
        return self._f("$in", list(values))

    def not_in(self, values: Iterable[Any]) -> RunFilter:
        return self._f("$nin", list(values))

    def exists(self, present: bool = True) -> RunFilter:
        return self._f("$exists", bool(present))


# --- conditions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    """One run event condition, optionally narrowed by a run filter; `event >> action`."""

    event_type: str
    body: Mapping[str, Any]  # the event filter without its run filter
    run_filter: RunFilter | None = None

    def __and__(self, other: Any) -> Condition:
        if isinstance(other, RunFilter):
            merged = other if self.run_filter is None else self.run_filter & other
            return replace(self, run_filter=merged)
        if isinstance(other, Condition):
            raise ValidationError("an automation watches one condition; combine a condition only with "
                                  "run filters such as RunEvent.name.contains(...)")
        return NotImplemented

    __rand__ = __and__

    def event_filter(self) -> dict[str, Any]:
        """The stored `event_filter` (validated)."""
        stored = {"run_filter": self.run_filter.stored() if self.run_filter else '{"$and": []}', **self.body}
        try:
            run_events.parse_event(self.event_type, stored)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return json.loads(json.dumps(stored))

    def __rshift__(self, action: Action) -> NewAutomation:
        if not isinstance(action, Action):
            return NotImplemented
        return NewAutomation(self, action)

    then = __rshift__

    def __repr__(self) -> str:
        return run_events.describe_event(self.event_type, self.event_filter())


class MetricRef:
    """`RunEvent.metric(name)`, optionally aggregated over a window of its newest values."""

    def __init__(self, name: str, agg: str | None = None, window: int = 1) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name the metric, e.g. RunEvent.metric(\"val/acc\")")
        self.name, self.agg, self.window = name.strip(), agg, window

    def _agg(self, agg: str, window: int) -> MetricRef:
        if self.agg is not None:
            raise AttributeError(f"{self.agg}({self.name}) is already aggregated; aggregate once")
        return MetricRef(self.name, agg, _window(window))

    def avg(self, window: int) -> MetricRef:
        return self._agg("AVERAGE", window)

    mean = avg

    def min(self, window: int) -> MetricRef:
        return self._agg("MIN", window)

    def max(self, window: int) -> MetricRef:
        return self._agg("MAX", window)

    @property
    def latest(self) -> MetricRef:
        if self.agg is not None:
            raise AttributeError(f"{self.agg}({self.name}) is aggregated; .latest is the single newest value")
        return self

    def _threshold(self, cmp: str, value: Any) -> Condition:
        body = {"name": self.name, "agg_op": self.agg, "window_size": self.window, "cmp_op": cmp,
                "threshold": _number(value, "threshold")}
        return Condition(run_events.RUN_METRIC, {"run_metric_filter": {"threshold_filter": body}})

    def gt(self, value: Any) -> Condition:
        return self._threshold("$gt", value)

    def gte(self, value: Any) -> Condition:
        return self._threshold("$gte", value)

    def lt(self, value: Any) -> Condition:
        return self._threshold("$lt", value)

    def lte(self, value: Any) -> Condition:
        return self._threshold("$lte", value)

    __gt__, __ge__, __lt__, __le__ = gt, gte, lt, lte

    def changes_by(self, *, diff: Any = None, frac: Any = None, prior_window: int | None = None,
                   _direction: str = "ANY") -> Condition:
        """Change of the current window's aggregate against the prior window's: `diff` is an
        absolute amount, `frac` a relative one (0.1 = 10 %); exactly one of them."""
        if (diff is None) == (frac is None):
            raise ValidationError("give exactly one of diff= (absolute change) or frac= (relative change)")
        amount = _positive(diff if diff is not None else frac, "change amount")
        prior = self.window if prior_window is None else _window(prior_window, "prior window")
        body = {"name": self.name, "agg_op": self.agg, "current_window_size": self.window,
                "prior_window_size": prior, "change_type": "ABSOLUTE" if diff is not None else "RELATIVE",
                "change_dir": _direction, "change_amount": amount}
        return Condition(run_events.RUN_METRIC_CHANGE, {"run_metric_filter": {"change_filter": body}})

    def increases_by(self, *, diff: Any = None, frac: Any = None, prior_window: int | None = None) -> Condition:
        return self.changes_by(diff=diff, frac=frac, prior_window=prior_window, _direction="INCREASE")

    def decreases_by(self, *, diff: Any = None, frac: Any = None, prior_window: int | None = None) -> Condition:
        return self.changes_by(diff=diff, frac=frac, prior_window=prior_window, _direction="DECREASE")

    def zscore(self, window: int = 30) -> ZScoreRef:
        if self.agg is not None:
            raise AttributeError("a z-score is taken over raw values; drop the aggregation")
        return ZScoreRef(self.name, _window(window))

    def is_nan(self) -> Condition:
        """Runbell's own event: the newest value is NaN or ±Inf."""
        return Condition(run_events.RUN_METRIC_NAN, {"run_metric_filter": {"nan_filter": {"name": self.name}}})


class ZScoreRef:
    """`RunEvent.metric(m).zscore(N)`: `> t` (unusually high), `< -t` (low), `abs(...) > t` (either)."""

    def __init__(self, name: str, window: int, absolute: bool = False) -> None:
        self.name, self.window, self.absolute = name, window, absolute

    def __abs__(self) -> ZScoreRef:
        return ZScoreRef(self.name, self.window, True)

    abs = __abs__

    def _condition(self, threshold: float, direction: str) -> Condition:
        body = {"name": self.name, "window_size": self.window, "threshold": threshold, "change_dir": direction}
        return Condition(run_events.RUN_METRIC_ZSCORE, {"run_metric_filter": {"zscore_filter": body}})

    def __gt__(self, value: Any) -> Condition:
        threshold = _positive(value, "z-score threshold")
        return self._condition(threshold, "ANY" if self.absolute else "INCREASE")

    def __lt__(self, value: Any) -> Condition:
        if self.absolute:
            raise ValidationError("abs(z-score) < t would fire on ordinary values; use abs(...) > t")
        if _number(value, "z-score threshold") >= 0:
            raise ValidationError("a z-score below a threshold needs a negative threshold, e.g. < -3")
        return self._condition(-value, "DECREASE")

    __ge__, __le__ = __gt__, __lt__
    gt = gte = __gt__
    lt = lte = __lt__


class _StateField:
    """`RunEvent.state`: RUNNING / FINISHED / FAILED (CRASHED is an alias of FAILED)."""

    def in_(self, states: Iterable[str]) -> Condition:
        names = [str(s) for s in states] if not isinstance(states, str) else [states]
        try:
            parsed = run_events.parse_states(names)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return Condition(run_events.RUN_STATE, {"run_state_filter": {"states": sorted(parsed)}})

    def eq(self, state: str) -> Condition:
        return self.in_([state])

    __eq__ = eq  # type: ignore[assignment]
    __hash__ = object.__hash__


class RunEvent:
    """Run events: `RunEvent.metric(...)`, `RunEvent.state`, and the run fields to filter on."""

    name = _Field("display_name")
    user = _Field("username")
    tags = _Field("tags")
    state = _StateField()

    @staticmethod
    def metric(name: str) -> MetricRef:
        return MetricRef(name)

    @staticmethod
    def stalled(minutes: float) -> Condition:
        """Runbell's own event: a running run logs no new step for `minutes`."""
        return Condition(run_events.RUN_STALLED, {"run_stall_filter": {"minutes": _positive(minutes, "stall time")}})


@dataclass
class NewAutomation:
    """`event >> action`; name, description and enabled may be set here or on create."""

    event: Condition
    action: Action
    name: str | None = None
    description: str = ""
    enabled: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


# --- create ------------------------------------------------------------------------------------

def check_name(db: Database, team_id: int, name: Any, *, ignore_id: int | None = None) -> str:
    """Non-empty, at most 255 characters, unique in the team."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("an automation needs a name")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise ValidationError(f"an automation name has at most {MAX_NAME} characters (this one has {len(name)})")
    for existing in automations.list_automations(db, team_id=team_id):
        if existing.name == name and existing.id != ignore_id:
            raise ValidationError(f"an automation named {name!r} already exists; names are unique in a team")
    return name


def check_action(db: Database, team_id: int, action_type: str, config: Mapping[str, Any]) -> None:
    """The integration an action names exists in the team and is of the right kind."""
    kind = {NOTIFICATION: "slack", GENERIC_WEBHOOK: "webhook"}.get(action_type)
    if action_type not in (NOTIFICATION, GENERIC_WEBHOOK, DESKTOP_NOTIFICATION, NO_OP):
        raise ValidationError(f"Runbell cannot run {action_type} actions")
    for text_field in ("title", "message", "request_payload"):
        if config.get(text_field) is not None and not isinstance(config[text_field], str):
            raise ValidationError(f"the action's {text_field} must be text, not {type(config[text_field]).__name__}")
    if action_type in (NOTIFICATION, DESKTOP_NOTIFICATION) and config.get("severity") is not None:
        if config["severity"] not in SEVERITIES:
            raise ValidationError(f"unknown severity {config['severity']!r}; use INFO, WARN or ERROR")
    if kind is None:
        return
    integration_id = config.get("integration_id")
    try:
        integration = integrations.get_integration(db, int(integration_id))
    except (NotFound, TypeError, ValueError):
        raise ValidationError(f"there is no {kind} integration with id {integration_id!r}") from None
    if integration.team_id != team_id or integration.kind != kind:
        raise ValidationError(f"integration {integration.name!r} is not a {kind} integration of this team")
    if action_type == GENERIC_WEBHOOK and (config.get("request_payload") or "").strip():
        from desktop.engine import templating

        sample = {name: "x" for name in templating.variables_in(config["request_payload"])}
        try:
            templating.loads_strict(templating.render_json(config["request_payload"], sample))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"the payload is not valid JSON: {exc.msg} (line {exc.lineno}, "
                                  f"column {exc.colno})") from None


def create_automation(
    db: Database, team_id: int, project_id: int | None, name: str | None, event_action: NewAutomation, *,
    description: str | None = None, enabled: bool | None = None,
    cooldown_seconds: int = automations.DEFAULT_COOLDOWN_SECONDS, created_by: str = "",
) -> e.Automation:
    """Validate and store `event >> action` as a project automation; ValidationError says why not."""
    if not isinstance(event_action, NewAutomation):
        raise ValidationError("pass `event >> action`, e.g. (RunEvent.metric(\"loss\") > 1) >> DoNothing()")
    name = check_name(db, team_id, name if name is not None else event_action.name)
    event_filter = event_action.event.event_filter()
    action = event_action.action
    config = action.config()
    check_action(db, team_id, action.action_type, config)
    return automations.create_automation(
        db, team_id=team_id, project_id=project_id, name=name,
        description=description if description is not None else event_action.description,
        enabled=enabled if enabled is not None else event_action.enabled, created_by=created_by,
        event_type=event_action.event.event_type, event_filter=event_filter,
        action_type=action.action_type, action_config=config, cooldown_seconds=cooldown_seconds,
    )
