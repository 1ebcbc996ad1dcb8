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
    confidence: float = float("nan")
    """How surely the landmarks still sit on the face the detector found: normalised correlation (-1..1)
    of the central face's appearance with that at the last detection (1 on a detection, and the tracker
    calls the face lost below ``FaceConfig.lost_correlation``); nan for the whole-frame fallback."""
    pose: tuple[float, float, float, float, float, float] | None = None
    """Head pitch, yaw, roll (degrees) and Tx, Ty, Tz (mm), ``frl_core.faces.head_pose``; None when unknown."""
    switched: bool = False
    """True on the frame where the tracker left the face it tracked for another, larger one (someone leans
    in): what follows is another person, and the engine starts its spotter afresh."""


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
    probabilities: dict[str, float] | None = None
    """Only when the engine is asked for a per-frame probability stream (``EngineConfig.frame_probabilities``):
    calibrated class probabilities of this frame taken as the apex of a movement whose onset is
    ``probability_reference`` (one spotting window earlier); None otherwise or without both faces."""
    probability_reference: int | None = None
    region_motion: tuple[float, ...] | None = None
    """Residual motion in each AU region behind ``motion_score`` (head motion out, pixels of the 224-px
    aligned face, ``au_regions.REGION_NAMES`` order): the spotter's own measurement, None while it is nan."""
    message: str | None = None
    """A per-frame note for the user: "no face", "2 faces: kept the largest", "face lost"."""
    left_out: tuple[tuple[float, float, str, int, int, int], ...] = ()
    """Spotted intervals the engine left out since the last frame, ``(onset s, offset s, why, onset, apex,
    offset)`` (frame indices last); why: "speech"."""
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
    """The recognised class, ``"uncertain"`` when the calibrated top probability is below the
    checkpoint's threshold, None when not recognised."""
    probabilities: dict[str, float] = field(default_factory=dict)
    """Calibrated class probabilities (kept when the label is uncertain)."""
    displacement: np.ndarray | None = None
    """(2, H, W) float32 dx, dy in pixels of the aligned crop, onset -> apex, head motion removed (the
    apex face registered onto the onset face first), whether the network or optical flow measured it."""
    onset_face: np.ndarray | None = None
    apex_face: np.ndarray | None = None
    """Aligned grayscale crops (uint8, HxW); the apex is registered onto the onset once the event is
    measured, so the two are what the displacement was computed on. With ``reference_index`` the first is
    that frame's face."""
    region_magnitude: dict[str, float] = field(default_factory=dict)
    """Mean displacement magnitude per AU region (pixels of the aligned crop), keyed by ``au_regions.REGION_NAMES``."""
    head_motion: dict[str, float] = field(default_factory=dict)
    """The global motion between onset and apex that registration removed: dx_px, dy_px, rotation_deg,
    scale (``registration.GlobalMotion.as_dict``)."""
    reference_index: int | None = None
    """The frame the apex was compared with when not the onset: for a movement made while talking, a frame
    shortly before it whose mouth stood as at the apex (``SpottedInterval.reference``)."""
    while_talking: bool | None = None
    """Whether the person was talking in the second before or after the movement (the lips opening and
    closing): syllables and lower-face expressions move the mouth alike, so such an event, its label above all,
    deserves a look; None when the speech filter was off (``StreamingSpotter.while_talking``)."""

    @property
    def top_class(self) -> str | None:
        """The most probable class (also when the label is ``uncertain``), None when not recognised."""
        if not self.probabilities:
            return None
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def confidence(self) -> float:
        """Calibrated probability of the most probable class, nan when not recognised."""
        top = self.top_class
        if self.label is None or top is None:
            return float("nan")
        return float(self.probabilities[top])

    def label_text(self) -> str:
        """The label as a user reads it: "positive (72%)", "uncertain (most likely positive, 45%)",
        "not recognised"."""
        if self.label is None:
            return "not recognised"
        conf = self.confidence
        if self.label == "uncertain" and self.top_class is not None:
            return f"uncertain (most likely {self.top_class}, {conf:.0%})"
        return f"{self.label} ({conf:.0%})" if conf == conf else self.label

    @property
    def duration(self) -> float:
        return self.offset_time - self.onset_time
