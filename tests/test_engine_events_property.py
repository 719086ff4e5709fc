"""Property: the engine's incremental evaluation (batches of new points, windows read back from
the database, edge memory between batches) fires at exactly the steps a brute-force evaluator
finds by recomputing every window from scratch with numpy, for threshold, change and z-score."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import runs
from store.db import Database

from desktop.engine import conditions, run_events
from desktop.engine.evaluator import Evaluator
from tests.support.engine_setup import World

VALUES = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 5.0, -1.0, -2.5, math.nan, math.inf])
TOL = 1e-9  # the engine's documented tolerance for "at least" comparisons


def at_least(x: float, amount: float) -> bool:
    return not math.isnan(x) and (x >= amount or math.isclose(x, amount, rel_tol=TOL, abs_tol=1e-12))


def directed(x: float, direction: str, amount: float) -> bool:
    return at_least({"INCREASE": x, "DECREASE": -x, "ANY": abs(x)}[direction], amount)


def np_agg(window: np.ndarray, agg: str | None) -> float:
    if np.isnan(window).any():
        return math.nan
    with np.errstate(invalid="ignore", over="ignore"):
        return float({None: lambda w: w[-1], "AVERAGE": np.mean, "MIN": np.min, "MAX": np.max}[agg](window))


def brute_threshold(values, agg, n, cmp, threshold):
    n = 1 if agg is None else n
    out = []
    for i in range(n - 1, len(values)):
        v = np_agg(np.array(values[i - n + 1:i + 1]), agg)
        out.append((i, conditions.compare(v, cmp, threshold)))
    return out


def brute_change(values, agg, cur, prior, kind, direction, amount):
    out = []
    for i in range(cur + prior - 1, len(values)):
        w = np.array(values[i - cur - prior + 1:i + 1])
        p, c = np_agg(w[:prior], agg), np_agg(w[prior:], agg)
        with np.errstate(invalid="ignore"):
            delta = c - p
        change = delta if kind == "ABSOLUTE" else (delta / abs(p) if p != 0 and not math.isnan(delta) else math.nan)
        out.append((i, directed(change, direction, amount)))
    return out


def brute_zscore(values, n, threshold, direction):
    out = []
    for i in range(n, len(values)):
        before, newest = np.array(values[i - n:i]), values[i]
        with np.errstate(invalid="ignore", over="ignore"):
            if np.isnan(before).any() or math.isnan(newest) or not np.isfinite(before).all() or np.ptp(before) == 0:
                z = math.nan
            else:
                z = (newest - before.mean()) / before.std()
        out.append((i, directed(float(z), direction, threshold)))
    return out


def edges(judged: list[tuple[int, bool]]) -> list[int]:
    fired, was = [], False
    for i, ok in judged:
        if ok and not was:
            fired.append(i)
        was = ok
    return fired


@pytest.fixture(scope="module")
def shared():
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'prop.db'}")
        world = World(db)
        specs = {
            "max3>2": (run_events.RUN_METRIC, conditions.threshold_filter("m", agg="MAX", window=3, threshold=2.0),
                       lambda v: brute_threshold(v, "MAX", 3, "$gt", 2.0)),
            "avg2>=1": (run_events.RUN_METRIC, conditions.threshold_filter("m", agg="AVERAGE", window=2, cmp="$gte",
                                                                          threshold=1.0),
                        lambda v: brute_threshold(v, "AVERAGE", 2, "$gte", 1.0)),
            "last<0": (run_events.RUN_METRIC, conditions.threshold_filter("m", agg=None, cmp="$lt", threshold=0.0),
                       lambda v: brute_threshold(v, None, 1, "$lt", 0.0)),
            "abs-change": (run_events.RUN_METRIC_CHANGE,
                           run_events.change_filter("m", amount=1.0, change_type="ABSOLUTE", current_window=2,
                                                    prior_window=3),
                           lambda v: brute_change(v, "AVERAGE", 2, 3, "ABSOLUTE", "ANY", 1.0)),
            "rel-drop": (run_events.RUN_METRIC_CHANGE,
                         run_events.change_filter("m", amount=0.5, agg="MIN", current_window=1, prior_window=2,
                                                  direction="DECREASE"),
                         lambda v: brute_change(v, "MIN", 1, 2, "RELATIVE", "DECREASE", 0.5)),
            "zscore": (run_events.RUN_METRIC_ZSCORE, run_events.zscore_filter("m", window=4, threshold=1.5),
                       lambda v: brute_zscore(v, 4, 1.5, "ANY")),
            "zscore-up": (run_events.RUN_METRIC_ZSCORE,
                          run_events.zscore_filter("m", window=3, threshold=1.0, direction="INCREASE"),
                          lambda v: brute_zscore(v, 3, 1.0, "INCREASE")),
        }
        autos = {name: (world.automation(name=name, event_type=kind, event_filter=f, action_type="NO_OP",
                                         cooldown_seconds=0), brute)
                 for name, (kind, f, brute) in specs.items()}
        ev = Evaluator(db, stall_check_seconds=3600)
        yield world, ev, autos
        ev.close()
        db.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(VALUES, min_size=0, max_size=30), cuts=st.lists(st.integers(1, 8), min_size=1, max_size=12))
def test_incremental_evaluation_agrees_with_brute_force(shared, values, cuts):
    world, ev, autos = shared
    run = world.run(name="prop")
    at, i = 0, 0
    while at < len(values):  # random batch sizes, evaluated after every batch
        size = cuts[i % len(cuts)]
        runs.append_points(world.db, run.id, [("m", s, values[s], 0.0) for s in range(at, min(at + size, len(values)))])
        ev.run_once()
        at, i = at + size, i + 1
    for name, (auto, brute) in autos.items():
        got = [x.event["step"] for x in world.executions(auto) if x.run_id == run.id]
        assert got == edges(brute(values)), (name, values)
