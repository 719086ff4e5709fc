"""The panel's one line item (lines.py) and the peak decimation that feeds it."""
from __future__ import annotations

import math
import time
from datetime import datetime

import numpy as np
import pyqtgraph as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QColor

from desktop.workspace.axes import MajorOnlyAxis, x_axis
from desktop.workspace.bounds import snap_out
from desktop.workspace.curves import robust_range
from desktop.workspace.decimate import peak_decimate
from desktop.workspace.gridlines import GridLines
from desktop.workspace.lines import PanelLines

RED, BLUE = QColor("#ff0000"), QColor("#0000ff")


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=3000), buckets=st.integers(1, 400))
def test_peak_decimation_keeps_every_buckets_extremes_in_order(values, buckets):
    y = np.array(values)
    x = np.arange(len(y), dtype=float) * 3.0
    dx, dy = peak_decimate(x, y, buckets)
    assert len(dx) <= 2 * buckets + 4
    assert dx[0] == x[0] and dx[-1] == x[-1]  # the line starts and ends where the data does
    assert np.all(np.diff(dx) > 0)  # x order, no point twice
    index = (dx / 3.0).astype(int)
    np.testing.assert_array_equal(dy, y[index])  # only real points, never invented ones
    if len(y) > 2 * buckets:
        size = -(-len(y) // buckets)
        for start in range(0, len(y), size):
            part = y[start:start + size]
            assert part.min() in dy[(index >= start) & (index < start + size)]
            assert part.max() in dy[(index >= start) & (index < start + size)]
    else:
        np.testing.assert_array_equal(dy, y)


def _counts(widget: pg.PlotWidget) -> tuple[int, int]:
    """(reddish, bluish) pixels in a grab of the widget."""
    image = widget.grab().toImage()
    red = blue = 0
    for yy in range(0, image.height(), 2):
        for xx in range(0, image.width(), 2):
            c = image.pixelColor(xx, yy)
            if c.red() > 200 and c.blue() < 80 and c.green() < 80:
                red += 1
            elif c.blue() > 200 and c.red() < 80 and c.green() < 80:
                blue += 1
    return red, blue


def _two_lines_on_the_same_points(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(300, 200)
    widget.setBackground("w")
    lines = PanelLines()
    widget.getPlotItem().getViewBox().addItem(lines)
    x = np.linspace(0, 10, 50)
    red, blue = lines.add_line("red"), lines.add_line("blue")
    for line, color in ((red, RED), (blue, BLUE)):
        line.setPen(pg.mkPen(color, width=1))
        line.setData(x, np.sin(x))
    lines.refresh()
    widget.getPlotItem().getViewBox().autoRange()
    widget.show()
    qtbot.waitExposed(widget)
    return widget, lines, red, blue


def test_the_highlighted_line_is_painted_over_the_others(qtbot):
    widget, lines, red, blue = _two_lines_on_the_same_points(qtbot)
    reds, blues = _counts(widget)
    assert blues > 20 and reds < blues  # added last, blue covers red
    red.on_top = True
    red.setPen(pg.mkPen(RED, width=2.5))
    reds, blues = _counts(widget)
    assert reds > 20 and blues < reds / 4  # the wider red line now covers blue


def test_hidden_lines_are_not_painted_and_new_points_move_the_bounds(qtbot):
    widget, lines, red, blue = _two_lines_on_the_same_points(qtbot)
    blue.setVisible(False)
    reds, blues = _counts(widget)
    assert reds > 20 and blues == 0
    assert lines.boundingRect().bottom() < 1.5
    blue.setData(np.array([0.0, 10.0]), np.array([5.0, 6.0]))
    lines.refresh()
    assert lines.boundingRect().bottom() >= 6.0  # Qt repaints the new area too
    assert lines.dataBounds(1) == (np.sin(np.linspace(0, 10, 50)).min(), 6.0)
    lines.remove_line(blue)
    assert lines.boundingRect().bottom() < 1.5 and [ln.objectName() for ln in lines.lines] == ["red"]


@settings(max_examples=300, deadline=None)
@given(lo=st.floats(-1e12, 1e12), span=st.floats(1e-9, 1e9), growing=st.booleans())
def test_auto_range_snaps_outward_by_at_most_a_tenth_each_side(lo, span, growing):
    """A growing axis rounds its span up the R20 ladder instead: at most a seventh more."""
    hi = lo + span
    if not hi > lo:
        return
    s_lo, s_hi = snap_out([lo, hi], growing=growing)
    assert s_lo <= lo and s_hi >= hi
    most = 1.1 * 1.15 if growing else 1.2
    assert (s_hi - s_lo) <= (hi - lo) * most + 1e-6 * max(abs(lo), abs(hi), 1)


def test_a_growing_step_axis_moves_about_twenty_times_a_decade_not_every_ten_steps():
    def moves(grow: bool) -> int:
        ranges = [snap_out([0.0, float(hi)], growing=grow) for hi in range(100, 1001)]
        return sum(a != b for a, b in zip(ranges, ranges[1:]))

    assert moves(False) == 90 and moves(True) <= 21  # steps 100 → 1,000
    assert snap_out([0.0, 412.0], growing=True) == [0.0, 450.0]
    assert snap_out([0.0, 450.0], growing=True) == [0.0, 450.0]  # exactly on a rung: no room added


def test_the_x_axes_of_steps_and_seconds_have_one_level_of_ticks(qtbot):
    steps, seconds = x_axis("step"), x_axis("relative")
    for lo, hi in [(0, 300), (0, 2), (0, 1e6), (10, 11)]:
        levels = steps.tickSpacing(lo, hi, 600)
        assert len(levels) == 1 and levels[0][0] >= 1, (lo, hi, levels)  # whole steps only
    for lo, hi in [(0, 300), (0, 0.5)]:
        levels = seconds.tickSpacing(lo, hi, 600)
        assert len(levels) == 1 and (hi - lo) / levels[0][0] >= 3, (lo, hi, levels)
    # the finest level whose labels stay 80 px apart: every 50 steps on a wide panel, not every 100
    assert steps.tickSpacing(0, 330, 620) == [(50.0, 0)] and steps.tickSpacing(0, 330, 300) == [(100.0, 0)]
    assert MajorOnlyAxis("left").tickSpacing(-1, 1, 150) == [(0.5, 0)]  # short: coarse, not 40 labels


def test_a_growing_live_range_moves_only_every_tenth_of_its_span():
    assert snap_out([0.0, 412.0]) == [0.0, 420.0]
    assert snap_out([0.0, 415.0]) == snap_out([0.0, 419.0])  # five more steps: the axes stay put
    assert snap_out([0.0832, 2.07]) == pytest.approx([0.0, 2.1])
    assert snap_out([5.0, 5.0]) == [5.0, 5.0] and snap_out(None) is None


def test_the_y_axis_has_one_level_of_ticks_and_at_least_three_labels(qtbot):
    axis = MajorOnlyAxis("left")
    for lo, hi in [(0.28, 2.52), (0.2, 2.6), (2.29, 2.40), (0.0, 1000.0), (-1e-6, 1e-6), (0.0, 0.95)]:
        levels = axis.tickSpacing(lo, hi, 260)
        assert len(levels) == 1 and (hi - lo) / levels[0][0] >= 3, (lo, hi, levels)


def test_ignoring_outliers_drops_a_lone_spike_but_keeps_a_falling_losss_first_steps():
    rng = np.random.default_rng(3)
    short = 1 + rng.random(100)
    short[50] = 1e6
    lo, hi = robust_range(short)
    assert hi < 2.01 and lo == short[short < 3].min()  # the spike is left out, the rest is all in
    loss = np.geomspace(2.3, 0.1, 200)
    assert robust_range(loss) == [0.1, 2.3]  # steep but no outlier: the whole curve
    assert robust_range(np.array([5.0, 5.0, 5.0, 5.0, 900.0])) == [5.0, 5.0]


def test_grid_lines_sit_on_the_labelled_ticks_and_follow_the_view(qtbot):
    widget = pg.PlotWidget(axisItems={"left": MajorOnlyAxis("left")})
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.setBackground("w")
    item = widget.getPlotItem()
    grid = GridLines(item.getAxis("bottom"), item.getAxis("left"))
    grid.set_color(QColor("black"))
    item.getViewBox().addItem(grid, ignoreBounds=True)
    item.setRange(xRange=(0, 100), yRange=(0, 1), padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    widget.grab()
    vertical = sorted(line.x1() for line in grid._cache[1] if line.x1() == line.x2())
    assert vertical and all(v % 10 == 0 for v in vertical) and 40 in vertical
    assert item.getAxis("left").grid is False  # the axes draw no grid of their own
    image = widget.grab().toImage()
    vb = item.getViewBox()
    at_40 = vb.mapViewToScene(pg.Point(40, 0.5))
    pos = widget.mapFromScene(at_40)
    beside = widget.mapFromScene(vb.mapViewToScene(pg.Point(45, 0.5)))
    assert image.pixelColor(pos.x(), pos.y()).lightness() < image.pixelColor(beside.x(), beside.y()).lightness()
    item.setRange(xRange=(1000, 1100), yRange=(0, 1), padding=0)
    widget.grab()
    assert min(line.x1() for line in grid._cache[1] if line.x1() == line.x2()) >= 1000


def test_grid_lines_on_a_wall_time_axis_fall_on_its_labelled_times(qtbot):
    widget = pg.PlotWidget(axisItems={"bottom": x_axis("wall")})
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    item = widget.getPlotItem()
    grid = GridLines(item.getAxis("bottom"), item.getAxis("left"))
    item.getViewBox().addItem(grid, ignoreBounds=True)
    item.setRange(xRange=(1.7e9, 1.7e9 + 3600), yRange=(0, 1), padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    widget.grab()
    vertical = [line.x1() for line in grid._cache[1] if line.x1() == line.x2()]
    [(_spacing, labelled)] = item.getAxis("bottom").tickValues(1.7e9, 1.7e9 + 3600, item.getViewBox().width())
    assert vertical == labelled and len(vertical) >= 2


@pytest.mark.parametrize("lo, hi, size", [
    (0.511425, 0.511438, 220),  # a deep zoom: once fourteen 7-digit labels 16 px apart
    (-1e11, 1e12, 160),  # one huge spike
    (0.0, 1.0, 40), (-5.0, 5.0, 1000),
])
def test_labels_keep_their_room_at_any_zoom(qtbot, lo, hi, size):
    axis = MajorOnlyAxis("left")
    [(spacing, values)] = axis.tickValues(lo, hi, size)
    assert 1 <= len(values) <= size / 32 + 1
    assert spacing / (hi - lo) * size >= 32


@pytest.mark.parametrize("lo, hi, size", [
    (math.log10(0.04), math.log10(3), 300),  # a loss on log y: 1, 0.9, 0.8 … were drawn over each other
    (-300.0, 300.0, 300),  # 600 decades: the minor ticks were a solid black bar
    (-3.25, 1.25, 300), (-0.35, 0.53, 300), (-1.0, 0.0, 800),
])
def test_log_axis_labels_never_overlap(qtbot, lo, hi, size):
    axis = MajorOnlyAxis("left")
    axis.setLogMode(False, True)
    values = sorted(v for _spacing, level in axis.tickValues(lo, hi, size) for v in level)
    assert 2 <= len(values) <= size / 32 + 1, values
    gaps_px = np.diff(values) / (hi - lo) * size
    assert gaps_px.min() >= 32 - 1e-9, values


@pytest.fixture
def berlin_time(monkeypatch):
    """Local time pinned to a zone an hour off UTC (with summer time), so alignment is tested."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()




@pytest.mark.parametrize("span, size, labels", [
    # the first tick sits on the left end, where pyqtgraph drops its label: the date goes on the next
    (10, 500, ["21:26:40", "Dec 04 21:26:42", "21:26:44", "21:26:46", "21:26:48", "21:26:50"]),
    (0.05, 500, ["21:26:40.00", "Dec 04 21:26:40.02", "21:26:40.04"]),  # a 50 ms run: once no labels
    (400, 440, ["Dec 04 21:28", "21:30", "21:32"]),  # six minutes: once one label in all
    (3 * 3600, 400, ["Dec 04 22:00", "23:00", "Dec 05 00:00"]),  # the date again where the day changes
    (4 * 86_400, 400, ["Dec 05", "Dec 06", "Dec 07", "Dec 08"]),  # once "5", "6" …
    (400 * 86_400, 400, ["Jan 2026", "Jul 2026", "Jan 2027"]),
    (40 * 365 * 86_400, 300, ["2040", "2060"]),
])
def test_wall_time_labels_are_local_round_times_with_the_date_where_it_changes(berlin_time, span, size, labels):
    lo = datetime(2025, 12, 4, 21, 26, 40).timestamp()
    axis = x_axis("wall")
    [(spacing, values)] = axis.tickValues(lo, lo + span, size)
    assert axis.tickStrings(values, 1.0, spacing) == labels
    assert all(lo <= v <= lo + span for v in values)
    assert min(np.diff(values), default=spacing) / span * size >= axis.MIN_PX["bottom"] - 1e-6  # never crowd


@settings(max_examples=300, deadline=None)
@given(lo=st.floats(0, 4e9), span=st.floats(1e-3, 3e9), size=st.floats(50, 3000))
def test_wall_time_labels_keep_their_room_at_any_range(lo, span, size):
    axis = x_axis("wall")
    levels = axis.tickValues(lo, lo + span, size)
    values = [v for _spacing, level in levels for v in level]
    assert all(lo <= v <= lo + span for v in values)
    if len(values) > 1:
        assert np.diff(values).min() / span * size >= axis.MIN_PX["bottom"] - 1e-6
    assert len(axis.tickStrings(values, 1.0, levels[0][0] if levels else 1.0)) == len(values)


@pytest.mark.parametrize("values, labels", [
    ([0.001, 0.05, 0.1, 1, 10, 2000, 10_000], ["0.001", "0.05", "0.1", "1", "10", "2000", "10000"]),
    ([1e-6, 1e-5, 1e-3, 1, 10, 2e8], ["10⁻⁶", "10⁻⁵", "10⁻³", "10⁰", "10¹", "2×10⁸"]),  # one style per level
    ([0.2, 0.3, 0.5], ["0.2", "0.3", "0.5"]),
])
def test_log_axis_labels_are_written_one_way(qtbot, values, labels):
    axis = MajorOnlyAxis("left")
    axis.setLogMode(False, True)
    assert axis.tickStrings([math.log10(v) for v in values], 1.0, 1.0) == labels  # once "10¹" beside "1"


@pytest.mark.parametrize("offset", [0.0, 0.3, 1.7])  # the first tick on the left end, or just inside it
def test_a_drawn_wall_time_axis_always_shows_the_date_once(qtbot, berlin_time, offset):
    from PySide6.QtGui import QImage, QPainter

    widget = pg.PlotWidget(axisItems={"bottom": x_axis("wall")})
    qtbot.addWidget(widget)
    widget.resize(520, 200)
    lo = datetime(2025, 12, 4, 21, 26, 40).timestamp() - offset
    widget.getPlotItem().setRange(xRange=(lo, lo + 10), padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    widget.grab()
    axis = widget.getPlotItem().getAxis("bottom")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis_spec, _ticks, texts = axis.generateDrawSpecs(painter)  # what pyqtgraph draws, after dropping
    finally:
        painter.end()
    drawn = [text for _rect, _flags, text in texts]
    assert sum(text.startswith("Dec 04") for text in drawn) == 1, drawn


@pytest.mark.parametrize("lo, hi, size, labels", [
    (0.31, 0.39, 300, ["0.31", "0.32", "0.33", "0.34", "0.35", "0.36", "0.37", "0.38", "0.39"]),
    (0.3501, 0.3502, 300, ["0.35010", "0.35012", "0.35014", "0.35016", "0.35018", "0.35020"]),
    (35_000, 36_000, 200, ["35000", "35200", "35400", "35600", "35800"]),
    (3.5e-7, 3.6e-7, 200, ["3.5e-07", "3.52e-07", "3.54e-07", "3.56e-07", "3.58e-07"]),
])
def test_a_log_axis_zoomed_within_a_decade_keeps_labels_that_tell_values_apart(qtbot, lo, hi, size, labels):
    axis = MajorOnlyAxis("left")
    axis.setLogMode(False, True)
    levels = axis.tickValues(math.log10(lo), math.log10(hi), size)  # once none at all: no 1 … 9 × 10ⁿ in view
    assert [text for spacing, values in levels for text in axis.tickStrings(values, 1.0, spacing)] == labels
    values = sorted(v for _spacing, level in levels for v in level)
    gaps_px = np.diff(values) / (math.log10(hi) - math.log10(lo)) * size
    assert gaps_px.min() >= 32 - 1e-9
