"""Motion between two aligned faces: the block displacement left once head motion is taken out, and
the score the spotter thresholds (:mod:`frl_core.spotting` explains the method)."""

from __future__ import annotations

import math
from collections import deque

import cv2
import numpy as np

from frl_core.faces.au_regions import REGION_NAMES, TEMPLATE_68, canonical_region_boxes
from frl_core.faces.head_pose import canonical_depth
from frl_core.spotting import kernels
from frl_core.spotting.config import (CANONICAL_SIZE, LOG_OFFSET, LOG_SCALE, TURN_SHRINK_DEG, SpotterConfig,
                                     SpotterError)

FACE_INTERIOR = (0.08, 0.05, 0.92, 0.95)
"""The aligned face inside its crop's outer ring (x0, y0, x1, y1, fractions of the side): the ring holds hair, ears
and background, which move with the head and are not the face's exposure."""


def interior_slices(height: int, width: int) -> tuple[slice, slice]:
    """Rows and columns of ``FACE_INTERIOR`` in a face crop of this size."""
    x0, y0, x1, y1 = FACE_INTERIOR
    return (slice(int(y0 * height), int(math.ceil(y1 * height))), slice(int(x0 * width), int(math.ceil(x1 * width))))


class ExposureReference:
    """The grey level faces are scaled to: the first face's, then following the faces' own level by ``rate``
    of the difference per face (0: the first face's level throughout, as for a pair)."""

    def __init__(self, rate: float = 0.0) -> None:
        self.rate = float(rate)
        self.level: float | None = None

    @classmethod
    def for_stream(cls, config: SpotterConfig, fps: float) -> "ExposureReference | None":
        """The reference for a stream at ``fps`` (None when ``exposure_s`` turns it off)."""
        if config.exposure_s <= 0:
            return None
        return cls(min(1.0, 1.0 / (config.exposure_s * fps)))

    @classmethod
    def for_pair(cls, config: SpotterConfig) -> "ExposureReference | None":
        """One level for every face compared with one reference face (prepare that face first)."""
        return cls() if config.exposure_s > 0 else None

    def factor(self, level: float) -> float:
        """What a face of mean grey ``level`` is multiplied by; the reference then moves towards it."""
        if self.level is None:
            self.level = level
            return 1.0
        f = self.level / level
        self.level += self.rate * (level - self.level)
        return f


SPOTTING_REGION_NAMES = (*REGION_NAMES, "nose", "upper_lip")
"""The regions the spotter's motion is reported in: the AU regions, then the glabella-and-nose region split at
the nose's base. On the work face that region's lowest blocks hold the top of the upper lip, so a syllable that
closes or presses the lips moves it more than the mouth corners: the spotter asks whether motion is at the
mouth with the upper lip on the mouth's side (``REGION_NAMES`` callers read the first six)."""


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
        if config.global_motion not in ("similarity", "affine"):
            raise SpotterError(f"global_motion must be 'similarity' or 'affine', got {config.global_motion!r}")
        self.similarity = config.global_motion == "similarity"
        self.global_keep = float(config.global_keep)
        self.global_rounds = int(config.global_rounds)
        if not 0.1 <= self.global_keep <= 1.0 or self.global_rounds < 0:
            raise SpotterError("global_keep must lie in 0.1..1 and global_rounds be at least 0")
        centres = (np.arange(self.n) + 0.5) * b
        cx, cy = np.meshgrid(centres, centres)
        self.centres = np.stack([cx.ravel(), cy.ravel()], 1)
        self.design = np.column_stack([self.centres / s, np.ones(len(self.centres))])
        self.au_blocks, self.fit_blocks = self._masks()
        self._fit_index = np.flatnonzero(self.fit_blocks)
        self._au_index = np.flatnonzero(self.au_blocks)
        self._fit_pinv = np.ascontiguousarray(np.linalg.pinv(self.design[self._fit_index]))
        # the head's turn in depth: the generic face's depth (crop sides) at every pixel and block centre
        self.pixel_depth = np.ascontiguousarray(canonical_depth(s), dtype=np.float32)
        at = np.clip(np.round(self.centres - 0.5).astype(int), 0, s - 1)
        self.block_depth = self.pixel_depth[at[:, 1], at[:, 0]].astype(np.float64)
        self.turn_shrink = math.radians(TURN_SHRINK_DEG) * s if config.head_turn and self.similarity else -1.0
        self._count = self.pixel_weight.reshape(self.n, b, self.n, b).sum((1, 3), dtype=np.float64).ravel() + 1e-3
        self._region_blocks = self._region_membership()
        self._no_regions = np.zeros((0, len(self._au_index)), np.uint8)
        self.uniform_weights = np.ones(len(self._au_index), np.float32)
        self._no_magnitudes = np.empty(0, np.float32)
        self._no_vectors = np.empty((0, 2))

    @property
    def au_block_count(self) -> int:
        """How many blocks the score ranks (the length of block weights and magnitudes)."""
        return len(self._au_index)

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
        x0, y0, x1, y1 = FACE_INTERIOR
        inner = ((self.centres[:, 0] > x0 * s) & (self.centres[:, 0] < x1 * s)
                 & (self.centres[:, 1] > y0 * s) & (self.centres[:, 1] < y1 * s))
        self.smoothing_mask = (usable & inner).astype(np.float32)
        inner_pixels = np.zeros((s, s), np.float32)
        inner_pixels[interior_slices(s, s)] = 1.0
        self._exposure_weight = self.pixel_weight * inner_pixels
        self._exposure_weight /= self._exposure_weight.sum()
        return au & usable & inner, usable

    def _region_membership(self) -> np.ndarray:
        """(regions, AU blocks) 1 where an AU block's centre lies in the region's box (``SPOTTING_REGION_NAMES``
        order)."""
        centres = self.centres[self._au_index]
        rows = []
        for x0, y0, x1, y1 in canonical_region_boxes(self.size):
            rows.append((centres[:, 0] >= x0) & (centres[:, 0] <= x1) & (centres[:, 1] >= y0) & (centres[:, 1] <= y1))
        glabella_nose = rows[REGION_NAMES.index("glabella_nose")]
        below_nose = centres[:, 1] > TEMPLATE_68[33, 1] * self.size
        rows += [glabella_nose & ~below_nose, glabella_nose & below_nose]
        return np.array(rows, np.uint8).reshape(len(rows), len(self._au_index))

    def prepare(self, aligned: np.ndarray, exposure: ExposureReference | None = None) -> np.ndarray:
        """The shrunk, blurred float32 face the motion is measured on; with ``exposure``, first scaled to
        its grey level (faces prepared with one reference differ by no overall gain)."""
        if aligned.ndim == 3:
            aligned = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY)
        # Area averaging by an exact factor of two is several times cheaper than by an odd factor;
        # the last small step is bilinear.
        while (aligned.shape[0] % 2 == 0 and aligned.shape[1] % 2 == 0
               and aligned.shape[0] // 2 >= self.size and aligned.shape[1] // 2 >= self.size):
            aligned = cv2.resize(aligned, (aligned.shape[1] // 2, aligned.shape[0] // 2), interpolation=cv2.INTER_AREA)
        interpolation = cv2.INTER_AREA if max(aligned.shape) > 2 * self.size else cv2.INTER_LINEAR
        small = cv2.resize(aligned, (self.size, self.size), interpolation=interpolation).astype(np.float32)
        if exposure is not None:
            level = float(np.vdot(small, self._exposure_weight))
            if level > 1.0:
                small *= np.float32(exposure.factor(level))
        if self.log_intensity:
            # scaled so grey level 128 keeps its contrast (the motion estimate's ridge term is absolute);
            # the offset keeps dark pixels' codec noise from being amplified more than threefold
            small = np.log(small + np.float32(LOG_OFFSET)) * np.float32(LOG_SCALE + LOG_OFFSET - 1.0)
        if self.blur_sigma > 0:
            small = cv2.GaussianBlur(small, (0, 0), self.blur_sigma)
        return small

    def block_displacement(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n*n, 2) displacement a -> b of every block once the global motion is taken out.

        One Lucas-Kanade step per block; the global motion (what alignment left of head motion and
        landmark jitter) can exceed the range where one linear step is accurate, so it is estimated
        robustly, ``b`` is warped back by it and the blocks are measured again on the compensated pair.
        """
        return kernels.block_displacement(a, b, self.pixel_weight, self.block, self._count, self.regularization,
                                          self._fit_index, self.design, self._fit_pinv, self.similarity,
                                          self.global_keep, self.global_rounds, self.block_depth, self.pixel_depth,
                                          self.turn_shrink)

    def score(self, a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None) -> float:
        """Mean residual displacement of the ``top_k`` strongest AU blocks, in canonical-face pixels.

        An action unit moves neighbouring blocks together, noise does not: the displacement vectors are
        first averaged with their neighbours (``spatial_smoothing``), which keeps the first and shrinks
        the second. ``weights`` (one per AU block, :class:`BlockNoise`) scale each block before the
        ranking. One compiled call without the GIL (:func:`kernels.block_score`).
        """
        return self.score_and_regions(a, b, weights, regions=False)[0]

    def score_and_regions(self, a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None,
                          magnitudes: np.ndarray | None = None, regions: bool = True,
                          vectors: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """:meth:`score` and, from the same compiled call, the mean residual displacement in each region
        (``SPOTTING_REGION_NAMES`` order, canonical-face pixels, unweighted): where on the face the motion
        is. ``magnitudes`` (length :attr:`au_block_count`), when given, receives every AU block's unweighted
        magnitude in work-face pixels; ``vectors`` ((regions, 2), with ``regions``), each region's mean
        residual displacement vector (x, y; y down) in canonical-face pixels."""
        region_blocks = self._region_blocks if regions else self._no_regions
        out = np.empty(len(region_blocks))
        score = kernels.block_score(a, b, self.pixel_weight, self.block, self._count, self.regularization,
                                    self._fit_index, self.design, self._fit_pinv, self.similarity,
                                    self.global_keep, self.global_rounds, self._au_index,
                                    max(self.spatial_smoothing, 0.0), self.smoothing_mask, self.top_k,
                                    self.uniform_weights if weights is None else weights, region_blocks, out,
                                    self._no_magnitudes if magnitudes is None else magnitudes,
                                    self._no_vectors if vectors is None or not regions else vectors,
                                    self.block_depth, self.pixel_depth, self.turn_shrink)
        scale = CANONICAL_SIZE / self.size
        if vectors is not None and regions:
            vectors *= scale
        return score * scale, out * scale

    def weighted_score(self, magnitudes: np.ndarray, weights: np.ndarray) -> float:
        """The score of a pair from its block magnitudes (:meth:`score_and_regions`) under other weights."""
        return kernels.top_k_mean(magnitudes, weights, self.top_k) * CANONICAL_SIZE / self.size

    def region_map(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n, n) residual displacement magnitude per block, for inspection."""
        return np.linalg.norm(self.block_displacement(a, b), axis=1).reshape(self.n, self.n)


def motion_scores(aligned_frames: list[np.ndarray], reference: int = 0,
                  config: SpotterConfig | None = None) -> np.ndarray:
    """Score of every frame against one reference frame (e.g. onset), the window's simplest form."""
    config = config or SpotterConfig()
    model = MotionModel(config)
    exposure = ExposureReference.for_pair(config)
    ref = model.prepare(np.asarray(aligned_frames[reference]), exposure)
    return np.array([model.score(ref, model.prepare(np.asarray(f), exposure)) for f in aligned_frames])


class BlockNoise:
    """Each AU block's own noise level in one score window, learnt from the recent past, the weights
    that bring every block's noise to that of the median block, and the level of the weighted score
    itself (what two still faces a window apart score).

    Blocks differ: on flat skin the motion estimate stays near zero, on an eyebrow's edge, a nostril, hair
    or a compression artefact it wanders by a few tenths of a pixel between any two frames. A top-k score
    over unweighted blocks is then decided by the noisiest blocks, and a real movement of a quiet region
    must be several times larger to be seen. The level is the median magnitude of each block over the
    last ``history`` pairs (a movement is short against that, so it barely moves the median); the
    weights are clipped to 0.25..4 and stay 1 (without ``weigh_blocks``, always) until ``min_samples``
    pairs are in; the score level stays 0 until then.
    """

    def __init__(self, blocks: int, history: int, update_every: int = 15, min_samples: int = 8,
                 weigh_blocks: bool = True) -> None:
        size = max(int(history), min_samples)
        self.buffer = np.zeros((size, blocks), np.float32)
        self.scores = np.zeros(size)
        self.count = 0
        self.update_every = max(1, int(update_every))
        self.min_samples = int(min_samples)
        self.weigh_blocks = bool(weigh_blocks)
        self.weights = np.ones(blocks, np.float32)
        self.level = 0.0
        """Median one-sided score of the recent pairs (canonical-face pixels)."""
        self.steps = np.full(size, -1, np.int64)
        """The step each slot's pair ends at (-1: not given)."""
        self.valid = np.zeros(size, bool)
        """Slots that hold a pair to learn from."""
        self.ignore_until = -1
        """Pairs ending at steps up to this one are not learnt from (:meth:`ignore`)."""
        self.held = 0
        """How many pairs the weights are learnt from (``valid``'s count)."""

    @property
    def ready(self) -> bool:
        """Whether the weights have been learnt (always, when blocks are not weighed); not while they are being
        learnt again after :meth:`ignore` left too few pairs."""
        return not self.weigh_blocks or self.held >= self.min_samples

    def add(self, magnitudes: np.ndarray, score: float, step: int = -1) -> None:
        """One pair's unweighted block magnitudes and its score (ignored when not finite), ending at ``step``."""
        if not (math.isfinite(score) and np.isfinite(magnitudes).all()) or 0 <= step <= self.ignore_until:
            return
        slot = self.count % len(self.buffer)
        self.buffer[slot] = magnitudes
        self.scores[slot] = score
        self.steps[slot] = step
        self.held += not self.valid[slot]
        self.valid[slot] = True
        self.count += 1
        # Often while few pairs are in (the first seconds decide early events, as do those after talking was
        # forgotten), then every update_every.
        early = self.held <= 4 * self.min_samples and self.held % self.min_samples == 0
        if self.held >= self.min_samples and (early or self.count % self.update_every == 0):
            self._learn()

    def ignore(self, first: int, last: int) -> None:
        """Pairs ending at steps ``first``..``last`` are not noise: forget those learnt and learn none up to
        ``last``. Learnt from talking, the median block's level rose, the quiet blocks were weighed up to
        four times and a still face scored about the threshold for seconds after."""
        if last < first:
            return
        self.ignore_until = max(self.ignore_until, last)
        drop = self.valid & (self.steps >= first) & (self.steps <= last)
        if drop.any():
            self.valid[drop] = False
            self.held = int(self.valid.sum())
            self._learn()

    def _learn(self) -> None:
        if self.held < self.min_samples:
            # Only after :meth:`ignore`: weights learnt from talking alone weighed a still face's quiet blocks up
            # to four times, and it scored twice the threshold until enough still pairs came in.
            self.weights = np.ones_like(self.weights)
            self.level = 0.0
            return
        if self.weigh_blocks:
            self.weights = self.weights_from(self.buffer[self.valid])
        self.level = float(np.median(self.scores[self.valid]))

    @staticmethod
    def weights_from(magnitudes: np.ndarray) -> np.ndarray:
        """Weights from a (pairs, blocks) table of magnitudes: the median block's level over each block's."""
        level = np.median(magnitudes, axis=0) + np.float32(1e-6)
        return np.clip(np.median(level) / level, 0.25, 4.0).astype(np.float32)


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
        return j, mean_face([f for _, f in list(self.buf)[lo:hi]])

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


def mean_face(faces: list[np.ndarray | None]) -> np.ndarray:
    """The pixel mean of the faces given (frames without a face left out; at least one must have one)."""
    kept = [f for f in faces if f is not None]
    return kept[0] if len(kept) == 1 else sum(kept[1:], kept[0].copy()) / np.float32(len(kept))


def stride_mean(faces: list[np.ndarray | None], current: np.ndarray | None) -> np.ndarray | None:
    """What a track that reads every ``len(faces)``-th face is given: the mean of the faces since its last
    step (those with a face), so that the frames it skips still lower its noise rather than alias into it;
    None when the current frame has no face."""
    return None if current is None else mean_face(faces)


def stride_means(prepared: list[np.ndarray | None], stride: int) -> list[np.ndarray | None]:
    """Offline form of :func:`stride_mean`: the faces a track with ``stride`` reads, frames 0, s, 2s, ..."""
    out = []
    for i in range(0, len(prepared), stride):
        out.append(stride_mean(prepared[max(0, i - stride + 1): i + 1], prepared[i]))
    return out
