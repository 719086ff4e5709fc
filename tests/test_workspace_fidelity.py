"""Full fidelity: the arrays a curve receives keep every spike at every zoom level, long
histories are read by visible step range, the layout persists, 100 runs look right."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
import pytest  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, qsettings_isolated, seed_run, tasks, ui_ctx, watcher  # noqa: E402, F401

from desktop.workspace import WorkspaceView  # noqa: E402
from desktop.workspace.decimate import clip_to_range, ema, peak_decimate  # noqa: E402
from desktop.workspace.layout import PanelSpec  # noqa: E402
from store import metrics, runs, teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)
N = 2_000_000
SPIKE_AT = 1_234_567


def spiky(n: int = N, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = 1.0 + 0.01 * rng.standard_normal(n)
    values[SPIKE_AT] = 100.0
    return values


def write_chunks(db, run_id: str, key: str, values: np.ndarray, chunk: int = 50_000, wall0: float = 1.7e9) -> None:
    steps = np.arange(len(values))
    metrics.import_series(db, run_id, key, steps, values, wall0 + steps * 0.01, chunk=chunk)


@pytest.fixture
def project(ui_ctx):
    return teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "long")


def test_peak_decimation_keeps_the_spike_at_every_zoom():
    x = np.arange(N, dtype=np.float64)
    y = spiky()
    for x0, x1 in [(0, N), (1_000_000, 1_500_000), (SPIKE_AT - 5000, SPIKE_AT + 5000), (SPIKE_AT - 50, SPIKE_AT + 50)]:
        cx, cy = clip_to_range(x, y, x0, x1)
        dx, dy = peak_decimate(cx, cy, 800)
        assert len(dx) <= 2 * 800 + 4
        assert dy.max() == 100.0 and SPIKE_AT in dx
        assert np.all(np.diff(dx) >= 0)  # x order kept
    cx, cy = clip_to_range(x, y, 0, 1_000_000)  # a view without the spike does not invent one
    assert peak_decimate(cx, cy, 800)[1].max() < 2


def test_ema_matches_the_recurrence():
    values = np.array([1.0, 2.0, 0.5, 4.0, 3.0])
    expected, s = [], 0.0
    for i, v in enumerate(values, 1):
        s = 0.6 * s + 0.4 * v
        expected.append(s / (1 - 0.6 ** i))
    np.testing.assert_allclose(ema(values, 0.6), expected)


def test_visible_range_read_returns_exactly_the_requested_steps(ui_ctx, project):
    run = runs.create_run(ui_ctx.db, project.id, name="long")
    write_chunks(ui_ctx.db, run.id, "loss", np.arange(300_000, dtype=float), chunk=7_000)
    steps, values, _walls = runs.metric_series(ui_ctx.db, run.id, "loss", min_step=12_345, max_step=150_000)
    np.testing.assert_array_equal(steps, np.arange(12_345, 150_001))
    np.testing.assert_array_equal(values, np.arange(12_345, 150_001, dtype=float))
    e_steps, mins, maxs = metrics.metric_envelope(ui_ctx.db, run.id, "loss", 12_345, 150_000, 500)
    assert e_steps[0] == 12_345 and e_steps[-1] <= 150_000 and len(e_steps) <= 500
    assert mins[0] == 12_345 and maxs[-1] == 150_000  # the bounds are exactly the requested ones
    small = metrics.metric_envelope(ui_ctx.db, run.id, "loss", 10, 19, 500)  # few points: as they are
    np.testing.assert_array_equal(small[0], np.arange(10, 20))
    assert metrics.metric_extents(ui_ctx.db, [run.id]) == {(run.id, "loss"): (0, 299_999, 300_000)}


def make_view(qtbot, ui_ctx, tasks, watcher, project, **kwargs) -> WorkspaceView:
    view = WorkspaceView(ui_ctx, tasks, watcher, project.id, **kwargs)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitUntil(lambda: view.is_loaded, timeout=30_000)
    return view


@pytest.mark.parametrize("memory_limit", [10_000_000, 1000], ids=["in-memory", "visible-range-reads"])
def test_a_single_spike_in_two_million_points_is_drawn_at_every_zoom(qtbot, ui_ctx, tasks, watcher, project,
                                                                     memory_limit):
    run = runs.create_run(ui_ctx.db, project.id, name="spiky")
    write_chunks(ui_ctx.db, run.id, "loss", spiky())
    view = make_view(qtbot, ui_ctx, tasks, watcher, project, memory_limit=memory_limit)
    panel = view.panel("loss")
    qtbot.waitUntil(lambda: view.curve(run.id, "loss") is not None, timeout=10_000)  # made on the first frame
    curve = view.curve(run.id, "loss")
    qtbot.waitUntil(lambda: curve.yData is not None and len(curve.yData) > 0, timeout=10_000)
    width = panel.pixel_width()
    assert len(curve.xData) <= 2 * max(width, 2048) + 4  # never millions of points to the line item
    assert curve.yData.max() == 100.0  # full zoom-out: the spike is there

    for x0, x1 in [(1_000_000, 1_500_000), (SPIKE_AT - 20_000, SPIKE_AT + 20_000), (SPIKE_AT - 100, SPIKE_AT + 100),
                   (0, 1_000_000)]:
        panel.plot.setXRange(x0, x1, padding=0)
        spike_in_view = x0 <= SPIKE_AT <= x1

        def settled() -> bool:
            x = curve.xData
            pc = view.panel_curve(run.id, "loss")
            if pc.dirty or (hasattr(pc.source, "covers") and pc.source.covers != (float(x0), float(x1))):
                return False  # the visible-range read has not landed yet
            return (x is not None and len(x) > 0 and x[0] >= x0 - (x1 - x0) and x[-1] <= x1 + (x1 - x0)
                    and (curve.yData.max() == 100.0) == spike_in_view)

        qtbot.waitUntil(settled, timeout=10_000)
        assert len(curve.xData) <= 2 * width + 8
        if x1 - x0 <= 200:  # zoomed in to fewer points than pixels: every raw point
            assert set(np.arange(x0, x1 + 1)) <= set(curve.xData.astype(int))

    panel.plot.setXRange(10, 500, padding=0)  # zoomed in far from the spike …
    qtbot.waitUntil(lambda: curve.xData is not None and curve.xData[-1] <= 1000, timeout=10_000)
    panel.fit_view()  # … then "Fit to data": following the whole history again, spike and all
    qtbot.waitUntil(lambda: panel.view_x_range() is None and curve.xData[0] == 0
                    and curve.xData[-1] >= 1_900_000 and curve.yData.max() == 100.0, timeout=10_000)


def test_layout_is_saved_per_project_and_restored(qtbot, ui_ctx, tasks, watcher, project, qsettings_isolated):
    seed_run(ui_ctx.db, project.id, {"a": [1, 2, 3], "b": [3, 2, 1], "c": [0.5, 0.6]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    assert [p.spec.title for p in view.panels] == ["a", "b", "c"]
    view.move_panel(view.panel("c"), -2)
    view.remove_panel(view.panel("b"))
    view.panel("a").set_log_y(True)
    view.panel("a").set_smoothing(0.8)
    view.panel("a").set_x_mode("wall")
    view.add_panel(PanelSpec(pattern="^(a|c)$"))
    view.close()

    again = make_view(qtbot, ui_ctx, tasks, watcher, project)
    assert [p.spec.title for p in again.panels] == ["c", "a", "/^(a|c)$/"]
    spec = again.panel("a").spec
    assert (spec.log_y, spec.smoothing, spec.x_mode) == (True, 0.8, "wall")
    regex = again.panels[2]
    qtbot.waitUntil(lambda: len(regex.curves) == 2, timeout=5000)
    assert sorted(metric for _run, metric in regex.curves) == ["a", "c"]
    assert again.panel("a").plot.getPlotItem().getAxis("bottom").__class__.__name__ == "WallTimeAxis"


def test_smoothing_draws_a_faint_raw_curve_and_visibility_hides_runs(qtbot, ui_ctx, tasks, watcher, project):
    a = seed_run(ui_ctx.db, project.id, {"loss": list(np.linspace(2, 0.1, 50))}, name="a")
    b = seed_run(ui_ctx.db, project.id, {"loss": list(np.linspace(3, 0.2, 50))}, name="b")
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    panel = view.panel("loss")
    panel.set_smoothing(0.9)
    qtbot.waitUntil(lambda: view.panel_curve(a.id, "loss") is not None, timeout=5000)
    pc = view.panel_curve(a.id, "loss")
    qtbot.waitUntil(lambda: pc.smooth is not None and pc.smooth.yData is not None and len(pc.smooth.yData) == 50,
                    timeout=5000)
    assert pc.raw.opts["pen"].color().alpha() < 255
    view.visibility.set_visible(b.id, False)
    assert not view.curve(b.id, "loss").isVisible() and view.curve(a.id, "loss").isVisible()
    assert "(1 hidden)" in panel.legend_label.text()


def test_hundred_runs_screenshot(qtbot, ui_ctx, tasks, watcher, project, artifacts_dir):
    rng = np.random.default_rng(1)
    made = []
    for i in range(100):
        steps = np.arange(300)
        loss = 2.0 * np.exp(-steps / (40 + i)) + 0.05 * rng.random(300) + i * 0.002
        acc = 1 - loss / 2.2
        made.append(runs.create_run(ui_ctx.db, project.id, name=f"run-{i:03d}"))
        runs.append_points(ui_ctx.db, made[-1].id, [(k, int(s), float(v), 1.7e9 + s)
                                                   for k, arr in (("train/loss", loss), ("val/acc", acc))
                                                   for s, v in zip(steps, arr)])
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    view.resize(1400, 800)
    panel = view.panel("train/loss")
    qtbot.waitUntil(lambda: len(panel.curves) == 100 and all(c.raw.yData is not None and len(c.raw.yData) == 300
                                                             for c in panel.curves.values()), timeout=20_000)
    colors = {c.color.name() for c in panel.curves.values()}
    assert len(panel.curves) == 100 and len(colors) == 100  # a stable, distinct colour per run
    assert view.curve(made[7].id, "train/loss").opts["pen"].color().name() == \
        view.curve(made[7].id, "val/acc").opts["pen"].color().name()
    legend = panel.legend_label.text()
    named = legend.count("</span>&nbsp;run-")
    assert named >= 4 and f"+{100 - named} more" in legend  # as many names as fit, the rest counted
    view.grab().save(str(artifacts_dir / "workspace-100-runs.png"))


def _marks_drawn(panel, color) -> list[int]:
    """Pixel columns with a mark of `color` in the bottom rows of the panel's view."""
    vb = panel.plot.getPlotItem().getViewBox()
    image = panel.plot.grab().toImage()
    view_rect = vb.mapRectToScene(vb.boundingRect()).toRect()
    bottom = view_rect.bottom()
    found = set()
    for yy in range(bottom - 5, bottom + 1):
        for xx in range(view_rect.left(), view_rect.right()):
            c = image.pixelColor(xx, yy)
            if abs(c.red() - color.red()) + abs(c.green() - color.green()) + abs(c.blue() - color.blue()) < 40:
                found.add(xx)
    return sorted(found)


@pytest.mark.parametrize("memory_limit", [10_000_000, 50], ids=["in-memory", "visible-range-reads"])
def test_nan_and_inf_values_are_marked_on_the_bottom_edge_where_they_were_logged(
        qtbot, ui_ctx, tasks, watcher, project, memory_limit):
    values = [1.0 / (s + 1) for s in range(100)] + [float("nan")] * 20 + [float("inf")]
    values[30] = float("-inf")
    run = seed_run(ui_ctx.db, project.id, {"loss": values}, name="diverged")
    view = make_view(qtbot, ui_ctx, tasks, watcher, project, memory_limit=memory_limit)
    panel = view.panel("loss")
    vb = panel.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: panel.edge_marks.count() > 0, timeout=10_000)
    curve = view.panel_curve(run.id, "loss")
    marked = panel.edge_marks.marks[0][1]
    assert panel.edge_marks.marks[0][0] == curve.color
    assert 30.0 in marked and 100.0 in marked and marked.max() == 120.0  # -inf, the first NaN, inf
    assert not np.isin(np.arange(31, 100), marked).any()  # finite steps are never marked
    assert "(▲ NaN/Inf)" in panel.legend_label.text()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 120, timeout=5000)  # the run's NaN tail is in view
    columns = _marks_drawn(panel, curve.color)
    x_of = lambda step: vb.mapViewToScene(pg.Point(step, 0)).x()  # noqa: E731
    assert any(abs(col - x_of(30)) <= 2 for col in columns), columns
    assert any(abs(col - x_of(120)) <= 2 for col in columns), columns
    assert not any(x_of(45) < col < x_of(85) for col in columns), columns
    bottom = vb.sceneBoundingRect().bottom() - 2
    in_memory = memory_limit > 1000
    for step, value in ((30, "-inf"), (120, "inf"), (110, "nan")):
        panel._on_mouse_moved(pg.Point(x_of(step), bottom))  # hovering a mark names run, step and value
        shown = value if in_memory else "NaN/Inf"  # a long history keeps where, not which
        assert panel.readout.text().endswith(f"diverged · step {step} · {shown}"), panel.readout.text()
    panel._on_mouse_moved(pg.Point(x_of(60), bottom))  # no mark there: the line's point, just above
    assert "&#9679;</span> diverged · step 60 · 0.016" in panel.readout.text()
    view.visibility.set_visible(run.id, False)  # hidden in the runs table: its marks go with its line
    qtbot.waitUntil(lambda: panel.edge_marks.count() == 0, timeout=5000)
    assert "▲" not in panel.legend_label.text()
    view.visibility.set_visible(run.id, True)
    qtbot.waitUntil(lambda: panel.edge_marks.count() > 0, timeout=5000)
    vb.setXRange(40, 90, padding=0)  # zoomed in where every value is finite: no marks
    qtbot.waitUntil(lambda: panel.edge_marks.count() == 0, timeout=5000)
    assert _marks_drawn(panel, curve.color) == []
