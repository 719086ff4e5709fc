"""Change, z-score and NaN/Inf conditions and the run event filters, at their boundaries (pure)."""
from __future__ import annotations

import math

import pytest

from desktop.engine import run_events
from desktop.engine.conditions import evaluate
from desktop.engine.metric_rules import parse_change, parse_nan, parse_zscore

NAN, INF = math.nan, math.inf


def change(amount, *, kind="ABSOLUTE", direction="ANY", agg="AVERAGE", current=2, prior=2):
    return parse_change({"name": "loss", "agg_op": agg, "current_window_size": current,
                         "prior_window_size": prior, "change_type": kind, "change_dir": direction,
                         "change_amount": amount})


def zscore(threshold=2.0, direction="ANY", window=4):
    return parse_zscore({"name": "acc", "window_size": window, "threshold": threshold, "change_dir": direction})


# --- change ------------------------------------------------------------------------------------

def test_change_waits_for_both_windows_full():
    cond = change(1.0, current=2, prior=3)
    assert cond.needed == 5
    assert evaluate([0, 0, 0, 5], cond) is None
    result = evaluate([0, 0, 0, 5, 5], cond)
    assert result.satisfied and result.value == 5 and result.details["prior_value"] == 0


@pytest.mark.parametrize(("direction", "values", "fires"), [
    ("INCREASE", [1, 1, 2, 2], True),   # +1 exactly: inclusive
    ("INCREASE", [1, 1, 1.9, 1.9], False),
    ("INCREASE", [2, 2, 1, 1], False),  # a decrease never satisfies INCREASE
    ("DECREASE", [2, 2, 1, 1], True),
    ("DECREASE", [1, 1, 2, 2], False),
    ("ANY", [2, 2, 1, 1], True),
    ("ANY", [1, 1, 2, 2], True),
    ("ANY", [1, 1, 1.5, 1.5], False),
])
def test_absolute_change_directions_at_the_amount(direction, values, fires):
    assert evaluate(values, change(1.0, direction=direction)).satisfied is fires


@pytest.mark.parametrize(("prior", "current", "fires"), [
    (1.0, 1.1, True),    # +10 % is "at least 10 %" although (1.1-1.0)/1.0 != 0.1 in floats
    (1.0, 0.9, True),    # -10 %
    (-2.0, -1.8, True),  # relative to |prior|: -1.8 is 10 % above -2
    (1.0, 1.09, False),
])
def test_relative_change_is_a_fraction_of_the_prior_magnitude(prior, current, fires):
    assert evaluate([prior, prior, current, current], change(0.1, kind="RELATIVE")).satisfied is fires


def test_relative_change_from_zero_is_undefined_and_never_fires():
    result = evaluate([0, 0, 5, 5], change(0.1, kind="RELATIVE"))
    assert result.satisfied is False and math.isnan(result.details["change"])
    assert evaluate([0, 0, 5, 5], change(0.1, kind="ABSOLUTE")).satisfied  # absolute is defined


@pytest.mark.parametrize("values", [[1, NAN, 9, 9], [1, 1, 9, NAN], [INF, INF, INF, INF]])  # inf - inf is NaN
def test_nan_in_either_window_never_satisfies_a_change(values):
    assert evaluate(values, change(0.5)).satisfied is False


def test_change_without_aggregation_compares_the_newest_value_of_each_window():
    cond = change(5, agg=None)
    assert evaluate([0, 10, 0, 1], cond).satisfied is True  # 10 → 1 (newest of each)
    assert evaluate([10, 0, 1, 0], cond).satisfied is False  # 0 → 0


def test_change_defaults_and_aliases():
    cond = parse_change({"name": "loss", "change_amount": 0.25, "change_type": "rel", "change_dir": "dec",
                         "agg_op": "avg"})
    assert (cond.current_window, cond.prior_window, cond.change_type, cond.direction, cond.agg) == \
        (10, 50, "RELATIVE", "DECREASE", "AVERAGE")
    assert cond.describe() == "AVERAGE(loss) over 10 vs prior 50 decreases by >= 25%"


@pytest.mark.parametrize(("patch", "message"), [
    ({"change_amount": 0}, "greater than 0"),
    ({"change_amount": -1}, "greater than 0"),
    ({"change_amount": None}, "needs an amount"),
    ({"change_amount": True}, "must be a number"),
    ({"current_window_size": 0}, "at least 1 value"),
    ({"prior_window_size": 2.5}, "whole number"),
    ({"change_type": "PERCENT"}, "unknown change type"),
    ({"change_dir": "UP"}, "unknown direction"),
    ({"name": " "}, "metric name is empty"),
])
def test_invalid_change_conditions_are_refused(patch, message):
    data = {"name": "loss", "change_amount": 0.1, **patch}
    with pytest.raises(ValueError, match=message):
        parse_change(data)


# --- z-score -----------------------------------------------------------------------------------

def test_zscore_uses_the_n_values_before_the_newest():
    cond = zscore(2.0, window=4)
    assert cond.needed == 5
    assert evaluate([0, 2, 0, 2], cond) is None
    result = evaluate([0, 2, 0, 2, 3], cond)  # mean 1, population std 1 → z = 2: inclusive
    assert result.satisfied and result.details["zscore"] == 2.0
    assert evaluate([0, 2, 0, 2, 2.999], cond).satisfied is False
    assert evaluate([100, 0, 2, 0, 2, 3], cond).satisfied  # the oldest value is out of the window


@pytest.mark.parametrize(("direction", "newest", "fires"), [
    ("INCREASE", 3, True), ("INCREASE", -1, False),
    ("DECREASE", -1, True), ("DECREASE", 3, False),
    ("ANY", 3, True), ("ANY", -1, True), ("ANY", 2, False),
])
def test_zscore_directions(direction, newest, fires):
    assert evaluate([0, 2, 0, 2, newest], zscore(2.0, direction)).satisfied is fires


def test_zscore_is_undefined_when_the_deviation_is_zero():
    result = evaluate([0.1, 0.1, 0.1, 0.1, 50.0], zscore(0.5))
    assert result.satisfied is False and math.isnan(result.details["zscore"])


@pytest.mark.parametrize("values", [[0, NAN, 0, 2, 3], [0, 2, 0, 2, NAN], [0, INF, 0, 2, 3]])
def test_zscore_with_nan_or_infinite_baseline_never_fires(values):
    assert evaluate(values, zscore(0.1)).satisfied is False


def test_zscore_defaults_and_sdk_negative_threshold():
    cond = parse_zscore({"name": "acc"})
    assert (cond.window, cond.threshold, cond.direction) == (30, 3.0, "ANY")
    below = parse_zscore({"name": "acc", "threshold": -2, "change_dir": "DECREASE"})
    assert below.threshold == 2 and below.describe() == "zscore(acc) over 30 <= -2"
    with pytest.raises(ValueError, match="greater than 0"):
        parse_zscore({"name": "acc", "threshold": 0})


# --- NaN / Inf ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "fires"), [(NAN, True), (INF, True), (-INF, True), (0.0, False), (1e308, False)])
def test_nan_condition_on_the_newest_value(value, fires):
    assert evaluate([value], parse_nan({"name": "loss"})).satisfied is fires


def test_nan_condition_any_metric_spellings():
    assert parse_nan({"name": None}).metric is None
    assert parse_nan({}).metric is None
    assert parse_nan({"name": "*"}).metric is None
    assert parse_nan({"name": " loss "}).metric == "loss"


# --- parsing and describing every run event ----------------------------------------------------

def test_every_builder_round_trips_through_parse_and_describe():
    tagged = '{"$and": [{"tags": {"$contains": "gpu"}}]}'
    cases = {
        run_events.RUN_METRIC_CHANGE: (run_events.change_filter("loss", amount=0.25, direction="DECREASE"),
                                       "AVERAGE(loss) over 10 vs prior 50 decreases by >= 25%"),
        run_events.RUN_METRIC_ZSCORE: (run_events.zscore_filter("acc", threshold=2, direction="INCREASE"),
                                       "zscore(acc) over 30 >= +2"),
        run_events.RUN_METRIC_NAN: (run_events.nan_filter("loss", run_filter=tagged), "loss is NaN/Inf"),
        run_events.RUN_STATE: (run_events.state_filter(["crashed", "finished"]), "Run state → finished, failed"),
        run_events.RUN_STALLED: (run_events.stall_filter(15), "Run stalled for 15 min"),
    }
    for event_type, (stored, text) in cases.items():
        assert run_events.describe_condition(event_type, stored) == text
    assert run_events.describe_event(run_events.RUN_METRIC_NAN, cases[run_events.RUN_METRIC_NAN][0]) == \
        "loss is NaN/Inf (runs tagged gpu)"
    assert run_events.describe_condition(run_events.RUN_METRIC_NAN, run_events.nan_filter()) == "any metric is NaN/Inf"


@pytest.mark.parametrize(("event_type", "event_filter", "message"), [
    ("RUN_METRIC_CHANGE", {"run_metric_filter": {"zscore_filter": {}}}, "no change condition"),
    ("RUN_STATE", {"run_state_filter": {"states": ["KILLED"]}}, "unknown run state"),
    ("RUN_STATE", {"run_state_filter": {"states": []}}, "at least one run state"),
    ("RUN_STALLED", {"run_stall_filter": {"minutes": 0}}, "more than 0"),
    ("RUN_STALLED", {}, "how many minutes"),
    ("RUN_METRIC_NAN", {"run_filter": "{bad", "run_metric_filter": {"nan_filter": {}}}, "not valid JSON"),
    ("ADD_ARTIFACT_ALIAS", {}, "not a run event"),
])
def test_invalid_event_filters_say_what_is_wrong(event_type, event_filter, message):
    with pytest.raises(ValueError, match=message):
        run_events.parse_event(event_type, event_filter)
    assert run_events.describe_condition(event_type, event_filter).startswith("invalid condition:")
