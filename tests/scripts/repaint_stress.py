"""Repaint a 3-curve pyqtgraph plot many times with changing ranges (case C9).

Prints the Qt binding version and how far `sys.getrefcount(None)` moved; exits 0 when done.
A faulty binding aborts the interpreter (Fatal Python error: none_dealloc) long before the end.
"""
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import PySide6  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def main(repaints: int) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    widget = pg.PlotWidget()
    widget.resize(640, 400)
    x = np.arange(5000, dtype=float)
    curves = [widget.plot(x, np.sin(x / (50 + 10 * i)), pen=pg.mkPen(i)) for i in range(3)]
    widget.show()
    before = sys.getrefcount(None)
    for frame in range(repaints):
        lo = frame % 4000
        widget.setXRange(lo, lo + 500 + frame % 700, padding=0)
        curves[frame % 3].setData(x, np.cos(x / (40 + frame % 30)))
        widget.grab()
        app.processEvents()
    after = sys.getrefcount(None)
    print(f"PySide6 {PySide6.__version__} repaints={repaints} none_refcount_delta={after - before}")
    widget.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
