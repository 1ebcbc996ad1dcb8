"""The spotter's block motion between two shrunk faces, as one compiled function (numba).

The same estimate as a chain of OpenCV and numpy calls (Sobel, products, block sums, a robust similarity
fit, a warp, the same again), but a few passes over the 96x96 face instead of some forty small array
calls whose overhead outweighed their arithmetic, and without the GIL (figures in docs/figures.md).
The warp is exact bilinear (OpenCV's rounds positions to 1/32 pixel), so block
displacements differ from the OpenCV chain's by up to 0.1 px of the 96-pixel face. The motion model in
:mod:`frl_core.spotting` documents what is estimated; this file only says how.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def block_lk(a: np.ndarray, b: np.ndarray, weight: np.ndarray, block: int, count: np.ndarray,
             regularization: float, out: np.ndarray) -> None:
    """(n*n, 2) one Lucas-Kanade step per block from ``a`` to ``b``, brightness offset eliminated, ridge term.

    Gradients are those of the pair's mean (3x3 Sobel, reflected border), every term weighted by the
    pixel weight (eyes out), summed per block.
    """
    s = a.shape[0]
    n = s // block
    total = np.empty((s + 2, s + 2), np.float32)
    # The pair's sum with a one-pixel reflected border (OpenCV's BORDER_REFLECT_101).
    for y in range(s):
        for x in range(s):
            total[y + 1, x + 1] = a[y, x] + b[y, x]
    for y in range(1, s + 1):
        total[y, 0] = total[y, 2]
        total[y, s + 1] = total[y, s - 1]
    for x in range(s + 2):
        total[0, x] = total[2, x]
        total[s + 1, x] = total[s - 1, x]
    # Separable Sobel of the mean 0.5 * (a + b), scaled by 1/8: vertical and horizontal [1 2 1] smoothing.
    vert = np.empty((s, s + 2), np.float32)
    horz = np.empty((s + 2, s), np.float32)
    for y in range(s):
        for x in range(s + 2):
            vert[y, x] = total[y, x] + np.float32(2.0) * total[y + 1, x] + total[y + 2, x]
    for y in range(s + 2):
        for x in range(s):
            horz[y, x] = total[y, x] + np.float32(2.0) * total[y, x + 1] + total[y, x + 2]
    for by in range(n):
        for bx in range(n):
            sxx = sxy = syy = sx = sy = sxt = syt = st = np.float32(0.0)
            for y in range(by * block, (by + 1) * block):
                for x in range(bx * block, (bx + 1) * block):
                    w = weight[y, x]
                    gx = (vert[y, x + 2] - vert[y, x]) * (np.float32(0.0625) * w)
                    gy = (horz[y + 2, x] - horz[y, x]) * (np.float32(0.0625) * w)
                    gt = (b[y, x] - a[y, x]) * w
                    sxx += gx * gx
                    sxy += gx * gy
                    syy += gy * gy
                    sx += gx
                    sy += gy
                    sxt += gx * gt
                    syt += gy * gt
                    st += gt
            # Ridge term: a block without texture says nothing about its motion, so it stays at zero.
            # The brightness offset (third unknown) is eliminated, then the 2x2 system solved in closed form.
            k = by * n + bx
            sxx, sxy, syy, sx, sy = float(sxx), float(sxy), float(syy), float(sx), float(sy)
            sxt, syt, st = float(sxt), float(syt), float(st)
            cnt = count[k]
            reg = regularization * cnt
            axx = sxx + reg - sx * sx / cnt
            axy = sxy - sx * sy / cnt
            ayy = syy + reg - sy * sy / cnt
            rx = -(sxt - sx * st / cnt)
            ry = -(syt - sy * st / cnt)
            det = axx * ayy - axy * axy
            out[k, 0] = (ayy * rx - axy * ry) / det
            out[k, 1] = (axx * ry - axy * rx) / det


@njit(cache=True)
def _solve3(g: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    a, b, c = g[0, 0], g[0, 1], g[0, 2]
    d, e, f = g[1, 1], g[1, 2], g[2, 2]
    adj = np.empty((3, 3))
    adj[0, 0] = d * f - e * e
    adj[0, 1] = c * e - b * f
    adj[0, 2] = b * e - c * d
    adj[1, 1] = a * f - c * c
    adj[1, 2] = b * c - a * e
    adj[2, 2] = a * d - b * b
    adj[1, 0], adj[2, 0], adj[2, 1] = adj[0, 1], adj[0, 2], adj[1, 2]
    det = a * adj[0, 0] + b * adj[0, 1] + c * adj[0, 2]
    x = np.empty((3, 2))
    for i in range(3):
        for j in range(2):
            x[i, j] = (adj[i, 0] * rhs[0, j] + adj[i, 1] * rhs[1, j] + adj[i, 2] * rhs[2, j]) / det
    return x


@njit(cache=True)
def _fit_rows(u: np.ndarray, fit_index: np.ndarray, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The displacements (m, 2) and design rows (m, 3) of the blocks a global fit uses."""
    m = fit_index.size
    us = np.empty((m, 2))
    xs = np.empty((m, 3))
    for i in range(m):
        for j in range(2):
            us[i, j] = u[fit_index[i], j]
        for j in range(3):
            xs[i, j] = design[fit_index[i], j]
    return us, xs


@njit(cache=True)
def robust_affine(u: np.ndarray, fit_index: np.ndarray, design: np.ndarray, fit_pinv: np.ndarray,
                  keep: float = 0.75, rounds: int = 1) -> np.ndarray:
    """(3, 2) affine motion of the face blocks: a least-squares fit, then ``rounds`` refits on the ``keep``
    share of blocks with the smallest residuals under the previous fit (the spotter's
    ``global_motion = "affine"``; its default and registration use :func:`robust_similarity`)."""
    m = fit_index.size
    us, xs = _fit_rows(u, fit_index, design)
    coef = np.zeros((3, 2))
    for p in range(3):
        for i in range(m):
            coef[p, 0] += fit_pinv[p, i] * us[i, 0]
            coef[p, 1] += fit_pinv[p, i] * us[i, 1]
    resid = np.empty(m)
    q = min(max(int(keep * m), 3), m - 1)
    for _ in range(rounds):
        for i in range(m):
            rx = us[i, 0] - (xs[i, 0] * coef[0, 0] + xs[i, 1] * coef[1, 0] + xs[i, 2] * coef[2, 0])
            ry = us[i, 1] - (xs[i, 0] * coef[0, 1] + xs[i, 1] * coef[1, 1] + xs[i, 2] * coef[2, 1])
            resid[i] = rx * rx + ry * ry
        limit = np.sort(resid)[q]
        g = np.zeros((3, 3))
        rhs = np.zeros((3, 2))
        for i in range(m):
            if resid[i] <= limit:
                for p in range(3):
                    for r in range(3):
                        g[p, r] += xs[i, p] * xs[i, r]
                    rhs[p, 0] += xs[i, p] * us[i, 0]
                    rhs[p, 1] += xs[i, p] * us[i, 1]
        for p in range(3):
            g[p, p] += 1e-9
        coef = _solve3(g, rhs)
    return coef


@njit(cache=True)
def warp_back(b: np.ndarray, coef: np.ndarray, out: np.ndarray, turn_x: float, turn_y: float,
              depth: np.ndarray) -> None:
    """``out(p) = b(p + d(p))`` with d the affine motion ``coef`` (pixel centres) plus, when ``turn_x`` or ``turn_y``
    is not 0, ``(turn_x, turn_y) * depth(p)`` (the head's turn in depth: :func:`robust_similarity_turn`), bilinear,
    border replicated."""
    s = b.shape[0]
    turned = (turn_x != 0.0 or turn_y != 0.0) and depth.shape[0] == s
    fs = float(s)
    m00 = 1.0 + coef[0, 0] / fs
    m01 = coef[1, 0] / fs
    m10 = coef[0, 1] / fs
    m11 = 1.0 + coef[1, 1] / fs
    m02 = coef[2, 0] + 0.5 * (coef[0, 0] + coef[1, 0]) / fs
    m12 = coef[2, 1] + 0.5 * (coef[0, 1] + coef[1, 1]) / fs
    for y in range(s):
        for x in range(s):
            sx = m00 * x + m01 * y + m02
            sy = m10 * x + m11 * y + m12
            if turned:
                sx += turn_x * depth[y, x]
                sy += turn_y * depth[y, x]
            if 0.0 <= sx < s - 1 and 0.0 <= sy < s - 1:
                # Inside: no border to replicate (almost every pixel, the global motion is small).
                x0 = int(sx)
                y0 = int(sy)
                fx = np.float32(sx - x0)
                fy = np.float32(sy - y0)
                top = b[y0, x0] + fx * (b[y0, x0 + 1] - b[y0, x0])
                bottom = b[y0 + 1, x0] + fx * (b[y0 + 1, x0 + 1] - b[y0 + 1, x0])
                out[y, x] = top + fy * (bottom - top)
                continue
            x0 = math.floor(sx)
            y0 = math.floor(sy)
            fx = np.float32(sx - x0)
            fy = np.float32(sy - y0)
            xa = min(max(x0, 0), s - 1)
            xb = min(max(x0 + 1, 0), s - 1)
            ya = min(max(y0, 0), s - 1)
            yb = min(max(y0 + 1, 0), s - 1)
            top = b[ya, xa] + fx * (b[ya, xb] - b[ya, xa])
            bottom = b[yb, xa] + fx * (b[yb, xb] - b[yb, xa])
            out[y, x] = top + fy * (bottom - top)


@njit(cache=True)
def _similarity_solve(us: np.ndarray, xs: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """(3, 2) coefficients, in :func:`robust_affine`'s layout, of the least-squares similarity motion
    ``u = a x - b y + tx, v = b x + a y + ty`` over the selected blocks (closed form about their centroid)."""
    cnt = 0
    xm = ym = um = vm = 0.0
    for i in range(us.shape[0]):
        if selected[i]:
            cnt += 1
            xm += xs[i, 0]
            ym += xs[i, 1]
            um += us[i, 0]
            vm += us[i, 1]
    cnt = max(cnt, 1)
    xm, ym, um, vm = xm / cnt, ym / cnt, um / cnt, vm / cnt
    spread = num_a = num_b = 0.0
    for i in range(us.shape[0]):
        if selected[i]:
            x, y = xs[i, 0] - xm, xs[i, 1] - ym
            u, v = us[i, 0] - um, us[i, 1] - vm
            spread += x * x + y * y
            num_a += x * u + y * v
            num_b += x * v - y * u
    a = num_a / (spread + 1e-12)
    b = num_b / (spread + 1e-12)
    coef = np.empty((3, 2))
    coef[0, 0], coef[0, 1] = a, b
    coef[1, 0], coef[1, 1] = -b, a
    coef[2, 0] = um - (a * xm - b * ym)
    coef[2, 1] = vm - (b * xm + a * ym)
    return coef


@njit(cache=True)
def robust_similarity(u: np.ndarray, fit_index: np.ndarray, design: np.ndarray, keep: float = 0.6,
                      rounds: int = 3) -> np.ndarray:
    """(3, 2) similarity motion (shift, rotation, scale) of the face blocks, in :func:`robust_affine`'s layout:
    a least-squares fit, then ``rounds`` refits on the ``keep`` share of blocks that fit it best.

    The spotter's global model. An affine motion also stretches one axis, and a brow raise or a jaw
    drop on an otherwise still face is nearly such a stretch: the affine fit took much of it for head motion.
    What alignment leaves of real head motion between two frames is a shift, a roll and a scale."""
    m = fit_index.size
    us, xs = _fit_rows(u, fit_index, design)
    selected = np.ones(m, np.bool_)
    coef = _similarity_solve(us, xs, selected)
    resid = np.empty(m)
    q = min(max(int(keep * m), 3), m - 1)
    for _ in range(rounds):
        for i in range(m):
            rx = us[i, 0] - (xs[i, 0] * coef[0, 0] + xs[i, 1] * coef[1, 0] + coef[2, 0])
            ry = us[i, 1] - (xs[i, 0] * coef[0, 1] + xs[i, 1] * coef[1, 1] + coef[2, 1])
            resid[i] = rx * rx + ry * ry
        limit = np.sort(resid)[q]
        for i in range(m):
            selected[i] = resid[i] <= limit
        coef = _similarity_solve(us, xs, selected)
    return coef


@njit(cache=True)
def _global_motion(u: np.ndarray, fit_index: np.ndarray, design: np.ndarray, fit_pinv: np.ndarray,
                   similarity: bool, keep: float, rounds: int) -> np.ndarray:
    if similarity:
        return robust_similarity(u, fit_index, design, keep, rounds)
    return robust_affine(u, fit_index, design, fit_pinv, keep, rounds)


@njit(cache=True)
def _solve6(g: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``g x = rhs`` for a small symmetric positive (semi-)definite ``g``: Gaussian elimination, partial pivoting."""
    n = rhs.size
    a = g.copy()
    x = rhs.copy()
    for i in range(n):
        a[i, i] += 1e-12
    for c in range(n):
        piv = c
        for r in range(c + 1, n):
            if abs(a[r, c]) > abs(a[piv, c]):
                piv = r
        if piv != c:
            for k in range(n):
                a[c, k], a[piv, k] = a[piv, k], a[c, k]
            x[c], x[piv] = x[piv], x[c]
        for r in range(c + 1, n):
            f = a[r, c] / a[c, c]
            for k in range(c, n):
                a[r, k] -= f * a[c, k]
            x[r] -= f * x[c]
    for c in range(n - 1, -1, -1):
        t = x[c]
        for k in range(c + 1, n):
            t -= a[c, k] * x[k]
        x[c] = t / a[c, c]
    return x


@njit(cache=True)
def robust_similarity_turn(u: np.ndarray, fit_index: np.ndarray, design: np.ndarray, depth: np.ndarray,
                           keep: float = 0.6, rounds: int = 3) -> tuple[np.ndarray, float, float]:
    """The similarity (:func:`robust_similarity`'s layout) and the head's turn in depth that best explain the
    blocks' displacements ``u``: ``u = a x - b y + tx + p z, v = b x + a y + ty + q z`` with ``z`` the block's
    ``depth`` (a generic face's, in units of the face's side, so ``p`` and ``q`` are pixels per side of depth: the
    turn's angles in radians times the side), least squares then ``rounds`` refits on the ``keep`` share of
    blocks that fit best.

    A head turned in depth moves the nose against the cheeks and the face's sides least, which no similarity
    takes out; an action unit moves a few regions, not the whole face in proportion to its depth."""
    m = fit_index.size
    us, xs = _fit_rows(u, fit_index, design)
    zs = np.empty(m)
    for i in range(m):
        zs[i] = depth[fit_index[i]]
    selected = np.ones(m, np.bool_)
    theta = np.zeros(6)
    resid = np.empty(m)
    q = min(max(int(keep * m), 6), m - 1)
    row = np.empty(6)
    for r in range(rounds + 1):
        g = np.zeros((6, 6))
        rhs = np.zeros(6)
        for i in range(m):
            if not selected[i]:
                continue
            for j in range(2):
                # unknowns a, b, tx, ty, p, q
                if j == 0:
                    row[0], row[1], row[2], row[3], row[4], row[5] = xs[i, 0], -xs[i, 1], 1.0, 0.0, zs[i], 0.0
                else:
                    row[0], row[1], row[2], row[3], row[4], row[5] = xs[i, 1], xs[i, 0], 0.0, 1.0, 0.0, zs[i]
                for k in range(6):
                    rhs[k] += row[k] * us[i, j]
                    for c in range(6):
                        g[k, c] += row[k] * row[c]
        theta = _solve6(g, rhs)
        if r == rounds:
            break
        for i in range(m):
            rx = us[i, 0] - (theta[0] * xs[i, 0] - theta[1] * xs[i, 1] + theta[2] + theta[4] * zs[i])
            ry = us[i, 1] - (theta[1] * xs[i, 0] + theta[0] * xs[i, 1] + theta[3] + theta[5] * zs[i])
            resid[i] = rx * rx + ry * ry
        limit = np.sort(resid)[q]
        for i in range(m):
            selected[i] = resid[i] <= limit
    coef = np.empty((3, 2))
    coef[0, 0], coef[0, 1] = theta[0], theta[1]
    coef[1, 0], coef[1, 1] = -theta[1], theta[0]
    coef[2, 0], coef[2, 1] = theta[2], theta[3]
    return coef, theta[4], theta[5]


@njit(cache=True)
def _shrunk(value: float, shrink: float) -> float:
    if value > shrink:
        return value - shrink
    if value < -shrink:
        return value + shrink
    return 0.0


@njit(cache=True)
def global_motion_and_turn(u: np.ndarray, fit_index: np.ndarray, design: np.ndarray, fit_pinv: np.ndarray,
                           similarity: bool, keep: float, rounds: int, depth: np.ndarray,
                           shrink: float) -> tuple[np.ndarray, float, float]:
    """The global motion (:func:`_global_motion`) and, for a similarity with ``shrink`` >= 0, the head's turn in
    depth (:func:`robust_similarity_turn`) moved ``shrink`` towards none about each axis, the similarity then fitted
    again with that turn held. A turn within ``shrink`` is none and the similarity is the one without a turn: a
    movement of a still head leaks a little into the turn's terms, and a still head is left as it was."""
    if not similarity or shrink < 0.0 or depth.size != u.shape[0]:
        return _global_motion(u, fit_index, design, fit_pinv, similarity, keep, rounds), 0.0, 0.0
    _, p, q = robust_similarity_turn(u, fit_index, design, depth, keep, rounds)
    p = _shrunk(p, shrink)
    q = _shrunk(q, shrink)
    if p == 0.0 and q == 0.0:
        return _global_motion(u, fit_index, design, fit_pinv, similarity, keep, rounds), 0.0, 0.0
    held = u.copy()
    for k in range(u.shape[0]):
        held[k, 0] -= p * depth[k]
        held[k, 1] -= q * depth[k]
    return robust_similarity(held, fit_index, design, keep, rounds), p, q


@njit(cache=True, nogil=True)
def block_displacement(a: np.ndarray, b: np.ndarray, weight: np.ndarray, block: int, count: np.ndarray,
                       regularization: float, fit_index: np.ndarray, design: np.ndarray,
                       fit_pinv: np.ndarray, similarity: bool, keep: float, rounds: int, block_depth: np.ndarray,
                       pixel_depth: np.ndarray, turn_shrink: float) -> np.ndarray:
    """(n*n, 2) displacement a -> b of every block, the global motion (similarity, or affine when
    ``similarity`` is False) taken out (two passes); with ``turn_shrink`` >= 0 and the depth of every block and
    pixel, the head's turn in depth too (:func:`global_motion_and_turn`), read on the second field and, where it
    passes the shrink, warped out with the similarity before a third field is measured."""
    n = a.shape[0] // block
    u = np.empty((n * n, 2))
    block_lk(a, b, weight, block, count, regularization, u)
    # The first field is measured under the whole global motion, where one linear step is not accurate: a turn read
    # there is partly the drift's (docs/recognition.md, "Turns out of spotting by default").
    coef = _global_motion(u, fit_index, design, fit_pinv, similarity, keep, rounds)
    b_back = np.empty_like(b)
    warp_back(b, coef, b_back, 0.0, 0.0, pixel_depth)
    block_lk(a, b_back, weight, block, count, regularization, u)
    more, p2, q2 = global_motion_and_turn(u, fit_index, design, fit_pinv, similarity, keep, rounds, block_depth,
                                          turn_shrink)
    if p2 != 0.0 or q2 != 0.0:
        warp_back(b, coef + more, b_back, p2, q2, pixel_depth)
        block_lk(a, b_back, weight, block, count, regularization, u)
        more, p2, q2 = global_motion_and_turn(u, fit_index, design, fit_pinv, similarity, keep, rounds,
                                              block_depth, turn_shrink)
    coef = more
    turned = p2 != 0.0 or q2 != 0.0
    for k in range(n * n):
        for j in range(2):
            u[k, j] -= design[k, 0] * coef[0, j] + design[k, 1] * coef[1, j] + design[k, 2] * coef[2, j]
        if turned:
            u[k, 0] -= p2 * block_depth[k]
            u[k, 1] -= q2 * block_depth[k]
    return u


@njit(cache=True, nogil=True)
def block_score(a: np.ndarray, b: np.ndarray, weight: np.ndarray, block: int, count: np.ndarray,
                regularization: float, fit_index: np.ndarray, design: np.ndarray, fit_pinv: np.ndarray,
                similarity: bool, keep: float, rounds: int, au_index: np.ndarray, smoothing: float,
                smoothing_mask: np.ndarray, top_k: int, block_weight: np.ndarray, region_blocks: np.ndarray,
                region_out: np.ndarray, magnitude_out: np.ndarray, vector_out: np.ndarray,
                block_depth: np.ndarray, pixel_depth: np.ndarray, turn_shrink: float) -> float:
    """Mean weighted residual displacement of the ``top_k`` strongest blocks among ``au_index``, in
    work-face pixels, after a 3x3 ``[w, 1, w]`` smoothing of the displacement field over the blocks that
    ``smoothing_mask`` (n*n) marks, in float32. Each block's magnitude is multiplied by its
    ``block_weight`` before the ranking.

    ``region_blocks`` (R, len(au_index)) marks each AU region's blocks; ``region_out`` (R,) receives each
    region's mean residual displacement from the same field, unweighted (R may be 0); ``magnitude_out``
    (len(au_index) or 0) receives every AU block's unweighted magnitude; ``vector_out`` (R, 2) or empty, each
    region's mean displacement vector (x, y): which way it moved. ``block_depth``, ``pixel_depth`` and
    ``turn_shrink``: the head's turn in depth (:func:`block_displacement`; ``turn_shrink`` < 0 leaves it in)."""
    n = a.shape[0] // block
    d = block_displacement(a, b, weight, block, count, regularization, fit_index, design, fit_pinv,
                           similarity, keep, rounds, block_depth, pixel_depth, turn_shrink)
    field = np.empty((n, n, 2), np.float32)
    for k in range(n * n):
        field[k // n, k % n, 0] = d[k, 0]
        field[k // n, k % n, 1] = d[k, 1]
    if smoothing > 0:
        # Normalised convolution over the masked blocks: hair and background at the crop's edge do not
        # leak into their AU neighbours.
        inside = smoothing_mask.reshape(n, n)
        side = np.float32(smoothing)
        rows = np.zeros((n, n, 3), np.float32)
        for y in range(n):
            for x in range(n):
                for dx in (-1, 0, 1):
                    xx = x + dx
                    if 0 <= xx < n and inside[y, xx] > 0:
                        w = np.float32(1.0) if dx == 0 else side
                        rows[y, x, 0] += w * field[y, xx, 0]
                        rows[y, x, 1] += w * field[y, xx, 1]
                        rows[y, x, 2] += w
        for y in range(n):
            for x in range(n):
                sx = sy = sw = np.float32(0.0)
                for dy in (-1, 0, 1):
                    yy = y + dy
                    if 0 <= yy < n:
                        w = np.float32(1.0) if dy == 0 else side
                        sx += w * rows[yy, x, 0]
                        sy += w * rows[yy, x, 1]
                        sw += w * rows[yy, x, 2]
                if sw > 0:
                    field[y, x, 0] = sx / sw
                    field[y, x, 1] = sy / sw
    m = au_index.size
    mag = np.empty(m, np.float32)
    for i in range(m):
        k = au_index[i]
        u = field[k // n, k % n, 0]
        v = field[k // n, k % n, 1]
        mag[i] = np.sqrt(u * u + v * v)
    if magnitude_out.size == m:
        for i in range(m):
            magnitude_out[i] = mag[i]
    directions = vector_out.shape[0] == region_blocks.shape[0]
    for r in range(region_blocks.shape[0]):
        total_r = sx = sy = 0.0
        count_r = 0
        for i in range(m):
            if region_blocks[r, i]:
                total_r += mag[i]
                count_r += 1
                if directions:
                    k = au_index[i]
                    sx += field[k // n, k % n, 0]
                    sy += field[k // n, k % n, 1]
        region_out[r] = total_r / count_r if count_r else np.nan
        if directions:
            vector_out[r, 0] = sx / count_r if count_r else np.nan
            vector_out[r, 1] = sy / count_r if count_r else np.nan
    return top_k_mean(mag, block_weight, top_k)


@njit(cache=True)
def top_k_mean(magnitude: np.ndarray, block_weight: np.ndarray, top_k: int) -> float:
    """Mean of the ``top_k`` largest weighted block magnitudes (float32)."""
    m = magnitude.size
    k = min(top_k, m)
    if k <= 0:
        return 0.0
    weighted = np.empty(m, np.float32)
    for i in range(m):
        weighted[i] = magnitude[i] * block_weight[i]
    weighted.sort()
    total = np.float32(0.0)
    for i in range(m - k, m):
        total += weighted[i]
    return float(total / np.float32(k))


@njit(cache=True)
def median_and_spread(values: np.ndarray) -> tuple[float, float]:
    """Median and median absolute deviation of ``values``."""
    med = np.median(values)
    return med, np.median(np.abs(values - med))
