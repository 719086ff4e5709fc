"""Panel features: hover read-out, relative-time axis, fixed Y range, "Add panel", merged
threshold labels, lazily created curves."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialogButtonBox  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, qsettings_isolated, seed_run, tasks, threshold_automation, ui_ctx, watcher  # noqa: E402, F401, E501

from desktop.workspace.layout import PanelSpec  # noqa: E402
from desktop.workspace.loading import Threshold  # noqa: E402
from desktop.workspace.pattern_dialog import PatternDialog  # noqa: E402
from desktop.workspace.thresholds import threshold_label  # noqa: E402
from store import runs  # noqa: E402
from test_workspace import make_view, project  # noqa: E402, F401 - the same workspace set-up

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


def drawn(view, run_id, metric, count):
    curve = view.curve(run_id, metric)
    return curve is not None and curve.xData is not None and len(curve.xData) == count


def test_hover_reads_out_run_step_and_value_and_highlights(qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {"loss": [1.0, 0.5, 0.25, 0.125]}, name="hover-run")
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 4), timeout=10_000)
    panel = view.panel("loss")
    vb = panel.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 3, timeout=5000)
    scene_pos = vb.mapViewToScene(pg.Point(2, 0.25))
    panel._on_mouse_moved(scene_pos)
    text = panel.readout.text()
    assert "hover-run" in text and "step 2" in text and "0.25" in text
    assert view.panel_curve(run.id, "loss").highlighted
    marker = panel._marker
    assert marker.isVisible() and list(marker.getData()[0]) == [2.0]
    panel._on_mouse_moved(vb.mapViewToScene(pg.Point(2, 100.0)))  # far away
    assert panel.readout.text() == "" and not view.panel_curve(run.id, "loss").highlighted
    assert not marker.isVisible()  # hidden, not just emptied: live paints skip it


def test_relative_time_axis_starts_each_run_at_zero(qtbot, ui_ctx, tasks, watcher, project):
    run = runs.create_run(ui_ctx.db, project.id, name="timed")
    t0 = run.created_at.timestamp()
    runs.append_points(ui_ctx.db, run.id, [("loss", s, 1.0 / (s + 1), t0 + 10 + 2 * s) for s in range(5)])
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 5), timeout=10_000)
    panel = view.panel("loss")
    panel.set_x_mode("relative")
    qtbot.waitUntil(lambda: view.curve(run.id, "loss").xData[0] != 0, timeout=5000)
    np.testing.assert_allclose(view.curve(run.id, "loss").xData, [10, 12, 14, 16, 18], atol=1e-3)
    assert panel.plot.getPlotItem().getAxis("bottom").labelText == "relative time (s)"
    assert view.panel_curve(run.id, "loss").step_at("relative", 14.0) == 2


def test_fixed_y_range_holds_when_data_grows_and_auto_comes_back(qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {"loss": [1.0, 2.0]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 2), timeout=10_000)
    panel = view.panel("loss")
    vb = panel.plot.getPlotItem().getViewBox()
    panel.set_y_range((0.0, 3.0))
    assert vb.viewRange()[1] == pytest.approx([0.0, 3.0])
    seed_run(ui_ctx.db, project.id, {"loss": [50.0, 60.0]}, name="big")
    qtbot.waitUntil(lambda: len(panel.curves) == 2 and all(c.raw.xData is not None and len(c.raw.xData) == 2
                                                          for c in panel.curves.values()), timeout=10_000)
    assert vb.viewRange()[1] == pytest.approx([0.0, 3.0])  # fixed: the new run does not stretch it
    panel.set_y_range(None)
    qtbot.waitUntil(lambda: vb.viewRange()[1][1] >= 60, timeout=5000)
    assert panel.spec.y_range is None


def test_ignoring_outliers_keeps_a_spike_from_flattening_the_y_range(qtbot, ui_ctx, tasks, watcher, project,
                                                                     qsettings_isolated):
    values = list(np.sin(np.arange(3000) / 50.0))
    values[1500] = 1000.0
    run = seed_run(ui_ctx.db, project.id, {"loss": values})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: view.curve(run.id, "loss") is not None
                    and view.curve(run.id, "loss").yData is not None, timeout=10_000)
    panel = view.panel("loss")
    vb = panel.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[1][1] >= 1000, timeout=5000)
    panel.set_robust_y(True)
    qtbot.waitUntil(lambda: vb.viewRange()[1][1] < 2, timeout=5000)
    assert vb.viewRange()[1][0] < -0.9  # the rest of the curve is all in view
    assert view.curve(run.id, "loss").yData.max() == 1000.0  # still drawn, above the view
    reopened = make_view(qtbot, ui_ctx, tasks, watcher, project)  # the setting is saved with the layout
    qtbot.waitUntil(lambda: reopened.panel("loss") is not None, timeout=5000)
    assert reopened.panel("loss").spec.robust_y
    panel.set_robust_y(False)
    qtbot.waitUntil(lambda: vb.viewRange()[1][1] >= 1000, timeout=5000)


def test_add_panel_checks_the_regex_as_it_is_typed_and_shows_matching_metrics(qtbot, ui_ctx, tasks, watcher,
                                                                               project, qsettings_isolated):
    run = seed_run(ui_ctx.db, project.id, {"train/loss": [1.0], "val/loss": [2.0], "acc": [0.5]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: len(view.panels) == 3 and drawn(view, run.id, "acc", 1), timeout=10_000)
    dialog = view._ask_pattern("Add panel", "", lambda pattern: view.add_panel(PanelSpec(pattern=pattern)))
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.edit.setText("([")
    assert not ok.isEnabled() and "Not a valid regular expression" in dialog.status.text()
    dialog.accept()  # Enter on an invalid pattern: nothing happens
    assert dialog.isVisible() and len(view.panels) == 3
    dialog.edit.setText("loss$")
    assert ok.isEnabled() and dialog.status.text() == "Matches 2 metrics: train/loss, val/loss"
    ok.click()
    panel = view.panels[-1]
    assert panel.objectName() == "panel-/loss$/" and panel.spec.pattern == "loss$"
    qtbot.waitUntil(lambda: len(panel.curves) == 2, timeout=5000)
    assert sorted(panel.curves) == [(run.id, "train/loss"), (run.id, "val/loss")]
    with pytest.raises(ValueError, match="Not a valid regular expression"):
        panel.set_pattern("([")
    with pytest.raises(ValueError, match="Enter a regular expression"):
        panel.set_pattern(None)


def test_the_pattern_dialog_has_room_for_its_longest_message(qtbot):
    dialog = PatternDialog("Add panel", ["loss"])
    qtbot.addWidget(dialog)
    dialog.show()
    status = dialog.status
    for text in ("loss", "([", "nothing-matches-this"):
        dialog.edit.setText(text)
        QApplication.processEvents()  # the layout settles on the next turn of the event loop
        assert status.height() >= status.heightForWidth(status.width()), text  # all of the message


def test_a_panel_turned_into_a_pattern_is_renamed_and_its_metric_gets_no_second_panel(
        qtbot, ui_ctx, tasks, watcher, project, qsettings_isolated):
    run = seed_run(ui_ctx.db, project.id, {"loss": [1.0, 0.9]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 2), timeout=10_000)
    panel = view.panel("loss")
    panel.ask_pattern()
    assert view.pattern_dialog.pattern == "^loss$"
    view.pattern_dialog.edit.setText("^lo")
    view.pattern_dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert panel.header.title.text() == "/^lo/" and not panel.bell.isEnabled()
    assert "pattern" in panel.bell.toolTip()
    runs.append_points(ui_ctx.db, run.id, [("loss", 2, 0.8, 3.0)])
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 3), timeout=10_000)
    assert [p.spec.title for p in view.panels] == ["/^lo/"]  # no second "loss" panel
    reopened = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: reopened.is_loaded, timeout=10_000)
    assert [p.spec.title for p in reopened.panels] == ["/^lo/"]


def test_log_y_switches_at_once_and_moves_threshold_lines_to_log_units(qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {"loss": list(np.geomspace(1e6, 1.0, 50))})
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="low", metric="loss", threshold=0.9)
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 50), timeout=10_000)
    panel = view.panel("loss")
    qtbot.waitUntil(lambda: len(panel.threshold_lines) == 1, timeout=5000)
    vb = panel.plot.getPlotItem().getViewBox()
    panel.set_log_y(True)
    lo, hi = vb.viewRange()[1]
    assert -2 < lo < 1 and 5 < hi < 7  # decades at once, never a linear range read as exponents
    assert panel.threshold_lines[0].value() == pytest.approx(np.log10(0.9))
    panel.grab()  # a paint right away lays out a handful of decades
    assert vb.autoRangeEnabled()[1]  # and the range still follows the data
    runs.append_points(ui_ctx.db, run.id, [("loss", 50, 1e-4, 60.0)])
    qtbot.waitUntil(lambda: vb.viewRange()[1][0] < -3.9, timeout=10_000)
    panel.set_log_y(False)
    assert vb.viewRange()[1][1] > 1e5 and panel.threshold_lines[0].value() == pytest.approx(0.9)
    assert vb.autoRangeEnabled()[1]
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="neg", metric="loss", threshold=-3.0)
    qtbot.waitUntil(lambda: len(panel.threshold_lines) == 2, timeout=5000)
    panel.set_log_y(True)
    assert len(panel.threshold_lines) == 1 and "1 alert line at ≤ 0 not on the log scale" in panel.legend_label.text()
    panel.set_log_y(False)
    assert "≤ 0" not in panel.legend_label.text()
    below = seed_run(ui_ctx.db, project.id, {"loss": [-1.0, 0.0, 2.0]}, name="below")
    qtbot.waitUntil(lambda: drawn(view, below.id, "loss", 3), timeout=10_000)
    panel.set_log_y(True)
    assert "(▲ ≤ 0, not on the log scale)" in panel.legend_label.text()
    assert len(view.curve(below.id, "loss").xData) == 1  # only 2.0 can be drawn
    below_color = view.panel_curve(below.id, "loss").color
    assert [list(xs) for color, xs in panel.edge_marks.marks] == [[0.0, 1.0]]  # steps of -1.0 and 0.0
    assert panel.edge_marks.marks[0][0] == below_color
    panel.set_log_y(False)
    assert panel.edge_marks.count() == 0 and "▲" not in panel.legend_label.text()


def test_titles_are_plain_text_and_a_long_name_does_not_widen_the_grid(qtbot, ui_ctx, tasks, watcher, project):
    long_name = "L" * 200
    run = seed_run(ui_ctx.db, project.id, {long_name: [1.0, 2.0], "<b>x</b>": [1.0, 2.0]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, long_name, 2) and drawn(view, run.id, "<b>x</b>", 2), timeout=10_000)
    html_panel, long_panel = view.panel("<b>x</b>"), view.panel(long_name)
    assert html_panel.header.title.textFormat() == Qt.TextFormat.PlainText
    assert html_panel.header.title.text() == "<b>x</b>"
    assert "&lt;b&gt;" in html_panel.bell.toolTip()
    assert "…" in long_panel.header.title.text()
    assert abs(long_panel.width() - html_panel.width()) <= 2  # two equal columns
    assert long_panel.width() < view.width() / 2


def test_automations_sharing_a_threshold_share_one_labelled_line(qtbot, ui_ctx, tasks, watcher, project):
    seed_run(ui_ctx.db, project.id, {"acc": [0.2, 0.4, 0.6]})
    for name in ("first", "second", "third"):
        threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name=name, metric="acc", threshold=0.5)
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="high", metric="acc", threshold=0.9)
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    lines = view.panel("acc").threshold_lines
    assert [line.value() for line in lines] == [0.5, 0.9]
    label = lines[0].label.toPlainText()
    assert label.count("0.5") == 1 and all(n in label for n in ("first", "second", "third"))
    merged = threshold_label([Threshold(i, f"a{i}", "m", 0.5, op) for i, op in enumerate(("$gt",) * 5 + ("$lt",))])
    assert merged == "a0, a1, a2 +2  (> 0.5)  ·  a5  (< 0.5)"


def test_curves_of_panels_off_screen_are_made_when_scrolled_into_view(qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {f"m{i:02d}": [1.0, 2.0] for i in range(12)})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "m00", 2), timeout=10_000)
    last = view.panel("m11")
    assert not last.is_on_screen() and last.curves == {}  # no work for what nobody sees
    view._scroll.ensureWidgetVisible(last)
    qtbot.waitUntil(lambda: drawn(view, run.id, "m11", 2), timeout=10_000)


def _icon_image(icon):
    return icon.pixmap(32, 32).toImage()


def test_bell_switches_to_the_dark_icon_when_the_theme_turns_dark(qtbot, ui_ctx, tasks, watcher, project):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication, QToolButton

    from desktop import resources, theme

    seed_run(ui_ctx.db, project.id, {"loss": [1.0, 0.5]})
    app = QApplication.instance()
    light_palette = app.palette()
    light = _icon_image(QIcon(str(resources.resource_path("icons", "bell.svg"))))
    dark = _icon_image(QIcon(str(resources.resource_path("icons", "dark", "bell.svg"))))
    assert light != dark  # the two variants really differ
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    bell = view.panel("loss").findChild(QToolButton, "bell-loss")
    assert _icon_image(bell.icon()) == light
    try:
        app.setPalette(theme.dark_palette())  # what Settings → Theme → Dark does
        qtbot.waitUntil(lambda: _icon_image(bell.icon()) == dark, timeout=5000)
    finally:
        app.setPalette(light_palette)
    qtbot.waitUntil(lambda: _icon_image(bell.icon()) == light, timeout=5000)


def test_a_long_legend_never_covers_the_title(qtbot):
    from PySide6.QtWidgets import QMenu

    from desktop.workspace.layout import PanelSpec
    from desktop.workspace.panel_header import LegendEntry, PanelHeader

    menu = QMenu()
    header = PanelHeader(PanelSpec(metric="", pattern="loss|acc"), menu, can_edit=True)
    qtbot.addWidget(header)
    header.resize(500, 30)
    header.show()
    qtbot.waitExposed(header)
    entries = [LegendEntry("#4e79a7", "\u25ac", f"run-0{i} · acc") for i in range(8)]
    header.set_legend(entries, 118, ["(6 hidden)"], ["run-00"])
    qtbot.waitUntil(lambda: header.title.text() == "/loss|acc/", timeout=2000)
    header.layout().activate()
    assert header.title.geometry().right() < header.legend.geometry().left()  # side by side, not over


def _segments_per_row(image, color: QColor) -> dict[int, int]:
    """For each pixel row holding a long stretch of `color`: how many separate stretches."""
    found = {}
    for yy in range(image.height()):
        on = [_near(image.pixelColor(xx, yy), color) for xx in range(image.width())]
        if sum(on) > image.width() // 4:
            found[yy] = sum(1 for i in range(1, len(on)) if on[i] and not on[i - 1]) + on[0]
    return found


def _near(c, color: QColor) -> bool:
    return abs(c.red() - color.red()) + abs(c.green() - color.green()) + abs(c.blue() - color.blue()) < 60


def test_a_pattern_panel_keeps_the_run_colour_and_gives_each_metric_its_own_dash(
        qtbot, ui_ctx, tasks, watcher, project, qsettings_isolated):
    run = seed_run(ui_ctx.db, project.id, {"loss/train": [1.0] * 40, "loss/val": [3.0] * 40})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss/val", 40), timeout=10_000)
    panel = view.add_panel(PanelSpec(pattern="^loss/"))
    qtbot.waitUntil(lambda: len(panel.curves) == 2 and not panel.has_dirty(), timeout=5000)
    train, val = panel.curves[(run.id, "loss/train")], panel.curves[(run.id, "loss/val")]
    assert train.color == val.color  # the run's colour, as in the runs table
    assert train.raw.opts["pen"].style() == Qt.PenStyle.SolidLine
    assert val.raw.opts["pen"].style() == Qt.PenStyle.CustomDashLine
    view.resize(2400, 700)  # room in the header for both names
    qtbot.waitUntil(lambda: panel.legend_label.text().count("</span>&nbsp;") == 2, timeout=5000)
    legend = panel.legend_label.text()
    assert f"{train.glyph}</span>&nbsp;" in legend and f"{val.glyph}</span>&nbsp;" in legend
    assert train.glyph != val.glyph
    panel.lines.set_antialias(False)
    image = panel.plot.grab().toImage()
    rows = _segments_per_row(image, train.color)
    assert len(rows) >= 2, rows  # both lines drawn, across the panel
    top, bottom = min(rows), max(rows)  # val (3.0) is drawn above train (1.0)
    assert rows[bottom] <= 2 and rows[top] >= 10, rows  # train solid, val dashed
    panel.set_smoothing(0.6)  # the smoothed line carries the dash; the faint raw stays solid
    assert val.smooth.opts["pen"].style() == Qt.PenStyle.CustomDashLine
    assert val.raw.opts["pen"].style() == Qt.PenStyle.SolidLine


def test_a_runs_line_is_drawn_over_an_alert_lines_label(qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {"val/acc": [0.895] * 60 + [0.0]})  # just under the line, left
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="a long alert name, to have a label",
                         metric="val/acc", threshold=0.9)
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "val/acc", 61), timeout=10_000)
    panel = view.panel("val/acc")
    qtbot.waitUntil(lambda: len(panel.threshold_lines) == 1, timeout=5000)
    vb = panel.plot.getPlotItem().getViewBox()
    label = panel.threshold_lines[0].label
    image = panel.plot.grab().toImage()
    color = view.panel_curve(run.id, "val/acc").color
    under_label = label.mapRectToScene(label.boundingRect())
    step = vb.mapSceneToView(under_label.center()).x()
    at = vb.mapViewToScene(pg.Point(step, 0.895))
    assert under_label.contains(at)  # the curve runs through the label's plate …
    column = [image.pixelColor(int(at.x()), int(at.y()) + dy) for dy in (-1, 0, 1)]
    assert any(_near(c, color) for c in column), [c.name() for c in column]  # … and is drawn over it


@pytest.mark.parametrize("mode", ["step", "relative", "wall"])
def test_picking_an_x_axis_again_keeps_its_labels_on_the_view(qtbot, ui_ctx, tasks, watcher, project, mode):
    run = seed_run(ui_ctx.db, project.id, {"loss": [1.0 / (s + 1) for s in range(60)]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 60), timeout=10_000)
    panel = view.panel("loss")
    panel.set_x_mode(mode)
    vb = panel.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: panel.plot.getPlotItem().getAxis("bottom").range == vb.viewRange()[0], timeout=5000)
    panel.fit_view()
    qtbot.waitUntil(lambda: not panel.has_dirty(), timeout=5000)
    panel.set_x_mode(mode)  # the same mode again: the data and the range stay where they were
    panel.render()
    axis = panel.plot.getPlotItem().getAxis("bottom")
    assert axis.range == vb.viewRange()[0]  # once [0, 1]: labels of a range nobody looks at


def _wheel(panel, notches: int) -> None:
    """Turn the mouse wheel over the middle of the panel: positive zooms in."""
    viewport = panel.plot.viewport()
    centre = QPointF(viewport.rect().center())
    for _ in range(abs(notches)):
        QApplication.sendEvent(viewport, QWheelEvent(
            centre, viewport.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120 if notches > 0 else -120),
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False))


def _drawn_labels(axis) -> list[str]:
    """The tick labels pyqtgraph draws on `axis` (after dropping those without room)."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        return [text for _rect, _flags, text in axis.generateDrawSpecs(painter)[2]]
    finally:
        painter.end()


def _paint_and_lay_out(panel) -> None:
    """An axis measures its labels when painted and takes their room at the next layout."""
    for _ in range(3):
        panel.plot.grab()
        QApplication.processEvents()


def test_wheel_zoom_stops_at_a_few_steps_at_float64_precision_and_at_a_hundred_times_the_data(
        qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {"loss": [0.5 + 0.001 * (s % 7) for s in range(100)]})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 100), timeout=10_000)
    panel = view.panel("loss")
    vb = panel.plot.getPlotItem().getViewBox()
    axis = panel.plot.getPlotItem().getAxis("bottom")
    left = panel.plot.getPlotItem().getAxis("left")
    _paint_and_lay_out(panel)
    gutter = left.width()
    _wheel(panel, 400)  # far past where the range once shrank to nothing
    _paint_and_lay_out(panel)
    assert left.width() > gutter + 20  # 0.50282068 … takes room
    (x0, x1), (y0, y1) = vb.viewRange()
    assert 3.9 <= x1 - x0 <= 5, vb.viewRange()  # steps are whole: a few of them, labelled
    assert len(axis.tickValues(x0, x1, vb.width())[0][1]) >= 2
    assert y1 - y0 >= 0.99e-12 * 0.5, vb.viewRange()
    viewport = panel.plot.viewport()
    panel._on_mouse_moved(panel.plot.mapToScene(viewport.rect().center()))  # once a divide by zero

    panel.fit_view()
    qtbot.waitUntil(lambda: vb.viewRange()[1][1] - vb.viewRange()[1][0] > 1e-3, timeout=5000)
    _paint_and_lay_out(panel)
    assert left.width() <= gutter + 2  # given back after "Fit to data" …
    assert len(_drawn_labels(left)) >= 3 and len(_drawn_labels(axis)) >= 2  # … and every label drawn again
    panel.set_x_mode("relative")  # seconds: down to float64's precision
    qtbot.waitUntil(lambda: vb.autoRangeEnabled()[0] and not panel.has_dirty(), timeout=5000)
    panel.fit_view()
    panel.render()
    _wheel(panel, 400)
    (x0, x1), _y = vb.viewRange()
    assert 0.99e-12 <= (x1 - x0) / max(abs(x0), abs(x1)) < 2e-12, vb.viewRange()  # all the way, no further
    panel._on_mouse_moved(panel.plot.mapToScene(viewport.rect().center()))

    panel.set_x_mode("step")
    panel.fit_view()
    qtbot.waitUntil(lambda: -10 < vb.viewRange()[0][0] < vb.viewRange()[0][1] < 150, timeout=5000)
    _wheel(panel, -400)  # and out: no further than a hundred times the data
    (x0, x1), (y0, y1) = vb.viewRange()
    assert 1e3 < x1 - x0 <= 100 * 100 * 1.01 and y1 - y0 <= 100 * 0.01 * 1.5, vb.viewRange()
    assert x0 < 0 and x1 > 99 and y0 < 0.5 and y1 > 0.506, vb.viewRange()  # still around the data


def test_the_legend_names_as_many_runs_as_fit_and_counts_the_rest(qtbot):
    from PySide6.QtWidgets import QMenu

    from desktop.workspace.panel_header import LegendEntry, PanelHeader

    header = PanelHeader(PanelSpec(metric="train/loss"), QMenu(), can_edit=True)
    qtbot.addWidget(header)
    header.show()
    qtbot.waitExposed(header)
    entries = [LegendEntry("#4e79a7", "\u25ac", f"brisk-sun-{i}") for i in range(4)]
    header.set_legend(entries, 17, ["(2 hidden)", "(▲ NaN/Inf)"], [])
    named_at = {}
    for width in (1400, 700, 520, 420, 300, 230, 200, 160):
        header.resize(width, 30)
        QApplication.processEvents()
        text = header.legend.text()
        named = text.count("brisk-sun-")
        named_at[width] = named
        assert f"+{17 - named} more" in text or (width < 300 and text in ("+17", "…", "")), text
        for note in ("(2 hidden)", "(▲ NaN/Inf)"):  # in the row where there is room, always in the tooltip
            assert note in header.legend.toolTip() and (note in text or width < 500), (width, text)
        assert header.legend.sizeHint().width() <= header.legend.width(), (width, text)  # nothing cut off
    assert named_at[1400] == 4 and named_at[300] == 0, named_at
    assert list(named_at.values()) == sorted(named_at.values(), reverse=True)  # fewer as it narrows


def test_an_alert_lines_label_leaves_the_view_with_its_line(qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {"acc": [0.2 + 0.01 * s for s in range(60)]})
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="good enough", metric="acc", threshold=0.9)
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "acc", 60), timeout=10_000)
    panel = view.panel("acc")
    [line] = panel.threshold_lines
    vb = panel.plot.getPlotItem().getViewBox()
    assert line.label.isVisible()
    vb.setYRange(0.2, 0.895, padding=0)  # the line just above the top edge: its label hung into view
    assert not line.label.isVisible()
    vb.setYRange(0.2, 1.0, padding=0)
    assert line.label.isVisible() and "good enough" in line.label.toPlainText()
    top = vb.mapViewToScene(pg.Point(0, 0.9)).y()
    assert abs(line.label.mapRectToScene(line.label.boundingRect()).top() - top) < 4  # hung under the line again


def test_hovering_a_mark_shared_by_several_runs_names_the_top_one_and_counts_the_rest(
        qtbot, ui_ctx, tasks, watcher, project):
    values = [1.0] * 30 + [float("nan")] * 10
    first = seed_run(ui_ctx.db, project.id, {"loss": values}, name="first")
    second = seed_run(ui_ctx.db, project.id, {"loss": values}, name="second")
    seed_run(ui_ctx.db, project.id, {"loss": [1.0] * 40}, name="finite")
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    panel = view.panel("loss")
    qtbot.waitUntil(lambda: len(panel.edge_marks.marks) == 2, timeout=10_000)
    vb = panel.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 39, timeout=5000)
    at = pg.Point(vb.mapViewToScene(pg.Point(35, 0)).x(), vb.sceneBoundingRect().bottom() - 2)
    panel._on_mouse_moved(at)
    text = panel.readout.text()
    top = view.panel_curve(second.id, "loss")  # drawn last, so on top
    assert f"{top.label} · step 35 · nan (and 1 more run here)" in text, text
    assert view.panel_curve(first.id, "loss").label not in text
    view.visibility.set_visible(first.id, False)
    qtbot.waitUntil(lambda: len(panel.edge_marks.marks) == 1, timeout=5000)
    panel._on_mouse_moved(at)
    assert panel.readout.text().endswith("step 35 · nan")


def test_a_log_y_panel_keeps_its_labels_while_zooming_in(qtbot, ui_ctx, tasks, watcher, project):
    run = seed_run(ui_ctx.db, project.id, {"loss": list(np.geomspace(2.0, 0.2, 100))})
    view = make_view(qtbot, ui_ctx, tasks, watcher, project)
    qtbot.waitUntil(lambda: drawn(view, run.id, "loss", 100), timeout=10_000)
    panel = view.panel("loss")
    panel.set_log_y(True)
    left = panel.plot.getPlotItem().getAxis("left")
    vb = panel.plot.getPlotItem().getViewBox()
    for notches in (2, 4, 4, 10, 20):  # once none left after 10: no 1 … 9 × 10ⁿ in view
        _wheel(panel, notches)
        _paint_and_lay_out(panel)
        assert len(_drawn_labels(left)) >= 2, (notches, vb.viewRange())
    panel.fit_view()
    qtbot.waitUntil(lambda: vb.viewRange()[1][1] - vb.viewRange()[1][0] > 0.9, timeout=5000)
    _wheel(panel, -400)  # out: the data's decade and four more, not a hundred times as many decades
    y0, y1 = vb.viewRange()[1]
    assert 4 < y1 - y0 <= 5.5 and y0 < -0.7 and y1 > 0.3, vb.viewRange()
