"""Peak (min/max) decimation and smoothing in numpy (no Qt): what a curve receives to draw.

A panel `width` pixels wide never needs more than two points per pixel: the lowest and the
highest value inside that pixel's slice of the x range. Keeping both (instead of every n-th
point, or the mean) is what keeps a single spike in millions of points on screen.
"""
from __future__ import annotations

import numpy as np

Line = tuple[np.ndarray, np.ndarray]


def clip_to_range(x: np.ndarray, y: np.ndarray, x0: float, x1: float) -> Line:
    """The points with x in [x0, x1] plus one neighbour each side, so lines reach the edges."""
    start = max(0, int(np.searchsorted(x, x0, side="left")) - 1)
    stop = min(len(x), int(np.searchsorted(x, x1, side="right")) + 1)
    return x[start:stop], y[start:stop]


def peak_decimate(x: np.ndarray, y: np.ndarray, buckets: int) -> Line:
    """At most 2 × `buckets` (+ 2) points keeping every bucket's min and max, in x order.

    Buckets are equal runs of consecutive points (x is sorted and roughly evenly spaced in
    steps); the first and last points are kept so the curve starts and ends where the data does.
    The kept points are gathered by index in one pass: this runs for every curve on every frame.
    """
    n = len(x)
    buckets = max(1, int(buckets))
    if n <= 2 * buckets:
        return x, y
    size = -(-n // buckets)  # ceil
    full = (n // size) * size
    rows = y[:full].reshape(-1, size)
    starts = np.arange(0, full, size)
    lo = rows.argmin(axis=1) + starts
    hi = rows.argmax(axis=1) + starts
    pairs = len(starts)
    tail = 2 if full < n else 0  # the short last bucket
    index = np.empty(2 * pairs + tail + 2, dtype=np.intp)
    index[0], index[-1] = 0, n - 1
    np.minimum(lo, hi, out=index[1:2 * pairs + 1:2])  # each pair in x order: no zigzag back
    np.maximum(lo, hi, out=index[2:2 * pairs + 2:2])
    if tail:
        rest = y[full:]
        i, j = int(rest.argmin()) + full, int(rest.argmax()) + full
        index[-3], index[-2] = min(i, j), max(i, j)
    keep = np.empty(len(index), dtype=bool)
    keep[0] = True
    np.not_equal(index[1:], index[:-1], out=keep[1:])  # a flat bucket's min is its max
    index = index[keep]
    return x.take(index), y.take(index)


def one_per_pixel(x: np.ndarray, x0: float, x1: float, width: int) -> np.ndarray:
    """The sorted `x` within [x0, x1], at most one per pixel column of a `width`-pixel view."""
    x = np.sort(x[(x >= x0) & (x <= x1)])
    if len(x) < 2 or not x1 > x0:
        return x
    column = np.floor((x - x0) * (max(1, width) / (x1 - x0)))
    return x[np.r_[True, column[1:] != column[:-1]]]


def envelope_line(steps: np.ndarray, mins: np.ndarray, maxs: np.ndarray) -> Line:
    """An envelope (one min and max per bucket) as a drawable line: min then max at each step."""
    if len(steps) == 0 or np.array_equal(mins, maxs):
        return np.asarray(steps, dtype=np.float64), np.asarray(mins, dtype=np.float64)
    x = np.repeat(np.asarray(steps, dtype=np.float64), 2)
    y = np.empty(2 * len(steps), dtype=np.float64)
    y[0::2], y[1::2] = mins, maxs
    return x, y


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (the trackers' "smoothing" slider, 0 = off, <1)."""
    if weight <= 0 or len(values) == 0:
        return values
    weight = min(float(weight), 0.999)
    alpha = 1.0 - weight
    n = len(values)
    # closed form of s_t = w s_{t-1} + (1-w) v_t computed in blocks to stay stable in float64
    out = np.empty(n, dtype=np.float64)
    block = max(1, min(512, int(250 / -np.log10(weight))))  # weight**-block stays < 1e250
    previous = 0.0
    powers = weight ** np.arange(1, block + 1)
    for start in range(0, n, block):
        chunk = values[start:start + block]
        m = len(chunk)
        p = powers[:m]
        scaled = np.cumsum(chunk * alpha / p)
        out[start:start + m] = p * (previous + scaled)
        previous = out[start + m - 1]
    debias = 1.0 - weight ** np.arange(1, n + 1)
    return out / debias
