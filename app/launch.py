"""The app's start and end: a splash painted before anything heavy loads, the models and compiled kernels
prepared behind it with their progress shown, then the window on the chosen source (the bundled demo clip
when none is named); Ctrl-C in the terminal closes the window like its close button, and the process
ends as soon as the window has stopped its threads.

``FRL_STUDIO_TRACE=FILE`` appends one line per start-up milestone (``name unix_time``) to FILE, and
``FRL_STUDIO_QUIT_AFTER_FIRST_FRAME=1`` closes the window once the first frame is painted: together they
let ``python main.py bench startup`` time a real launch.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from frl_core.paths import ASSETS_DIR

TRACE_ENV = "FRL_STUDIO_TRACE"
QUIT_AFTER_FIRST_FRAME_ENV = "FRL_STUDIO_QUIT_AFTER_FIRST_FRAME"
SIGNAL_POLL_MS = 200
"""Python runs its signal handlers only between bytecodes; while Qt's loop waits, a timer wakes it."""


def trace(milestone: str) -> None:
    """Record a start-up milestone when ``FRL_STUDIO_TRACE`` names a file (never fails the app)."""
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{milestone} {time.time():.4f}\n")
    except OSError:
        pass


class Splash(QSplashScreen):
    """The start-up splash; remembers whether it has really been painted."""

    def __init__(self) -> None:
        super().__init__(_splash_pixmap())
        self.painted = False

    def drawContents(self, painter: QPainter) -> None:  # noqa: N802 (Qt's name)
        super().drawContents(painter)
        self.painted = True

    def say(self, text: str) -> None:
        self.showMessage(text, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter, QColor("#dee2e6"))


def _splash_pixmap() -> QPixmap:
    pixmap = QPixmap(560, 200)
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


def _show_splash(app: QApplication) -> Splash:
    splash = Splash()
    splash.show()
    splash.say("starting…")
    deadline = time.perf_counter() + 1.0
    while not splash.painted and time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
    return splash


class _Interrupted(Exception):
    """Ctrl-C arrived before the window was up."""


def _prepare(app: QApplication, splash: Splash, settings, check: Callable[[], None]) -> list[str]:
    """Load the face models, build the kernels and load the recogniser behind the splash."""
    from app.pipeline import load_recognizer, preload, reserve_gui_core
    from frl_core.engine.warmup import WarmUp

    reserve_gui_core()
    warm = WarmUp(settings.weights or None, settings.device, load_recognizer).start()
    while not warm.wait(0.0):
        check()
        splash.say(warm.status())
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 100)
        warm.wait(0.1)
    if warm.recognizer is not None:
        preload(settings.model_key(), warm.recognizer, warm.model_info)
    return warm.problems


def run_gui(args: argparse.Namespace) -> int:
    """``python main.py [--video PATH | --frames DIR | --camera N]``: open the window."""
    trace("launch")
    # Until the window is up, Ctrl-C only raises a flag checked between the start-up steps: an exception
    # raised inside a Qt callback (painting the splash) would be swallowed and the app would go on.
    interrupted: list[int] = []
    signal.signal(signal.SIGINT, lambda *_: interrupted.append(1))
    try:
        window = _start(args, interrupted)
    except _Interrupted:
        print("interrupted while starting", file=sys.stderr)
        return 130
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))
    if interrupted:  # pressed while the window was being built
        QTimer.singleShot(0, window.close)
    poll = QTimer()
    poll.timeout.connect(lambda: None)
    poll.start(SIGNAL_POLL_MS)
    code = int(QApplication.instance().exec())
    trace("closed")
    return code


def _start(args: argparse.Namespace, interrupted: list[int]):
    """Splash, models, window and source; raises _Interrupted at the first step after a Ctrl-C."""
    def check() -> None:
        if interrupted:
            splash.close()
            raise _Interrupted

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FRL-DGT micro-expression studio")
    app.setOrganizationName("FRL-DGT")
    icon = ASSETS_DIR / "icon.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    splash = _show_splash(app)
    trace("splash_painted")
    check()
    # Imported after the splash is up: the theme loads pyqtgraph, the settings the face and spotting code.
    from app.settings import AppSettings
    from app.theme import apply_theme

    apply_theme(app)
    settings = AppSettings.load(QSettings())
    check()
    _prepare(app, splash, settings, check)
    trace("models_ready")
    splash.say("opening the window…")
    from app.main_window import MainWindow

    check()
    explicit = args.video or args.frames or getattr(args, "camera", None) is not None
    window = MainWindow(settings, probe_cameras=not explicit)
    window.resize(1440, 900)
    window.first_frame_shown.connect(lambda: trace("first_frame"))
    if os.environ.get(QUIT_AFTER_FIRST_FRAME_ENV):
        window.first_frame_shown.connect(lambda: QTimer.singleShot(0, lambda: (trace("close_requested"),
                                                                                window.close())))
    window.show()
    splash.finish(window)
    trace("window_shown")
    if args.video:
        window.open_spec(args.video)
    elif args.frames:
        window.open_spec(args.frames)
    elif args.camera is not None:
        window.open_spec(int(args.camera))
    else:
        window.open_demo()
    return window

