"""Scenes several tests build: a rendered face and, from some frame on, another person beside it; talking; a
rendered sequence encoded and spotted as a user's video file is."""

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


def talking(onset: int, fps: float, syllables: int = 8, amplitude: float = 4.0, lips: str = "open") -> list:
    """A stretch of talking from ``onset``: ``syllables`` movements of the lips of about a fifth of a second each,
    one after another with short pauses, as a sentence's syllables come. ``lips="open"``: each opens the lips and
    jaw (AU25 + AU26); ``"varied"``: they also spread ("ee": AU20 + AU25), round ("oo": AU18 + AU25) and press
    ("m", "b", "p": AU24) the lips, at 0.6 of ``amplitude``."""
    from frl_core.synth.render import SyntheticEvent

    visemes = {"open": (("AU25", "AU26"), 1.0), "spread": (("AU20", "AU25"), 0.6),
               "rounded": (("AU18", "AU25"), 0.6), "closed": (("AU24",), 0.6)}
    if lips not in ("open", "varied"):
        raise ValueError(f"lips must be 'open' or 'varied', got {lips!r}")
    rng = np.random.default_rng(onset)
    out, t = [], onset
    for k in range(syllables):
        rise, fall = round(rng.uniform(0.06, 0.1) * fps), round(rng.uniform(0.08, 0.13) * fps)
        aus, gain = visemes["open" if lips == "open" else list(visemes)[k % len(visemes)]]
        out.append(SyntheticEvent(t, t + rise, t + rise + fall, "open_smile", gain * amplitude * rng.uniform(0.7, 1.3),
                                  label="speech", action_units=aus, kind="speech"))
        t += rise + fall + round(rng.uniform(0.0, 0.1) * fps)
    return out


def spot_encoded(seq, path: Path, recognize: bool = False, spotter=None) -> tuple[list, object]:
    """Write a rendered sequence's frames to ``path`` as an mp4v video and analyse that file with the engine, as
    a user's recording is: the events found and the engine (its ``stats`` say what was left out). ``spotter``: a
    ``SpotterConfig`` in place of the engine's default."""
    from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
    from frl_core.io.sources import open_source

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), seq.fps, seq.size)
    for frame in seq.frames:
        writer.write(frame)
    writer.release()
    config = EngineConfig(fps=seq.fps, recognize=recognize)
    if spotter is not None:
        config.spotter = spotter
    engine = AnalysisEngine(config)
    source = open_source(str(path))
    try:
        return analyse_source(source, engine), engine
    finally:
        source.close()
