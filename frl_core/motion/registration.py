"""Registration of one aligned face onto another: head motion taken out before motion is measured.

Landmark alignment leaves, between two frames of one face, what landmark jitter and head motion do not
cancel: a drift of a pixel or two, a fraction of a degree of roll, a percent of scale. That moves the
whole face coherently, while an action unit moves one region, so the global part is fitted robustly
and removed before any displacement is computed or shown.

One implementation serves the spotter and the recogniser: the spotter's motion model (one
Lucas-Kanade step per 8x8 block of the shrunk, blurred face, eyes left out against blinks) and its
robust similarity fit (``spotting.kernels.robust_similarity``: shift, roll and scale, refitted on the
blocks that fit best, so a moving region does not drag the fit). Head motion and landmark jitter between
two aligned faces are a similarity; an affine fit would also take a vertical stretch, which a brow raise
or a jaw drop nearly is, for head motion, and fits landmark noise with two more degrees of freedom. Here
the fit is iterated on the warped face until the update is negligible, then applied to the
full-resolution face.

A head turned in depth (yaw, pitch) is not a similarity: the nose moves further than the cheeks and the
face's sides move least. Real faces turn a few degrees between an onset and an apex, and a degree moves the
nose about half a pixel of a 224-pixel face against the eyes, as much as a small micro-expression. So the fit
has two more terms, a horizontal and a vertical displacement proportional to the generic face's depth
(``faces.head_pose.canonical_depth``): the turn, removed with the rest of the head motion. An action unit
moves a few regions one way, not the whole face in proportion to its depth, so the robust fit leaves it.

Coordinates: a :class:`GlobalMotion` matrix ``M`` (2x3, pixel indices) maps a pixel of the reference
face to where the same point is in the moving face, so ``moving(M p) ~ reference(p)``: it is the
inverse map ``cv2.warpAffine`` takes with ``WARP_INVERSE_MAP``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from frl_core.faces.head_pose import canonical_depth
from frl_core.spotting import kernels
from frl_core.spotting.config import TURN_SHRINK_DEG, SpotterConfig
from frl_core.spotting.motion import MotionModel, interior_slices

WORK_SIZE = 112
"""Side of the shrunk face the global motion is estimated on (224-pixel faces halve exactly)."""
BLUR_SIGMA = 0.5
"""Lighter blur than the spotter's: on real faces warped by known affine motions it lowers the fit's
error (tests/test_registration.py)."""
KEEP, ROUNDS = 0.6, 10
"""The robust fit keeps the 60 % of blocks that fit best and refits ten times: an expression can move far
more of the face than the spotter's one trim of a quarter allows for, and each round sheds more of it."""


@dataclass(frozen=True)
class GlobalMotion:
    """The affine head motion between two faces, in pixels of the faces it was estimated for."""

    matrix: np.ndarray
    """(2, 3) float64: reference pixel -> the same point in the moving face."""
    size: int
    """Side of the faces the matrix is expressed for."""
    turn: tuple[float, float] = (0.0, 0.0)
    """The head's turn in depth, radians about the vertical and the horizontal axis: the moving face's point
    of depth ``z`` (``canonical_depth``, crop sides) is a further ``turn * z * size`` pixels away, after ``matrix``."""

    @property
    def translation(self) -> tuple[float, float]:
        """Shift of the face centre (pixels): where the reference's centre is in the moving face, less it."""
        c = (self.size - 1) / 2.0
        moved = self.matrix @ np.array([c, c, 1.0])
        return float(moved[0] - c), float(moved[1] - c)

    @property
    def rotation_deg(self) -> float:
        """How far the moving face is turned from the reference, clockwise on screen."""
        a = self.matrix[:, :2]
        return float(math.degrees(math.atan2(a[1, 0] - a[0, 1], a[0, 0] + a[1, 1])))

    @property
    def scale(self) -> float:
        return float(math.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    @property
    def yaw_deg(self) -> float:
        """The turn about the vertical axis, positive towards the image's left (``faces.head_pose``'s yaw), as
        the generic face's depth explains it."""
        return float(math.degrees(self.turn[0]))

    @property
    def pitch_deg(self) -> float:
        """The turn about the horizontal axis, positive when the head nods down (``faces.head_pose``'s pitch)."""
        return float(-math.degrees(self.turn[1]))

    def as_dict(self) -> dict[str, float]:
        tx, ty = self.translation
        return {"dx_px": tx, "dy_px": ty, "rotation_deg": self.rotation_deg, "scale": self.scale,
                "yaw_deg": self.yaw_deg, "pitch_deg": self.pitch_deg, "face_size_px": float(self.size)}

    def source_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """Where each pixel of the reference is in the moving face (float32 maps for ``cv2.remap``)."""
        size = self.size
        grid = np.arange(size, dtype=np.float32)
        m = self.matrix.astype(np.float32)
        map_x = m[0, 0] * grid[None, :] + m[0, 1] * grid[:, None] + m[0, 2]
        map_y = m[1, 0] * grid[None, :] + m[1, 1] * grid[:, None] + m[1, 2]
        if self.turn != (0.0, 0.0):
            depth = canonical_depth(size)
            map_x += np.float32(self.turn[0] * size) * depth
            map_y += np.float32(self.turn[1] * size) * depth
        return map_x, map_y


@lru_cache(maxsize=4)
def _model(work_size: int) -> MotionModel:
    return MotionModel(SpotterConfig(work_size=work_size, blur_sigma=BLUR_SIGMA))


def _coef_to_matrix(coef: np.ndarray, s: float) -> np.ndarray:
    """The spotter's affine coefficients (displacement = coef . (X/s, Y/s, 1), edge coordinates) as the
    3x3 map X -> X + d(X)."""
    return np.array([[1.0 + coef[0, 0] / s, coef[1, 0] / s, coef[2, 0]],
                     [coef[0, 1] / s, 1.0 + coef[1, 1] / s, coef[2, 1]],
                     [0.0, 0.0, 1.0]])


def _matrix_to_coef(m: np.ndarray, s: float) -> np.ndarray:
    return np.array([[(m[0, 0] - 1.0) * s, m[1, 0] * s],
                     [m[0, 1] * s, (m[1, 1] - 1.0) * s],
                     [m[0, 2], m[1, 2]]])


def _rescaled(m_edge: np.ndarray, factor: float) -> np.ndarray:
    """An edge-coordinate map at ``factor`` times the resolution, as a 2x3 matrix on pixel indices."""
    k = np.diag([factor, factor, 1.0])
    full = k @ m_edge @ np.linalg.inv(k)
    to_index = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])
    return (to_index @ full @ np.linalg.inv(to_index))[:2]


def estimate_global_motion(reference: np.ndarray, moving: np.ndarray, iterations: int = 12,
                           work_size: int = WORK_SIZE, tolerance_px: float = 1e-4, turn: bool = True) -> GlobalMotion:
    """The robust similarity motion from ``reference`` to ``moving`` (two aligned faces of one size), with the
    head's turn in depth unless ``turn`` is False.

    The turn is fitted with the similarity, then shrunk by ``TURN_SHRINK_DEG`` about each axis and held while the
    similarity is fitted again: a movement of a still head (an upper lip raised, a smile) leaks a little into the
    turn's terms, and the shrink gives it back at a small price for a real turn (``bench dgm``'s registration line;
    docs/recognition.md has the trade-off)."""
    if reference.shape != moving.shape or reference.ndim != 2 or reference.shape[0] != reference.shape[1]:
        raise ValueError(f"expected two square grayscale faces of one size, got {reference.shape} and {moving.shape}")
    model = _model(int(work_size))
    a = model.prepare(reference)
    b = model.prepare(moving)
    s = float(model.size)
    n = model.n
    u = np.empty((n * n, 2))
    warped = np.empty_like(b)
    fit = model._fit_index
    corners = np.array([[0, 0, 1], [s, 0, 1], [0, s, 1], [s, s, 1]], dtype=np.float64).T

    def fitted(total: np.ndarray, parallax: np.ndarray, free: bool) -> tuple[np.ndarray, np.ndarray]:
        """The similarity (3x3, edge coordinates) and the turn's terms (work pixels per unit depth), iterated from
        these until the update is negligible; with ``free`` False the turn is held."""
        for _ in range(max(1, int(iterations))):
            kernels.warp_back(b, _matrix_to_coef(total, s), warped, parallax[0], parallax[1], model.pixel_depth)
            kernels.block_lk(a, warped, model.pixel_weight, model.block, model._count, model.regularization, u)
            step = np.zeros(2)
            if free:
                coef, p, q = kernels.robust_similarity_turn(u, fit, model.design, model.block_depth, KEEP, ROUNDS)
                step = np.array([p, q])
                parallax = parallax + step
            else:
                coef = kernels.robust_similarity(u, fit, model.design, KEEP, ROUNDS)
            total = total @ _coef_to_matrix(coef, s)
            # the largest shift the update makes anywhere on the face, in work pixels
            change = np.abs((_coef_to_matrix(coef, s) - np.eye(3)) @ corners).max() + np.abs(step).max() * 0.35
            if change < tolerance_px:
                break
        return total, parallax

    total, parallax = fitted(np.eye(3), np.zeros(2), turn)
    if turn:
        shrink = math.radians(TURN_SHRINK_DEG) * s
        held = np.sign(parallax) * np.maximum(np.abs(parallax) - shrink, 0.0)
        if not np.array_equal(held, parallax):
            total, parallax = fitted(total, held, False)
    size = int(reference.shape[0])
    return GlobalMotion(_rescaled(total, size / s), size, (float(parallax[0] / s), float(parallax[1] / s)))


def warp_with(face: np.ndarray, motion: GlobalMotion) -> np.ndarray:
    """``face`` at every reference pixel's place in it: the moving face brought onto the reference's grid."""
    if face.shape[0] != motion.size:
        raise ValueError(f"the motion is for {motion.size}-pixel faces, got {face.shape}")
    if motion.turn != (0.0, 0.0):
        return cv2.remap(face, *motion.source_maps(), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(face, motion.matrix, (face.shape[1], face.shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def match_exposure(reference: np.ndarray, moving: np.ndarray) -> tuple[np.ndarray, float]:
    """``moving`` (uint8) scaled so that the mean grey of its face interior (the crop's outer ring out) is the
    reference's, and the gain applied. A webcam's automatic exposure can change the gain by 10-20 % between
    an onset and an apex; the DGM, trained on changes of a few percent, read a 13 % step as displacement
    (docs/recognition.md, "A webcam's automatic exposure")."""
    box = interior_slices(*reference.shape[:2])
    level = float(np.mean(moving[box], dtype=np.float64))
    if level < 1.0:
        return moving, 1.0
    gain = float(np.clip(np.mean(reference[box], dtype=np.float64) / level, 0.5, 2.0))
    if abs(gain - 1.0) < 1e-3:
        return moving, 1.0
    return np.clip(moving.astype(np.float32) * np.float32(gain) + np.float32(0.5), 0, 255).astype(np.uint8), gain


def exposure_gain(reference: np.ndarray, moving: np.ndarray) -> float:
    """The gain that took ``reference``'s face to ``moving``'s (two aligned faces of one size): the median ratio
    of their slightly blurred interiors where neither is near black or white. A movement changes a minority of
    the face's pixels (an opening mouth darkens its own), an exposure step all of them, so the median follows
    the camera; 1.0 when too little of the face is usable."""
    box = interior_slices(*reference.shape[:2])
    a = cv2.GaussianBlur(np.asarray(reference, dtype=np.float32), (0, 0), 2.0)[box]
    b = cv2.GaussianBlur(np.asarray(moving, dtype=np.float32), (0, 0), 2.0)[box]
    usable = (a > 24) & (a < 232) & (b > 24) & (b < 232)
    if int(usable.sum()) < 100:
        return 1.0
    return float(np.median(b[usable] / a[usable]))


def register(reference: np.ndarray, moving: np.ndarray, turn: bool = True) -> tuple[np.ndarray, GlobalMotion]:
    """``moving`` registered onto ``reference`` (same size, uint8; its exposure matched first,
    :func:`match_exposure`) and the head motion that was removed (its turn in depth too unless ``turn`` is False)."""
    moving, _ = match_exposure(reference, moving)
    motion = estimate_global_motion(reference, moving, turn=turn)
    return warp_with(moving, motion), motion


def remove_global_motion(displacement: np.ndarray) -> np.ndarray:
    """A dense ``(2, H, W)`` field less the similarity motion that best explains it, by the same robust fit.

    For fields measured on pairs that were not registered first (the fit runs on the field sampled at
    the spotter's block centres).
    """
    disp = np.asarray(displacement, dtype=np.float32)
    if disp.ndim != 3 or disp.shape[0] != 2 or disp.shape[1] != disp.shape[2]:
        raise ValueError(f"expected a square (2, S, S) displacement field, got {disp.shape}")
    size = disp.shape[1]
    model = _model(WORK_SIZE)
    step = size / model.size
    centres = model.centres * step - 0.5  # block centres in the field's pixel indices
    xs = np.clip(np.round(centres[:, 0]).astype(int), 0, size - 1)
    ys = np.clip(np.round(centres[:, 1]).astype(int), 0, size - 1)
    samples = np.ascontiguousarray(disp[:, ys, xs].T, dtype=np.float64)
    coef = kernels.robust_similarity(samples, model._fit_index, model.design, KEEP, ROUNDS)
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float64)
    # the design uses edge coordinates over the work face's side: X / s with X = (index + 0.5)
    fx, fy = (gx + 0.5) / size, (gy + 0.5) / size
    fitted = np.stack([coef[0, j] * fx + coef[1, j] * fy + coef[2, j] for j in range(2)])
    return (disp - fitted).astype(np.float32)
