"""Sliding-window apex spotting on aligned faces, streaming or offline.

Motion score. Each aligned face is shrunk to ``work_size``, lightly blurred and averaged over a short
centred time window (``temporal_s``, against sensor noise). For a pair of frames the displacement of
every block is estimated by a Lucas-Kanade step with a brightness term (lighting changes are not
motion) and a ridge term (textureless skin says nothing). What alignment left of head motion and
landmark jitter moves the whole face coherently, an action unit moves one region: a global affine
motion is fitted robustly over the blocks, the second frame is warped back by it and the blocks are
measured again. The score is the mean residual displacement of the ``top_k`` strongest blocks inside
the AU regions (``au_regions``), eyes and lids excluded (blinks) and the crop's outer ring excluded
(hair, background), in pixels of a 224-pixel canonical face.

Windows. Frame ``i`` is compared with its references ``i - W`` and ``i + W`` (``W`` = the window in
frames, set in seconds so it adapts to 30 fps webcams and 200 fps research cameras); the two-sided
score is the smaller of the two, less the distance between the two references. A movement shorter
than ``W`` has neutral, alike references on both sides, so the score follows its intensity from onset
through apex to offset; the echo that a one-sided comparison leaves ``W`` frames later, and the false
score of a neutral frame between two other movements, cancel. Two windows run side by side: a short
one (``window_s``) for micro-expressions and a long one (``macro_window_s``) for macro-expressions;
the long one scores only about ``macro_rate_hz`` faces a second, enough for movements over half a second.
An interval up to ``micro_max_s`` long is micro, a longer one macro; a long-window interval that the
short window saw as one short movement stays micro, and micro intervals inside a macro one are dropped.
Within a window of the start the first face is the backward reference, and at the end of the input
the last face is the forward one (a shorter window there): a dataset clip or a recording cut close to
a movement still has it spotted.

Detection. The threshold adapts to the sequence: running median plus ``threshold_k`` robust standard
deviations (MAD) of the two-sided score, never below ``min_threshold``. A crossing opens a candidate;
its peak is the apex; onset and offset are where the score falls back to ``boundary_fraction`` of the
peak's height above the baseline, or where it dips below ``valley_fraction`` of that height and rises
again (weaker motion beyond the dip is not part of the movement), padded by ``boundary_pad_s``.

Streaming needs ``macro_window_s`` (plus ``temporal_s / 2``) of look-ahead and keeps bounded state;
``max_lag_frames`` says how far back from the newest frame a completed interval can reach. Offline
spotting scores the whole sequence and takes its threshold from the whole score distribution.

Limits: two movements closer than the window interfere; a macro-expression longer than
``macro_window_s`` is seen only in its rise and fall.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from frl_core.au_regions import TEMPLATE_68, canonical_region_boxes
from frl_core.spotting import kernels

LOG_OFFSET = 64.0
LOG_SCALE = 128.0
CANONICAL_SIZE = 224
"""Scores are expressed in pixels of a canonical face of this side."""


@dataclass
class SpotterConfig:
    """Windows, score resolution and the adaptive threshold."""

    window_s: float = 0.6
    """Micro window: references this many seconds before and after (longer than a micro-expression)."""
    macro_window_s: float = 2.0
    """Macro window: the same for longer movements (0 turns macro spotting off)."""
    macro_rate_hz: float = 15.0
    """The macro track scores every Nth face, about this many a second (0 = every face). A
    macro-expression lasts more than half a second, so 15 scores a second still sample it densely,
    and the track costs half as much at 30 fps and a tenth at 200 fps. Its onset, apex and offset
    then fall on those frames."""
    micro_max_s: float = 0.5
    """Intervals up to this long are micro-expressions, longer ones macro-expressions."""
    macro_max_s: float = 4.0
    """Longest interval reported; a longer movement is cut at this length."""
    min_duration_s: float = 0.1
    """Shorter intervals are discarded (noise)."""
    threshold: float | None = None
    """A fixed score threshold (pixels); None adapts it to the sequence."""
    threshold_k: float = 8.0
    """Adaptive threshold: median + k x robust standard deviation of the score."""
    min_threshold: float = 0.6
    """The adaptive threshold never drops below this (pixels of a 224-pixel face)."""
    history_s: float = 20.0
    """Seconds of score history behind the adaptive threshold."""
    boundary_fraction: float = 0.12
    """Onset/offset: where the score falls to this fraction of the peak above the baseline."""
    valley_fraction: float = 0.5
    """Onset/offset also stop at a dip of the score below this fraction of the peak above the baseline
    (a movement's rise and fall are monotonic; a plateau of noise or another movement beyond the dip is
    not part of it). 0 turns this off."""
    boundary_pad_s: float = 0.05
    """Onset and offset are moved this much outwards from where the score crosses the boundary level."""
    end_gap_s: float = 0.1
    """A candidate closes after the score stays below its boundary level this long."""
    work_size: int = 96
    """Side of the shrunk face the motion is measured on."""
    block: int = 8
    """Block side (pixels of the shrunk face)."""
    top_k: int = 3
    """Blocks averaged into the score."""
    spatial_smoothing: float = 0.0
    """Weight of each neighbouring block when block displacements are averaged (0 = off, 1 = 3x3 box)."""
    blur_sigma: float = 1.0
    """Gaussian blur of the shrunk face (pixels), against noise and for a smoother motion estimate."""
    regularization: float = 1.0
    """Ridge term of the block motion estimate (squared intensity gradient per pixel)."""
    eye_margin: float = 0.06
    """Eye interiors and lids, excluded against blinks: margin around each eye (fraction of the face)."""
    temporal_s: float = 0.1
    """Faces are averaged over this many seconds (centred) before comparison, against sensor noise."""
    log_intensity: bool = True
    """Measure motion on log intensities: a lighting change multiplies intensities, and on a log scale
    that becomes the per-block offset the motion estimate already discounts."""


@dataclass(frozen=True)
class SpottedInterval:
    """One spotted movement: frame indices and the peak two-sided score."""

    onset: int
    apex: int
    offset: int
    score: float
    kind: str

    @property
    def length(self) -> int:
        return self.offset - self.onset + 1


@dataclass
class SpotStep:
    """What one pushed frame produced."""

    score: float
    """One-sided micro-window score against the window's reference frame (nan while the window fills
    or without a face). It belongs to the frame ``temporal_s / 2`` before the pushed one (the faces
    are averaged over a centred window first): one frame at 30 fps."""
    threshold: float
    """The current adaptive threshold on the two-sided score."""
    intervals: list[SpottedInterval] = field(default_factory=list)
    """Intervals completed with this frame."""
    decided: list[tuple[int, float]] = field(default_factory=list)
    """(frame index, two-sided micro score) of the earlier frames whose score this frame completed (one
    frame, ``window_s`` plus ``temporal_s / 2`` back; several after a gap). This is the score the threshold
    applies to: a movement's echo, which the one-sided ``score`` shows a window later, is not in it."""


class SpotterError(ValueError):
    """Bad spotter input (frame rate, face size)."""


# -- motion between two frames --------------------------------------------------------------------

class MotionModel:
    """Per-block displacement between two shrunk faces and the AU-region score built on it."""

    def __init__(self, config: SpotterConfig) -> None:
        s, b = int(config.work_size), int(config.block)
        if s % b or s < 4 * b:
            raise SpotterError(f"work_size {s} must be a multiple of block {b} and at least 4 blocks")
        self.size, self.block, self.n = s, b, s // b
        self.top_k = int(config.top_k)
        self.blur_sigma = float(config.blur_sigma)
        self.eye_margin = float(config.eye_margin)
        self.regularization = float(config.regularization)
        self.spatial_smoothing = float(config.spatial_smoothing)
        self.log_intensity = bool(config.log_intensity)
        centres = (np.arange(self.n) + 0.5) * b
        cx, cy = np.meshgrid(centres, centres)
        self.centres = np.stack([cx.ravel(), cy.ravel()], 1)
        self.design = np.column_stack([self.centres / s, np.ones(len(self.centres))])
        self.au_blocks, self.fit_blocks = self._masks()
        self._fit_index = np.flatnonzero(self.fit_blocks)
        self._au_index = np.flatnonzero(self.au_blocks)
        self._fit_pinv = np.ascontiguousarray(np.linalg.pinv(self.design[self._fit_index]))
        self._count = self.pixel_weight.reshape(self.n, b, self.n, b).sum((1, 3), dtype=np.float64).ravel() + 1e-3

    def _masks(self) -> tuple[np.ndarray, np.ndarray]:
        s, b = self.size, self.block
        eye = np.zeros((s, s), np.uint8)
        for idx in (range(36, 42), range(42, 48)):
            pts = TEMPLATE_68[list(idx)] * s
            (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
            # The eye, its lids up to the crease, and a margin below: a blink moves these only.
            centre = (int(round((x0 + x1) / 2)), int(round((y0 + y1) / 2 - 0.012 * s)))
            axes = (int(round((x1 - x0) / 2 + 0.03 * s)), int(round((y1 - y0) / 2 + self.eye_margin * s)))
            cv2.ellipse(eye, centre, axes, 0, 0, 360, 1, -1)
        # The blur and the gradient spread a blink's change a few pixels past the lids.
        reach = 2 * int(math.ceil(2 * self.blur_sigma)) + 3
        eye = cv2.dilate(eye, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
        self.pixel_weight = (1 - eye).astype(np.float32)
        kept = self.pixel_weight.reshape(self.n, b, self.n, b).mean((1, 3)).ravel()
        usable = kept >= 0.5
        au = np.zeros(self.n * self.n, bool)
        for x0, y0, x1, y1 in canonical_region_boxes(s):
            inside = ((self.centres[:, 0] >= x0) & (self.centres[:, 0] <= x1)
                      & (self.centres[:, 1] >= y0) & (self.centres[:, 1] <= y1))
            au |= inside
        # The crop's outer ring holds hair, ears and background, which move with the head, not with AUs.
        inner = ((self.centres[:, 0] > 0.08 * s) & (self.centres[:, 0] < 0.92 * s)
                 & (self.centres[:, 1] > 0.05 * s) & (self.centres[:, 1] < 0.95 * s))
        return au & usable & inner, usable

    def prepare(self, aligned: np.ndarray) -> np.ndarray:
        """The shrunk, blurred float32 face the motion is measured on."""
        if aligned.ndim == 3:
            aligned = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY)
        # Area averaging by an exact factor of two is several times cheaper than by an odd factor
        # (224 -> 96: 61 us, 224 -> 112 -> 96: 12 us); the last small step is bilinear.
        while (aligned.shape[0] % 2 == 0 and aligned.shape[1] % 2 == 0
               and aligned.shape[0] // 2 >= self.size and aligned.shape[1] // 2 >= self.size):
            aligned = cv2.resize(aligned, (aligned.shape[1] // 2, aligned.shape[0] // 2), interpolation=cv2.INTER_AREA)
        interpolation = cv2.INTER_AREA if max(aligned.shape) > 2 * self.size else cv2.INTER_LINEAR
        small = cv2.resize(aligned, (self.size, self.size), interpolation=interpolation).astype(np.float32)
        if self.log_intensity:
            # scaled so grey level 128 keeps its contrast (the motion estimate's ridge term is absolute);
            # the offset keeps dark pixels' codec noise from being amplified more than threefold
            small = np.log(small + np.float32(LOG_OFFSET)) * np.float32(LOG_SCALE + LOG_OFFSET - 1.0)
        if self.blur_sigma > 0:
            small = cv2.GaussianBlur(small, (0, 0), self.blur_sigma)
        return small

    def block_displacement(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n*n, 2) displacement a -> b of every block once the global affine motion is taken out.

        One Lucas-Kanade step per block; the global motion (what alignment left of head motion and
        landmark jitter) can exceed the range where one linear step is accurate, so it is estimated
        robustly, ``b`` is warped back by it and the blocks are measured again on the compensated pair.
        """
        return kernels.block_displacement(a, b, self.pixel_weight, self.block, self._count, self.regularization,
                                          self._fit_index, self.design, self._fit_pinv)

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        """Mean residual displacement of the ``top_k`` strongest AU blocks, in canonical-face pixels.

        An action unit moves neighbouring blocks together, noise does not: the displacement vectors are
        first averaged with their neighbours (``spatial_smoothing``), which keeps the first and shrinks
        the second. One compiled call without the GIL (:func:`kernels.block_score`).
        """
        score = kernels.block_score(a, b, self.pixel_weight, self.block, self._count, self.regularization,
                                    self._fit_index, self.design, self._fit_pinv, self._au_index,
                                    max(self.spatial_smoothing, 0.0), self.top_k)
        return score * CANONICAL_SIZE / self.size

    def region_map(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n, n) residual displacement magnitude per block, for inspection."""
        return np.linalg.norm(self.block_displacement(a, b), axis=1).reshape(self.n, self.n)


def motion_scores(aligned_frames: list[np.ndarray], reference: int = 0,
                  config: SpotterConfig | None = None) -> np.ndarray:
    """Score of every frame against one reference frame (e.g. onset), the window's simplest form."""
    model = MotionModel(config or SpotterConfig())
    prepared = [model.prepare(np.asarray(f)) for f in aligned_frames]
    ref = prepared[reference]
    return np.array([model.score(ref, p) for p in prepared])


class TemporalMean:
    """Centred running mean of the shrunk faces over ``2 * half + 1`` frames (frames without a face skipped)."""

    def __init__(self, half: int) -> None:
        self.half = max(0, int(half))
        self.buf: deque[tuple[int, np.ndarray | None]] = deque(maxlen=2 * self.half + 1)

    def push(self, index: int, face: np.ndarray | None) -> tuple[int, np.ndarray | None] | None:
        """The smoothed face of frame ``index - half`` once it is known, else None."""
        self.buf.append((index, face))
        if len(self.buf) <= self.half:
            return None
        centre = len(self.buf) - 1 - self.half
        return self._mean(centre)

    def _mean(self, centre: int) -> tuple[int, np.ndarray | None]:
        j, face = self.buf[centre]
        if face is None or self.half == 0:
            return j, face
        lo, hi = max(0, centre - self.half), min(len(self.buf), centre + self.half + 1)
        faces = [f for _, f in list(self.buf)[lo:hi] if f is not None]
        return j, (sum(faces[1:], faces[0].copy()) / np.float32(len(faces)))

    def flush(self) -> list[tuple[int, np.ndarray | None]]:
        """The last ``half`` frames, smoothed over what remains."""
        n = len(self.buf)
        return [self._mean(c) for c in range(max(0, n - self.half), n)] if n > self.half else \
            [self._mean(c) for c in range(n)]


def smooth_faces(prepared: list[np.ndarray | None], half: int) -> list[np.ndarray | None]:
    """Offline form of :class:`TemporalMean`: every frame's centred mean."""
    tm = TemporalMean(half)
    out: list[np.ndarray | None] = []
    for i, f in enumerate(prepared):
        r = tm.push(i, f)
        if r is not None:
            out.append(r[1])
    out.extend(f for _, f in tm.flush())
    return out


# -- interval detection on a two-sided score stream ------------------------------------------------

class _Detector:
    """Threshold crossing, apex, onset/offset on one stream of two-sided scores (frame order)."""

    def __init__(self, fps: float, config: SpotterConfig, window: int, fixed_threshold: float | None) -> None:
        self.fps = fps
        self.config = config
        self.window = window
        self.fixed = fixed_threshold
        self.static = False
        """Offline: threshold and baseline come from the whole sequence and stay put."""
        self.max_len = max(2, int(round(config.macro_max_s * fps)))
        self.min_len = max(2, int(round(config.min_duration_s * fps)))
        self.end_gap = max(1, int(round(config.end_gap_s * fps)))
        self.pad = max(1, int(round(config.boundary_pad_s * fps)))
        self.recent: deque[tuple[int, float]] = deque(maxlen=self.max_len + self.end_gap + 2 * self.pad + 2)
        self.history: deque[float] = deque(maxlen=max(50, int(config.history_s * fps)))
        self._stats_age = 10 ** 9
        self.baseline = 0.0
        self.threshold = float(config.min_threshold if fixed_threshold is None else fixed_threshold)
        self.active = False
        self.peak = (0, 0.0)
        self.below = 0
        self.start = 0

    def _update_threshold(self) -> None:
        if self.static or len(self.history) < 8:
            return
        self._stats_age += 1
        if self._stats_age < max(1, int(self.fps // 10)):
            return
        self._stats_age = 0
        med, spread = kernels.median_and_spread(np.fromiter(self.history, np.float64, len(self.history)))
        mad = spread * 1.4826
        self.baseline = med
        if self.fixed is None:
            self.threshold = max(med + self.config.threshold_k * mad, self.config.min_threshold)

    def push(self, j: int, c: float) -> list[SpottedInterval]:
        """Feed the two-sided score of frame ``j``; return intervals that close."""
        self.recent.append((j, c))
        valid = not math.isnan(c)
        if valid and not self.active:
            self.history.append(c)
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
        while extends(onset, -1) and apex - onset < self.max_len:
            onset -= 1
        offset = apex
        while extends(offset, 1) and offset - onset < self.max_len:
            offset += 1
        # A movement starts and ends in frames where it is still too faint to rise above the noise:
        # the interval is padded by ``boundary_pad_s`` on each side.
        pad = self.pad
        while pad and (onset - 1) in frames:
            onset, pad = onset - 1, pad - 1
        pad = self.pad
        while pad and (offset + 1) in frames:
            offset, pad = offset + 1, pad - 1
        if offset - onset + 1 < self.min_len:
            return []
        return [SpottedInterval(onset, apex, offset, float(peak), _kind(onset, offset, self.fps, self.config))]

    def finish(self) -> list[SpottedInterval]:
        return self._close() if self.active else []


def _kind(onset: int, offset: int, fps: float, config: SpotterConfig) -> str:
    return "micro" if (offset - onset + 1) <= config.micro_max_s * fps + 1e-9 else "macro"


def _agreement_corrected(c: float, refs_distance) -> float:
    """Two-sided score less the distance between its two references.

    For a movement shorter than the window both references are neutral and alike, so little is taken
    off; a neutral frame between two other movements has a small min(back, forward) score that
    is not its own, and its references differ by as much: the correction cancels it.
    """
    return max(0.0, c - refs_distance())


def macro_stride(fps: float, config: SpotterConfig) -> int:
    """Every how many frames the macro track scores a face (see ``SpotterConfig.macro_rate_hz``)."""
    if config.macro_rate_hz <= 0:
        return 1
    return max(1, int(round(fps / config.macro_rate_hz)))


def _window_steps(window_s: float, fps: float, stride: int) -> int:
    """A window in seconds as a number of a track's steps (``stride`` frames each)."""
    return max(1, int(round(window_s * fps / stride)))


def _in_frames(intervals: list[SpottedInterval], stride: int, fps: float,
               config: SpotterConfig) -> list[SpottedInterval]:
    """Intervals counted in a track's steps, counted in frames (kind judged at the frame rate)."""
    if stride == 1:
        return intervals
    s = stride
    return [SpottedInterval(iv.onset * s, iv.apex * s, iv.offset * s, iv.score,
                            _kind(iv.onset * s, iv.offset * s, fps, config)) for iv in intervals]


class _Track:
    """One window length: keeps the shrunk faces it still needs and turns them into two-sided scores.

    With ``stride`` > 1 it is fed every ``stride``-th frame only (frame indices that are multiples of
    it); its window, detector and bookkeeping count those steps, and its intervals come out in frames.
    """

    def __init__(self, fps: float, config: SpotterConfig, window_s: float, model: MotionModel,
                 fixed_threshold: float | None, stride: int = 1) -> None:
        self.fps = fps
        self.config = config
        self.stride = max(1, int(stride))
        self.window = _window_steps(window_s, fps, self.stride)
        """The window in this track's steps (frames when ``stride`` is 1)."""
        self.model = model
        self.gate = float(config.min_threshold)
        self.faces: deque[tuple[int, np.ndarray | None]] = deque(maxlen=2 * self.window + 1)
        self.back: deque[tuple[int, float]] = deque(maxlen=self.window + 1)
        self.first: tuple[int, np.ndarray | None] | None = None
        """The first face this track saw: the backward reference of the frames in its first window."""
        self.detector = _Detector(fps / self.stride, config, self.window, fixed_threshold)

    def in_frames(self, intervals: list[SpottedInterval]) -> list[SpottedInterval]:
        return _in_frames(intervals, self.stride, self.fps, self.config)

    def push(self, index: int, face: np.ndarray | None
             ) -> tuple[float, tuple[int, float] | None, list[SpottedInterval]]:
        """Returns the pushed frame's one-sided score, the (step, two-sided score) it completed, and the
        intervals this frame closed."""
        index //= self.stride
        self.faces.append((index, face))
        if self.first is None:
            self.first = (index, face)
        back = math.nan
        if len(self.faces) >= self.window + 1:
            ref_index, ref = self.faces[-1 - self.window]
            if ref is not None and face is not None and index - ref_index == self.window:
                back = self.model.score(ref, face)
        elif self.first[1] is not None and face is not None and index > self.first[0]:
            # Less than a window from the start: the first face is the reference (a shorter window).
            back = self.model.score(self.first[1], face)
        self.back.append((index, back))
        out: list[SpottedInterval] = []
        decided: tuple[int, float] | None = None
        if len(self.back) == self.window + 1:
            j, back_j = self.back[0]
            # Frame j's forward comparison (j with j + W) is the pushed frame's backward one.
            c = min(back_j, back) if not (math.isnan(back_j) or math.isnan(back)) else math.nan
            if c > self.gate:
                before = self._back_reference(j)
                if before is not None:
                    c = _agreement_corrected(c, lambda: self.model.score(before, face))
            out = self.in_frames(self.detector.push(j, c))
            decided = (j, c)
        return back, decided, out

    def _back_reference(self, j: int) -> np.ndarray | None:
        """The face frame ``j`` was compared with before it: W steps back, or the first one near the start."""
        if self.first is not None and j - self.first[0] < self.window:
            return self.first[1]
        for k, face in self.faces:
            if k == j - self.window:
                return face
        return None

    def flush(self) -> list[SpottedInterval]:
        """End of input: the frames less than a window from the end are compared forward with the last
        face (a shorter window), then open candidates close."""
        out: list[SpottedInterval] = []
        if len(self.back) == self.window + 1 and self.faces:
            last_index, last = self.faces[-1]
            faces = dict(self.faces)
            for j, back_j in list(self.back)[1:]:
                face = faces.get(j)
                c = math.nan
                if j < last_index and face is not None and last is not None and not math.isnan(back_j):
                    c = min(back_j, self.model.score(face, last))
                    before = self._back_reference(j)
                    if c > self.gate and before is not None:
                        c = _agreement_corrected(c, lambda: self.model.score(before, last))
                out.extend(self.in_frames(self.detector.push(j, c)))
        return out + self.in_frames(self.detector.finish())


class StreamingSpotter:
    """Frame-by-frame spotting with bounded look-ahead and memory."""

    def __init__(self, fps: float, config: SpotterConfig | None = None) -> None:
        if not (fps > 0 and math.isfinite(fps)):
            raise SpotterError(f"frame rate must be positive, got {fps}")
        self.fps = float(fps)
        self.config = config = config or SpotterConfig()
        self.model = MotionModel(config)
        self.smoother = TemporalMean(int(round(config.temporal_s * self.fps / 2)))
        fixed = config.threshold
        self.micro = _Track(self.fps, config, config.window_s, self.model, fixed)
        self.macro = (_Track(self.fps, config, config.macro_window_s, self.model, fixed,
                             stride=macro_stride(self.fps, config))
                      if config.macro_window_s > config.window_s else None)
        self.micro_max = config.micro_max_s * self.fps
        if self.macro is not None:
            lookahead = self.macro.window * self.macro.stride + self.macro.stride
        else:
            lookahead = self.micro.window
        lookahead += self.smoother.half
        det = self.micro.detector
        self.max_lag_frames = int(lookahead + det.max_len + 2 * det.end_gap + 2 * det.pad + 2)
        """How many frames before the newest pushed one a completed interval can start."""
        self._pending_micro: list[SpottedInterval] = []
        self._macro_intervals: deque[SpottedInterval] = deque(maxlen=16)
        self._released_micro: deque[SpottedInterval] = deque(maxlen=16)
        self._last_index: int | None = None

    @property
    def threshold(self) -> float:
        return self.micro.detector.threshold

    def push(self, index: int, timestamp: float, aligned: np.ndarray | None) -> SpotStep:
        """Add one frame (its aligned face, or None when no face); completed intervals come back."""
        if self._last_index is not None and index <= self._last_index:
            raise SpotterError(f"frame indices must increase: got {index} after {self._last_index}")
        intervals: list[SpottedInterval] = []
        decided: list[tuple[int, float]] = []
        if self._last_index is not None and index > self._last_index + 1:
            for missing in range(self._last_index + 1, index):
                smoothed = self.smoother.push(missing, None)
                if smoothed is not None:
                    _, found, completed = self._push_prepared(*smoothed)
                    intervals.extend(found)
                    decided.extend(completed)
        self._last_index = index
        face = self.model.prepare(np.asarray(aligned)) if aligned is not None else None
        smoothed = self.smoother.push(index, face)
        score = math.nan
        if smoothed is not None:
            score, found, completed = self._push_prepared(*smoothed)
            intervals.extend(found)
            decided.extend(completed)
        return SpotStep(score=score, threshold=self.threshold, intervals=intervals, decided=decided)

    def _push_prepared(self, index: int, face: np.ndarray | None
                       ) -> tuple[float, list[SpottedInterval], list[tuple[int, float]]]:
        score, completed, micro = self.micro.push(index, face)
        self._pending_micro.extend(micro)
        macro_done: list[SpottedInterval] = []
        if self.macro is not None:
            macro, stride = self.macro, self.macro.stride
            if index % stride == 0:
                _, _, found = macro.push(index, face)
                for iv in found:
                    if _is_macro(iv, self._pending_micro + list(self._released_micro)):
                        self._macro_intervals.append(iv)
                        macro_done.append(iv)
            # The macro track has decided every frame up to here; micro intervals before it are final.
            active = macro.detector.active
            decided = index - index % stride - stride * (macro.window + (macro.detector.end_gap if active else 0))
            if active:
                decided = min(decided, stride * macro.detector.start - 1)
        else:
            decided = index
        return score, self._release(decided, macro_done, index), [completed] if completed is not None else []

    def _release(self, decided: int, macro_done: list[SpottedInterval], index: int) -> list[SpottedInterval]:
        out: list[SpottedInterval] = []
        keep: list[SpottedInterval] = []
        for iv in self._pending_micro:
            # Held while the long window may still call it part of a macro-expression, but never
            # beyond the promised look-back (the caller's buffer of faces).
            if iv.offset > decided and index + 1 - iv.onset < self.max_lag_frames:
                keep.append(iv)
            elif not any(_overlap(iv, m) for m in self._macro_intervals):
                out.append(iv)
                self._released_micro.append(iv)
        self._pending_micro = keep
        out.extend(macro_done)
        out.sort(key=lambda iv: iv.onset)
        return out

    def flush(self) -> list[SpottedInterval]:
        """End of input: close open candidates and release everything still held back."""
        held: list[SpottedInterval] = []
        for j, face in self.smoother.flush():
            held.extend(self._push_prepared(j, face)[1])
        self._pending_micro.extend(self.micro.flush())
        macro_done = []
        if self.macro is not None:
            macro_done = [iv for iv in self.macro.flush()
                          if _is_macro(iv, self._pending_micro + list(self._released_micro))]
            self._macro_intervals.extend(macro_done)
        last = self._last_index if self._last_index is not None else 0
        return sorted(held + self._release(10 ** 12, macro_done, last), key=lambda iv: iv.onset)


def _overlap(a: SpottedInterval, b: SpottedInterval) -> bool:
    return a.onset <= b.offset and b.onset <= a.offset


def _is_macro(candidate: SpottedInterval, micro: list[SpottedInterval]) -> bool:
    """A long-window interval is a macro-expression unless the short window saw the same movement.

    The short window measures micro-expressions more precisely; when one of its intervals covers most
    of the long-window interval, both describe one short movement and the micro interval stands.
    """
    if candidate.kind != "macro":
        return False
    return not any(_overlap(candidate, m) and m.length >= 0.6 * candidate.length for m in micro)


def spot_offline(aligned_frames, fps: float, config: SpotterConfig | None = None
                 ) -> tuple[np.ndarray, list[SpottedInterval]]:
    """Whole-sequence spotting: per-frame two-sided micro scores and every interval found.

    The threshold comes from the whole sequence's score distribution rather than a running window,
    so a recording is judged as a whole; otherwise the detection is the streaming one.
    """
    config = config or SpotterConfig()
    frames = list(aligned_frames)
    if not (fps > 0 and math.isfinite(fps)):
        raise SpotterError(f"frame rate must be positive, got {fps}")
    model = MotionModel(config)
    prepared = [model.prepare(np.asarray(f)) if f is not None else None for f in frames]
    prepared = smooth_faces(prepared, int(round(config.temporal_s * fps / 2)))
    windows = [(config.window_s, 1)]
    if config.macro_window_s > config.window_s:
        windows.append((config.macro_window_s, macro_stride(fps, config)))
    per_window: list[tuple[np.ndarray, list[SpottedInterval]]] = []
    for window_s, stride in windows:
        w = _window_steps(window_s, fps, stride)
        scores = _two_sided(prepared[::stride], w, model, float(config.min_threshold))
        fixed = config.threshold
        if fixed is None:
            valid = scores[~np.isnan(scores)]
            if valid.size:
                med = float(np.median(valid))
                mad = float(np.median(np.abs(valid - med))) * 1.4826
                fixed = max(med + config.threshold_k * mad, config.min_threshold)
            else:
                fixed = config.min_threshold
        det = _Detector(float(fps) / stride, config, w, fixed)
        det.static = True
        if scores.size:
            valid = scores[~np.isnan(scores)]
            det.baseline = float(np.median(valid)) if valid.size else 0.0
        found: list[SpottedInterval] = []
        for j, c in enumerate(scores):
            found.extend(det.push(j, float(c)))
        found.extend(det.finish())
        per_window.append((scores, _in_frames(found, stride, float(fps), config)))
    micro_scores, micro = per_window[0]
    if len(per_window) == 1:
        return micro_scores, micro
    macro = [iv for iv in per_window[1][1] if _is_macro(iv, micro)]
    result = [iv for iv in micro if not any(_overlap(iv, m) for m in macro)] + macro
    return micro_scores, sorted(result, key=lambda iv: iv.onset)


def _two_sided(prepared: list[np.ndarray | None], w: int, model: MotionModel, gate: float) -> np.ndarray:
    """min(backward, forward) score of every step, less its references' distance; within a window of either
    end the first or the last face is the reference (as the streaming track does)."""
    n = len(prepared)

    def back_ref(i: int) -> int:
        return i - w if i >= w else 0

    def fwd_ref(i: int) -> int:
        return i + w if i + w < n else n - 1

    def score(a: int, b: int) -> float:
        if a == b or prepared[a] is None or prepared[b] is None:
            return math.nan
        return model.score(prepared[a], prepared[b])

    back = np.array([score(back_ref(i), i) for i in range(n)]) if n else np.zeros(0)
    fwd = np.array([back[i + w] if i + w < n else score(i, n - 1) for i in range(n)]) if n else np.zeros(0)
    c = np.minimum(back, fwd)
    for j in np.flatnonzero(c > gate):
        refs_distance = score(back_ref(j), fwd_ref(j))
        if not math.isnan(refs_distance):
            c[j] = _agreement_corrected(float(c[j]), lambda: refs_distance)
    return c
