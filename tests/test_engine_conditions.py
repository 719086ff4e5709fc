"""Threshold conditions and run filters (pure, no database, no Qt)."""
from __future__ import annotations

import math

import pytest

from desktop.engine import conditions as c
from desktop.engine import run_filter as rf

NAN = math.nan


def cond(agg: str | None, window: int, cmp: str = "$gt", threshold: float = 0.5, metric: str = "val/acc"):
    return c.parse_threshold({"name": metric, "agg_op": agg, "window_size": window, "cmp_op": cmp,
                              "threshold": threshold})


# --- window boundary and aggregation -------------------------------------------------------------

@pytest.mark.parametrize(("agg", "values", "expected"), [
    ("AVERAGE", [0.2, 0.4, 0.9], 0.5),
    ("MIN", [0.2, 0.4, 0.9], 0.2),
    ("MAX", [0.2, 0.4, 0.9], 0.9),
])
def test_aggregation_waits_for_a_full_window(agg, values, expected):
    condition = cond(agg, 3, "$gte", expected)
    assert c.evaluate(values[:2], condition) is None  # N-1 values: not evaluated
    result = c.evaluate(values, condition)  # N values: evaluated
    assert result is not None and result.value == pytest.approx(expected)
    assert result.satisfied is True
    assert result.window == tuple(values)


def test_aggregation_uses_only_the_newest_n_values():
    result = c.evaluate([100.0, 0.1, 0.2, 0.3], cond("MAX", 3, "$lt", 1.0))
    assert result.window == (0.1, 0.2, 0.3) and result.value == 0.3 and result.satisfied


def test_no_aggregation_means_the_latest_value_and_window_one():
    condition = cond(None, 5, "$gt", 0.5)
    assert condition.needed == 1
    assert c.evaluate([], condition) is None
    assert c.evaluate([0.1, 0.9, 0.2], condition).satisfied is False
    assert c.evaluate([0.1, 0.2, 0.9], condition).value == 0.9


@pytest.mark.parametrize(("cmp", "below", "equal", "above"), [
    ("$gt", False, False, True),
    ("$gte", False, True, True),
    ("$lt", True, False, False),
    ("$lte", True, True, False),
    ("$eq", False, True, False),
    ("$ne", True, False, True),
])
def test_each_operator_around_the_threshold(cmp, below, equal, above):
    condition = cond("AVERAGE", 2, cmp, 0.5)
    assert c.evaluate([0.4], condition) is None
    assert c.evaluate([0.4, 0.4], condition).satisfied is below
    assert c.evaluate([0.4, 0.6], condition).satisfied is equal  # average 0.5 (not bit-exact: 0.5000000000000001)
    assert c.evaluate([0.6, 0.6], condition).satisfied is above


@pytest.mark.parametrize("cmp", list(c.CMP_OPS))
@pytest.mark.parametrize("agg", [None, "AVERAGE", "MIN", "MAX"])
def test_c2_a_nan_in_the_window_never_satisfies(agg, cmp):
    """C2: NaN makes every threshold comparison false (the NaN event's job), even `!=`."""
    condition = cond(agg, 3, cmp, 10.0)
    assert c.evaluate([0.9, 0.8, NAN], condition).satisfied is False
    if agg is not None:  # a NaN anywhere in the window, not only the newest value
        assert c.evaluate([NAN, 0.9, 0.7], condition).satisfied is False


def test_c2_loss_sequence_never_fires_the_threshold():
    """C2's run: loss 0.9, 0.8, NaN, 0.7, NaN, 0.6 and `avg(loss, 3) > 10` (or any threshold)."""
    values = [0.9, 0.8, NAN, 0.7, NAN, 0.6]
    for threshold, cmp in ((10.0, "$gt"), (0.1, "$gt"), (10.0, "$lt"), (10.0, "$ne")):
        results = c.evaluate_each(values, cond("AVERAGE", 3, cmp, threshold, "loss"), 0)
        assert [i for i, _ in results] == [2, 3, 4, 5]
        assert not any(r.satisfied for _, r in results)


def test_infinity_is_compared_not_treated_as_nan():
    assert c.evaluate([math.inf], cond(None, 1, "$gt", 1e300)).satisfied is True
    assert c.evaluate([math.inf, -math.inf], cond("AVERAGE", 2, "$ne", 0.0)).satisfied is False  # inf-inf = NaN


def test_evaluate_each_finds_a_crossing_inside_a_batch():
    values = [0.1, 0.2, 0.9, 0.1, 0.1]
    results = c.evaluate_each(values, cond(None, 1, "$gt", 0.5), start=1)
    assert [(i, r.satisfied) for i, r in results] == [(1, False), (2, True), (3, False), (4, False)]
    windowed = c.evaluate_each(values, cond("MAX", 2, "$gt", 0.5), start=0)
    assert [i for i, r in windowed if r.satisfied] == [2, 3]


# --- parsing and validation ----------------------------------------------------------------------

@pytest.mark.parametrize(("patch", "message"), [
    ({"window_size": 0}, "at least 1 value"),
    ({"window_size": -3}, "at least 1 value"),
    ({"window_size": "5"}, "whole number"),
    ({"window_size": True}, "whole number"),
    ({"threshold": "0.9"}, "must be a number"),
    ({"threshold": None}, "must be a number"),
    ({"threshold": True}, "must be a number"),
    ({"threshold": NAN}, "finite"),
    ({"name": ""}, "metric name is empty"),
    ({"name": "   "}, "metric name is empty"),
    ({"cmp_op": "$between"}, "unknown comparison"),
    ({"agg_op": "MEDIAN"}, "unknown aggregation"),
])
def test_invalid_conditions_are_refused_with_a_clear_message(patch, message):
    data = {"name": "loss", "agg_op": "AVERAGE", "window_size": 5, "cmp_op": "$gt", "threshold": 0.5, **patch}
    with pytest.raises(ValueError, match=message):
        c.parse_threshold(data)


def test_missing_threshold_is_refused():
    with pytest.raises(ValueError, match="needs a threshold"):
        c.parse_threshold({"name": "loss", "agg_op": None, "cmp_op": "$gt"})


def test_sdk_spellings_are_accepted():
    condition = c.parse_threshold({"name": "loss", "agg_op": "avg", "window_size": 3, "cmp_op": ">=", "threshold": 1})
    assert (condition.agg, condition.cmp, condition.threshold) == ("AVERAGE", "$gte", 1)


def test_stored_filter_round_trip_and_legacy_shape():
    stored = c.threshold_filter("val/acc", agg="MAX", window=4, cmp="$lte", threshold=0.25)
    parsed = c.parse_run_metric_filter(stored)
    assert parsed.run_filter == '{"$and": []}'
    assert parsed.condition.to_filter() == stored["run_metric_filter"]["threshold_filter"]
    legacy = c.parse_run_metric_filter({"metric_filter": {"name": "loss", "agg_op": None, "cmp_op": "$lt",
                                                          "threshold": 0.1}})
    assert legacy.condition.describe() == "loss < 0.1"
    with pytest.raises(ValueError, match="no run metric threshold"):
        c.parse_run_metric_filter({"run_filter": "{}"})


def test_descriptions():
    assert cond("AVERAGE", 5, "$gt", 0.9).describe() == "AVERAGE(val/acc) over 5 > 0.9"
    assert cond(None, 5, "$lte", 0.1, "loss").describe() == "loss <= 0.1"
    assert c.describe_short(cond("MIN", 3, "$ne", 2, "x")) == "MIN(x) != 2"
    assert c.describe_filter({"run_metric_filter": {"threshold_filter": {"name": "", "cmp_op": "$gt",
                                                                         "threshold": 1}}}).startswith("invalid condition:")


@pytest.mark.parametrize(("value", "text"), [
    (NAN, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"), (0.9, "0.9"), (3, "3"),
    (0.1 + 0.2, "0.3"), (1e-7, "1e-07"),
])
def test_format_number(value, text):
    assert c.format_number(value) == text


# --- run filter ----------------------------------------------------------------------------------

RUN = {"display_name": "exp-lr-3", "username": "alice", "tags": ["baseline", "gpu"], "id": "abc123",
       "state": "running", "group": None}


@pytest.mark.parametrize(("expr", "expected"), [
    ('{"$and": []}', True),
    ("", True),
    ('{"username": "alice"}', True),
    ('{"username": {"$eq": "bob"}}', False),
    ('{"display_name": {"$regex": "^exp-"}}', True),
    ('{"display_name": {"$regex": "^EXP", "$options": "i"}}', True),
    ('{"display_name": {"$contains": "lr"}}', True),
    ('{"tags": "gpu"}', True),
    ('{"tags": {"$contains": "cpu"}}', False),
    ('{"tags": {"$in": ["cpu", "baseline"]}}', True),
    ('{"tags": {"$nin": ["gpu"]}}', False),
    ('{"$or": [{"username": "bob"}, {"tags": "gpu"}]}', True),
    ('{"$not": {"username": "alice"}}', False),
    ('{"display_name": {"$not": {"$regex": "^exp"}}}', False),
    ('{"$nor": [{"username": "bob"}]}', True),
    ('{"$and": [{"username": "alice"}, {"display_name": {"$regex": "-4$"}}]}', False),
    ('{"group": {"$exists": false}}', True),
])
def test_run_filter_matches(expr, expected):
    assert rf.matches(expr, RUN) is expected


@pytest.mark.parametrize(("expr", "message"), [
    ('{"$and": [', "not valid JSON"),
    ('["a"]', "must be a JSON object"),
    ('{"$where": "1"}', "unknown run filter operator"),
    ('{"config.lr": 1}', "cannot test the field"),
    ('{"username": {"$like": "a"}}', "unknown operator"),
    ('{"display_name": {"$regex": "("}}', "regular expression"),
])
def test_run_filter_errors_are_clear(expr, message):
    with pytest.raises(ValueError, match=message):
        rf.parse(expr)


def test_run_filter_build_split_describe_round_trip():
    text = rf.build(username="alice", name_regex="^exp-", tags=["gpu"])
    assert rf.matches(text, RUN)
    assert rf.split(text) == ("alice", "^exp-", ("gpu",))
    assert rf.describe(text) == "runs by alice whose name matches ^exp- tagged gpu"
    assert rf.describe('{"$and": []}') == "all runs"
    assert rf.split('{"$or": []}') is None
    with pytest.raises(ValueError):
        rf.build(name_regex="(")
