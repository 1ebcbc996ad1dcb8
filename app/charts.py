"""Live pyqtgraph charts: the motion score with its threshold and detected intervals, the class
probabilities of the latest event, and a timeline of every event's probabilities.

Data arrive in batches and are drawn at most a few times a second (``refresh``), so fast analysis
never floods the GUI thread; long inputs keep flat drawing cost through clipping and downsampling.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from frl_core.types import Event, FrameResult

CLASS_COLORS = {"negative": "#fa5252", "positive": "#40c057", "surprise": "#339af0", "uncertain": "#adb5bd"}
FALLBACK_COLORS = ("#fab005", "#be4bdb", "#15aabf", "#fd7e14")
FOLLOW_SECONDS = 20.0
"""While analysis runs, the score chart shows the newest frames in pages of this many seconds.

Pages rather than a smooth scroll: an axis whose range changes must re-render all its labels, which
costs tens of milliseconds in software rendering; a page changes its axes once per page."""


def class_color(name: str, index: int) -> str:
    return CLASS_COLORS.get(name, FALLBACK_COLORS[index % len(FALLBACK_COLORS)])


def _plot(title: str) -> pg.PlotWidget:
    """A chart without grid lines: they would double the cost of every redraw."""
    w = pg.PlotWidget()
    w.setTitle(title, size="9pt")
    w.setMenuEnabled(False)
    w.setMinimumHeight(140)
    return w


class GrowingSeries:
    """Append-only float arrays with amortised growth (no O(n^2) copies over hours of frames)."""

    def __init__(self, columns: int, capacity: int = 4096) -> None:
        self._data = np.full((capacity, columns), np.nan)
        self.size = 0

    def extend(self, rows: np.ndarray) -> None:
        n = len(rows)
        if self.size + n > len(self._data):
            grown = np.full((max(2 * len(self._data), self.size + n), self._data.shape[1]), np.nan)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size: self.size + n] = rows
        self.size += n

    def column(self, i: int) -> np.ndarray:
        return self._data[: self.size, i]

    def clear(self) -> None:
        self.size = 0


class ScoreChart:
    """Spotting score per frame with the adaptive threshold it is compared with, shaded event intervals
    and a playhead.

    The bold curve is the two-sided score events are detected on; it is known a window (0.6 s) after
    its frame, so it trails the playhead. The faint curve is the live one-sided motion (each frame
    against the face a window before): it leads, but shows every movement a second time, a window later.
    """

    def __init__(self) -> None:
        self.widget = _plot("spotting score (AU regions) · threshold · detected intervals")
        self.widget.setLabel("bottom", "time", units="s")
        self.widget.addLegend(offset=(-8, 4), labelTextSize="8pt")
        self.motion = self.widget.plot(pen=pg.mkPen("#4d6f8f", width=1), name="motion vs 0.6 s before")
        self.score = self.widget.plot(pen=pg.mkPen("#74c0fc", width=1.5), name="spotting score")
        # Solid, not dashed: a dashed curve is several times dearer to redraw in software rendering.
        self.threshold = self.widget.plot(pen=pg.mkPen("#ff922b", width=1), name="threshold")
        for curve in (self.motion, self.score, self.threshold):
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
        self.playhead = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#adb5bd", width=1))
        self.widget.addItem(self.playhead)
        self.series = GrowingSeries(3)
        self.decided = GrowingSeries(2)
        self.regions: list[pg.LinearRegionItem] = []
        self.follow = True
        self._dirty = False
        self._page: float | None = None
        self._top = 0.0
        self.widget.disableAutoRange()

    def add_results(self, results: list[FrameResult]) -> None:
        if results:
            rows = np.array([(r.timestamp, r.motion_score, r.threshold) for r in results], dtype=float)
            self.series.extend(rows)
            decided = [(t, c) for r in results for _j, t, c in r.decided_scores]
            if decided:
                self.decided.extend(np.array(decided, dtype=float))
            self._dirty = True

    def add_event(self, event: Event, color: str) -> None:
        brush = pg.mkBrush(color)
        c = brush.color()
        c.setAlpha(60)
        region = pg.LinearRegionItem(values=(event.onset_time, event.offset_time), movable=False,
                                     brush=pg.mkBrush(c), pen=pg.mkPen(color, width=1))
        region.setZValue(-10)
        self.widget.addItem(region)
        self.regions.append(region)

    def set_playhead(self, t: float) -> None:
        self.playhead.setValue(t)

    def has_data(self) -> bool:
        return self.series.size > 0

    def spotting_score(self) -> tuple[np.ndarray, np.ndarray]:
        """Times and two-sided scores drawn so far (the bold curve)."""
        return self.decided.column(0), self.decided.column(1)

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        t = self.series.column(0)
        motion, threshold = self.series.column(1), self.series.column(2)
        score = self.decided.column(1)
        self.motion.setData(t, motion, connect="finite")
        self.score.setData(self.decided.column(0), score, connect="finite")
        self.threshold.setData(t, threshold, connect="finite")
        if self.follow and t.size:
            page = FOLLOW_SECONDS * (t[-1] // FOLLOW_SECONDS)
            if page != self._page:
                self._page = page
                self.widget.setXRange(max(0.0, page - 2.0), page + FOLLOW_SECONDS, padding=0)
            values = np.concatenate([motion[-256:], score[-256:], threshold[-256:]])
            top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
            if top > self._top:
                self._top = top * 1.25
                self.widget.setYRange(0.0, self._top, padding=0)

    def show_all(self) -> None:
        self.follow = False
        self._dirty = True
        self.refresh()
        self.widget.enableAutoRange()

    def clear(self) -> None:
        self.series.clear()
        self.decided.clear()
        self._page = None
        self._top = 0.0
        self.widget.disableAutoRange()
        for region in self.regions:
            self.widget.removeItem(region)
        self.regions.clear()
        self.motion.setData([], [])
        self.score.setData([], [])
        self.threshold.setData([], [])
        self.follow = True


class ProbabilityBars:
    """Class probabilities of the latest (or selected) event."""

    def __init__(self) -> None:
        self.widget = _plot("latest event: class probabilities")
        self.widget.setMouseEnabled(x=False, y=False)
        self.widget.hideButtons()
        self.widget.setYRange(0, 1, padding=0.02)
        self.classes: list[str] = []
        self.bars: pg.BarGraphItem | None = None
        self.values = np.zeros(0)

    def set_classes(self, names: list[str]) -> None:
        if list(names) == self.classes:
            return
        self.classes = list(names)
        if self.bars is not None:
            self.widget.removeItem(self.bars)
        n = len(self.classes)
        self.values = np.zeros(n)
        self.bars = pg.BarGraphItem(x=np.arange(n), height=self.values, width=0.6,
                                    brushes=[pg.mkBrush(class_color(c, i)) for i, c in enumerate(self.classes)],
                                    pen=pg.mkPen(None))
        self.widget.addItem(self.bars)
        self.widget.getAxis("bottom").setTicks([[(i, c) for i, c in enumerate(self.classes)]])
        self.widget.setXRange(-0.6, n - 0.4, padding=0)

    def show_event(self, event: Event) -> None:
        self.widget.setTitle(f"event {event.event_id}: class probabilities", size="9pt")
        if not event.probabilities:
            self.set_values({})
            return
        self.set_classes(list(event.probabilities))
        self.set_values(event.probabilities)

    def set_values(self, probabilities: dict[str, float]) -> None:
        self.values = np.array([probabilities.get(c, 0.0) for c in self.classes], dtype=float)
        if self.bars is not None:
            self.bars.setOpts(height=self.values)

    def has_data(self) -> bool:
        return bool(self.values.size and self.values.sum() > 0)

    def clear(self) -> None:
        self.set_values({})


class ProbabilityTimeline:
    """Each event's class probabilities at its apex time, one curve per class; scrolls with new events."""

    def __init__(self) -> None:
        self.widget = _plot("class probabilities per event")
        self.widget.setLabel("bottom", "apex time", units="s")
        self.widget.setYRange(0, 1, padding=0.05)
        self.widget.addLegend(offset=(-8, 4), labelTextSize="8pt")
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.times: list[float] = []
        self.probs: dict[str, list[float]] = {}
        self.follow = True
        self._dirty = False
        self._page: float | None = None

    def add_event(self, event: Event) -> None:
        if not event.probabilities:
            return
        self.times.append(event.apex_time)
        for name in event.probabilities:
            if name not in self.curves:
                color = class_color(name, len(self.curves))
                self.curves[name] = self.widget.plot(pen=pg.mkPen(color, width=1.5), symbol="o", symbolSize=7,
                                                     symbolBrush=color, symbolPen=None, name=name)
                self.probs[name] = [float("nan")] * (len(self.times) - 1)
        for name in self.curves:
            self.probs[name].append(float(event.probabilities.get(name, float("nan"))))
        self._dirty = True

    def has_data(self) -> bool:
        return bool(self.times)

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        t = np.asarray(self.times)
        for name, curve in self.curves.items():
            curve.setData(t, np.asarray(self.probs[name]))
        if self.follow and t.size:
            span = 3 * FOLLOW_SECONDS
            page = span * (t[-1] // span)
            if page != self._page:
                self._page = page
                self.widget.setXRange(max(0.0, page - 2.0), page + span, padding=0)

    def show_all(self) -> None:
        self.follow = False
        self._dirty = True
        self.refresh()
        self.widget.enableAutoRange(axis="x")

    def clear(self) -> None:
        self.times.clear()
        self._page = None
        for name, curve in self.curves.items():
            self.probs[name] = []
            curve.setData([], [])
        self.follow = True
