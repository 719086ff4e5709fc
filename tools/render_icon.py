"""Render the SVG app icon into a multi-size .ico (Windows) or .icns (macOS) for build.spec.

    python tools/render_icon.py resources/icons/runbell.svg build/runbell.ico
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

SIZE = {b"ico": 256, b"icns": 512}  # the largest each format takes; smaller sizes scale down


def render(svg: Path, out: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QIcon, QImageWriter

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (keeps Qt alive)
    fmt = out.suffix.lstrip(".").lower().encode()
    if fmt not in [bytes(f) for f in QImageWriter.supportedImageFormats()]:
        raise SystemExit(f"this Qt cannot write .{fmt.decode()} files")
    icon = QIcon(str(svg))
    size = SIZE.get(fmt, 256)
    image = icon.pixmap(size, size).toImage()
    if image.isNull():
        raise SystemExit(f"could not render {svg}")
    image = image.convertToFormat(image.Format.Format_ARGB32)
    writer = QImageWriter(str(out), fmt)
    if not writer.write(image):
        raise SystemExit(f"could not write {out}: {writer.errorString()}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    svg, out = Path(argv[0]), Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    render(svg, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
