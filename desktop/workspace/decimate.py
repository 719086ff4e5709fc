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
    """At most 2 × `buckets` points keeping every bucket's min and max, in x order.

    Buckets are equal runs of consecutive points (x is sorted and roughly evenly spaced in
    steps); the first and last points are kept so the curve starts and ends where the data does.
    """
    n = len(x)
    buckets = max(1, int(buckets))
    if n <= 2 * buckets:
        return x, y
    size = -(-n // buckets)  # ceil
    full = (n // size) * size
    xs = x[:full].reshape(-1, size)
    ys = y[:full].reshape(-1, size)
    lo = ys.argmin(axis=1)
    hi = ys.argmax(axis=1)
    rows = np.arange(len(ys))
    first = np.minimum(lo, hi)  # keep each pair in x order so the line does not zigzag back
    second = np.maximum(lo, hi)
    out_x = np.empty(2 * len(ys), dtype=np.float64)
    out_y = np.empty(2 * len(ys), dtype=np.float64)
    out_x[0::2], out_x[1::2] = xs[rows, first], xs[rows, second]
    out_y[0::2], out_y[1::2] = ys[rows, first], ys[rows, second]
    if full < n:  # the short last bucket
        tail_x, tail_y = x[full:], y[full:]
        i, j = sorted((int(tail_y.argmin()), int(tail_y.argmax())))
        out_x = np.concatenate([out_x, tail_x[[i, j]]])
        out_y = np.concatenate([out_y, tail_y[[i, j]]])
    if out_x[-1] != x[-1]:
        out_x = np.append(out_x, x[-1])
        out_y = np.append(out_y, y[-1])
    if out_x[0] != x[0]:
        out_x = np.insert(out_x, 0, x[0])
        out_y = np.insert(out_y, 0, y[0])
    return out_x, out_y


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
