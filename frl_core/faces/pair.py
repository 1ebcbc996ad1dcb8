"""One alignment for both faces of an onset/apex pair.

A face aligned by its own landmarks carries its own landmark error, so two frames aligned one by one
differ by a relative similarity of about a pixel even when the head is still. Registration then has to
find that difference and resample the apex a second time, and what it misses reads as facial motion:
under +-1 px landmark noise that was most of the live path's label flips. Aligning both faces by one
similarity (from the mean of their landmarks), each resampled once from its frame's own pixels, leaves
the landmark error only in where the pair sits on the canonical face, which the displacement barely
feels; the head's real motion between the two frames is left to registration, which measures it from
the pixels. When the landmarks say the head moved too far for that (beyond what registration reliably
captures), each face keeps its own alignment.

The spotter still sees every frame aligned on its own; only a pair about to be measured is aligned
together, so a frame keeps the frame pixels around its face (a :class:`FacePatch`) until it can no
longer become an onset or an apex.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from frl_core.faces.tracking import alignment_matrix, to_gray

PATCH_MARGIN = 0.08
"""Frame pixels kept beyond the aligned crop's own footprint, as a share of its side: room for the
shared alignment, which sits within ``MAX_SHARED_MOTION_PX / 2`` of each face's own."""
MAX_SHARED_MOTION_PX = 8.0
"""Largest head motion between onset and apex (aligned-face pixels, at the crop's corners) for which
the pair is aligned together; registration recovers shifts to about 14 px at 224 px to within 0.02 px."""
MAX_PATCH_SCALE = 2.0
"""A face this many frame pixels per aligned pixel or larger is kept binned by a whole factor (a
close-up in a 4K frame would otherwise hold megabytes per buffered frame)."""


@dataclass(frozen=True)
class FacePatch:
    """The frame's own pixels around one face, with its landmarks: what the pair's alignment reads."""

    pixels: np.ndarray
    """uint8 (h, w) grayscale."""
    origin: tuple[float, float]
    """Frame coordinates of ``pixels``' top-left corner."""
    binning: int
    """Frame pixels per patch pixel along each axis (1, or a whole factor for large faces)."""
    landmarks: np.ndarray
    """(68, 2) float64 landmarks in frame coordinates."""

    def to_frame(self) -> np.ndarray:
        """The 3x3 map from patch pixel indices to frame coordinates."""
        b = float(self.binning)
        shift = (b - 1.0) / 2.0  # a binned pixel's centre sits half a bin in
        return np.array([[b, 0.0, self.origin[0] + shift], [0.0, b, self.origin[1] + shift], [0.0, 0.0, 1.0]])


def _footprint(m: np.ndarray, size: int) -> tuple[float, float, float, float, float]:
    """The frame box (x0, y0, x1, y1) of the aligned crop that the frame-to-crop similarity ``m`` makes,
    and the frame pixels per aligned pixel."""
    a, b = float(m[0, 0]), float(m[0, 1])
    det = a * a + b * b  # a similarity: [[a, b], [-b, a]]
    scale = 1.0 / math.sqrt(det)
    # the crop's corners mapped back to the frame: the inverse of a similarity is its transpose over det
    tx, ty = float(m[0, 2]), float(m[1, 2])
    xs, ys = [], []
    for u, v in ((0.0, 0.0), (size, 0.0), (0.0, size), (size, size)):
        du, dv = u - tx, v - ty
        xs.append((a * du - b * dv) / det)
        ys.append((b * du + a * dv) / det)
    return min(xs), min(ys), max(xs), max(ys), scale


def face_patch(gray: np.ndarray, landmarks: np.ndarray, size: int = 224, matrix: np.ndarray | None = None
               ) -> FacePatch:
    """The pixels of ``gray`` the aligned crop of side ``size`` comes from, with a margin (``matrix``: the
    face's alignment, when the caller has it already)."""
    if gray.ndim != 2 or gray.dtype != np.uint8:
        gray = to_gray(gray)
    pts = np.asarray(landmarks, dtype=np.float64)
    m = alignment_matrix(pts, size) if matrix is None else matrix
    left, top, right, bottom, scale = _footprint(m, size)
    h, w = gray.shape
    pad = PATCH_MARGIN * size * scale + 2.0
    x0 = min(max(math.floor(left - pad), 0), w - 1)
    y0 = min(max(math.floor(top - pad), 0), h - 1)
    x1 = min(max(math.ceil(right + pad) + 1, x0 + 1), w)
    y1 = min(max(math.ceil(bottom + pad) + 1, y0 + 1), h)
    binning = int(scale) if scale >= MAX_PATCH_SCALE else 1
    if binning > 1:
        x1 = x0 + max(binning, (x1 - x0) // binning * binning)
        y1 = y0 + max(binning, (y1 - y0) // binning * binning)
        region = gray[y0:min(y1, h), x0:min(x1, w)]
        pixels = cv2.resize(region, (max(1, region.shape[1] // binning), max(1, region.shape[0] // binning)),
                            interpolation=cv2.INTER_AREA)
    else:
        pixels = gray[y0:y1, x0:x1].copy()
    return FacePatch(pixels, (float(x0), float(y0)), binning, pts.copy())


def head_motion_px(onset: np.ndarray, apex: np.ndarray, size: int = 224) -> float:
    """How far the head moved between two frames by their landmarks: the largest shift, over the crop's
    corners, between where the two frames' own alignments put one frame point (aligned-face pixels)."""
    m_onset = np.vstack([alignment_matrix(onset, size), [0.0, 0.0, 1.0]])
    m_apex = np.vstack([alignment_matrix(apex, size), [0.0, 0.0, 1.0]])
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64).T
    moved = m_apex @ np.linalg.inv(m_onset) @ corners
    return float(np.hypot(*(moved[:2] - corners[:2])).max())


def _aligned(patch: FacePatch, m_frame: np.ndarray, size: int) -> np.ndarray:
    """The patch resampled once by the frame-to-crop similarity ``m_frame`` (2x3)."""
    m = np.vstack([m_frame, [0.0, 0.0, 1.0]]) @ patch.to_frame()
    return cv2.warpAffine(patch.pixels, m[:2], (int(size), int(size)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class AlignedPair:
    onset: np.ndarray
    apex: np.ndarray
    shared: bool
    """True: both faces by one similarity; False: each by its own (the head moved too far)."""
    head_motion_px: float
    """The landmarks' estimate of the head motion between the two frames (aligned-face pixels)."""


def align_pair(onset: FacePatch, apex: FacePatch, size: int = 224,
               max_shared_motion_px: float = MAX_SHARED_MOTION_PX) -> AlignedPair:
    """The onset and apex faces on the canonical template (uint8 ``size`` squares), aligned together by
    the similarity of their mean landmarks unless the head moved more than ``max_shared_motion_px``."""
    motion = head_motion_px(onset.landmarks, apex.landmarks, size)
    if motion <= max_shared_motion_px:
        m = alignment_matrix((onset.landmarks + apex.landmarks) / 2.0, size)
        return AlignedPair(_aligned(onset, m, size), _aligned(apex, m, size), True, motion)
    return AlignedPair(_aligned(onset, alignment_matrix(onset.landmarks, size), size),
                       _aligned(apex, alignment_matrix(apex.landmarks, size), size), False, motion)
