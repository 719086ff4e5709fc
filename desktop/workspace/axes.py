"""The panels' axes: whole steps, relative seconds or local wall-clock times on x; linear or log y."""
from __future__ import annotations

import math
from datetime import datetime

import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics

from desktop.workspace.bounds import ladder_up

X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}
AXIS_TITLES = {"step": "step", "relative": "relative time (s)", "wall": "wall time"}
LABEL_OVERHANG_PX = 12  # an x label may reach this far past the view's end (the panel leaves room)


class MajorOnlyAxis(pg.AxisItem):
    """An axis with one level of labelled ticks, 1, 2 or 5 × 10ⁿ apart, the finest whose labels
    stay MIN_PX apart. pyqtgraph's three levels put minor grid lines at every 0.02, and after a
    deep zoom fourteen 7-digit labels 16 px apart; they also took twice as long to lay out,
    which a live panel does whenever its range grows. A log axis labels 2 and 5 (or every digit)
    within a decade only where they have room."""

    MIN_PX = {"bottom": 80, "top": 80, "left": 32, "right": 32}
    LOG_STEPS = ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1,))  # labels within a decade, finest first

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        # grow for longer labels but never shrink back: a live value flipping between "0.5" and
        # "0.45" would otherwise lay the panel out again (and drop its labels for a frame)
        self.setStyle(autoReduceTextSpace=False)
        if orientation in ("bottom", "top"):  # the label of a tick at the very end may overhang
            self.setStyle(hideOverlappingLabels=LABEL_OVERHANG_PX)

    def reset_text_space(self) -> None:
        """Give back the room that long labels took (a deep zoom's 12-digit values): the axis
        grows again at its next paint as far as its labels need."""
        if self.orientation in ("left", "right"):  # (the other update pins the axis's length)
            self.textWidth = 30  # pyqtgraph's starting sizes
            self._updateWidth()
        else:
            self.textHeight = 18
            self._updateHeight()

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        span = maxVal - minVal
        if not (span > 0 and size > 0 and math.isfinite(span)):
            return super().tickSpacing(minVal, maxVal, size)
        return [(ladder_up(span * self.MIN_PX[self.orientation] / size, (1, 2, 5, 10)), 0.0)]

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: ANN001, ANN201, N802, N803
        major = [(spacing, values) for spacing, values in stdTicks if spacing >= 1.0 and len(values)]
        decades = maxVal - minVal
        if not (decades > 0 and size > 0 and math.isfinite(decades)):
            return major
        room = self.MIN_PX[self.orientation] * decades / size  # the least room between labels, in decades
        steps = next((s for s in self.LOG_STEPS if _least_log_gap(s) >= room), self.LOG_STEPS[-1])
        if major:
            steps = steps[1:]  # the decades are labelled already
        minor = [v + math.log10(m) for v in range(math.floor(minVal), math.ceil(maxVal)) for m in steps
                 if minVal < v + math.log10(m) < maxVal]
        if sum(len(values) for _spacing, values in major) + len(minor) < 2:
            return [(None, self._within_a_decade(minVal, maxVal, size))]
        return major + ([(None, minor)] if minor else [])

    def _within_a_decade(self, lo: float, hi: float, size: float) -> list[float]:
        """Zoomed in between 0.3 and 0.4 no 1 … 9 × 10ⁿ is in view: round values 1, 2 or 5 × 10ᵏ
        apart instead, spaced for the top of the view, where a log axis packs them closest."""
        top = 10.0 ** hi
        step = ladder_up(self.MIN_PX[self.orientation] * (hi - lo) / size * top * math.log(10), (1, 2, 5, 10))
        first = math.ceil(10.0 ** lo / step)
        return [math.log10(k * step) for k in range(first, math.floor(top / step) + 1) if k > 0]

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        # pyqtgraph wrote 10 as "10¹" but 1 as "1" and 0.1 as "0.1" on one axis
        return log_labels([v + math.log10(scale) for v in values])


def log_labels(values: list[float]) -> list[str]:
    """Labels of ticks at log10 `values`: plain numbers ("0.05", "1", "2000") while every one lies
    within 0.001 … 99,999, else powers of ten throughout ("10⁻⁶", "2×10⁸", "1" as "10⁰").
    Ticks within a decade (0.35, 0.36 …) get as many digits as tell them apart."""
    ticks = []
    for value in values:
        exponent = math.floor(value + 1e-9)
        ticks.append((round(10 ** (value - exponent)), exponent))  # one significant digit: 1 … 9
    if any(abs(10 ** v - m * 10.0**e) > 1e-6 * 10.0**e for v, (m, e) in zip(values, ticks)):
        numbers = [10.0**v for v in values]
        step = min((b - a for a, b in zip(numbers, numbers[1:])), default=numbers[0] / 10)
        if 1e-3 <= min(numbers) and max(numbers) < 1e5:
            return [f"{n:.{max(0, -math.floor(math.log10(step) + 1e-9))}f}" for n in numbers]
        digits = max(1, math.floor(math.log10(max(numbers))) - math.floor(math.log10(step)) + 1)
        return [f"{n:.{digits}g}" for n in numbers]
    if all(-3 <= e <= 4 for _m, e in ticks):
        return [str(m * 10**e) if e >= 0 else f"{m * 10.0**e:.{-e}f}" for m, e in ticks]
    return [("" if m == 1 else f"{m}×") + "10" + str(e).translate(_SUPERSCRIPT) for m, e in ticks]


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _least_log_gap(steps: tuple[int, ...]) -> float:
    """The smallest distance, in decades, between neighbouring labels at `steps` × 10ⁿ."""
    return min(math.log10(b / a) for a, b in zip(steps, (*steps[1:], 10)))


class StepAxis(MajorOnlyAxis):
    """The x axis of steps: whole numbers only (no 0.2, 0.4 … ticks when zoomed in)."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1.0, 0.0)]


DAY = 86_400
SPACINGS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
            1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200,
            DAY, 2 * DAY, 7 * DAY, 14 * DAY)
SUBSECOND_PX = 130  # "21:26:40.250" is wider than "21:26:40": fractions of a second get more room
MONTHS = (1, 2, 3, 6, 12)  # beyond two weeks: the first of every n-th month
SHORTEST_MONTH = 28 * DAY  # months are chosen by their shortest length, so labels never crowd
LATEST = 253_402_300_799  # 9999-12-31: datetime's range (and far beyond any run)


class WallTimeAxis(MajorOnlyAxis):
    """A bottom axis of Unix times in the local time zone. pyqtgraph's date axis picks its
    intervals for a wide screen: a six-minute run across a 400 px panel got one label, a
    day-long run "15" (the day of the month) alone. Here the interval is the shortest round one
    (1 s … 12 h, days, weeks, months, years) whose labels stay MIN_PX apart, and labels under a
    day name the date on the first tick and wherever the day changes."""

    MIN_PX = {"bottom": 100, "top": 100, "left": 40, "right": 40}  # "Dec 04 22:15:30" fits

    def __init__(self, orientation: str = "bottom") -> None:
        super().__init__(orientation)
        self._dated: float | None = None  # the first tick whose label, date and all, is shown

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N802, N803
        span = maxVal - minVal
        if not (span > 0 and size > 0 and 0 <= minVal and maxVal <= LATEST):
            return []
        least = span * self.MIN_PX[self.orientation] / size  # seconds between labels, at least
        spacing = next((s for s in SPACINGS if s >= (least if s >= 1 else span * SUBSECOND_PX / size)), None)
        if spacing is None:
            months = next((m for m in MONTHS if m * SHORTEST_MONTH >= least), None)
            if months is None:  # 1, 2, 5, 10, 20 … years
                months = 12 * round(ladder_up(least / (365 * DAY), (1, 2, 5, 10)))
            return [(float(months * SHORTEST_MONTH), _month_starts(minVal, maxVal, months))]
        ticks = _aligned(minVal, maxVal, spacing)
        self._dated = self._first_shown(ticks, minVal, maxVal, size, spacing)
        return [(float(spacing), ticks)]

    def _first_shown(self, ticks: list[float], lo: float, hi: float, size: float, spacing: float) -> float | None:
        """The first tick whose label with the date fits between the axis's ends (pyqtgraph
        drops a label that overhangs them): the date goes there, not on a label nobody sees."""
        metrics = QFontMetrics(self.style["tickFont"] or self.font())
        for tick in ticks:
            half = metrics.horizontalAdvance(self._label(datetime.fromtimestamp(round(tick, 6)), spacing, True)) / 2
            x = (tick - lo) / (hi - lo) * size
            if x + LABEL_OVERHANG_PX >= half and size - x + LABEL_OVERHANG_PX >= half:
                return tick
        return None

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        moments = [datetime.fromtimestamp(round(v, 6)) for v in values]  # 21:26:40.25, not .2499999
        if spacing >= 12 * SHORTEST_MONTH:
            return [m.strftime("%Y") for m in moments]
        if spacing >= SHORTEST_MONTH:
            return [m.strftime("%b %Y") for m in moments]
        labels, day = [], None
        for value, moment in zip(values, moments):
            dated = spacing < DAY and (value == self._dated or (day is not None and moment.date() != day))
            labels.append(self._label(moment, spacing, dated))
            if dated or day is not None:
                day = moment.date()
        return labels

    @staticmethod
    def _label(moment: datetime, spacing: float, dated: bool) -> str:
        if spacing >= DAY:
            return moment.strftime("%b %d")
        clock = "%H:%M:%S" if spacing < 60 else "%H:%M"
        text = moment.strftime(f"%b %d {clock}" if dated else clock)
        if spacing < 1:  # as many decimals as the spacing has: .5, .25, .125 …
            decimals = -math.floor(math.log10(spacing) + 1e-9)
            text += f".{moment.microsecond // 10 ** (6 - decimals):0{decimals}d}"
        return text


def _aligned(lo: float, hi: float, spacing: float) -> list[float]:
    """Multiples of `spacing` seconds from local midnight (of 1 Jan 1970) within [lo, hi]."""
    offset = datetime.fromtimestamp(lo).astimezone().utcoffset().total_seconds()
    first = math.ceil((lo + offset) / spacing) * spacing - offset
    count = int((hi - first) // spacing) + 1
    return [t for t in (first + i * spacing for i in range(max(0, count))) if lo <= t <= hi]  # float rounding


def _month_starts(lo: float, hi: float, months: int) -> list[float]:
    """Local midnights of the first of every `months`-th month (January, then every n-th month;
    over a year: January of every n-th year) within [lo, hi]."""
    start = datetime.fromtimestamp(lo)
    index = -(-(start.year * 12 + start.month - 1) // months) * months  # months since year 0
    ticks = []
    while index // 12 <= 9999:
        t = datetime(index // 12, index % 12 + 1, 1).timestamp()
        if t > hi:
            break
        if t >= lo:
            ticks.append(t)
        index += months
    return ticks


def x_axis(mode: str) -> pg.AxisItem:
    """A new bottom axis for x mode "step", "relative" or "wall"."""
    if mode == "wall":
        axis = WallTimeAxis("bottom")
    else:
        axis = StepAxis("bottom") if mode == "step" else MajorOnlyAxis("bottom")
    axis.enableAutoSIPrefix(False)  # steps are counts, times are dates: never "step (x1e+06)"
    return axis
