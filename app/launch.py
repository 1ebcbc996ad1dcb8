"""The app's start: QApplication, theme, splash while the models warm up, then the window on the chosen source
(the bundled demo clip when none is named)."""

from __future__ import annotations

import argparse
import sys

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from app.main_window import MainWindow
from app.pipeline import warm_up
from app.settings import AppSettings
from app.theme import apply_theme
from frl_core.paths import ASSETS_DIR


def _splash_pixmap() -> QPixmap:
    pixmap = QPixmap(520, 200)
    pixmap.fill(QColor("#1c1f26"))
    p = QPainter(pixmap)
    p.setPen(QColor("#f1f3f5"))
    font = QFont()
    font.setPointSize(18)
    font.setBold(True)
    p.setFont(font)
    p.drawText(pixmap.rect().adjusted(0, 40, 0, -90), Qt.AlignmentFlag.AlignHCenter, "FRL-DGT")
    font.setPointSize(11)
    font.setBold(False)
    p.setFont(font)
    p.drawText(pixmap.rect().adjusted(0, 90, 0, -50), Qt.AlignmentFlag.AlignHCenter,
               "micro-expression spotting and recognition")
    p.end()
    return pixmap


def run_gui(args: argparse.Namespace) -> int:
    """``python main.py [--video PATH | --frames DIR | --camera N]``: open the window."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FRL-DGT micro-expression studio")
    app.setOrganizationName("FRL-DGT")
    apply_theme(app)
    icon = ASSETS_DIR / "icon.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    splash = QSplashScreen(_splash_pixmap())
    splash.show()
    splash.showMessage("Loading the face and expression models…",
                       Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter, QColor("#dee2e6"))
    app.processEvents()
    settings = AppSettings.load(QSettings())
    warm_up(settings)
    explicit = args.video or args.frames or getattr(args, "camera", None) is not None
    window = MainWindow(settings, probe_cameras=not explicit)
    window.resize(1440, 900)
    window.show()
    splash.finish(window)
    if args.video:
        window.open_spec(args.video)
    elif args.frames:
        window.open_spec(args.frames)
    elif args.camera is not None:
        window.open_spec(int(args.camera))
    else:
        window.open_demo()
    return int(app.exec())
