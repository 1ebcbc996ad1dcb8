"""Scenes several tests build: a rendered face and, from some frame on, another person beside it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

OTHER_FROM = 240
"""The frame from which the second, larger face is in view (the tracker finds it at its search of frame 300)."""


def with_another_face(frames: Iterable[np.ndarray], data_root: Path) -> Iterator[np.ndarray]:
    """640x480 frames widened to 960 px, a larger composite face (smic/s04, another person) on the right
    from ``OTHER_FROM`` on."""
    from frl_core.benchmarks.generated import benchmark_faces

    other = cv2.resize(dict(benchmark_faces(data_root, 3))["smic/s04"], (300, 300))
    for i, frame in enumerate(frames):
        canvas = np.full((480, 960, 3), 90, np.uint8)
        canvas[:, :640] = frame
        if i >= OTHER_FROM:
            canvas[90:390, 650:950] = other
        yield canvas


def another_face_leaving(frames: Iterable[np.ndarray], data_root: Path, leaves_at: int) -> Iterator[np.ndarray]:
    """The frames of ``with_another_face`` with the larger face in view from the first frame until
    ``leaves_at``, when that person leaves the picture and only the rendered face is left."""
    from frl_core.benchmarks.generated import benchmark_faces

    other = cv2.resize(dict(benchmark_faces(data_root, 3))["smic/s04"], (300, 300))
    for i, frame in enumerate(frames):
        canvas = np.full((480, 960, 3), 90, np.uint8)
        canvas[:, :640] = frame
        if i < leaves_at:
            canvas[90:390, 650:950] = other
        yield canvas
