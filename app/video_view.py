"""The video with its overlays: face box, 68 landmarks, AU region boxes, score and the latest event.

Painting only: frames arrive already decoded (from the analysis thread) and the region boxes come from
``frl_core.faces.au_regions.region_boxes`` on the frame's landmarks, the same regions the network pools.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from frl_core.faces.au_regions import region_boxes
from frl_core.types import Event, FrameResult
from frl_core.viz import PALETTE, class_color


def frame_to_qimage(frame: np.ndarray) -> QImage:
    """A deep-copied QImage of a BGR or grayscale uint8 frame."""
    frame = np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    if frame.ndim == 2:
        return QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_BGR888).copy()


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    if rgb.ndim == 2:
        return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


class VideoView(QWidget):
    """Shows the current frame, scaled to fit, with togglable overlays drawn in frame coordinates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.image: QImage | None = None
        self.result: FrameResult | None = None
        self.index = -1
        self.shown_event: Event | None = None
        self.show_face_box = True
        self.show_landmarks = True
        self.show_regions = True
        self.smooth = True
        """Smooth scaling; the window turns it off while frames stream (it costs more than a frame's budget)."""
        self.placeholder = "Open a video, a folder of frames or a camera\n(File menu, toolbar, or drop it here)"

    def set_frame(self, frame: np.ndarray, result: FrameResult | None, index: int) -> None:
        self.image = frame_to_qimage(frame)
        self.result = result
        self.index = index
        self.update()

    def set_event(self, event: Event | None) -> None:
        """The event named at the bottom of the picture (the latest, while it is recent)."""
        self.shown_event = event
        self.update()

    def clear(self) -> None:
        self.image = None
        self.result = None
        self.shown_event = None
        self.index = -1
        self.update()

    def set_overlays(self, face_box: bool, landmarks: bool, regions: bool) -> None:
        self.show_face_box, self.show_landmarks, self.show_regions = face_box, landmarks, regions
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#111317"))
        if self.image is None:
            p.setPen(QColor("#9aa0a6"))
            f = QFont(self.font())
            f.setPointSizeF(f.pointSizeF() * 1.2)
            p.setFont(f)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            p.end()
            return
        w, h = self.image.width(), self.image.height()
        scale = min(self.width() / w, self.height() / h)
        target = QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        p.drawImage(target, self.image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        face = self.result.face if self.result is not None else None
        p.save()
        p.translate(target.topLeft())
        p.scale(scale, scale)
        if face is not None:
            self._draw_face(p, face, w, h)
        p.restore()
        self._draw_caption(p, target)
        p.end()

    def _draw_face(self, p: QPainter, face, w: int, h: int) -> None:
        landmarks = np.asarray(face.landmarks, dtype=np.float64).reshape(-1, 2)
        if self.show_regions and landmarks.shape == (68, 2):
            color = QColor(PALETTE["au_region"])
            pen = QPen(color, 1.5)
            pen.setCosmetic(True)
            fill = QColor(color)
            fill.setAlpha(28)
            for x0, y0, x1, y1 in region_boxes(landmarks, w, h):
                p.setPen(pen)
                p.setBrush(fill)
                p.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        p.setBrush(Qt.BrushStyle.NoBrush)
        if self.show_face_box:
            # One colour; a box tracked between detections is dashed (the detector did not see it this frame).
            x0, y0, x1, y1 = face.box
            pen = QPen(QColor(PALETTE["face_box"]), 2)
            if not face.detected:
                pen.setStyle(Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        if self.show_landmarks:
            pen = QPen(QColor(PALETTE["landmarks"]), 3.0)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            p.drawPoints(QPolygonF([QPointF(float(x), float(y)) for x, y in landmarks]))

    def _draw_caption(self, p: QPainter, target: QRectF) -> None:
        r = self.result
        parts = []
        if r is not None:
            parts.append(f"frame {r.index}   t {r.timestamp:.2f} s")
            if math.isfinite(r.motion_score):
                parts.append(f"motion {r.motion_score:.3g}")
            if r.message:
                parts.append(r.message)
            elif r.face is None:
                parts.append("no face")
        elif self.index >= 0:
            parts.append(f"frame {self.index}")
        if parts:
            self._label(p, QPointF(target.left() + 8, target.top() + 8), "   ".join(parts), QColor("#f1f3f5"))
        e = self.shown_event
        if e is not None:
            f = QFont(self.font())
            f.setPointSizeF(f.pointSizeF() * 1.35)
            f.setBold(True)
            p.setFont(f)
            self._label(p, QPointF(target.left() + 8, target.bottom() - 40),
                        f"{e.kind}-expression #{e.event_id}: {e.label_text()}"
                        + (", while talking" if e.while_talking else ""),
                        QColor(class_color(e.label) if e.label else PALETTE["uncertain"]))
            p.setFont(self.font())

    @staticmethod
    def _label(p: QPainter, at: QPointF, text: str, color: QColor) -> None:
        metrics = p.fontMetrics()
        rect = QRectF(at.x(), at.y(), metrics.horizontalAdvance(text) + 12, metrics.height() + 6)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(color)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
