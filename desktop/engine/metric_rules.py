"""Run-metric change, z-score and NaN/Inf conditions: parse the stored filter, evaluate a window.

Pure functions, no database. Stored shapes are W&B's (reference §2.5, §2.6) plus Runbell's own
NaN filter:
- `change_filter`: `{"name", "agg_op", "current_window_size", "prior_window_size", "change_type":
  "RELATIVE"|"ABSOLUTE", "change_dir": "INCREASE"|"DECREASE"|"ANY", "change_amount": > 0}`.
  `cur = agg(last N)`, `prior = agg(the M before)`, `delta = cur - prior`; relative is
  `delta / |prior|` (a fraction: 0.1 = 10 %) and undefined when prior is 0. Fires when the change
  in the chosen direction is at least the amount. `agg_op` null = the newest value of each window.
- `zscore_filter`: `{"name", "window_size", "threshold": > 0, "change_dir"}`; z of the newest value
  against the mean and population standard deviation of the N values before it; undefined when
  those N values are all equal (deviation 0).
- `nan_filter`: `{"name": "loss"}` or `{"name": null}` for any metric; true while the newest value
  is NaN or ±Inf.

"At least" comparisons allow a relative tolerance of 1e-9: `(1.1 - 1.0) / 1.0` is not bit-equal
to a typed 0.1. A NaN anywhere in a window makes change and z-score false (case C2).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.engine.conditions import MAX_WINDOW, Evaluation, aggregate, format_number, parse_agg, parse_metric_name

DEFAULT_CURRENT_WINDOW = 10
DEFAULT_PRIOR_WINDOW = 50
DEFAULT_ZSCORE_WINDOW = 30
DEFAULT_ZSCORE_THRESHOLD = 3.0
CHANGE_TYPES = {"RELATIVE": "RELATIVE", "REL": "RELATIVE", "ABSOLUTE": "ABSOLUTE", "ABS": "ABSOLUTE"}
CHANGE_DIRS = {"INCREASE": "INCREASE", "INC": "INCREASE", "DECREASE": "DECREASE", "DEC": "DECREASE",
               "ANY": "ANY", "EITHER": "ANY", "ABOVE": "INCREASE", "BELOW": "DECREASE"}
_TOLERANCE = 1e-9


def at_least(value: float, amount: float) -> bool:
    """`value >= amount` with a relative tolerance; False for NaN."""
    if math.isnan(value):
        return False
    return value >= amount or math.isclose(value, amount, rel_tol=_TOLERANCE, abs_tol=1e-12)


def _in_direction(value: float, direction: str, amount: float) -> bool:
    if direction == "INCREASE":
        return at_least(value, amount)
    if direction == "DECREASE":
        return at_least(-value, amount)
    return at_least(abs(value), amount)


def _metric(data: Mapping[str, Any]) -> str:
    return parse_metric_name(data).strip()


def _window(value: Any, default: int, what: str) -> int:
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"the {what} must be a whole number of values, not {value!r}")
    if value <= 0:
        raise ValueError(f"the {what} must hold at least 1 value (got {value})")
    if value > MAX_WINDOW:
        raise ValueError(f"the {what} holds at most {MAX_WINDOW} values (got {value})")
    return value


def _positive(value: Any, what: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"the {what} must be a number, not {value!r}")
    if value <= 0:
        raise ValueError(f"the {what} must be greater than 0 (got {format_number(value)})")
    return value


def _choice(value: Any, table: Mapping[str, str], default: str, what: str) -> str:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().upper() in table:
        return table[value.strip().upper()]
    raise ValueError(f"unknown {what} {value!r}; use {', '.join(sorted(set(table.values())))}")


# --- change ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChangeCondition:
    """`agg(last N) vs agg(the M before)` changes by at least `amount` in `direction`."""

    metric: str
    agg: str | None
    current_window: int
    prior_window: int
    change_type: str  # RELATIVE | ABSOLUTE
    direction: str  # INCREASE | DECREASE | ANY
    amount: float

    @property
    def needed(self) -> int:
        return self.current_window + self.prior_window

    def evaluate_window(self, window: Sequence[float]) -> Evaluation:
        values = tuple(float(v) for v in window)
        prior = aggregate(values[:self.prior_window], self.agg)
        current = aggregate(values[self.prior_window:], self.agg)
        delta = current - prior if not (math.isnan(prior) or math.isnan(current)) else math.nan
        if self.change_type == "RELATIVE":
            change = delta / abs(prior) if prior != 0 and not math.isnan(delta) else math.nan
        else:
            change = delta
        return Evaluation(_in_direction(change, self.direction, self.amount), current, values,
                          {"prior_value": prior, "change": change})

    def describe(self) -> str:
        subject = self.metric if self.agg is None else f"{self.agg}({self.metric})"
        verb = {"INCREASE": "increases", "DECREASE": "decreases", "ANY": "changes"}[self.direction]
        return f"{subject} over {self.current_window} vs prior {self.prior_window} {verb} by >= {self.amount_text()}"

    def describe_short(self) -> str:
        subject = self.metric if self.agg is None else f"{self.agg}({self.metric})"
        verb = {"INCREASE": "increases", "DECREASE": "decreases", "ANY": "changes"}[self.direction]
        return f"{subject} {verb} by {self.amount_text()}"

    def amount_text(self) -> str:
        if self.change_type == "RELATIVE":
            return f"{format_number(round(self.amount * 100, 9))}%"
        return format_number(self.amount)

    def to_filter(self) -> dict[str, Any]:
        return {"name": self.metric, "agg_op": self.agg, "current_window_size": self.current_window,
                "prior_window_size": self.prior_window, "change_type": self.change_type,
                "change_dir": self.direction, "change_amount": self.amount}


def parse_change(data: Mapping[str, Any]) -> ChangeCondition:
    """Validate a stored `change_filter`; ValueError says what is wrong, for the user."""
    if not isinstance(data, Mapping):
        raise ValueError("the change condition must be an object")
    agg = parse_agg(data.get("agg_op"))
    if data.get("change_amount") is None:
        raise ValueError("the change condition needs an amount")
    return ChangeCondition(
        metric=_metric(data), agg=agg,
        current_window=_window(data.get("current_window_size"), DEFAULT_CURRENT_WINDOW, "current window"),
        prior_window=_window(data.get("prior_window_size"), DEFAULT_PRIOR_WINDOW, "prior window"),
        change_type=_choice(data.get("change_type"), CHANGE_TYPES, "RELATIVE", "change type"),
        direction=_choice(data.get("change_dir"), CHANGE_DIRS, "ANY", "direction"),
        amount=_positive(data.get("change_amount"), "change amount"),
    )


# --- z-score ---------------------------------------------------------------------------------------

def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population standard deviation; std is exactly 0 when all values are equal
    (a float mean of equal values can be off by an ulp, which would make z enormous)."""
    n = len(values)
    try:
        mean = math.fsum(values) / n
    except (OverflowError, ValueError):
        return math.nan, math.nan
    if min(values) == max(values):
        return float(values[0]), 0.0
    try:
        var = math.fsum((v - mean) ** 2 for v in values) / n
    except (OverflowError, ValueError):
        return mean, math.nan
    return mean, math.sqrt(var)


@dataclass(frozen=True)
class ZScoreCondition:
    """The newest value is at least `threshold` standard deviations from the N before it."""

    metric: str
    window: int
    threshold: float
    direction: str  # INCREASE (above) | DECREASE (below) | ANY (either)

    @property
    def needed(self) -> int:
        return self.window + 1

    def evaluate_window(self, window: Sequence[float]) -> Evaluation:
        values = tuple(float(v) for v in window)
        newest, before = values[-1], values[:-1]
        if any(math.isnan(v) for v in values):
            return Evaluation(False, newest, values, {"zscore": math.nan})
        mean, std = mean_std(before)
        if not math.isfinite(mean) or not std > 0 or not math.isfinite(std):
            z = math.nan  # undefined: no deviation to measure against
        else:
            z = (newest - mean) / std
        return Evaluation(_in_direction(z, self.direction, self.threshold), newest, values,
                          {"zscore": z, "mean": mean, "std": std})

    def describe(self) -> str:
        t = format_number(self.threshold)
        if self.direction == "INCREASE":
            return f"zscore({self.metric}) over {self.window} >= +{t}"
        if self.direction == "DECREASE":
            return f"zscore({self.metric}) over {self.window} <= -{t}"
        return f"|zscore({self.metric})| over {self.window} >= {t}"

    def describe_short(self) -> str:
        t = format_number(self.threshold)
        if self.direction == "INCREASE":
            return f"zscore({self.metric}) > +{t}"
        if self.direction == "DECREASE":
            return f"zscore({self.metric}) < -{t}"
        return f"abs(zscore({self.metric})) > {t}"

    def to_filter(self) -> dict[str, Any]:
        return {"name": self.metric, "window_size": self.window, "threshold": self.threshold,
                "change_dir": self.direction}


def parse_zscore(data: Mapping[str, Any]) -> ZScoreCondition:
    if not isinstance(data, Mapping):
        raise ValueError("the z-score condition must be an object")
    threshold = data.get("threshold")
    if threshold is None:
        threshold = DEFAULT_ZSCORE_THRESHOLD
    elif isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold < 0:
        threshold = -threshold  # the SDK's `zscore < -3` means 3 below; the direction says which side
    return ZScoreCondition(
        metric=_metric(data), window=_window(data.get("window_size"), DEFAULT_ZSCORE_WINDOW, "window"),
        threshold=_positive(threshold, "z-score threshold"),
        direction=_choice(data.get("change_dir"), CHANGE_DIRS, "ANY", "direction"),
    )


# --- NaN / Inf -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NanCondition:
    """The newest value of one metric (or of any metric when `metric` is None) is NaN or ±Inf."""

    metric: str | None

    @property
    def needed(self) -> int:
        return 1

    def evaluate_window(self, window: Sequence[float]) -> Evaluation:
        value = float(window[-1])
        return Evaluation(not math.isfinite(value), value, (value,))

    def describe(self) -> str:
        return f"{self.metric or 'any metric'} is NaN/Inf"

    def to_filter(self) -> dict[str, Any]:
        return {"name": self.metric}


def parse_nan(data: Mapping[str, Any] | None) -> NanCondition:
    data = data or {}
    if not isinstance(data, Mapping):
        raise ValueError("the NaN condition must be an object")
    name = data.get("name")
    if name is None or (isinstance(name, str) and name.strip() in ("", "*")):
        return NanCondition(None)
    if not isinstance(name, str):
        raise ValueError(f"the metric name must be text, not {name!r}")
    return NanCondition(name.strip())
