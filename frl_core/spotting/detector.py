"""Intervals from a stream of two-sided scores: the adaptive threshold, apex, onset and offset."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from frl_core.spotting import kernels
from frl_core.spotting.config import SpottedInterval, SpotterConfig


def robust_threshold(median: float, spread: float, config: SpotterConfig) -> float:
    """The adaptive threshold: median plus ``threshold_k`` robust standard deviations (the median absolute
    deviation ``spread`` scaled to a normal's), never below ``min_threshold``."""
    return max(float(median) + config.threshold_k * 1.4826 * float(spread), config.min_threshold)


class Detector:
    """Threshold crossing, apex, onset/offset on one stream of two-sided scores (frame order)."""

    def __init__(self, fps: float, config: SpotterConfig, window: int, fixed_threshold: float | None) -> None:
        self.fps = fps
        self.config = config
        self.window = window
        self.fixed = fixed_threshold
        self.static = False
        """Offline: threshold and baseline come from the whole sequence and stay put."""
        self.max_len = max(2, int(round(config.macro_max_s * fps)))
        self.min_above = max(2.0, config.min_duration_s * fps) - 2.0 * config.boundary_pad_s * fps
        """Frames an interval must stay above its boundary level: the shortest interval less the pad on both sides,
        neither rounded (counted in frames after padding, the pad's rounding, two frames at 30 fps and one at 25,
        decided which short rises passed)."""
        self.end_gap = max(1, int(round(config.end_gap_s * fps)))
        self.pad = max(1, int(round(config.boundary_pad_s * fps)))
        self.recent: deque[tuple[int, float]] = deque(maxlen=self.max_len + self.end_gap + 2 * self.pad + 2)
        self.history: deque[tuple[int, float]] = deque(maxlen=max(50, int(config.history_s * fps)))
        """(step, score) of the recent scores the threshold learns from."""
        self.ignore_until = -1
        """Steps up to this one are not learnt from (:meth:`ignore`)."""
        self.learn_above = False
        """Whether scores above the threshold are learnt too while it learns again after a forget
        (:meth:`relearning`); the caller says so while the talking it was told to forget goes on. A candidate
        stays open while the scores stand above the threshold, and none of its scores is learnt: where the
        threshold was left low (a stream's first second of talking scores 0, each frame between two syllables)
        and the talking went on, it never learnt again and stayed at its floor."""
        self.positive_only = False
        """Whether the threshold learns from the positive scores alone once it has eight, and from those above it
        too: for a score clipped at zero (``StreamingSpotter``'s lip corners: no rise beyond the jaw's share is no
        rise) most frames score 0, the median and its spread were 0, and the threshold sat at its floor, under
        what the corners move in real speech beyond any one share of the jaw; learning only below it, it never
        rose. The caller says which frames are learnt (for the corners, those of talking)."""
        self._stats_age = 10 ** 9
        self.baseline = 0.0
        self.warmup = max(0, int(round(config.warmup_s * fps)))
        """Scores (steps with a face) before the warm-up floor is lifted."""
        self.scored = 0
        self.min_history = max(0, int(round(config.min_history_s * fps)))
        """Scores the threshold learns from before the first of them are judged (adaptive threshold only)."""
        self.backlog: list[tuple[int, float]] = []
        """A stream's first scores, held until the threshold has learnt from ``min_history`` of them."""
        self.adaptive = float(config.min_threshold)
        """The threshold from the score's statistics alone (without the warm-up floor)."""
        self.threshold = float(self._floor() if fixed_threshold is None else fixed_threshold)
        self.active = False
        self.peak = (0, 0.0)
        self.below = 0
        self.start = 0
        self.last_offset = -1
        """The previous interval's offset: a movement's onset never reaches back into it."""

    def ignore(self, first: int, last: int) -> None:
        """Scores of steps ``first``..``last`` are not the noise the threshold is about: forget those learnt
        and learn none up to ``last``. Talking is one long stretch of movement; learnt as noise, it lifted the
        threshold until later syllables and then small movements for seconds after it stayed under it."""
        if last < first:
            return
        self.ignore_until = max(self.ignore_until, last)
        kept = [(j, c) for j, c in self.history if not first <= j <= last]
        if len(kept) < len(self.history):
            self.history = deque(kept, maxlen=self.history.maxlen)
            self._stats_age = 10 ** 9
            self._update_threshold()

    def _floor(self) -> float:
        """The lowest the adaptive threshold may be now: higher while the stream is young, and while what it
        learns from is young again after a long stretch of talking was forgotten (:meth:`ignore`)."""
        if not self.static and (self.scored < self.warmup or self.relearning()):
            return max(self.config.min_threshold, self.config.warmup_threshold)
        return self.config.min_threshold

    def relearning(self) -> bool:
        """Whether the threshold is learning again after a stretch it learnt was forgotten (:meth:`ignore`)."""
        return self.ignore_until >= 0 and len(self.history) < self.min_history

    def _update_threshold(self) -> None:
        if self.static or len(self.history) < 8:
            return
        self._stats_age += 1
        if self._stats_age < max(1, int(self.fps // 10)):
            return
        self._stats_age = 0
        values = np.fromiter((c for _, c in self.history), np.float64, len(self.history))
        if (self.positive_only or self.relearning()) and (values > 0).sum() >= 8:
            # Among the few scores learnt again after talking was forgotten, the frames between the last syllable
            # and what follows (0 after the agreement correction) widened the spread until a smile a second after
            # the talking stayed under the threshold.
            values = values[values > 0]
        med, spread = kernels.median_and_spread(values)
        self.baseline = med
        if self.fixed is None:
            self.adaptive = robust_threshold(med, spread, self.config)
            self.threshold = max(self.adaptive, self._floor())

    def push(self, j: int, c: float, learn: bool = True) -> list[SpottedInterval]:
        """Feed the two-sided score of frame ``j``; return intervals that close.

        A stream's first ``min_history`` scores only teach the threshold; then they are judged, in
        order, against what it learnt from them, and every later score as it comes. With ``learn``
        False the score is judged but the threshold does not learn from it."""
        valid = not math.isnan(c)
        if valid:
            self.scored += 1
            if self.scored == self.warmup and self.fixed is None and not self.static:
                # Warm-up over: the floor drops at once, not at the next statistics update.
                self.threshold = max(self.adaptive, self._floor())
        if not self.static and self.fixed is None and (self.backlog or self.scored <= self.min_history):
            if valid and learn and j > self.ignore_until:
                self.history.append((j, c))
                self._update_threshold()
            self.backlog.append((j, c))
            if self.scored <= self.min_history:
                return []
            held, self.backlog = self.backlog, []
            return [iv for jj, cc in held for iv in self._advance(jj, cc, learn=False)]
        return self._advance(j, c, learn=learn)

    def _advance(self, j: int, c: float, learn: bool) -> list[SpottedInterval]:
        self.recent.append((j, c))
        valid = not math.isnan(c)
        above = self.positive_only or (self.learn_above and self.relearning())
        if learn and valid and (not self.active or above) and j > self.ignore_until:
            self.history.append((j, c))
            self._update_threshold()
        out: list[SpottedInterval] = []
        if not self.active:
            if valid and c > self.threshold:
                self.active, self.peak, self.below, self.start = True, (j, c), 0, j
            return out
        if valid and c > self.peak[1]:
            self.peak = (j, c)
        level = self._level()
        if not valid or c < level:
            self.below += 1
        else:
            self.below = 0
        if self.below >= self.end_gap or j - self.start >= self.max_len:
            out.extend(self._close())
        return out

    def _level(self) -> float:
        """Where the candidate's onset and offset lie: a fraction of the peak above the noise baseline.

        While the stream is young the running baseline is not known yet; the scores seen before the
        candidate stand in, and the level never drops below half the minimum threshold, so noise
        around a movement is not taken as part of it.
        """
        base = self.baseline
        if len(self.history) < 8 and not self.static:
            before = [c for j, c in self.recent if j < self.start and not math.isnan(c)]
            base = float(np.median(before)) if len(before) >= 3 else 0.0
        level = base + self.config.boundary_fraction * (self.peak[1] - base)
        return max(level, 0.5 * self.config.min_threshold)

    def _valley_level(self) -> float:
        if self.config.valley_fraction <= 0:
            return -math.inf
        base = self.baseline
        return base + self.config.valley_fraction * (self.peak[1] - base)

    def _close(self) -> list[SpottedInterval]:
        self.active = False
        apex, peak = self.peak
        level = self._level()
        frames = {j: c for j, c in self.recent}
        valley = self._valley_level()

        def extends(j: int, step: int) -> bool:
            c = frames.get(j + step)
            if c is None or math.isnan(c) or c <= level:
                return False
            # A dip below the valley level that rises again further out ends the movement here.
            return not (frames[j] < valley and c > frames[j])

        onset = apex
        while extends(onset, -1) and apex - onset < self.max_len and onset - 1 > self.last_offset:
            onset -= 1
        offset = apex
        while extends(offset, 1) and offset - onset < self.max_len:
            offset += 1
        too_short = offset - onset + 1 < self.min_above - 1e-6
        # A movement starts and ends in frames where it is still too faint to rise above the noise:
        # the interval is padded by ``boundary_pad_s`` on each side.
        pad = self.pad
        while pad and (onset - 1) in frames and onset - 1 > self.last_offset:
            onset, pad = onset - 1, pad - 1
        pad = self.pad
        while pad and (offset + 1) in frames:
            offset, pad = offset + 1, pad - 1
        if too_short:
            return []
        self.last_offset = offset
        return [SpottedInterval(onset, apex, offset, float(peak), interval_kind(onset, offset, self.fps, self.config))]

    def finish(self) -> list[SpottedInterval]:
        """End of the stream: scores still held are judged against what the threshold learnt of them."""
        held, self.backlog = self.backlog, []
        out = [iv for jj, cc in held for iv in self._advance(jj, cc, learn=False)]
        return out + (self._close() if self.active else [])


def interval_kind(onset: int, offset: int, fps: float, config: SpotterConfig) -> str:
    return "micro" if (offset - onset + 1) <= config.micro_max_s * fps + 1e-9 else "macro"


def agreement_corrected(c: float, refs_distance, noise_level: float = 0.0) -> float:
    """Two-sided score less how far its two references are apart beyond ``noise_level``, the one-sided
    score of two still faces a window apart.

    For a movement shorter than the window both references are neutral and alike, so little is taken
    off; a neutral frame between two other movements has a small min(back, forward) score that
    is not its own, and its references differ by as much: the correction cancels it. Two still
    references are never measured as identical; taking their noise off too would sink small movements
    into the floor.
    """
    return max(0.0, c - max(0.0, refs_distance() - noise_level))


def macro_stride(fps: float, config: SpotterConfig) -> int:
    """Every how many frames the macro track scores a face (see ``SpotterConfig.macro_rate_hz``)."""
    if config.macro_rate_hz <= 0:
        return 1
    return max(1, int(round(fps / config.macro_rate_hz)))


def window_steps(window_s: float, fps: float, stride: int) -> int:
    """A window in seconds as a number of a track's steps (``stride`` frames each)."""
    return max(1, int(round(window_s * fps / stride)))


def in_frames(intervals: list[SpottedInterval], stride: int, fps: float,
               config: SpotterConfig) -> list[SpottedInterval]:
    """Intervals counted in a track's steps, counted in frames (kind judged at the frame rate)."""
    if stride == 1:
        return intervals
    s = stride
    return [SpottedInterval(iv.onset * s, iv.apex * s, iv.offset * s, iv.score,
                            interval_kind(iv.onset * s, iv.offset * s, fps, config)) for iv in intervals]



def overlaps(a: SpottedInterval, b: SpottedInterval) -> bool:
    return a.onset <= b.offset and b.onset <= a.offset


def is_macro(candidate: SpottedInterval, micro: list[SpottedInterval]) -> bool:
    """A long-window interval is a macro-expression unless the short window saw the same movement.

    The short window measures micro-expressions more precisely; when one of its intervals covers most
    of the long-window interval, both describe one short movement and the micro interval stands.
    """
    if candidate.kind != "macro":
        return False
    return not any(overlaps(candidate, m) and m.length >= 0.6 * candidate.length for m in micro)
