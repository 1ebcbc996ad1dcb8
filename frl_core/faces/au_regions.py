"""AU-based facial regions: one definition shared by the network (region tokens) and the views (boxes).

The canonical face is the aligned crop the network sees. Its 68-point landmark template is the
per-point median of dlib's landmarks over the face-cropped apex frames of the MEGC2019 composite
(413 of 442 faces detected), so a live face aligned onto it is framed like the training data:
tight, brows near the top, chin at the bottom edge. Coordinates are in units of the crop side.

Region sides are the subject's own (FACS convention): the subject's right eye is on the image left.
Each region is the bounding box of its landmarks, padded by ``pad`` times the inter-ocular distance
and clipped to the crop.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

TEMPLATE_68 = np.array(
    [
        [-0.0134, 0.2857], [-0.0134, 0.4107], [-0.0045, 0.5357], [0.0089, 0.6607], [0.0536, 0.7768],
        [0.1339, 0.875], [0.2411, 0.9509], [0.3616, 1.0], [0.5045, 1.0045], [0.6429, 0.9955],
        [0.7634, 0.9464], [0.8661, 0.8705], [0.9464, 0.7723], [0.9911, 0.6562], [1.0045, 0.5357],
        [1.0089, 0.4152], [1.0179, 0.2902], [0.0179, 0.1964], [0.0938, 0.1339], [0.2009, 0.125],
        [0.308, 0.1429], [0.4107, 0.1786], [0.5759, 0.1786], [0.6786, 0.1429], [0.7857, 0.1295],
        [0.8884, 0.1384], [0.9643, 0.1964], [0.4955, 0.2634], [0.5, 0.3527], [0.5, 0.4375],
        [0.5, 0.5268], [0.3795, 0.5804], [0.4375, 0.5938], [0.5, 0.6071], [0.558, 0.5938],
        [0.6161, 0.5804], [0.1339, 0.2768], [0.2009, 0.2634], [0.2679, 0.2634], [0.3393, 0.2902],
        [0.2679, 0.2991], [0.1964, 0.2991], [0.6473, 0.2902], [0.7188, 0.2589], [0.7857, 0.2634],
        [0.8482, 0.2812], [0.7902, 0.2991], [0.7232, 0.2991], [0.2902, 0.7277], [0.3705, 0.6964],
        [0.442, 0.683], [0.4955, 0.6964], [0.5536, 0.683], [0.625, 0.7009], [0.7054, 0.7232],
        [0.6295, 0.7723], [0.558, 0.7946], [0.4955, 0.7991], [0.442, 0.7946], [0.3705, 0.7723],
        [0.3214, 0.7277], [0.442, 0.7277], [0.4955, 0.7321], [0.5536, 0.7277], [0.6741, 0.7277],
        [0.5536, 0.7277], [0.4955, 0.7321], [0.442, 0.7277],
    ],
    dtype=np.float64,
)
"""Canonical 68-point landmarks (dlib order, 0-based) in units of the aligned crop's side."""

RIGHT_EYE = tuple(range(36, 42))  # the subject's right eye, on the image left
LEFT_EYE = tuple(range(42, 48))
_RIGHT_EYE_SLICE = slice(RIGHT_EYE[0], RIGHT_EYE[-1] + 1)
_LEFT_EYE_SLICE = slice(LEFT_EYE[0], LEFT_EYE[-1] + 1)


@dataclass(frozen=True)
class AURegion:
    """A facial region named after the action units whose motion it holds."""

    name: str
    label: str
    landmarks: tuple[int, ...]
    action_units: tuple[str, ...]
    pad: float = 0.15


AU_REGIONS: tuple[AURegion, ...] = (
    AURegion("right_brow_eye", "right brow & eye", tuple(range(17, 22)) + RIGHT_EYE,
             ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7")),
    AURegion("left_brow_eye", "left brow & eye", tuple(range(22, 27)) + LEFT_EYE,
             ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7")),
    AURegion("glabella_nose", "glabella & nose", (21, 22, 27, 28, 29, 31, 35), ("AU4", "AU9"), pad=0.1),
    AURegion("right_mouth_corner", "right mouth corner", (48, 49, 59, 60, 31),
             ("AU10", "AU12", "AU14", "AU15", "AU20"), pad=0.12),
    AURegion("left_mouth_corner", "left mouth corner", (54, 53, 55, 64, 35),
             ("AU10", "AU12", "AU14", "AU15", "AU20"), pad=0.12),
    AURegion("chin", "chin", (6, 7, 8, 9, 10, 56, 57, 58), ("AU17", "AU24"), pad=0.1),
)
REGION_NAMES: tuple[str, ...] = tuple(r.name for r in AU_REGIONS)


def inter_ocular_distance(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres, the face's natural unit of scale."""
    pts = np.asarray(landmarks, dtype=np.float64)
    # The eyes are runs of consecutive points: slices, not index lists (this runs several times a frame).
    d = pts[_LEFT_EYE_SLICE].sum(0) * (1.0 / len(LEFT_EYE)) - pts[_RIGHT_EYE_SLICE].sum(0) * (1.0 / len(RIGHT_EYE))
    return math.hypot(float(d[0]), float(d[1]))


_INNER_LIPS = ((61, 67), (62, 66), (63, 65))
"""Upper and lower inner-lip landmarks facing each other (the 68-point scheme)."""


def lip_opening(landmarks: np.ndarray) -> float:
    """How far the lips stand apart, in inter-ocular distances: the mean gap between the inner lips' three
    facing pairs. Talking opens and closes it several times a second, whatever the rest of the face does."""
    pts = np.asarray(landmarks, dtype=np.float64)
    iod = inter_ocular_distance(pts)
    if not iod > 0:
        return math.nan
    gap = sum(math.hypot(*(pts[a] - pts[b])) for a, b in _INNER_LIPS) / len(_INNER_LIPS)
    return gap / iod


def region_boxes(landmarks: np.ndarray, width: float, height: float) -> np.ndarray:
    """Boxes ``(R, 4)`` as ``x0, y0, x1, y1`` in the landmarks' pixel frame, clipped to the image."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (68, 2):
        raise ValueError(f"expected 68x2 landmarks, got shape {pts.shape}")
    iod = inter_ocular_distance(pts)
    boxes = np.empty((len(AU_REGIONS), 4), dtype=np.float64)
    for i, region in enumerate(AU_REGIONS):
        sel = pts[list(region.landmarks)]
        pad = region.pad * iod
        x0, y0 = sel.min(0) - pad
        x1, y1 = sel.max(0) + pad
        boxes[i] = (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))
    return boxes


def canonical_region_boxes(size: int) -> np.ndarray:
    """Region boxes on the canonical aligned crop of side ``size`` (what the network uses)."""
    return region_boxes(TEMPLATE_68 * size, size, size)
