"""The MEGC2019 composite's flow image, made from any onset->apex displacement.

The composite's 442 flow images are what the recognition trunk is trained on, so the live path shows the
trunk a displacement rendered exactly as they were made. Measured on the one clip the data has both ways
(CASME II ``sub01/EP02_01f``: its ten-frame sequence, its apex face and its flow image; ``python main.py
bench flow-image``, figures in ``docs/``), the recipe is:

* the dataset's own face crop (for CASME II the whole cropped frame) resized to 224 x 224, the framing of
  the composite's apex faces;
* TV-L1 optical flow (OpenCV's ``DualTVL1`` defaults) from onset to apex at 224 x 224;
* u and v averaged over 8 x 8 areas down to 28 x 28;
* optical strain from that 28 x 28 field, ``sqrt(ux^2 + vy^2 + (uy + vx)^2 / 2)`` with central
  differences (one-sided at the border, as ``numpy.gradient``);
* each channel min-max normalised to 0..255 on its own, stored as B = strain, G = v, R = u (what
  ``cv2.imread`` returns).

Per-channel min-max normalisation makes the image blind to the motion's scale and to any constant shift,
which is why a displacement measured in pixels of any face size renders to the same image.
"""

from __future__ import annotations

import cv2
import numpy as np

FLOW_IMAGE_SIZE = 28
FLOW_FACE_SIZE = 224
"""Side of the face the composite's flow was computed on."""


def _strain(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    uy, ux = np.gradient(u)
    vy, vx = np.gradient(v)
    return np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2)


def _to_uint8(channel: np.ndarray) -> np.ndarray:
    lo, hi = float(channel.min()), float(channel.max())
    if not hi > lo:
        return np.zeros(channel.shape, np.uint8)
    return np.round((channel - lo) / (hi - lo) * 255.0).astype(np.uint8)


def flow_image(displacement: np.ndarray, size: int = FLOW_IMAGE_SIZE) -> np.ndarray:
    """A ``(2, H, W)`` onset->apex displacement (any pixel scale) as a composite-style flow image:
    uint8 ``(size, size, 3)``, channels strain, v, u."""
    disp = np.asarray(displacement, dtype=np.float64)
    if disp.ndim != 3 or disp.shape[0] != 2:
        raise ValueError(f"expected a (2, H, W) displacement, got shape {disp.shape}")
    u = cv2.resize(disp[0], (size, size), interpolation=cv2.INTER_AREA)
    v = cv2.resize(disp[1], (size, size), interpolation=cv2.INTER_AREA)
    return np.stack([_to_uint8(_strain(u, v)), _to_uint8(v), _to_uint8(u)], axis=-1)


def tvl1_flow(onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """TV-L1 optical flow ``(2, H, W)`` float32 from onset to apex (grayscale uint8 faces of one size)."""
    tvl1 = cv2.optflow.createOptFlow_DualTVL1()
    flow = tvl1.calc(onset, apex, None)
    return np.ascontiguousarray(flow.transpose(2, 0, 1), dtype=np.float32)


def dis_flow(onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """DIS optical flow ``(2, H, W)`` float32 (OpenCV's medium preset): fifty times faster than TV-L1."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(onset, apex, None)
    return np.ascontiguousarray(flow.transpose(2, 0, 1), dtype=np.float32)


def composite_face(face: np.ndarray) -> np.ndarray:
    """A face crop (grayscale or BGR, any size) resized as the composite's faces were: 224 x 224 uint8."""
    if face.ndim == 3:
        face = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    if face.shape == (FLOW_FACE_SIZE, FLOW_FACE_SIZE):
        return face
    shrink = face.shape[0] > FLOW_FACE_SIZE or face.shape[1] > FLOW_FACE_SIZE
    return cv2.resize(face, (FLOW_FACE_SIZE, FLOW_FACE_SIZE), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def composite_flow_image(onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """The composite's recipe end to end on two face crops of a clip: its flow image (uint8, 28x28x3)."""
    return flow_image(tvl1_flow(composite_face(onset), composite_face(apex)))


def channel_correlations(image: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Pearson correlation of each channel (strain, v, u) of two flow images."""
    out = {}
    for name, c in (("strain", 0), ("v", 1), ("u", 2)):
        a = image[..., c].astype(np.float64).ravel()
        b = reference[..., c].astype(np.float64).ravel()
        out[name] = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    return out
