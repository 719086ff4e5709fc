"""Run-metric threshold conditions: parse the stored filter, aggregate a window, compare.

Pure functions, no database. The stored shape is W&B's (reference §2.4):
`{"name": "val/acc", "agg_op": "AVERAGE"|"MIN"|"MAX"|None, "window_size": 5,
  "cmp_op": "$gt", "threshold": 0.9}`; `agg_op` None means the single latest value.

Rules (SPEC §4): a window is evaluated only once it holds N values; any NaN in the window makes
the condition false (case C2: NaN is the job of the NaN event, never a threshold firing).
`$eq`/`$ne` compare with a relative tolerance of 1e-9, because an average of floats is
almost never bit-equal to a typed threshold.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from desktop.engine import run_filter as run_filters

DEFAULT_WINDOW = 5
MAX_WINDOW = 10_000
AGG_OPS = ("AVERAGE", "MIN", "MAX")
_AGG_ALIASES = {"AVERAGE": "AVERAGE", "AVG": "AVERAGE", "MEAN": "AVERAGE", "MIN": "MIN", "MAX": "MAX",
                "LAST": None, "LATEST": None}
CMP_OPS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<=", "$eq": "==", "$ne": "!="}
_CMP_ALIASES = {symbol: op for op, symbol in CMP_OPS.items()} | {"=": "$eq", "<>": "$ne"}
_EQ_REL_TOL = 1e-9


def format_number(value: float | int | None) -> str:
    """A short, exact-enough text for a metric value or threshold (`NaN`, `Infinity` spelled out)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return format(value, ".10g")


@dataclass(frozen=True)
class ThresholdCondition:
    """`agg(last N values of metric) cmp threshold`."""

    metric: str
    agg: str | None
    window: int
    cmp: str
    threshold: float

    @property
    def needed(self) -> int:
        """How many values one evaluation needs (1 when there is no aggregation)."""
        return 1 if self.agg is None else self.window

    def describe(self) -> str:
        return describe(self)

    def evaluate_window(self, window: Sequence[float]) -> Evaluation:
        """Evaluate exactly `needed` values (oldest first)."""
        values = tuple(float(v) for v in window)
        value = aggregate(values, self.agg)
        return Evaluation(compare(value, self.cmp, self.threshold), value, values)

    def to_filter(self) -> dict[str, Any]:
        """The stored `threshold_filter` shape."""
        return {"name": self.metric, "agg_op": self.agg, "window_size": self.window,
                "cmp_op": self.cmp, "threshold": self.threshold}


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a full window."""

    satisfied: bool
    value: float  # the aggregated value (NaN if the window holds a NaN)
    window: tuple[float, ...]
    details: dict[str, float] = field(default_factory=dict)  # e.g. prior value, z-score


class MetricCondition(Protocol):
    """What the evaluator needs of a threshold, change or z-score condition."""

    metric: str

    @property
    def needed(self) -> int: ...

    def evaluate_window(self, window: Sequence[float]) -> Evaluation: ...

    def describe(self) -> str: ...


def _number(value: Any, what: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"the {what} must be a number, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"the {what} must be a finite number, not {format_number(value)}")
    return value


def parse_metric_name(data: Mapping[str, Any]) -> str:
    metric = data.get("name")
    if not isinstance(metric, str) or not metric.strip():
        raise ValueError("choose the metric the condition watches (the metric name is empty)")
    return metric


def parse_agg(raw: Any) -> str | None:
    """A stored `agg_op` (or an SDK spelling) → AVERAGE | MIN | MAX | None (the latest value)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and raw.strip().upper() in _AGG_ALIASES:
        return _AGG_ALIASES[raw.strip().upper()]
    raise ValueError(f"unknown aggregation {raw!r}; use AVERAGE, MIN, MAX or none (latest value)")


def parse_threshold(data: Mapping[str, Any]) -> ThresholdCondition:
    """Validate a stored `threshold_filter` dict; ValueError says what is wrong, for the user."""
    if not isinstance(data, Mapping):
        raise ValueError("the threshold condition must be an object")
    metric = parse_metric_name(data)
    agg = parse_agg(data.get("agg_op"))
    window_raw = data.get("window_size")
    if window_raw is None:
        window_raw = DEFAULT_WINDOW if agg else 1
    if isinstance(window_raw, bool) or not isinstance(window_raw, int):
        raise ValueError(f"the window must be a whole number of values, not {window_raw!r}")
    if window_raw <= 0:
        raise ValueError(f"the window must hold at least 1 value (got {window_raw})")
    if window_raw > MAX_WINDOW:
        raise ValueError(f"the window holds at most {MAX_WINDOW} values (got {window_raw})")
    cmp_raw = data.get("cmp_op")
    cmp = cmp_raw if cmp_raw in CMP_OPS else _CMP_ALIASES.get(cmp_raw) if isinstance(cmp_raw, str) else None
    if cmp is None:
        raise ValueError(f"unknown comparison {cmp_raw!r}; use one of {', '.join(CMP_OPS)}")
    if "threshold" not in data:
        raise ValueError("the condition needs a threshold")
    threshold = _number(data["threshold"], "threshold")
    return ThresholdCondition(metric.strip(), agg, window_raw, cmp, threshold)


@dataclass(frozen=True)
class RunMetricFilter:
    """A parsed RUN_METRIC event filter: the run filter text and the threshold condition."""

    run_filter: str
    condition: ThresholdCondition


def parse_run_metric_filter(event_filter: Mapping[str, Any]) -> RunMetricFilter:
    """Parse a stored RUN_METRIC `event_filter` (also the legacy top-level `metric_filter`)."""
    if not isinstance(event_filter, Mapping):
        raise ValueError("the event filter must be an object")
    metric_filter = event_filter.get("run_metric_filter")
    if metric_filter is None and "metric_filter" in event_filter:
        threshold = event_filter["metric_filter"]
    elif isinstance(metric_filter, Mapping) and "threshold_filter" in metric_filter:
        threshold = metric_filter["threshold_filter"]
    else:
        raise ValueError("this automation has no run metric threshold condition")
    run_filter = event_filter.get("run_filter") or '{"$and": []}'
    if not isinstance(run_filter, str):
        raise ValueError("the run filter must be stored as a JSON string")
    return RunMetricFilter(run_filter, parse_threshold(threshold))


def aggregate(values: Sequence[float], agg: str | None) -> float:
    """Aggregate a non-empty window; NaN if any value is NaN."""
    if not values:
        raise ValueError("cannot aggregate an empty window")
    if any(math.isnan(v) for v in values):
        return math.nan
    if agg is None:
        return float(values[-1])
    if agg == "AVERAGE":
        try:
            total = math.fsum(values)
        except (ValueError, OverflowError):  # inf + -inf, or an intermediate overflow
            total = sum(float(v) for v in values)
        return total / len(values)
    if agg == "MIN":
        return float(min(values))
    if agg == "MAX":
        return float(max(values))
    raise ValueError(f"unknown aggregation {agg!r}")


def compare(value: float, cmp: str, threshold: float) -> bool:
    """`value cmp threshold`; always False for NaN."""
    if math.isnan(value):
        return False
    if cmp == "$gt":
        return value > threshold
    if cmp == "$gte":
        return value >= threshold
    if cmp == "$lt":
        return value < threshold
    if cmp == "$lte":
        return value <= threshold
    equal = value == threshold or (
        math.isfinite(value) and math.isclose(value, threshold, rel_tol=_EQ_REL_TOL, abs_tol=1e-12)
    )
    if cmp == "$eq":
        return equal
    if cmp == "$ne":
        return not equal
    raise ValueError(f"unknown comparison {cmp!r}")


def evaluate(values: Sequence[float], condition: MetricCondition) -> Evaluation | None:
    """Evaluate the newest window of `values` (oldest first); None while the window is not full."""
    n = condition.needed
    if len(values) < n:
        return None
    return condition.evaluate_window(values[len(values) - n:])


def evaluate_each(values: Sequence[float], condition: MetricCondition, start: int) -> list[tuple[int, Evaluation]]:
    """Evaluate the window ending at each index ≥ `start` that has a full window behind it.

    Used for a batch of new points: a crossing in the middle of a batch is not missed.
    """
    n = condition.needed
    results = []
    for end in range(max(start, n - 1), len(values)):
        result = evaluate(values[end - n + 1:end + 1], condition)
        if result is not None:
            results.append((end, result))
    return results


def describe(condition: ThresholdCondition) -> str:
    """Human text, e.g. `AVERAGE(val/acc) over 5 > 0.9` or `loss < 0.1` (latest value)."""
    symbol = CMP_OPS[condition.cmp]
    threshold = format_number(condition.threshold)
    if condition.agg is None:
        return f"{condition.metric} {symbol} {threshold}"
    return f"{condition.agg}({condition.metric}) over {condition.window} {symbol} {threshold}"


def describe_short(condition: ThresholdCondition) -> str:
    """W&B's repr without the window: `AVERAGE(loss) > 0.5`."""
    symbol = CMP_OPS[condition.cmp]
    subject = condition.metric if condition.agg is None else f"{condition.agg}({condition.metric})"
    return f"{subject} {symbol} {format_number(condition.threshold)}"


def describe_filter(event_filter: Mapping[str, Any]) -> str:
    """Description of a stored RUN_METRIC filter, or the validation error text if it is invalid."""
    try:
        return describe(parse_run_metric_filter(event_filter).condition)
    except ValueError as exc:
        return f"invalid condition: {exc}"


def threshold_filter(
    metric: str, *, agg: str | None = None, window: int = DEFAULT_WINDOW, cmp: str = "$gt",
    threshold: float = 0.0, run_filter: str = '{"$and": []}',
) -> dict[str, Any]:
    """Build (and validate, run filter included) a stored RUN_METRIC event filter, e.g. for the
    plot bell dialog. ValueError with a message for the user."""
    condition = parse_threshold({"name": metric, "agg_op": agg, "window_size": window,
                                 "cmp_op": cmp, "threshold": threshold})
    run_filters.parse(run_filter)
    return {"run_filter": run_filter, "run_metric_filter": {"threshold_filter": condition.to_filter()}}
