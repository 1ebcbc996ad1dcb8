"""Whole-sequence spotting: the threshold from the whole score distribution."""

from __future__ import annotations

import math

import numpy as np

from frl_core.spotting import kernels
from frl_core.spotting.config import SpottedInterval, SpotterConfig, SpotterError, temporal_half
from frl_core.spotting.detector import (Detector, agreement_corrected, in_frames, is_macro, macro_stride, overlaps,
                                        robust_threshold, window_steps)
from frl_core.spotting.motion import BlockNoise, ExposureReference, MotionModel, smooth_faces, stride_means


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
    exposure = ExposureReference.for_stream(config, fps)
    prepared = [model.prepare(np.asarray(f), exposure) if f is not None else None for f in frames]
    prepared = smooth_faces(prepared, temporal_half(config.temporal_s, fps))
    windows = [(config.window_s, 1)]
    if config.macro_window_s > config.window_s:
        windows.append((config.macro_window_s, macro_stride(fps, config)))
    per_window: list[tuple[np.ndarray, list[SpottedInterval]]] = []
    for window_s, stride in windows:
        w = window_steps(window_s, fps, stride)
        scores = _two_sided(stride_means(prepared, stride), w, model, float(config.min_threshold), config.block_noise)
        fixed = config.threshold
        if fixed is None:
            valid = scores[~np.isnan(scores)]
            fixed = robust_threshold(*kernels.median_and_spread(valid), config) if valid.size \
                else config.min_threshold
        det = Detector(float(fps) / stride, config, w, fixed)
        det.static = True
        if scores.size:
            valid = scores[~np.isnan(scores)]
            det.baseline = float(np.median(valid)) if valid.size else 0.0
        found: list[SpottedInterval] = []
        for j, c in enumerate(scores):
            found.extend(det.push(j, float(c)))
        found.extend(det.finish())
        per_window.append((scores, in_frames(found, stride, float(fps), config)))
    micro_scores, micro = per_window[0]
    if len(per_window) == 1:
        return micro_scores, micro
    macro = [iv for iv in per_window[1][1] if is_macro(iv, micro)]
    result = [iv for iv in micro if not any(overlaps(iv, m) for m in macro)] + macro
    return micro_scores, sorted(result, key=lambda iv: iv.onset)


def _two_sided(prepared: list[np.ndarray | None], w: int, model: MotionModel, gate: float,
               block_noise: bool = True) -> np.ndarray:
    """min(backward, forward) score of every step, less its references' distance; within a window of either
    end the first or the last face is the reference (as the streaming track does). With ``block_noise``
    the blocks are weighed by their noise over the whole sequence (the streaming track learns it as it goes)."""
    n = len(prepared)

    def back_ref(i: int) -> int:
        return i - w if i >= w else 0

    def fwd_ref(i: int) -> int:
        return i + w if i + w < n else n - 1

    magnitudes = np.full((n, model.au_block_count), np.nan, np.float32)

    def back_score(i: int) -> float:
        a = back_ref(i)
        if a == i or prepared[a] is None or prepared[i] is None:
            return math.nan
        return model.score_and_regions(prepared[a], prepared[i], magnitudes=magnitudes[i], regions=False)[0]

    back = np.array([back_score(i) for i in range(n)]) if n else np.zeros(0)
    weights = None
    measured = np.isfinite(magnitudes).all(1) & np.isfinite(back)
    if block_noise and measured.sum() >= 8:
        weights = BlockNoise.weights_from(magnitudes[measured])
        back = np.array([model.weighted_score(magnitudes[i], weights) if measured[i] else math.nan
                         for i in range(n)])

    def score(a: int, b: int) -> float:
        if a == b or prepared[a] is None or prepared[b] is None:
            return math.nan
        return model.score(prepared[a], prepared[b], weights)

    fwd = np.array([back[i + w] if i + w < n else score(i, n - 1) for i in range(n)]) if n else np.zeros(0)
    level = float(np.median(back[measured])) if measured.sum() >= 8 else 0.0
    c = np.minimum(back, fwd)
    for j in np.flatnonzero(c > gate):
        refs_distance = score(back_ref(j), fwd_ref(j))
        if not math.isnan(refs_distance):
            c[j] = agreement_corrected(float(c[j]), lambda: refs_distance, level)
    return c
