"""dlib's 68-point shape predictor (an ensemble of regression trees, Kazemi & Sullivan 2014), compiled.

The same model file and the same arithmetic as ``dlib.shape_predictor``, run as one compiled function
(numba) without the GIL. The pre-built dlib wheel walks each tree with unpredictable branches and adds
each tree's 136-float leaf with scalar code, which made the predictor the largest cost of a frame (more
so inside the engine, where its 65 MB of leaves leave the cache between frames). Here the 500 trees of a
cascade are walked side by side, one level at a time, and the leaves added with vector instructions, at
about half dlib's cost (docs/figures.md), cheap enough to run on every frame.

The result is dlib's: the same pixel lookups, split tests and float32 running sum, so the same leaves
and the same points (equal to the pixel on every frame compared: the generated test sequences, the
bench clip, a real CASME II frame). dlib rounds the returned points to whole pixels;
:meth:`ShapePredictor.predict` keeps the sub-pixel positions (``round_to_pixels=True`` gives dlib's).

The ``.dat`` format is dlib's serialisation: integers as a control byte (size in the low 4 bits, sign in
bit 7) and that many little-endian bytes; floats as an integer mantissa and exponent; a matrix as
``-rows, -cols`` and its elements; a vector as its length and its items.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

_ERR_TRUNCATED = -1
_ERR_LAYOUT = -2


class LandmarkModelFormatError(ValueError):
    """The file is not a dlib shape predictor this reader understands."""


@njit(cache=True)
def _read_int(buf: np.ndarray, pos: int) -> tuple[int, int]:
    if pos < 0:
        return 0, pos
    if pos >= buf.size:
        return 0, _ERR_TRUNCATED
    control = buf[pos]
    size = control & 0x0F
    pos += 1
    if pos + size > buf.size or size > 8:
        return 0, _ERR_TRUNCATED
    value = 0
    for k in range(size):
        value |= np.int64(buf[pos + k]) << (8 * k)
    if control & 0x80:
        value = -value
    return value, pos + size


@njit(cache=True)
def _read_float(buf: np.ndarray, pos: int) -> tuple[float, int]:
    mantissa, pos = _read_int(buf, pos)
    if pos < 0:
        return 0.0, pos
    exponent, pos = _read_int(buf, pos)
    if pos < 0:
        return 0.0, pos
    return float(mantissa) * 2.0 ** exponent, pos


class _Reader:
    """The header in plain Python (a few hundred numbers), to size the arrays the compiled parser fills."""

    def __init__(self, buf: np.ndarray, path: str | Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def int(self) -> int:
        value, self.pos = _read_int(self.buf, self.pos)
        if self.pos < 0:
            raise LandmarkModelFormatError(f"{self.path}: the file ends early")
        return int(value)


@njit(cache=True)
def _failure(pos: int) -> int:
    """The error code for a record that does not fit: the file ended (``pos`` < 0) or the layout is wrong."""
    return pos if pos < 0 else _ERR_LAYOUT


@njit(cache=True)
def _parse_body(buf: np.ndarray, pos: int, initial: np.ndarray, idx1: np.ndarray, idx2: np.ndarray,
                thresh: np.ndarray, leaves: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Fill the arrays from ``pos`` (the initial shape's first element), then read the feature pixels'
    anchors and offsets, whose count comes only after the trees: (position or error code, anchors, deltas)."""
    dims = initial.size
    n_casc, n_trees, n_splits = idx1.shape
    n_leaves = leaves.shape[2]
    anchors = np.empty((0, 0), np.int32)
    deltas = np.empty((0, 0, 2), np.float32)
    for k in range(dims):
        initial[k], pos = _read_float(buf, pos)
        if pos < 0:
            return pos, anchors, deltas
    count, pos = _read_int(buf, pos)
    if count != n_casc:
        return _failure(pos), anchors, deltas
    for c in range(n_casc):
        count, pos = _read_int(buf, pos)
        if count != n_trees:
            return _failure(pos), anchors, deltas
        for t in range(n_trees):
            count, pos = _read_int(buf, pos)
            if count != n_splits:
                return _failure(pos), anchors, deltas
            for s in range(n_splits):
                idx1[c, t, s], pos = _read_int(buf, pos)
                idx2[c, t, s], pos = _read_int(buf, pos)
                thresh[c, t, s], pos = _read_float(buf, pos)
                if pos < 0:
                    return pos, anchors, deltas
            count, pos = _read_int(buf, pos)
            if count != n_leaves:
                return _failure(pos), anchors, deltas
            for leaf in range(n_leaves):
                rows, pos = _read_int(buf, pos)
                cols, pos = _read_int(buf, pos)
                if -rows != dims or -cols != 1:
                    return _failure(pos), anchors, deltas
                for k in range(dims):
                    leaves[c, t, leaf, k], pos = _read_float(buf, pos)
                if pos < 0:
                    return pos, anchors, deltas
    count, pos = _read_int(buf, pos)
    if count != n_casc:
        return _failure(pos), anchors, deltas
    n_feat = -1
    for c in range(n_casc):
        count, pos = _read_int(buf, pos)
        if pos < 0:
            return pos, anchors, deltas
        if c == 0 and count > 0:
            n_feat = count
            anchors = np.empty((n_casc, n_feat), np.int32)
            deltas = np.empty((n_casc, n_feat, 2), np.float32)
        if count != n_feat:
            return _failure(pos), anchors, deltas
        for f in range(n_feat):
            anchors[c, f], pos = _read_int(buf, pos)
            if anchors[c, f] < 0 or anchors[c, f] >= dims // 2:
                return _failure(pos), anchors, deltas
    count, pos = _read_int(buf, pos)
    if count != n_casc:
        return _failure(pos), anchors, deltas
    for c in range(n_casc):
        count, pos = _read_int(buf, pos)
        if count != n_feat:
            return _failure(pos), anchors, deltas
        for f in range(n_feat):
            deltas[c, f, 0], pos = _read_float(buf, pos)
            deltas[c, f, 1], pos = _read_float(buf, pos)
        if pos < 0:
            return pos, anchors, deltas
    for c in range(n_casc):
        for t in range(n_trees):
            for s in range(n_splits):
                if idx1[c, t, s] >= n_feat or idx2[c, t, s] >= n_feat:
                    return _failure(pos), anchors, deltas
    return pos, anchors, deltas


def _skip_float(reader: _Reader) -> None:
    reader.int()
    reader.int()


@dataclass(frozen=True)
class _Model:
    initial: np.ndarray
    """(2P,) mean shape in the unit square, x0, y0, x1, y1..."""
    idx1: np.ndarray
    idx2: np.ndarray
    thresh: np.ndarray
    """(cascades, trees, splits) split tests: feature[idx1] - feature[idx2] > thresh goes left."""
    leaves: np.ndarray
    """(cascades, trees, splits + 1, 2P) shape increments."""
    anchors: np.ndarray
    deltas: np.ndarray
    """(cascades, features) landmark each feature pixel hangs on, and (cascades, features, 2) its offset."""


def read_model(path: str | Path) -> _Model:
    """Parse a dlib ``shape_predictor`` file (e.g. shape_predictor_68_face_landmarks.dat)."""
    buf = np.fromfile(str(path), dtype=np.uint8)
    reader = _Reader(buf, path)
    if reader.int() != 1:
        raise LandmarkModelFormatError(f"{path}: not a version-1 dlib shape predictor")
    rows, cols = -reader.int(), -reader.int()
    if rows < 2 or rows % 2 or cols != 1:
        raise LandmarkModelFormatError(f"{path}: the initial shape is {rows}x{cols}, not a 2P column")
    start = reader.pos
    for _ in range(rows):
        _skip_float(reader)
    n_casc, n_trees, n_splits = reader.int(), reader.int(), reader.int()
    if min(n_casc, n_trees, n_splits) < 1:
        raise LandmarkModelFormatError(f"{path}: an empty cascade")
    for _ in range(n_splits):
        reader.int(), reader.int()
        _skip_float(reader)
    n_leaves = reader.int()
    if n_leaves != n_splits + 1:
        raise LandmarkModelFormatError(f"{path}: {n_leaves} leaves for {n_splits} splits")
    initial = np.empty(rows, np.float32)
    idx1 = np.empty((n_casc, n_trees, n_splits), np.int32)
    idx2 = np.empty_like(idx1)
    thresh = np.empty((n_casc, n_trees, n_splits), np.float32)
    leaves = np.empty((n_casc, n_trees, n_leaves, rows), np.float32)
    end, anchors, deltas = _parse_body(buf, start, initial, idx1, idx2, thresh, leaves)
    if end == _ERR_TRUNCATED:
        raise LandmarkModelFormatError(f"{path}: the file ends early")
    if end < 0 or anchors.size == 0:
        raise LandmarkModelFormatError(f"{path}: the trees are not laid out as one uniform cascade")
    return _Model(initial, idx1, idx2, thresh, leaves, anchors, deltas)


@njit(cache=True, inline="always")
def _sample_features(img: np.ndarray, left: float, top: float, width: float, height: float, initial: np.ndarray,
                     shape: np.ndarray, anchors: np.ndarray, deltas: np.ndarray, c: int, features: np.ndarray) -> None:
    """Cascade ``c``'s feature pixels for the current shape (dlib's ``extract_feature_pixel_values``)."""
    n_pts = initial.size // 2
    # Similarity from the mean shape to the current one (Umeyama; a face never needs a reflection).
    mean_ix = 0.0
    mean_iy = 0.0
    mean_x = 0.0
    mean_y = 0.0
    for p in range(n_pts):
        mean_ix += initial[2 * p]
        mean_iy += initial[2 * p + 1]
        mean_x += shape[2 * p]
        mean_y += shape[2 * p + 1]
    mean_ix /= n_pts
    mean_iy /= n_pts
    mean_x /= n_pts
    mean_y /= n_pts
    sxx = 0.0
    sa = 0.0
    sb = 0.0
    for p in range(n_pts):
        fx = initial[2 * p] - mean_ix
        fy = initial[2 * p + 1] - mean_iy
        tx = shape[2 * p] - mean_x
        ty = shape[2 * p + 1] - mean_y
        sxx += fx * fx + fy * fy
        sa += fx * tx + fy * ty
        sb += fx * ty - fy * tx
    a = np.float32(sa / sxx) if sxx > 0 else np.float32(1.0)
    b = np.float32(sb / sxx) if sxx > 0 else np.float32(0.0)
    rows, cols = img.shape
    for f in range(features.size):
        dx = deltas[c, f, 0]
        dy = deltas[c, f, 1]
        k = anchors[c, f]
        ux = (a * dx - b * dy) + shape[2 * k]
        uy = (b * dx + a * dy) + shape[2 * k + 1]
        # dlib maps the unit square onto the box and rounds to the nearest pixel.
        x = np.floor(left + width * np.float64(ux) + 0.5)
        y = np.floor(top + height * np.float64(uy) + 0.5)
        if 0 <= x < cols and 0 <= y < rows:
            features[f] = img[int(y), int(x)]
        else:
            features[f] = 0.0


@njit(cache=True, inline="always")
def _leaves_of(features: np.ndarray, idx1: np.ndarray, idx2: np.ndarray, thresh: np.ndarray, c: int,
               nodes: np.ndarray) -> None:
    """The leaf every tree of cascade ``c`` falls into, into ``nodes``: the trees walked side by side,
    one level at a time, so no walk waits on another's branch (they are unpredictable)."""
    n_trees, n_splits = idx1.shape[1], idx1.shape[2]
    for t in range(n_trees):
        nodes[t] = 0
    while nodes[0] < n_splits:  # every tree has the same depth
        for t in range(n_trees):
            node = nodes[t]
            right = not (features[idx1[c, t, node]] - features[idx2[c, t, node]] > thresh[c, t, node])
            nodes[t] = 2 * node + 1 + right
    for t in range(n_trees):
        nodes[t] -= n_splits


@njit(cache=True)
def _to_pixels(shape: np.ndarray, left: float, top: float, width: float, height: float) -> np.ndarray:
    n_pts = shape.size // 2
    out = np.empty((n_pts, 2))
    for p in range(n_pts):
        out[p, 0] = left + width * np.float64(shape[2 * p])
        out[p, 1] = top + height * np.float64(shape[2 * p + 1])
    return out


@njit(cache=True, nogil=True)
def _predict(img: np.ndarray, left: float, top: float, width: float, height: float, initial: np.ndarray,
             idx1: np.ndarray, idx2: np.ndarray, thresh: np.ndarray, leaves: np.ndarray,
             anchors: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """dlib's ``shape_predictor::operator()``: the (P, 2) shape in image pixels, not rounded."""
    n_casc, n_trees, _ = idx1.shape
    shape = initial.copy()
    features = np.empty(anchors.shape[1], np.float32)
    nodes = np.empty(n_trees, np.int64)
    for c in range(n_casc):
        _sample_features(img, left, top, width, height, initial, shape, anchors, deltas, c, features)
        _leaves_of(features, idx1, idx2, thresh, c, nodes)
        for t in range(n_trees):
            leaf = leaves[c, t, nodes[t]]
            for k in range(shape.size):
                shape[k] += leaf[k]
    return _to_pixels(shape, left, top, width, height)


class ShapePredictor:
    """A dlib shape predictor file, evaluated by compiled code; call it like ``dlib.shape_predictor``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._model = read_model(self.path)

    @property
    def n_points(self) -> int:
        return self._model.initial.size // 2

    def predict(self, gray: np.ndarray, box: tuple[int, int, int, int], round_to_pixels: bool = False) -> np.ndarray:
        """(P, 2) landmarks of the face in ``box`` (left, top, right, bottom: dlib's integer rectangle)."""
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError(f"expected a 2-D uint8 grayscale image, got {gray.dtype} {gray.shape}")
        left, top, right, bottom = (int(v) for v in box)
        m = self._model
        pts = _predict(gray, float(left), float(top), float(right - left), float(bottom - top), m.initial,
                       m.idx1, m.idx2, m.thresh, m.leaves, m.anchors, m.deltas)
        return np.floor(pts + 0.5) if round_to_pixels else pts
