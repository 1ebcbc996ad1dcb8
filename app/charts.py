"""Live pyqtgraph charts: the motion score with its threshold and detected intervals, the class
probabilities of the latest event, and a timeline of every event's probabilities.

Data arrive in batches and are drawn at most a few times a second (``refresh``), so fast analysis
never floods the GUI thread; long inputs keep flat drawing cost through clipping and downsampling.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg

from frl_core.types import Event, FrameResult
from frl_core.viz import PALETTE, class_color

__all__ = ["GrowingSeries", "ProbabilityBars", "ProbabilityTimeline", "ScoreChart", "class_color", "legend_title"]

FOLLOW_SECONDS = 20.0
"""While analysis runs, the score chart shows the newest frames in pages of this many seconds.

Pages rather than a smooth scroll: an axis whose range changes must re-render all its labels, which
costs tens of milliseconds in software rendering; a page changes its axes once per page."""


def legend_title(entries: list[tuple[str, str]]) -> str:
    """A chart title that is also its legend (coloured swatches and names): a legend box inside the plot
    would cover peaks and intervals."""
    return "&nbsp;&nbsp;".join(f"<span style='color:{color}'>&#9632;</span>&nbsp;{html.escape(text)}"
                               for color, text in entries)


def _plot(title: str) -> pg.PlotWidget:
    """A chart without grid lines (they would double the cost of every redraw) and without SI prefixes
    (a time axis must not switch between ms and s, nor a pixel axis show "mpx")."""
    w = pg.PlotWidget()
    w.setTitle(title, size="9pt")
    w.setMenuEnabled(False)
    w.setMinimumHeight(140)
    for side in ("left", "bottom"):
        w.getAxis(side).enableAutoSIPrefix(False)
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

    The bright curve is the two-sided score events are detected on; it is known a window (0.6 s) after
    its frame, so it trails the playhead. The dim curve is the live one-sided motion (each frame against
    the face a window before): it leads, but shows every movement a second time, a window later, and the
    threshold does not apply to it. Detected intervals are shaded in their class's colour.
    """

    LEGEND = [(PALETTE["spotting_score"], "spotting score"), (PALETTE["threshold"], "threshold"),
              (PALETTE["live_motion"], "live motion")]
    """Short enough that the title, which is the legend, fits the chart at a laptop's 1280x720 with the
    ground truth entry too (a longer title widens the plot past its widget and cuts off its right end)."""
    TRUTH_BAND = (0.9, 1.0)
    """Ground-truth intervals are a band along the top of the chart (fractions of its height), so detected
    intervals and truth read side by side without hiding each other."""

    def __init__(self) -> None:
        self.widget = _plot(legend_title(self.LEGEND))
        self.widget.setLabel("bottom", "time (s); events shaded in their class colour, talking left out in grey")
        self.widget.setLabel("left", "motion (px of 224-px face)")
        self.widget.setToolTip("spotting score: each frame against the faces a window before and after; the "
                               "threshold applies to it. live motion: each frame against the face a window "
                               "before; it leads, shows every movement a second time a window later, and has "
                               "no threshold.")
        self.motion = self.widget.plot(pen=pg.mkPen(PALETTE["live_motion"], width=1))
        self.score = self.widget.plot(pen=pg.mkPen(PALETTE["spotting_score"], width=1.5))
        # Solid, not dashed: a dashed curve is several times dearer to redraw in software rendering.
        self.threshold = self.widget.plot(pen=pg.mkPen(PALETTE["threshold"], width=1))
        for curve in (self.motion, self.score, self.threshold):
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
        self.playhead = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#adb5bd", width=1))
        self.widget.addItem(self.playhead)
        self.series = GrowingSeries(3)
        self.decided = GrowingSeries(2)
        self.regions: list[pg.LinearRegionItem] = []
        self.truth: list[pg.LinearRegionItem] = []
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
            for onset, offset, *_ in (item for r in results for item in r.left_out):
                self._shade(onset, offset, PALETTE["left_out"], edge=None)
            self._dirty = True

    def add_event(self, event: Event, color: str) -> None:
        self._shade(event.onset_time, event.offset_time, color, edge=color)

    def _shade(self, onset: float, offset: float, color: str, edge: str | None) -> None:
        fill = pg.mkColor(color)
        fill.setAlpha(60)
        region = pg.LinearRegionItem(values=(onset, offset), movable=False, brush=pg.mkBrush(fill),
                                     pen=pg.mkPen(edge, width=1) if edge else pg.mkPen(None))
        region.setZValue(-10)
        self.widget.addItem(region)
        self.regions.append(region)

    def set_truth(self, intervals: list[tuple[float, float, str | None]]) -> None:
        """Coded intervals ``(onset s, offset s, label)`` as a band along the top, in the truth colour with
        an edge in the label's class colour; an empty list removes them."""
        for item in self.truth:
            self.widget.removeItem(item)
        self.truth.clear()
        for onset, offset, label in intervals:
            fill = pg.mkColor(PALETTE["truth"])
            fill.setAlpha(170)
            edge = class_color(label) if label in ("negative", "positive", "surprise") else PALETTE["truth"]
            band = pg.LinearRegionItem(values=(onset, offset), movable=False, brush=pg.mkBrush(fill),
                                       pen=pg.mkPen(edge, width=2), span=self.TRUTH_BAND)
            band.setZValue(-5)
            self.widget.addItem(band)
            self.truth.append(band)
        entries = self.LEGEND + ([(PALETTE["truth"], "ground truth (top)")] if intervals else [])
        self.widget.setTitle(legend_title(entries), size="9pt")

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
        """The whole source: time from 0 to its end, motion from 0 to the highest curve."""
        self.follow = False
        self._dirty = True
        self.refresh()
        t = self.series.column(0)
        if t.size:
            values = np.concatenate([self.series.column(1), self.series.column(2), self.decided.column(1)])
            top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
            self.widget.setXRange(0.0, float(t[-1]), padding=0.01)
            self.widget.setYRange(0.0, top * 1.1, padding=0)

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
        self.widget.setLabel("left", "probability")
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
    """Each event's class probabilities at its apex time, one marker per class and event (events are
    separate: no line joins them); the time axis spans the source, from 0 s."""

    def __init__(self) -> None:
        self.widget = _plot("class probabilities per event")
        self.widget.setLabel("bottom", "apex time (s)")
        self.widget.setLabel("left", "probability")
        self.widget.setYRange(0, 1, padding=0.05)
        self.widget.setXRange(0, FOLLOW_SECONDS, padding=0)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.duration = 0.0
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
                self.curves[name] = self.widget.plot(pen=None, symbol="o", symbolSize=8, symbolBrush=color,
                                                     symbolPen=None)
                self.widget.setTitle("class probabilities per event: " + legend_title(
                    [(class_color(n, i), n) for i, n in enumerate([*self.curves])]), size="9pt")
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

    def set_duration(self, seconds: float) -> None:
        """The source's length: the whole-source view spans 0 .. this."""
        self.duration = max(0.0, float(seconds))

    def show_all(self) -> None:
        self.follow = False
        self._dirty = True
        self.refresh()
        end = max([self.duration, *self.times]) if (self.times or self.duration) else FOLLOW_SECONDS
        self.widget.setXRange(0.0, end * 1.02 + 0.1, padding=0)

    def clear(self) -> None:
        self.times.clear()
        self.duration = 0.0
        self._page = None
        for name, curve in self.curves.items():
            self.probs[name] = []
            curve.setData([], [])
        self.follow = True
