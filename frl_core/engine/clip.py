"""Clip mode: a short input (a dataset clip, a recorded movement) analysed as one onset -> apex -> offset.

Dataset clips are cut around one movement and are often shorter than the spotter's two-sided windows, so
spotting finds nothing in them. Here the onset is the first frame (or given), the offset the last (or
given), and the apex the frame whose motion from the onset inside the AU regions is largest once head
motion is taken out (the spotter's own measure, :class:`~frl_core.spotting.motion.MotionModel`), smoothed
over a few frames so that one noisy frame cannot win: the sliding-window apex search of FRL-DGT-S. The
onset/apex pair then goes to the recogniser exactly as a spotted event's does, giving one :class:`Event`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from frl_core.engine.analysis import EngineConfig, RecognitionError, is_out_of_memory, measure_event
from frl_core.faces import FaceConfig, FaceTracker, align_face, alignment_matrix
from frl_core.faces.pair import FacePatch, align_pair, face_patch
from frl_core.spotting import SpotterConfig
from frl_core.spotting.detector import interval_kind
from frl_core.spotting.motion import ExposureReference, MotionModel
from frl_core.types import Event, FrameResult

APEX_WINDOW_S = 0.05
"""The apex curve is averaged over a centred window this long (at least 3 frames) before its peak is taken."""
MAX_CLIP_FRAMES = 5000
"""Clip mode keeps every aligned face of the clip; longer inputs are movements for the spotter, not clips."""


class ClipError(ValueError):
    """A clip that cannot be analysed as one movement; ``str(err)`` is a one-line message for the user.

    ``reason``: "input" (bad frame numbers, too few frames) or "no_face".
    """

    def __init__(self, message: str, reason: str = "input") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class ClipResult:
    """The one event of a clip, the per-frame results behind it, and how its apex was chosen."""

    event: Event
    frames: list[FrameResult]
    apex_curve: np.ndarray
    """Per frame: AU-region motion from the onset (pixels of a 224-px face), smoothed; nan without a face."""
    apex_found: bool
    """True when the apex was searched for, False when it was given."""
    recognition_error: RecognitionError | None = None
    notes: list[str] = field(default_factory=list)


def spotting_frames_needed(fps: float, spotter: SpotterConfig | None = None) -> int:
    """The fewest frames in which the spotter can score one frame against references on both sides: a
    shorter input (most dataset clips) can only be analysed as one clip."""
    from frl_core.spotting.detector import window_steps

    return 2 * window_steps((spotter or SpotterConfig()).window_s, fps, 1) + 1


def looks_like_a_clip(frame_count: int | None, fps: float, spotter: SpotterConfig | None = None) -> bool:
    """A recorded input too short to spot in: offer clip mode."""
    return bool(frame_count) and 1 < frame_count < spotting_frames_needed(fps, spotter)


def apex_window(fps: float, window_s: float = APEX_WINDOW_S) -> int:
    """Half-width (frames) of the apex smoothing window at ``fps``: 1 at 30 fps, 5 at 200 fps."""
    return max(1, int(round(window_s * fps / 2)))


def smooth_curve(values: np.ndarray, half: int) -> np.ndarray:
    """Centred mean over ``2 * half + 1`` frames, truncated at the ends and skipping nan (no face)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(len(values), np.nan)
    for i in range(len(values)):
        window = values[max(0, i - half):i + half + 1]
        window = window[np.isfinite(window)]
        if window.size and np.isfinite(values[i]):
            out[i] = window.mean()
    return out


def apex_curve(aligned: list[np.ndarray | None], onset: int, fps: float,
               config: SpotterConfig | None = None) -> np.ndarray:
    """Smoothed motion of every aligned face from the onset's face, inside the AU regions, head motion out.

    Frames without a face get nan. The onset itself scores 0.
    """
    config = config or SpotterConfig()
    model = MotionModel(config)
    if not 0 <= onset < len(aligned) or aligned[onset] is None:
        raise ClipError(f"no face at the onset frame {onset}", reason="no_face")
    exposure = ExposureReference.for_pair(config)
    reference = model.prepare(aligned[onset], exposure)
    raw = np.array([np.nan if face is None else model.score(reference, model.prepare(face, exposure))
                    for face in aligned])
    raw[onset] = 0.0
    return smooth_curve(raw, apex_window(fps))


def find_apex(curve: np.ndarray, onset: int, offset: int) -> int:
    """The frame after the onset, up to the offset, where the smoothed motion from the onset peaks.

    Ties go to the later frame: a movement holds its apex, and noise in a plateau should not pull it back.
    """
    if offset <= onset:
        raise ClipError(f"the offset ({offset}) must come after the onset ({onset})")
    span = np.asarray(curve[onset + 1:offset + 1], dtype=np.float64)
    if not np.isfinite(span).any():
        raise ClipError(f"no face between the onset ({onset}) and the offset ({offset})", reason="no_face")
    span = np.where(np.isfinite(span), span, -np.inf)
    best = np.flatnonzero(span >= span.max() - 1e-9)[-1]
    return onset + 1 + int(best)


def check_frames(n_frames: int, onset: int | None, apex: int | None, offset: int | None) -> tuple[int, int | None, int]:
    """Onset, apex (None: to be found) and offset as indices into the clip, checked; raises ClipError."""
    if n_frames < 2:
        raise ClipError(f"a clip needs at least 2 frames (an onset and an apex), got {n_frames}")
    if n_frames > MAX_CLIP_FRAMES:
        raise ClipError(f"{n_frames} frames is too long for one movement (clip mode takes up to "
                        f"{MAX_CLIP_FRAMES}); spot it without --clip, or cut it with --max-frames")
    onset = 0 if onset is None else int(onset)
    offset = n_frames - 1 if offset is None else int(offset)
    for name, value in (("onset", onset), ("apex", apex), ("offset", offset)):
        if value is not None and not 0 <= value < n_frames:
            raise ClipError(f"{name} frame {value} is outside the clip (frames 0-{n_frames - 1})")
    if onset >= offset:
        raise ClipError(f"the onset ({onset}) must come before the offset ({offset})")
    if apex is not None and not onset < apex <= offset:
        raise ClipError(f"the apex ({apex}) must come after the onset ({onset}) and not after the offset ({offset})")
    return onset, apex, offset


class ClipAnalyzer:
    """Faces, the apex search and recognition for whole clips; one instance serves many clips (batch mode).

    ``recognizer`` None spots nothing and labels nothing: the event then carries the optical-flow
    displacement of the registered pair, as the engine's spot-only mode does.
    """

    def __init__(self, config: EngineConfig | None = None, recognizer: Any = None) -> None:
        self.config = config or EngineConfig()
        self.face_config = self.config.face if self.config.face is not None else FaceConfig()
        self.spotter_config = self.config.spotter if self.config.spotter is not None else SpotterConfig()
        self.recognizer = recognizer

    def _aligned(self, gray: np.ndarray, face: Any) -> tuple[np.ndarray | None, FacePatch | None]:
        """The face aligned on its own and the frame pixels around it, from one alignment."""
        if face is None:
            return None, None
        size = self.config.align_size
        m = alignment_matrix(face.landmarks, size)
        return align_face(gray, face.landmarks, size, m), face_patch(gray, face.landmarks, size, m)

    def faces(self, frames: Iterable[np.ndarray], fps: float
              ) -> tuple[list[FrameResult], list[np.ndarray | None], list[FacePatch | None]]:
        """Track and align the face of every frame (BGR or grayscale uint8); also the frame pixels around
        each face, from which the onset and apex are aligned together (``faces.pair``).

        A clip starts at its onset, so a detector that misses the first frames would cost the onset: frames
        before the first face found are tracked again backwards from it.
        """
        tracker = FaceTracker(self.face_config)
        results: list[FrameResult] = []
        aligned: list[np.ndarray | None] = []
        patches: list[FacePatch | None] = []
        grays: list[np.ndarray] = []
        for index, frame in enumerate(frames):
            if len(results) >= MAX_CLIP_FRAMES:
                raise ClipError(f"more than {MAX_CLIP_FRAMES} frames is too long for one movement; spot it "
                                "without --clip, or cut it with --max-frames")
            gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            face, message = tracker.update(gray)
            face_aligned, patch = self._aligned(gray, face)
            aligned.append(face_aligned)
            patches.append(patch)
            results.append(FrameResult(index=index, timestamp=index / fps, face=face, message=message))
            if len(grays) == index and all(a is None for a in aligned[:-1]):  # frames up to the first face only
                grays.append(gray)
        first = next((i for i, face in enumerate(aligned) if face is not None), None)
        if first:
            tracker.reset()
            for index in range(first, -1, -1):
                face, message = tracker.update(grays[index])
                if index < first and face is not None:
                    aligned[index], patches[index] = self._aligned(grays[index], face)
                    results[index] = FrameResult(index=index, timestamp=index / fps, face=face, message=message)
        return results, aligned, patches

    def analyse(self, frames: Iterable[np.ndarray], fps: float, onset: int | None = None, apex: int | None = None,
                offset: int | None = None, event_id: int = 1) -> ClipResult:
        """The clip's one event. Frame numbers are 0-based indices into ``frames``; None: first frame,
        the found apex, last frame. Raises ClipError for bad frame numbers or a clip without a face."""
        results, aligned, patches = self.faces(frames, fps)
        return self.analyse_aligned(results, aligned, fps, onset, apex, offset, event_id, patches)

    def analyse_aligned(self, results: list[FrameResult], aligned: list[np.ndarray | None], fps: float,
                        onset: int | None = None, apex: int | None = None, offset: int | None = None,
                        event_id: int = 1, patches: list[FacePatch | None] | None = None) -> ClipResult:
        """:meth:`analyse` on faces already tracked and aligned; with ``patches``, the onset and apex
        are aligned together from them, else each face is taken as aligned on its own."""
        onset, apex, offset = check_frames(len(aligned), onset, apex, offset)
        if all(face is None for face in aligned):
            raise ClipError(f"no face found in any of the {len(aligned)} frames", reason="no_face")
        notes = []
        if aligned[onset] is None:
            nearest = next((j for j in range(onset + 1, offset) if aligned[j] is not None), None)
            if nearest is None or (apex is not None and nearest >= apex):
                raise ClipError(f"no face at the onset frame {onset} nor before the apex", reason="no_face")
            notes.append(f"no face at the onset frame {onset}; frame {nearest} is the onset")
            onset = nearest
        curve = apex_curve(aligned, onset, fps, self.spotter_config)
        found = apex is None
        if found:
            apex = find_apex(curve, onset, offset)
        elif aligned[apex] is None:
            raise ClipError(f"no face at the apex frame {apex}", reason="no_face")
        for result, value in zip(results, curve):
            result.motion_score = float(value)
        event = Event(
            event_id=event_id, onset_index=onset, apex_index=apex, offset_index=offset,
            onset_time=onset / fps, apex_time=apex / fps, offset_time=offset / fps,
            kind=interval_kind(onset, offset, fps, self.spotter_config), score=float(curve[apex]),
            onset_face=aligned[onset], apex_face=aligned[apex],
        )
        if patches is not None and patches[onset] is not None and patches[apex] is not None:
            pair = align_pair(patches[onset], patches[apex], self.config.align_size)
            event.onset_face, event.apex_face = pair.onset, pair.apex
        error = self.recognise(event)
        return ClipResult(event, results, curve, found, error, notes)

    def recognise(self, event: Event) -> RecognitionError | None:
        """Fill the event's label, probabilities, displacement and AU-region motion, as the engine does.

        A failed recognition keeps the event with the optical-flow displacement and no label, and says why.
        """
        rec, error = None, None
        if self.recognizer is not None:
            try:
                rec = self.recognizer.recognize([(event.onset_face, event.apex_face)])[0]
            except (RuntimeError, ValueError, MemoryError) as err:
                text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                error = RecognitionError(f"recognition failed: {text}", is_out_of_memory(err))
        measure_event(event, rec)
        return error
