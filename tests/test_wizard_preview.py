"""The Event page's preview: markers where the condition would have fired, stale results dropped,
the default cooldown from the settings."""
from __future__ import annotations

import math
import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from test_wizard import open_wizard, retype  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, seed_run, tasks, ui_ctx  # noqa: E402, F401

from desktop.engine import conditions  # noqa: E402
from desktop.engine.settings import EngineSettings, save_settings  # noqa: E402
from desktop.wizard import preview_data  # noqa: E402
from store import teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)
# steps 0..7; "last value > 0.9" turns true at 1, false at 3, true at 4 (and stays), NaN at 6
ACC = [0.5, 0.95, 0.97, 0.5, 0.96, 0.98, math.nan, 0.99]


@pytest.fixture
def project(ui_ctx):
    project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")
    seed_run(ui_ctx.db, project.id, {"val/acc": ACC}, name="first")
    seed_run(ui_ctx.db, project.id, {"val/acc": [0.1, 0.2, 0.3], "loss": [1.0]}, name="second")
    return project


def last_value_above(threshold: float) -> conditions.ThresholdCondition:
    return conditions.parse_threshold({"name": "val/acc", "agg_op": None, "cmp_op": "$gt", "threshold": threshold})


def test_firing_indices_follow_the_edge_and_the_per_run_cooldown():
    walls = [1000.0 + 60 * i for i in range(len(ACC))]  # one point a minute
    condition = last_value_above(0.9)
    # NaN at 6 makes the condition false, so 7 is a new edge
    assert preview_data.firing_indices(ACC, walls, condition, 0) == [1, 4, 7]
    # within 5 minutes of the firing at 1: the edge at 4 is suppressed, 7 (6 min later) fires
    assert preview_data.firing_indices(ACC, walls, condition, 300) == [1, 7]
    assert preview_data.firing_indices(ACC, walls, condition, 24 * 3600) == [1]


def show_threshold(qtbot, wizard, threshold: str) -> None:
    page = wizard.event_page
    form = page.forms["RUN_METRIC"]
    page.metric.setEditText("val/acc")
    form.agg.setCurrentIndex(form.agg.findData(None))
    retype(qtbot, form.threshold, threshold)


def test_preview_marks_where_it_would_have_fired(qtbot, ui_ctx, project, tasks, artifacts_dir):
    wizard = open_wizard(qtbot, ui_ctx, project, tasks)
    wizard.details_page.cooldown.setValue(0)
    show_threshold(qtbot, wizard, "0.9")
    preview = wizard.event_page.preview
    assert preview.summary.text() == "Computing…"
    with qtbot.waitSignal(preview.shown, timeout=10_000):
        preview.flush()
    assert preview.marker_points() == [(1.0, 0.95), (4.0, 0.96), (7.0, 0.99)]
    assert preview.threshold_line.value() == 0.9 and preview.threshold_line.scene() is not None
    assert preview.summary.text().startswith("Would have fired 3 times on 1 of 2 runs")
    QApplication.processEvents()
    assert wizard.grab().save(str(artifacts_dir / "wizard-event-preview.png"))

    # the cooldown of the Details page applies: 24 h between points a second apart → one firing
    wizard.details_page.cooldown.setValue(24 * 60)
    wizard.event_page.refresh_preview()
    with qtbot.waitSignal(preview.shown, timeout=10_000):
        preview.flush()
    assert preview.marker_points() == [(1.0, 0.95)]


def test_a_stale_preview_is_discarded(qtbot, ui_ctx, project, tasks):
    wizard = open_wizard(qtbot, ui_ctx, project, tasks)
    wizard.details_page.cooldown.setValue(0)
    preview = wizard.event_page.preview
    release_first = threading.Event()
    calls = []

    def gated(*args, **kwargs):
        calls.append(args[3]["run_metric_filter"]["threshold_filter"]["threshold"])
        if len(calls) == 1:
            assert release_first.wait(10)
        return preview_data.compute(*args, **kwargs)

    preview.compute = gated
    show_threshold(qtbot, wizard, "0.9")
    preview.flush()  # the first computation starts and blocks
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
    retype(qtbot, wizard.event_page.forms["RUN_METRIC"].threshold, "0.975")
    with qtbot.waitSignal(preview.shown, timeout=10_000):
        preview.flush()
    assert preview.marker_points() == [(5.0, 0.98), (7.0, 0.99)]
    release_first.set()
    assert tasks.wait_idle(10_000)
    QApplication.processEvents()
    assert preview.preview.threshold == 0.975
    assert preview.marker_points() == [(5.0, 0.98), (7.0, 0.99)]  # the late 0.9 result was not drawn
    assert calls[0] == 0.9 and calls[-1] == 0.975


def test_invalid_condition_clears_the_preview(qtbot, ui_ctx, project, tasks):
    wizard = open_wizard(qtbot, ui_ctx, project, tasks)
    show_threshold(qtbot, wizard, "0.9x")
    preview = wizard.event_page.preview
    assert preview.marker_points() == [] and "Complete the condition" in preview.summary.text()
    wizard.event_page.event_type.setCurrentIndex(wizard.event_page.event_type.findData("RUN_STATE"))
    assert not preview.isVisibleTo(wizard.event_page)


def test_new_automations_take_the_default_cooldown_from_the_settings(qtbot, ui_ctx, project, tasks):
    save_settings(EngineSettings(default_cooldown_seconds=2 * 3600))
    wizard = open_wizard(qtbot, ui_ctx, project, tasks)
    assert wizard.details_page.cooldown.value() == 120
