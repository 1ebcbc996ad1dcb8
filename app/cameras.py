"""Finding webcams: opening a capture device can block for seconds, so the window asks from a background thread."""

from __future__ import annotations

import glob
import sys
import threading

import cv2
from PySide6.QtCore import QObject, Signal


def probe_cameras(max_index: int = 4) -> list[int]:
    """Camera indices that open and deliver a frame (skipped quickly where no video device exists)."""
    if sys.platform.startswith("linux") and not glob.glob("/dev/video*"):
        return []
    found = []
    for i in range(max_index):
        cap = cv2.VideoCapture(i)
        try:
            if cap.isOpened() and cap.read()[0]:
                found.append(i)
        finally:
            cap.release()
    return found


class CameraProbe(QObject):
    """Looks for cameras in a background thread (opening a device can take seconds)."""

    found = Signal(list)

    def start(self) -> None:
        threading.Thread(target=lambda: self.found.emit(probe_cameras()), name="camera-probe", daemon=True).start()
