"""One dark look for widgets and charts, so video, maps and plots read as one instrument panel."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#1b1e24"
PANEL = "#23272f"
TEXT = "#dfe1e5"
MUTED = "#8b9099"
ACCENT = "#4dabf7"


def apply_theme(app: QApplication) -> None:
    """Fusion style with a dark palette; pyqtgraph charts on the same background (call before any plot)."""
    app.setStyle("Fusion")
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: PANEL,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BACKGROUND,
        QPalette.ColorRole.AlternateBase: "#2a2f38",
        QPalette.ColorRole.ToolTipBase: "#2f343d",
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: "#2c313a",
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#1c7ed6",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: MUTED,
        QPalette.ColorRole.Mid: MUTED,
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6c717a"))
    app.setPalette(p)
    app.setStyleSheet(
        "QToolBar { border: none; spacing: 4px; padding: 2px; }"
        "QStatusBar { color: #c1c2c5; }"
        "QHeaderView::section { background: #2c313a; color: #c1c2c5; border: none; padding: 3px 6px; }"
        "QTableView { gridline-color: #343a44; }"
        "QSplitter::handle { background: #2a2f38; }"
    )
    pg.setConfigOptions(background=BACKGROUND, foreground="#b8bcc4", antialias=False)
