"""Which way up a source's faces are, for the message when none was found upright.

dlib's detector finds frontal, upright faces only: a camera mounted sideways or a phone video whose rotation
flag was lost gives "no face" on every frame. Trying the face tracker's own search on a few frames turned each
way tells the user which turn (``--rotate``, the settings' "turn frames") makes the faces findable.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from frl_core.faces.tracking import FaceConfig, FaceTracker, to_gray
from frl_core.io.sources import ROTATIONS, rotate_frame


def turn_that_shows_faces(frames: Iterable[np.ndarray], config: FaceConfig | None = None) -> int | None:
    """The clockwise turn (90, 180 or 270 degrees) under which the tracker finds a face on the most of
    ``frames``, or None when no turn finds one (or the frames are upright already)."""
    tracker = FaceTracker(config or FaceConfig())
    grays = [to_gray(f) for f in frames]

    def faces_found(turn: int) -> int:
        found = 0
        for gray in grays:
            tracker.reset()  # every frame searched as a stream's first: all of the tracker's passes
            found += tracker.update(rotate_frame(gray, turn))[0] is not None
        return found

    if not grays or faces_found(0):
        return None
    found = {turn: faces_found(turn) for turn in ROTATIONS[1:]}
    best = max(found, key=found.get)
    return best if found[best] else None
