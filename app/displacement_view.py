"""The displacement map of one event: onset and apex faces, the colour-coded map with its legend, the
arrow field on the apex face, and the mean motion per AU region.

Every picture comes from ``frl_core.viz``; this module only lays them out.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.video_view import rgb_to_qimage
from frl_core.faces.au_regions import AU_REGIONS
from frl_core.types import Event
from frl_core.viz import (DISPLAY_RANGE_PX, PALETTE, bgr, color_wheel_legend, displacement_to_rgb,
                          draw_displacement_arrows, region_magnitudes)

ARROW_CANVAS = 224


def event_pictures(event: Event) -> dict[str, np.ndarray] | None:
    """The event's colour-coded map and arrow field (RGB arrays) drawn by frl_core.viz.

    Pure numpy/OpenCV: the analysis thread calls it so the GUI thread only wraps finished pictures.
    """
    disp = event.displacement
    if disp is None:
        return None
    base = event.apex_face if event.apex_face is not None else np.full((ARROW_CANVAS, ARROW_CANVAS), 128, np.uint8)
    return {
        "map": displacement_to_rgb(disp),
        "arrows": draw_displacement_arrows(base, disp, step=max(8, base.shape[0] // 14),
                                           color=bgr(PALETTE["arrows"])[::-1]),
        "regions": event.region_magnitude or region_magnitudes(disp),
    }


ENLARGED_PX = 560
"""Side of a picture opened by double-clicking its tile."""


class ImageTile(QWidget):
    """A titled picture scaled to fit its square-ish cell; double-click opens it large."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.image: QImage | None = None
        self.enlarged: QDialog | None = None
        self.setMinimumSize(96, 110)
        self.setToolTip("double-click to enlarge")
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width + self.fontMetrics().height() + 4

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def image_side(self) -> int:
        """The side, in screen pixels, the picture is painted at."""
        return int(max(10, min(self.width(), self.height() - self.fontMetrics().height() - 4)))

    def mouseDoubleClickEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        self.show_enlarged()

    def show_enlarged(self) -> QDialog | None:
        """The picture at ``ENLARGED_PX`` in its own window (nearest-neighbour: the map's cells stay sharp)."""
        if self.image is None:
            return None
        if self.enlarged is None:
            self.enlarged = QDialog(self.window())
            label = QLabel()
            QVBoxLayout(self.enlarged).addWidget(label)
        label = self.enlarged.findChild(QLabel)
        label.setPixmap(QPixmap.fromImage(self.image).scaled(ENLARGED_PX, ENLARGED_PX,
                                                             Qt.AspectRatioMode.KeepAspectRatio,
                                                             Qt.TransformationMode.FastTransformation))
        self.enlarged.setWindowTitle(self.title)
        self.enlarged.show()
        self.enlarged.raise_()
        return self.enlarged

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        metrics = p.fontMetrics()
        th = metrics.height() + 4
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(0, 0, self.width(), th), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter,
                   self.title)
        side = max(10.0, min(self.width(), self.height() - th))
        cell = QRectF((self.width() - side) / 2, th, side, side)
        if self.image is None:
            p.fillRect(cell, QColor("#2b2f36"))
            p.setPen(QColor("#868e96"))
            p.drawText(cell, Qt.AlignmentFlag.AlignCenter, "—")
        else:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(cell, self.image)
        p.end()


class DisplacementView(QWidget):
    """Everything about one event's facial motion, updated by :meth:`show_event`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shown_event: Event | None = None
        self.header = QLabel("No event yet: spotted micro-expressions appear here")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.onset_tile = ImageTile("onset")
        self.apex_tile = ImageTile("apex")
        self.map_tile = ImageTile("displacement")
        self.arrow_tile = ImageTile("arrows on apex")
        grid = QGridLayout()
        grid.setSpacing(6)
        for i, tile in enumerate((self.onset_tile, self.apex_tile, self.map_tile, self.arrow_tile)):
            grid.addWidget(tile, i // 2, i % 2)
        self.wheel = QLabel()
        self.wheel.setPixmap(QPixmap.fromImage(rgb_to_qimage(color_wheel_legend(56))))
        self.wheel.setToolTip("colour of a displacement: hue = direction, saturation = magnitude")
        self.legend_note = QLabel(
            f"Head motion removed (apex registered onto onset). Map colour: hue = direction (wheel), "
            f"saturation = magnitude, white = still, full colour = {DISPLAY_RANGE_PX:g} px of the 224-px face, "
            f"the same for every event. Arrows: one grid cell = {DISPLAY_RANGE_PX:g} px. Double-click a picture "
            f"to enlarge it.")
        self.legend_note.setStyleSheet("color: #909296; font-size: 11px;")
        self.legend_note.setWordWrap(True)
        legend_row = QHBoxLayout()
        legend_row.addWidget(self.wheel, 0, Qt.AlignmentFlag.AlignTop)
        legend_row.addWidget(self.legend_note, 1)

        self.regions_plot = pg.PlotWidget()
        self.regions_plot.setMenuEnabled(False)
        self.regions_plot.setMouseEnabled(x=False, y=False)
        self.regions_plot.hideButtons()
        self.regions_plot.setTitle("AU-region motion", size="9pt")
        self.regions_plot.getPlotItem().layout.setContentsMargins(0, 0, 6, 0)  # room for the last tick label
        self.regions_plot.setMinimumHeight(150)
        self.regions_plot.setMinimumWidth(238)
        self.regions_plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.regions_plot.setLabel("bottom", "px")
        ticks = [(i, r.label) for i, r in enumerate(AU_REGIONS)]
        self.regions_plot.getAxis("left").setTicks([ticks])
        self.regions_plot.getPlotItem().invertY(True)
        self.regions_plot.setYRange(-0.6, len(AU_REGIONS) - 0.4, padding=0)
        self._bars = pg.BarGraphItem(x0=np.zeros(len(AU_REGIONS)), y=np.arange(len(AU_REGIONS)),
                                     height=0.65, width=np.zeros(len(AU_REGIONS)),
                                     brush=pg.mkBrush(PALETTE["au_region"]), pen=pg.mkPen(None))
        self.regions_plot.addItem(self._bars)

        pictures = QVBoxLayout()
        pictures.addLayout(grid, 1)
        pictures.addLayout(legend_row)
        body = QHBoxLayout()
        body.addLayout(pictures, 3)
        body.addWidget(self.regions_plot, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.header)
        layout.addLayout(body, 1)

    def region_values(self) -> dict[str, float]:
        """The bars as drawn: mean motion per AU region label."""
        return {r.label: float(w) for r, w in zip(AU_REGIONS, self._bars.opts["width"])}

    def has_image(self) -> bool:
        return self.map_tile.image is not None

    def clear(self) -> None:
        self.shown_event = None
        self.header.setText("No event yet: spotted micro-expressions appear here")
        for tile in (self.onset_tile, self.apex_tile, self.map_tile, self.arrow_tile):
            tile.set_image(None)
        self._bars.setOpts(width=np.zeros(len(AU_REGIONS)))

    def show_event(self, event: Event, pictures: dict | None = None) -> None:
        """Show ``event``; ``pictures`` from :func:`event_pictures` when already drawn off the GUI thread."""
        self.shown_event = event
        self.header.setText(
            f"<b>Event {event.event_id}: {html.escape(event.label_text())}</b> &nbsp; {event.kind} &nbsp; "
            f"frames {event.onset_index}–{event.apex_index}–{event.offset_index} &nbsp; "
            f"{event.onset_time:.2f}–{event.offset_time:.2f} s"
            + (f" &nbsp; made while talking: the apex is compared with frame {event.reference_index}, whose mouth "
               "stood as at the apex" if event.reference_index is not None
               else " &nbsp; made while talking: syllables move the mouth too" if event.while_talking else ""))
        self.onset_tile.set_image(rgb_to_qimage(event.onset_face) if event.onset_face is not None else None)
        self.apex_tile.set_image(rgb_to_qimage(event.apex_face) if event.apex_face is not None else None)
        disp = event.displacement
        if disp is None:
            self.map_tile.set_image(None)
            self.arrow_tile.set_image(None)
            self._bars.setOpts(width=np.zeros(len(AU_REGIONS)))
            return
        pictures = pictures or event_pictures(event)
        self.map_tile.set_image(rgb_to_qimage(pictures["map"]))
        self.arrow_tile.set_image(rgb_to_qimage(pictures["arrows"]))
        magnitudes = pictures["regions"]
        widths = np.array([magnitudes.get(r.name, 0.0) for r in AU_REGIONS], dtype=float)
        self._bars.setOpts(width=np.nan_to_num(widths))
        top = float(np.nanmax(widths)) if widths.size and np.isfinite(widths).any() else 0.0
        # one scale for every event (grown only when an event moves more), so bars compare across events
        self.regions_plot.setXRange(0, max(top, DISPLAY_RANGE_PX / 2) * 1.08, padding=0)
