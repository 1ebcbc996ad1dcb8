"""Facial action units as displacement fields around the 68 landmarks, and the expressions they make.

One definition serves the sequence generator (movements on a face in a video), the DGM's training (known
displacements on real faces) and the labelled benchmark (which AU region should move most). An action
unit moves a few landmarks in a direction; the skin around each follows with a Gaussian fall-off whose
width is a fraction of the inter-ocular distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from frl_core.faces.au_regions import AU_REGIONS, inter_ocular_distance

# Action units as landmark displacements: (landmark index, direction (x, y) in the image, weight).
# Directions are in image axes (y down); the subject's right side is the image left.
ACTION_UNITS: dict[str, tuple[tuple[int, tuple[float, float], float], ...]] = {
    "AU1": tuple((i, (0.0, -1.0), 1.0) for i in (20, 21, 22, 23)),  # inner brow raiser
    "AU2": tuple((i, (0.0, -1.0), 1.0) for i in (17, 18, 19, 24, 25, 26)),  # outer brow raiser
    "AU4": ((19, (0.3, 0.7), 0.8), (20, (0.5, 0.8), 1.0), (21, (0.6, 0.8), 1.0),
            (22, (-0.6, 0.8), 1.0), (23, (-0.5, 0.8), 1.0), (24, (-0.3, 0.7), 0.8)),  # brow lowerer
    "AU5": tuple((i, (0.0, -1.0), 0.8) for i in (37, 38, 43, 44)),  # upper lid raiser
    "AU9": ((31, (0.0, -1.0), 0.8), (35, (0.0, -1.0), 0.8), (27, (0.0, 0.6), 0.5)),  # nose wrinkler
    "AU12": ((48, (-0.7, -0.7), 1.0), (54, (0.7, -0.7), 1.0), (49, (-0.3, -0.4), 0.5),
             (53, (0.3, -0.4), 0.5)),  # lip corner puller (smile)
    "AU14": ((48, (-1.0, 0.0), 1.0), (54, (1.0, 0.0), 1.0)),  # dimpler
    "AU15": ((48, (-0.2, 1.0), 1.0), (54, (0.2, 1.0), 1.0), (59, (0.0, 0.6), 0.5),
             (55, (0.0, 0.6), 0.5)),  # lip corner depressor
    "AU17": ((57, (0.0, -1.0), 0.7), (8, (0.0, -1.0), 1.0), (7, (0.0, -0.8), 0.7),
             (9, (0.0, -0.8), 0.7)),  # chin raiser
    "AU26": ((57, (0.0, 1.0), 0.8), (8, (0.0, 1.0), 1.0), (7, (0.0, 1.0), 0.9), (9, (0.0, 1.0), 0.9),
             (6, (0.0, 1.0), 0.6), (10, (0.0, 1.0), 0.6)),  # jaw drop
}

MORE_ACTION_UNITS: dict[str, tuple[tuple[int, tuple[float, float], float], ...]] = {
    "AU6": tuple((i, (0.0, -1.0), 0.7) for i in (40, 41, 46, 47))
    + ((1, (0.3, -1.0), 1.0), (2, (0.3, -1.0), 0.8), (15, (-0.3, -1.0), 1.0), (14, (-0.3, -1.0), 0.8)),  # cheek raiser
    "AU7": tuple((i, (0.0, -1.0), 1.0) for i in (40, 41, 46, 47))
    + ((36, (0.6, 0.0), 0.4), (45, (-0.6, 0.0), 0.4)),  # lid tightener
    "AU10": ((50, (0.0, -1.0), 1.0), (51, (0.0, -1.0), 1.0), (52, (0.0, -1.0), 1.0), (49, (0.0, -1.0), 0.6),
             (53, (0.0, -1.0), 0.6)),  # upper lip raiser
    "AU18": ((48, (1.0, 0.0), 1.0), (54, (-1.0, 0.0), 1.0), (49, (0.6, 0.2), 0.5), (53, (-0.6, 0.2), 0.5),
             (59, (0.6, -0.2), 0.5), (55, (-0.6, -0.2), 0.5)),  # lip pucker
    "AU20": ((48, (-1.0, 0.3), 1.0), (54, (1.0, 0.3), 1.0), (59, (-0.6, 0.3), 0.5),
             (55, (0.6, 0.3), 0.5)),  # lip stretcher
    "AU24": ((51, (0.0, 1.0), 0.8), (62, (0.0, 1.0), 0.6), (57, (0.0, -1.0), 0.8),
             (66, (0.0, -1.0), 0.6)),  # lip pressor
    "AU25": ((57, (0.0, 1.0), 1.0), (66, (0.0, 1.0), 1.0), (56, (0.0, 1.0), 0.6), (58, (0.0, 1.0), 0.6)),  # lips part
}
"""More action units the datasets code their clips with. The DGM's random movements never draw them (they draw
from ``ACTION_UNITS`` alone, so the shipped DGM's recipe is unchanged); the trunk's bank draws AU6, AU7 and AU10
in ``VARIED_EXPRESSIONS``; AU20, AU24 and AU25 appear only in ``HELD_OUT_EXPRESSIONS``, except that a bank
with ``train.au_augment_parted_lips`` joins AU25 to a share of its movements of every class. AU18 (with AU20,
AU24 and AU25) shapes the syllables of the talking benchmarks (``results/speech_*``): rounded, spread, closed and
open lips."""

EXPRESSIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "smile": (("AU12",), "positive"),
    "brow_raise": (("AU1", "AU2"), "surprise"),
    "surprise": (("AU1", "AU2", "AU5", "AU26"), "surprise"),
    "brow_lower": (("AU4",), "negative"),
    "lip_corner_depressor": (("AU15",), "negative"),
    "dimpler": (("AU14",), "negative"),
    "disgust": (("AU9", "AU4"), "negative"),
    "chin_raise": (("AU17", "AU15"), "negative"),
    "duchenne_smile": (("AU6", "AU12"), "positive"),
    "open_smile": (("AU12", "AU25"), "positive"),
    "brows_jaw_drop": (("AU1", "AU2", "AU26"), "surprise"),
    "brows_lids": (("AU1", "AU2", "AU5"), "surprise"),
    "anger": (("AU4", "AU7"), "negative"),
    "upper_lip_raise": (("AU10",), "negative"),
    "lip_press": (("AU24",), "negative"),
    "lip_stretch": (("AU20",), "negative"),
}
"""Named movements: their action units and the MEGC2019 3-class label they imply (AU12, alone or with AU6 or
AU25 -> positive; AU1+2, alone or with AU5 and/or AU26 -> surprise; AU4, AU9, AU14, AU15, AU17, AU4+7, AU10,
AU20, AU24 -> negative)."""

SIGMA_IOD = 0.22
"""Width of an action unit's Gaussian fall-off, as a fraction of the inter-ocular distance."""


def au_field(landmarks: np.ndarray, action_units: tuple[str, ...], height: int, width: int,
             sigma_iod: float = SIGMA_IOD, side_gain: tuple[float, float] = (1.0, 1.0),
             turn_deg: float = 0.0) -> np.ndarray:
    """(2, H, W) float32 displacement of a unit-peak movement of these action units around ``landmarks``.

    ``side_gain`` scales the landmarks on the image-left and image-right half of the face (asymmetric
    movements); ``turn_deg`` turns each landmark's direction, the image-left half one way and the right half
    the other (a mirror-symmetric change of the movement's shape: a smile that pulls more outward or more
    upward); the field is normalised so its largest displacement is 1.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    known = ACTION_UNITS | MORE_ACTION_UNITS
    unknown = [au for au in action_units if au not in known]
    if unknown:
        raise ValueError(f"unknown action unit(s) {unknown}; known: {sorted(known)}")
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    field = np.zeros((2, height, width), np.float32)
    sigma = sigma_iod * inter_ocular_distance(pts)
    centre_x = float(pts[27:31, 0].mean())
    turn = math.radians(turn_deg)
    for au in action_units:
        for idx, (dx, dy), weight in known[au]:
            px, py = np.float32(pts[idx, 0]), np.float32(pts[idx, 1])
            left = px < centre_x
            gain = side_gain[0] if left else side_gain[1]
            if turn:
                c, s = math.cos(turn), math.sin(turn if left else -turn)
                dx, dy = c * dx - s * dy, s * dx + c * dy
            g = np.exp(-((gx - px) ** 2 + (gy - py) ** 2) / (2 * sigma * sigma)).astype(np.float32)
            norm = math.hypot(dx, dy) or 1.0
            field[0] += g * np.float32(gain * weight * dx / norm)
            field[1] += g * np.float32(gain * weight * dy / norm)
    peak = float(np.sqrt(field[0] ** 2 + field[1] ** 2).max())
    return field / peak if peak > 0 else field


def regions_of(action_units: tuple[str, ...]) -> tuple[str, ...]:
    """The AU regions (``au_regions.AU_REGIONS`` names) that hold any of these action units."""
    wanted = set(action_units)
    return tuple(r.name for r in AU_REGIONS if wanted & set(r.action_units))


CLASS_EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "positive": ("smile",),
    "surprise": ("brow_raise", "surprise"),
    "negative": ("brow_lower", "lip_corner_depressor", "dimpler", "chin_raise", "disgust"),
}
"""The expressions of ``EXPRESSIONS`` that imply each MEGC2019 class: what the labelled benchmark draws
from (classes in turn, so balanced) and what the trunk's synthetic action units are labelled with."""

VARIED_EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "positive": ("duchenne_smile",),
    "surprise": ("brows_jaw_drop",),
    "negative": ("anger", "upper_lip_raise"),
}
"""Movements beyond the textbook ones that a trunk's bank may be taught (``train.au_augment_movements =
"varied"``), each implying its class as the datasets code it: AU6+12 happiness, AU1+2+26 surprise, AU4+7
anger and AU10 disgust (negative)."""

HELD_OUT_EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "positive": ("open_smile",),
    "surprise": ("brows_lids",),
    "negative": ("lip_press", "lip_stretch"),
}
"""Movements no training bank holds: AU12+25 happiness, AU1+2+5 surprise, AU24 repression and AU20 fear
(negative). With the textbook and the varied ones, all shaped by ``MovementShape.draw``, they are the labelled
benchmark's ``--movements varied``: recognition on movements unlike the bank's. A bank with parted lips
(``train.au_augment_parted_lips``) holds smiles with the lips parted: for its trunks ``open_smile`` is taught."""


MOVEMENT_SETS = ("textbook", "varied")
"""Which movements a bank or the labelled benchmark draws: "textbook" (``CLASS_EXPRESSIONS`` at the textbook
shape) or "varied" (also ``VARIED_EXPRESSIONS``, and for the benchmark ``HELD_OUT_EXPRESSIONS``, each shaped by
``MovementShape.draw``)."""


@dataclass(frozen=True)
class MovementShape:
    """How one movement departs from the textbook field: fall-off width, per-side strength, turn of direction."""

    sigma_iod: float = SIGMA_IOD
    side_gain: tuple[float, float] = (1.0, 1.0)
    turn_deg: float = 0.0

    @classmethod
    def draw(cls, rng: np.random.Generator, turn_deg: float = 20.0) -> "MovementShape":
        """Widths 0.15-0.32 of the inter-ocular distance, each side at 0.5-1 of the other's strength,
        directions turned up to ``turn_deg`` degrees. The benchmark turns up to 20; a bank up to 10: a smile's
        oblique pull turned 20 degrees towards the horizontal comes close to the dimpler's (AU14), and a bank
        taught that as a smile read dimplers as positive."""
        return cls(float(rng.uniform(0.15, 0.32)), (float(rng.uniform(0.5, 1.0)), float(rng.uniform(0.5, 1.0))),
                   float(rng.uniform(-turn_deg, turn_deg)))

    def field(self, landmarks: np.ndarray, action_units: tuple[str, ...], height: int, width: int) -> np.ndarray:
        """``au_field`` of these action units in this shape."""
        return au_field(landmarks, action_units, height, width, sigma_iod=self.sigma_iod, side_gain=self.side_gain,
                        turn_deg=self.turn_deg)
