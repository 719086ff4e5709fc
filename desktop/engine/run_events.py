"""Every run event type: its stored `event_filter` shape, parsing, description and builders.

| event_type          | event_filter (besides `"run_filter": "<json string>"`)                  |
|---------------------|-------------------------------------------------------------------------|
| RUN_METRIC          | `{"run_metric_filter": {"threshold_filter": {...}}}` (conditions.py)    |
| RUN_METRIC_CHANGE   | `{"run_metric_filter": {"change_filter": {...}}}` (metric_rules.py)     |
| RUN_METRIC_ZSCORE   | `{"run_metric_filter": {"zscore_filter": {...}}}` (metric_rules.py)     |
| RUN_METRIC_NAN      | `{"run_metric_filter": {"nan_filter": {"name": "loss" or null}}}`       |
| RUN_STATE           | `{"run_state_filter": {"states": ["FAILED", ...]}}`                     |
| RUN_STALLED         | `{"run_stall_filter": {"minutes": 30}}`                                 |

`describe_event(event_type, event_filter)` is the UI's one-line summary; it never raises.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from desktop.engine import conditions, metric_rules
from desktop.engine import run_filter as run_filters
from desktop.engine.conditions import format_number

RUN_METRIC = "RUN_METRIC"
RUN_METRIC_CHANGE = "RUN_METRIC_CHANGE"
RUN_METRIC_ZSCORE = "RUN_METRIC_ZSCORE"
RUN_METRIC_NAN = "RUN_METRIC_NAN"
RUN_STATE = "RUN_STATE"
RUN_STALLED = "RUN_STALLED"
METRIC_EVENTS = (RUN_METRIC, RUN_METRIC_CHANGE, RUN_METRIC_ZSCORE, RUN_METRIC_NAN)
RUN_EVENTS = (*METRIC_EVENTS, RUN_STATE, RUN_STALLED)
STATES = ("RUNNING", "FINISHED", "FAILED")
_METRIC_KEYS = {RUN_METRIC: "threshold_filter", RUN_METRIC_CHANGE: "change_filter",
                RUN_METRIC_ZSCORE: "zscore_filter", RUN_METRIC_NAN: "nan_filter"}
MAX_STALL_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class ParsedEvent:
    """A validated run event filter: the run filter text and the condition object."""

    event_type: str
    run_filter: str
    condition: Any  # ThresholdCondition | ChangeCondition | ZScoreCondition | NanCondition | StateCondition | StallCondition


@dataclass(frozen=True)
class StateCondition:
    states: frozenset[str]

    def describe(self) -> str:
        return "Run state → " + ", ".join(s.lower() for s in STATES if s in self.states)


@dataclass(frozen=True)
class StallCondition:
    minutes: float

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    def describe(self) -> str:
        return f"Run stalled for {format_number(self.minutes)} min"


def _run_filter(event_filter: Mapping[str, Any]) -> str:
    text = event_filter.get("run_filter") or run_filters.MATCH_ALL
    if not isinstance(text, str):
        raise ValueError("the run filter must be stored as a JSON string")
    run_filters.parse(text)
    return text


def parse_states(raw: Any) -> frozenset[str]:
    if not isinstance(raw, list) or not raw:
        raise ValueError("choose at least one run state (RUNNING, FINISHED or FAILED)")
    states = set()
    for state in raw:
        name = str(state).strip().upper()
        name = "FAILED" if name == "CRASHED" else name
        if name not in STATES:
            raise ValueError(f"unknown run state {state!r}; use RUNNING, FINISHED or FAILED")
        states.add(name)
    return frozenset(states)


def parse_stall(raw: Any) -> StallCondition:
    minutes = (raw or {}).get("minutes") if isinstance(raw, Mapping) else None
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not math.isfinite(minutes):
        raise ValueError("say after how many minutes without a new step a run counts as stalled")
    if minutes <= 0 or minutes > MAX_STALL_MINUTES:
        raise ValueError(f"the stall time must be more than 0 and at most {MAX_STALL_MINUTES} minutes "
                         f"(got {format_number(minutes)})")
    return StallCondition(minutes)


def parse_event(event_type: str, event_filter: Mapping[str, Any]) -> ParsedEvent:
    """Validate a stored run event filter; ValueError with a message for the user."""
    if not isinstance(event_filter, Mapping):
        raise ValueError("the event filter must be an object")
    if event_type == RUN_METRIC:
        parsed = conditions.parse_run_metric_filter(event_filter)
        run_filters.parse(parsed.run_filter)
        return ParsedEvent(event_type, parsed.run_filter, parsed.condition)
    if event_type in _METRIC_KEYS:
        metric_filter = event_filter.get("run_metric_filter")
        key = _METRIC_KEYS[event_type]
        if not isinstance(metric_filter, Mapping) or key not in metric_filter:
            raise ValueError(f"this automation has no {key.replace('_filter', '').replace('_', ' ')} condition")
        raw = metric_filter[key]
        condition: Any
        if event_type == RUN_METRIC_CHANGE:
            condition = metric_rules.parse_change(raw)
        elif event_type == RUN_METRIC_ZSCORE:
            condition = metric_rules.parse_zscore(raw)
        else:
            condition = metric_rules.parse_nan(raw)
        return ParsedEvent(event_type, _run_filter(event_filter), condition)
    if event_type == RUN_STATE:
        states = parse_states((event_filter.get("run_state_filter") or {}).get("states"))
        return ParsedEvent(event_type, _run_filter(event_filter), StateCondition(states))
    if event_type == RUN_STALLED:
        return ParsedEvent(event_type, _run_filter(event_filter), parse_stall(event_filter.get("run_stall_filter")))
    raise ValueError(f"{event_type} is not a run event")


def describe_condition(event_type: str, event_filter: Mapping[str, Any] | None) -> str:
    """One line saying when the automation fires (without the run filter); never raises."""
    try:
        return parse_event(event_type, event_filter or {}).condition.describe()
    except ValueError as exc:
        return f"invalid condition: {exc}"


def describe_event(event_type: str, event_filter: Mapping[str, Any] | None) -> str:
    """`describe_condition` followed by the run filter, e.g. `loss is NaN/Inf (runs by alice)`."""
    try:
        parsed = parse_event(event_type, event_filter or {})
    except ValueError as exc:
        return f"invalid condition: {exc}"
    text = parsed.condition.describe()
    runs = run_filters.describe(parsed.run_filter)
    return text if runs == "all runs" else f"{text} ({runs})"


# --- builders for the UI and the Python API (each validates what it builds) -------------------------

def change_filter(
    metric: str, *, amount: float, agg: str | None = "AVERAGE",
    current_window: int = metric_rules.DEFAULT_CURRENT_WINDOW, prior_window: int = metric_rules.DEFAULT_PRIOR_WINDOW,
    change_type: str = "RELATIVE", direction: str = "ANY", run_filter: str = run_filters.MATCH_ALL,
) -> dict[str, Any]:
    condition = metric_rules.parse_change({
        "name": metric, "agg_op": agg, "current_window_size": current_window, "prior_window_size": prior_window,
        "change_type": change_type, "change_dir": direction, "change_amount": amount})
    run_filters.parse(run_filter)
    return {"run_filter": run_filter, "run_metric_filter": {"change_filter": condition.to_filter()}}


def zscore_filter(
    metric: str, *, window: int = metric_rules.DEFAULT_ZSCORE_WINDOW,
    threshold: float = metric_rules.DEFAULT_ZSCORE_THRESHOLD, direction: str = "ANY",
    run_filter: str = run_filters.MATCH_ALL,
) -> dict[str, Any]:
    condition = metric_rules.parse_zscore({"name": metric, "window_size": window, "threshold": threshold,
                                           "change_dir": direction})
    run_filters.parse(run_filter)
    return {"run_filter": run_filter, "run_metric_filter": {"zscore_filter": condition.to_filter()}}


def nan_filter(metric: str | None = None, *, run_filter: str = run_filters.MATCH_ALL) -> dict[str, Any]:
    condition = metric_rules.parse_nan({"name": metric})
    run_filters.parse(run_filter)
    return {"run_filter": run_filter, "run_metric_filter": {"nan_filter": condition.to_filter()}}


def state_filter(states: Iterable[str], *, run_filter: str = run_filters.MATCH_ALL) -> dict[str, Any]:
    parsed = parse_states(list(states))
    run_filters.parse(run_filter)
    return {"run_filter": run_filter, "run_state_filter": {"states": sorted(parsed)}}


def stall_filter(minutes: float, *, run_filter: str = run_filters.MATCH_ALL) -> dict[str, Any]:
    parse_stall({"minutes": minutes})
    run_filters.parse(run_filter)
    return {"run_filter": run_filter, "run_stall_filter": {"minutes": minutes}}
