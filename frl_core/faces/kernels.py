"""The face tracker's per-frame arithmetic on 68 landmarks, as a few compiled functions (numba).

Each frame the tracker fits similarity transforms, measures the face's scale, checks a small aligned
patch against the last detection's and smooths the landmarks' jitter. Written with numpy that was some
forty calls on arrays of 17-68 points whose cost was call overhead, all of it holding the GIL while the
other analysis threads waited for it. Here it is a handful of short calls. :mod:`frl_core.faces` says
what is computed and why; this file only how.

The appearance patch is sampled bilinearly at exact positions (OpenCV's warp rounds them to 1/32
pixel); the patch is only ever compared with patches made by the same function.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (no reflection) mapping points ``src`` (N, 2) onto ``dst``, as a 2x3 matrix.

    In 2-D the optimal rotation-and-scale is closed form over the centred points:
    ``a = s.d / |s|^2``, ``b = s x d / |s|^2``.
    """
    n = src.shape[0]
    msx = 0.0
    msy = 0.0
    mdx = 0.0
    mdy = 0.0
    for i in range(n):
        msx += src[i, 0]
        msy += src[i, 1]
        mdx += dst[i, 0]
        mdy += dst[i, 1]
    msx /= n
    msy /= n
    mdx /= n
    mdy /= n
    var = 0.0
    sa = 0.0
    sb = 0.0
    for i in range(n):
        sx = src[i, 0] - msx
        sy = src[i, 1] - msy
        dx = dst[i, 0] - mdx
        dy = dst[i, 1] - mdy
        var += sx * sx + sy * sy
        sa += sx * dx + sy * dy
        sb += sx * dy - sy * dx
    var = max(var, 1e-12)
    a = sa / var
    b = sb / var
    m = np.empty((2, 3))
    m[0, 0] = a
    m[0, 1] = -b
    m[1, 0] = b
    m[1, 1] = a
    m[0, 2] = mdx - (a * msx - b * msy)
    m[1, 2] = mdy - (b * msx + a * msy)
    return m


@njit(cache=True)
def alignment(landmarks: np.ndarray, rigid: np.ndarray, template: np.ndarray, size: float) -> np.ndarray:
    """The 2x3 similarity taking the ``rigid`` landmarks onto ``template * size`` (the canonical crop)."""
    n = rigid.size
    src = np.empty((n, 2))
    dst = np.empty((n, 2))
    for i in range(n):
        src[i, 0] = landmarks[rigid[i], 0]
        src[i, 1] = landmarks[rigid[i], 1]
        dst[i, 0] = template[i, 0] * size
        dst[i, 1] = template[i, 1] * size
    return similarity(src, dst)


@njit(cache=True)
def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the eye centres (points 36-41 and 42-47)."""
    dx = 0.0
    dy = 0.0
    for i in range(6):
        dx += landmarks[42 + i, 0] - landmarks[36 + i, 0]
        dy += landmarks[42 + i, 1] - landmarks[36 + i, 1]
    return math.hypot(dx / 6.0, dy / 6.0)


@njit(cache=True)
def face_frame(landmarks: np.ndarray, rigid: np.ndarray) -> tuple[float, float, float]:
    """Centre of the rigid points and the inter-ocular distance (at least 1): where and how big the face is."""
    cx = 0.0
    cy = 0.0
    for i in range(rigid.size):
        cx += landmarks[rigid[i], 0]
        cy += landmarks[rigid[i], 1]
    return cx / rigid.size, cy / rigid.size, max(inter_ocular(landmarks), 1.0)


@njit(cache=True)
def bounds(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """The landmarks' bounding box ``x0, y0, x1, y1``."""
    x0 = x1 = landmarks[0, 0]
    y0 = y1 = landmarks[0, 1]
    for i in range(1, landmarks.shape[0]):
        x0 = min(x0, landmarks[i, 0])
        x1 = max(x1, landmarks[i, 0])
        y0 = min(y0, landmarks[i, 1])
        y1 = max(y1, landmarks[i, 1])
    return x0, y0, x1, y1


@njit(cache=True)
def appearance_patch(gray: np.ndarray, landmarks: np.ndarray, rigid: np.ndarray, template: np.ndarray,
                     size: int, margin: int) -> np.ndarray:
    """The aligned ``size`` x ``size`` face less ``margin`` pixels each side, zero mean, unit norm (zeros
    when flat). Bilinear at pixel centres; outside the frame is black."""
    m = alignment(landmarks, rigid, template, float(size))
    # Invert the similarity: patch pixel -> frame pixel.
    a, b = m[0, 0], m[1, 0]
    det = a * a + b * b
    ia, ib = a / det, -b / det
    tx = -(ia * m[0, 2] - ib * m[1, 2])
    ty = -(ib * m[0, 2] + ia * m[1, 2])
    rows, cols = gray.shape
    side = size - 2 * margin
    p = np.empty(side * side, np.float32)
    total = 0.0
    k = 0
    for v in range(margin, size - margin):
        for u in range(margin, size - margin):
            x = ia * u - ib * v + tx
            y = ib * u + ia * v + ty
            x0 = math.floor(x)
            y0 = math.floor(y)
            fx = x - x0
            fy = y - y0
            acc = 0.0
            for dy in range(2):
                yy = y0 + dy
                wy = fy if dy else 1.0 - fy
                if yy < 0 or yy >= rows:
                    continue
                for dx in range(2):
                    xx = x0 + dx
                    if xx < 0 or xx >= cols:
                        continue
                    acc += wy * (fx if dx else 1.0 - fx) * gray[yy, xx]
            p[k] = acc
            total += acc
            k += 1
    mean = total / p.size
    norm = 0.0
    for i in range(p.size):
        p[i] -= mean
        norm += float(p[i]) * float(p[i])
    norm = math.sqrt(norm)
    if norm <= 1e-3 * p.size:
        p[:] = 0.0
    else:
        for i in range(p.size):
            p[i] /= norm
    return p


@njit(cache=True)
def dot(a: np.ndarray, b: np.ndarray) -> float:
    s = 0.0
    for i in range(a.size):
        s += float(a[i]) * float(b[i])
    return s


@njit(cache=True)
def smoothed(landmarks: np.ndarray, previous: np.ndarray, strength: float, motion_limit: float) -> np.ndarray:
    """Landmarks blended with the previous frame's when they moved less than ``motion_limit`` (median point
    motion in inter-ocular distances): the blend weight falls from ``strength`` to 0 as motion nears it."""
    n = landmarks.shape[0]
    moves = np.empty(n)
    for i in range(n):
        moves[i] = math.hypot(landmarks[i, 0] - previous[i, 0], landmarks[i, 1] - previous[i, 1])
    motion = np.median(moves) / max(inter_ocular(landmarks), 1.0)
    if motion >= motion_limit:
        return landmarks.copy()
    w = strength * (1.0 - motion / motion_limit)
    out = np.empty_like(landmarks)
    for i in range(n):
        out[i, 0] = w * previous[i, 0] + (1.0 - w) * landmarks[i, 0]
        out[i, 1] = w * previous[i, 1] + (1.0 - w) * landmarks[i, 1]
    return out


@njit(cache=True)
def flow_window(landmarks: np.ndarray, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The landmarks' box grown by ``margin`` inter-ocular distances (at least 8 px), in whole pixels inside
    a ``width`` x ``height`` frame: the part of the frame the landmark flow looks at."""
    x0, y0, x1, y1 = bounds(landmarks)
    grow = margin * max(inter_ocular(landmarks), 8.0)
    return (max(0, int(math.floor(x0 - grow))), max(0, int(math.floor(y0 - grow))),
            min(width, int(math.ceil(x1 + grow))), min(height, int(math.ceil(y1 + grow))))


@njit(cache=True)
def carried_by_flow(previous: np.ndarray, moved: np.ndarray, found: np.ndarray, rigid: np.ndarray,
                    max_residual: float) -> tuple[bool, np.ndarray]:
    """Landmarks ``previous`` carried to where the flow ``moved`` them, or ``False`` when the flow is not
    to be trusted: under 80 % of the points or 8 rigid points found, or the found rigid points straying more
    than ``max_residual`` inter-ocular distances (median) from one similarity motion.

    The rigid points are put where the similarity (refitted without its outliers) takes them, so an
    expression tugging at a few of them does not drag the alignment; a point the flow lost moves with it.
    """
    n = previous.shape[0]
    ok = np.empty(n, np.bool_)
    n_found = 0
    for i in range(n):
        ok[i] = found[i] and math.isfinite(moved[i, 0]) and math.isfinite(moved[i, 1])
        n_found += ok[i]
    n_rigid = 0
    for j in range(rigid.size):
        n_rigid += ok[rigid[j]]
    out = moved.copy()
    if n_found < 0.8 * n or n_rigid < 8:
        return False, out
    before = np.empty((n_rigid, 2))
    after = np.empty((n_rigid, 2))
    k = 0
    for j in range(rigid.size):
        if ok[rigid[j]]:
            before[k] = previous[rigid[j]]
            after[k] = moved[rigid[j]]
            k += 1
    m = similarity(before, after)
    resid = np.empty(n_rigid)
    for k in range(n_rigid):
        px = m[0, 0] * before[k, 0] + m[0, 1] * before[k, 1] + m[0, 2]
        py = m[1, 0] * before[k, 0] + m[1, 1] * before[k, 1] + m[1, 2]
        resid[k] = math.hypot(after[k, 0] - px, after[k, 1] - py)
    median = np.median(resid)
    if median > max_residual * max(inter_ocular(previous), 1.0):
        return False, out
    limit = 2.0 * median + 1e-6
    n_in = 0
    for k in range(n_rigid):
        n_in += resid[k] <= limit
    if n_in >= 6:
        b_in = np.empty((n_in, 2))
        a_in = np.empty((n_in, 2))
        q = 0
        for k in range(n_rigid):
            if resid[k] <= limit:
                b_in[q] = before[k]
                a_in[q] = after[k]
                q += 1
        m = similarity(b_in, a_in)
    for i in range(n):
        if not ok[i]:
            out[i, 0] = m[0, 0] * previous[i, 0] + m[0, 1] * previous[i, 1] + m[0, 2]
            out[i, 1] = m[1, 0] * previous[i, 0] + m[1, 1] * previous[i, 1] + m[1, 2]
    for j in range(rigid.size):
        i = rigid[j]
        out[i, 0] = m[0, 0] * previous[i, 0] + m[0, 1] * previous[i, 1] + m[0, 2]
        out[i, 1] = m[1, 0] * previous[i, 0] + m[1, 1] * previous[i, 1] + m[1, 2]
    return True, out
