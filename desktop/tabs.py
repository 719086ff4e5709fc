"""Tab pages with stable object names ("tab-<name>") for tests and accessibility tools."""
from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget


def add_named_tab(tabs: QTabWidget, name: str, label: str, page: QWidget) -> QWidget:
    """Add `page` inside a container named `tab-<name>`, leaving the page's own name alone."""
    container = QWidget(tabs)
    container.setObjectName(f"tab-{name}")
    layout = QVBoxLayout(container)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(page)
    tabs.addTab(container, label)
    container.setAccessibleName(label)
    return container
