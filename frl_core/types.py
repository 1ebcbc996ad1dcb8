"""The records that travel from the engine to the CLI, the exports and the GUI.

Plain dataclasses of numbers and numpy arrays: no Qt, no torch, so every consumer can use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FaceObservation:
    """One face in one frame, in the source frame's pixel coordinates."""

    box: tuple[float, float, float, float]
    """x0, y0, x1, y1."""
    landmarks: np.ndarray
    """(68, 2) float, dlib order."""
    detected: bool
    """True when the detector ran on this frame; False when the face was tracked from earlier frames."""
    n_faces: int = 1
    """Faces the detector saw where it searched (the largest is kept): the whole frame, or only the
    tracked face's neighbourhood on the periodic check; 1 when tracked."""


@dataclass
class FrameResult:
    """What the engine found in one frame."""

    index: int
    timestamp: float
    face: FaceObservation | None
    motion_score: float = float("nan")
    """One-sided motion score of this frame against the face a window before (nan while the window
    fills): live, but a movement shows twice in it, once at the movement and once a window later."""
    threshold: float = float("nan")
    """The spotter's adaptive threshold at this frame (it applies to ``decided_scores``)."""
    decided_scores: tuple[tuple[int, float, float], ...] = ()
    """(index, timestamp, two-sided spotting score) of the earlier frame(s) whose score this frame
    completed, a window (0.6 s) and a little back: the score events are detected on, without the echo."""
    message: str | None = None
    """A per-frame note for the user: "no face", "2 faces: kept the largest", "face lost"."""
    aligned_face: np.ndarray | None = None
    """The aligned grayscale crop (uint8, HxW) when the caller asked for it."""


@dataclass
class Event:
    """A spotted facial movement, and what the network recognised in it."""

    event_id: int
    onset_index: int
    apex_index: int
    offset_index: int
    onset_time: float
    apex_time: float
    offset_time: float
    kind: str
    """"micro" (up to ~0.5 s) or "macro"."""
    score: float
    """Peak spotting score."""
    label: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    displacement: np.ndarray | None = None
    """(2, H, W) float32 dx, dy in pixels of the aligned crop, onset -> apex."""
    onset_face: np.ndarray | None = None
    apex_face: np.ndarray | None = None
    """Aligned grayscale crops (uint8, HxW) the network saw."""
    region_magnitude: dict[str, float] = field(default_factory=dict)
    """Mean displacement magnitude per AU region (pixels), keyed by ``au_regions.REGION_NAMES``."""

    @property
    def confidence(self) -> float:
        """Probability of the predicted label, nan when not recognised."""
        if self.label is None or self.label not in self.probabilities:
            return float("nan")
        return float(self.probabilities[self.label])

    @property
    def duration(self) -> float:
        return self.offset_time - self.onset_time
