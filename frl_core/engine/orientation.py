"""Which way up a source's faces are, for the message when none was found upright.

dlib's detector finds frontal, upright faces only: a camera mounted sideways or a phone video whose rotation
flag was lost gives "no face" on every frame. Trying the detector on a few frames turned each way tells the
user which turn (``--rotate``, the settings' "turn frames") makes the faces findable.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from frl_core.faces.tracking import face_models, to_gray
from frl_core.io.sources import ROTATIONS, rotate_frame


def _faces(gray: np.ndarray, detect_width: int) -> int:
    detector, _ = face_models("compiled")
    scale = min(1.0, detect_width / gray.shape[1])
    small = gray if scale >= 0.999 else cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)),
                                                   interpolation=cv2.INTER_AREA)
    return len(detector(np.ascontiguousarray(small), 1))


def turn_that_shows_faces(frames: Iterable[np.ndarray], detect_width: int = 320) -> int | None:
    """The clockwise turn (90, 180 or 270 degrees) under which the detector finds a face on the most of
    ``frames``, or None when no turn finds one (or the frames are upright already)."""
    grays = [to_gray(f) for f in frames]
    if not grays or any(_faces(g, detect_width) for g in grays):
        return None
    found = {turn: sum(_faces(rotate_frame(g, turn), detect_width) > 0 for g in grays) for turn in ROTATIONS[1:]}
    best = max(found, key=found.get)
    return best if found[best] else None
