"""Semi-synthetic onset/apex pairs for ``pair`` mode, built from the MEGC2019 composite.

The composite has a real apex face (224x224) and the real onset->apex optical flow of each clip, but no
onset frame. A pseudo-onset is made by warping the real apex face backwards by the clip's own flow:
if a point at x in the onset moved to x + d(x) in the apex, then onset(x) ~= apex(x + d(x)).

The flow PNG is min-max normalised per image and per channel (u, v, strain each mapped to 0..255), so the
displacement in pixels has to be estimated:

* zero level: the per-image median of each of u and v. Most of a face does not move during a
  micro-expression, so the median is the best available estimate of "no motion" (it also removes any
  small global head shift, which is what the published flows' alignment aims at anyway).
* scale: the original ranges are lost, and u and v are assumed to share one range. The deviations from
  the zero level are divided by the largest absolute deviation of either channel and multiplied by a
  peak displacement in pixels at 224x224. ``MEASURED_PEAK_PX`` = 1.4 px was measured with Farneback flow
  (median-subtracted) between the first and last frame of the one real onset->apex sequence shipped with
  the data (``sequences/casme2_sub_clip_resampled``, resized to 224x224). During training the peak is drawn
  uniformly from ``TRAIN_PEAK_RANGE_PX`` (0.5x to 2x that value) as augmentation; evaluation uses the
  measured value.

The flow is 28x28 and is upsampled (bicubic) to the face size before warping, so the pseudo-onset carries
only the flow's coarse motion. Every figure obtained on these pairs is labelled **semi-synthetic**.
"""

from __future__ import annotations

import cv2
import numpy as np

MEASURED_PEAK_PX: float = 1.4
TRAIN_PEAK_RANGE_PX: tuple[float, float] = (0.7, 2.8)
SEMI_SYNTHETIC_LABEL = "semi-synthetic (pseudo-onset warped from the real apex by the real flow)"

_U, _V = 2, 1  # channel indices of u and v in the flow PNG as cv2.imread returns it (B=strain, G=v, R=u)


def flow_png_to_displacement(flow_bgr: np.ndarray, peak_px: float, size: int) -> np.ndarray:
    """Estimated onset->apex displacement (2, size, size) float32, dx and dy in pixels of a size x size face.

    flow_bgr: the MEGC2019 flow image, uint8 (28, 28, 3) as cv2.imread returns it. peak_px is the peak
    displacement on a 224x224 face; it is scaled with the face size.
    """
    f = flow_bgr.astype(np.float32)
    uv = np.stack([f[..., _U], f[..., _V]])
    uv -= np.median(uv.reshape(2, -1), axis=1)[:, None, None]
    peak = float(np.abs(uv).max())
    if peak > 0:
        uv *= (peak_px * size / 224.0) / peak
    return np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_CUBIC) for c in uv]).astype(np.float32)


def pseudo_onset(apex_gray: np.ndarray, displacement: np.ndarray) -> np.ndarray:
    """Warp the apex face backwards by the displacement: onset(x) = apex(x + d(x)); uint8, same size."""
    h, w = apex_gray.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(
        apex_gray, xs + displacement[0], ys + displacement[1], interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT101,
    )


def make_pair(
    apex_gray: np.ndarray, flow_bgr: np.ndarray, size: int, peak_px: float = MEASURED_PEAK_PX
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset, apex, displacement) for one clip: uint8 faces of size x size and the displacement used.

    The displacement is the ground truth of this pair by construction, so it can serve as a teacher flow.
    """
    apex = apex_gray if apex_gray.shape == (size, size) else cv2.resize(apex_gray, (size, size), interpolation=cv2.INTER_AREA)
    disp = flow_png_to_displacement(flow_bgr, peak_px, size)
    return pseudo_onset(apex, disp), apex, disp


def random_peak(rng: np.random.Generator) -> float:
    """A training-time peak displacement (pixels at 224x224), uniform in TRAIN_PEAK_RANGE_PX."""
    return float(rng.uniform(*TRAIN_PEAK_RANGE_PX))


def random_smooth_displacement(rng: np.random.Generator, size: int, peak_px: float) -> np.ndarray:
    """A random face-like displacement (2, size, size) float32 in pixels, peak magnitude ``peak_px``.

    A few Gaussian blobs (local muscle motion: a brow, a lip corner) with random centres, widths and
    directions, plus a small global shift (residual alignment error). Used to pretrain the DGM on
    motions whose truth is known, on real faces, before the semi-synthetic pairs.
    """
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    field = np.zeros((2, size, size), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(0.2, 0.8, size=2)
        sigma = rng.uniform(0.06, 0.2)
        blob = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma * sigma))
        angle = rng.uniform(0, 2 * np.pi)
        field[0] += np.cos(angle) * blob
        field[1] += np.sin(angle) * blob
    peak = float(np.sqrt((field**2).sum(0)).max())
    if peak > 0:
        field *= peak_px / peak
    field += rng.uniform(-0.1, 0.1, size=(2, 1, 1)).astype(np.float32) * peak_px
    return field
