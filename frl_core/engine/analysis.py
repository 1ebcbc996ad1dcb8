"""The streaming engine: frames in, per-frame results and recognised micro-expression events out.

One :class:`AnalysisEngine` serves the headless CLI, the benchmark and the GUI. Per frame it tracks
the face, aligns it onto the canonical template, and feeds the streaming spotter; when the spotter
completes an interval, the onset and apex faces (kept in a bounded ring buffer, since the interval
reaches back in time) go to the network, batched when several events are pending. Memory is flat over
arbitrarily long inputs: nothing per frame is kept beyond the ring buffer.

Threads: the engine has none of its own and is not locked. Create it, feed it and reset it from one
thread at a time (e.g. the GUI's analysis worker); it may be created in one thread and used in another.
:mod:`frl_core.engine.runner` adds the threads: capture, the face stage, and a queue that drops frames
(and counts them) on live input instead of lagging.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from frl_core.faces import FaceConfig, FaceTracker, align_face, alignment_matrix
from frl_core.faces.pair import FacePatch, align_pair, face_patch
from frl_core.faces.au_regions import inter_ocular_distance, lip_opening
from frl_core.faces.head_pose import head_pose
from frl_core.motion.flow_image import dis_flow
from frl_core.motion.registration import exposure_gain, register
from frl_core.spotting import SpotterConfig, StreamingSpotter, sized_for
from frl_core.types import Event, FaceObservation, FrameResult
from frl_core.viz import region_magnitudes

if TYPE_CHECKING:
    from frl_core.models.inference import Recognizer

STAGES = ("face", "align", "spotting", "recognition")


class EngineError(Exception):
    """The engine cannot start; ``str(err)`` is a one-line message for the user.

    ``reason`` says what to fix: "weights" (missing, damaged or wrong checkpoint) or "device" (e.g.
    CUDA asked for on a machine without a GPU).
    """

    def __init__(self, message: str, reason: str = "weights") -> None:
        super().__init__(message)
        self.reason = reason


class RecognitionError(RuntimeError):
    """Recognising a batch of events failed; the events are kept, with an optical-flow map and no label.
    ``out_of_memory`` says the device ran out of memory (a caller may move the model to the CPU)."""

    def __init__(self, message: str, out_of_memory: bool = False) -> None:
        super().__init__(message)
        self.out_of_memory = out_of_memory


def is_out_of_memory(err: BaseException) -> bool:
    """True for torch's CUDA out-of-memory error (recognised by its type), a host MemoryError, and a
    :class:`RecognitionError` that says so."""
    return (isinstance(err, MemoryError) or bool(getattr(err, "out_of_memory", False))
            or any(cls.__name__ == "OutOfMemoryError" for cls in type(err).__mro__))


@dataclass
class EngineConfig:
    """Everything that shapes an analysis."""

    fps: float = 30.0
    """Frame rate of the input; the spotter's windows are in seconds and need it."""
    face: FaceConfig = field(default_factory=FaceConfig)
    spotter: SpotterConfig = field(default_factory=SpotterConfig)
    device: str = "auto"
    """"auto" (GPU when present), "cpu" or "cuda": where the network runs."""
    weights: str | Path | None = None
    """Checkpoint of the recogniser; None means the shipped default weights."""
    recognize: bool = True
    """False: spot only; events then carry an optical-flow displacement (same units: pixels of the
    aligned face, head motion removed) but no label."""
    align_size: int = 224
    """Side of the aligned face crop handed to the spotter and the network."""
    keep_aligned: bool = False
    """Attach each frame's aligned crop to its FrameResult (for views); off keeps results light."""
    recognition_batch: int = 1
    """Recognise once this many events are pending (all remaining at flush). 1 = as soon as spotted."""
    ring_margin: int = 8
    """Extra aligned faces kept beyond the spotter's look-back, so an interval never misses its onset."""
    frame_probabilities: bool = False
    """Also recognise every frame as the apex of a movement starting one micro window (``spotter.window_s``)
    earlier: a per-frame class-probability stream (``FrameResult.probabilities``), one network pass a frame."""
    exposure_step_max: float = 0.04
    """An interval whose apex face is brighter or darker than its onset face by more than this fraction (the
    median over the face, :func:`frl_core.motion.registration.exposure_gain`) is a camera's automatic exposure
    step, not a movement, and is left out (``EngineStats.exposure_steps`` counts them); 0 keeps every interval.
    The spotter and the registration match exposure, but a step that clips a bright face's highlights, or a
    codec's blocks catching up with it, still looked like motion: on the labelled benchmark with three steps a
    sequence 12 of 18 false intervals lay across a step, 2 of 148 movements did, and none of 1,360 movements
    without steps changed the face's brightness by more than 2.2 % (docs/recognition.md, "A webcam's automatic
    exposure")."""
    small_face_iod: float = 60.0
    """A face whose eyes are closer than this (frame pixels, centre to centre) is reported as small on
    every frame it is: movements of under a pixel or so of the aligned face shrink below what the frame
    and its codec carry, and spotting misses more of them (docs/recognition.md, "Small faces"). 0 turns
    the message off."""


@dataclass
class EngineStats:
    """Counters and per-stage seconds since the last reset (the benchmark reads them)."""

    frames: int = 0
    faces: int = 0
    events: int = 0
    recognised: int = 0
    recognition_batches: int = 0
    exposure_steps: int = 0
    """Spotted intervals left out because the camera's exposure changed across them (``exposure_step_max``)."""
    speech: list[tuple[int, int, int]] = field(default_factory=list)
    """Onset, apex and offset of each spotted interval left out as speech, one of a train of mouth movements
    (``SpotterConfig.speech_train``)."""
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))


class AlignedRing:
    """The last ``capacity`` aligned faces and timestamps by frame index, in preallocated arrays, with
    each frame's :class:`FacePatch` (the pixels an onset/apex pair is aligned from)."""

    def __init__(self, capacity: int, size: int) -> None:
        self.capacity = max(2, int(capacity))
        self.size = size
        self._faces = np.zeros((self.capacity, size, size), np.uint8)
        self._patches: list[FacePatch | None] = [None] * self.capacity
        self._index = np.full(self.capacity, -1, np.int64)
        self._valid = np.zeros(self.capacity, bool)
        self._time = np.full(self.capacity, np.nan)

    def put(self, index: int, timestamp: float, face: np.ndarray | None, patch: FacePatch | None = None) -> None:
        slot = index % self.capacity
        self._index[slot] = index
        self._time[slot] = timestamp
        if face is not None and face.shape == (self.size, self.size):
            self._faces[slot] = face
            self._valid[slot] = True
            self._patches[slot] = patch
        else:
            self._valid[slot] = False
            self._patches[slot] = None

    def patch(self, index: int) -> FacePatch | None:
        """The frame pixels around the face of frame ``index``, None if not kept or gone from the buffer."""
        slot = index % self.capacity
        return self._patches[slot] if self._index[slot] == index and self._valid[slot] else None

    def pair(self, onset: int, apex: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The faces of frames ``onset`` and ``apex`` aligned together (``faces.pair``) when both frames
        kept their pixels, else each as aligned on its own; None if either face is missing."""
        onset_patch, apex_patch = self.patch(onset), self.patch(apex)
        if onset_patch is not None and apex_patch is not None:
            aligned = align_pair(onset_patch, apex_patch, self.size)
            return aligned.onset, aligned.apex
        onset_face, apex_face = self.face(onset), self.face(apex)
        return (onset_face, apex_face) if onset_face is not None and apex_face is not None else None

    def timestamp(self, index: int) -> float | None:
        slot = index % self.capacity
        return float(self._time[slot]) if self._index[slot] == index else None

    def face(self, index: int) -> np.ndarray | None:
        """A copy of the aligned face of frame ``index``, None if it had no face or left the buffer."""
        slot = index % self.capacity
        if self._index[slot] == index and self._valid[slot]:
            return self._faces[slot].copy()
        return None

    def nearest_face(self, index: int, lo: int, hi: int) -> tuple[int, np.ndarray] | None:
        """The face of ``index`` or, if missing, of the nearest frame in ``[lo, hi]`` that has one."""
        for d in range(0, max(hi - lo, 0) + 1):
            for j in (index - d, index + d) if d else (index,):
                if lo <= j <= hi:
                    face = self.face(j)
                    if face is not None:
                        return j, face
        return None

    def clear(self) -> None:
        self._index[:] = -1
        self._valid[:] = False
        self._patches = [None] * self.capacity


def flow_displacement(onset: np.ndarray, apex: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """What is shown when no network runs: the apex registered onto the onset, DIS optical flow between
    them ``(2, H, W)`` float32 in pixels of the faces (the same units as the DGM's), and the head motion
    removed."""
    registered, motion = register(onset, apex)
    return dis_flow(onset, registered), registered, motion.as_dict()


def load_recognizer(weights: str | Path | None, device: str = "auto") -> Recognizer:
    """Load the recogniser, turning every way a weights file or device can be wrong into an EngineError."""
    if weights is not None and not Path(weights).is_file():
        raise EngineError(f"weights file not found: {weights}")
    from frl_core.models.checkpoint import CheckpointError, MissingCheckpointError
    from frl_core.models.inference import DeviceError, Recognizer

    try:
        return Recognizer.from_checkpoint(None if weights is None else str(weights), device=device)
    except DeviceError as err:
        raise EngineError(str(err), reason="device") from err
    except MissingCheckpointError as err:
        raise EngineError(f"{err} (or run with --no-recognition to spot only)") from err
    except CheckpointError as err:
        raise EngineError(f"cannot use weights {weights or 'shipped default'}: {err}") from err
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EngineError(f"cannot load weights {weights or 'shipped default'} on device {device!r}: {first}",
                          reason="device" if "cuda" in first.lower() else "weights") from err


@dataclass(frozen=True)
class Observation:
    """What the face stage found in one frame: the spotting stage's input."""

    timestamp: float
    face: FaceObservation | None
    message: str | None
    aligned: np.ndarray | None
    patch: FacePatch | None = None
    """The frame pixels around the face, for aligning it together with another frame of a pair."""
    upscale: float | None = None
    """How much the alignment enlarged the face (aligned pixels of a 224-px face per frame pixel): a face
    far from the camera is enlarged more, and its stream is spotted with more blur (``sized_for``)."""


SMALL_FACE = "small face"


def small_face_message(iod: float) -> str:
    """What a user is told when the face is too small for the smallest movements to stand out."""
    return f"{SMALL_FACE} ({iod:.0f} px between the eyes): move closer"


EXPOSURE_STEP = "left out as an exposure step"
SPEECH = "left out as speech"


def speech_message(onset_time: float) -> str:
    """What a user is told when a train of mouth movements starts being left out as speech."""
    return f"repeated mouth movements from {onset_time:.2f} s {SPEECH} (talking is not a micro-expression)"


def exposure_step_message(onset_time: float, apex_time: float) -> str:
    """What a user is told when a spotted interval is left out because the camera's exposure changed across it."""
    return f"interval {onset_time:.2f}-{apex_time:.2f} s {EXPOSURE_STEP}: the camera changed its brightness"


class AnalysisEngine:
    """Consumes ``(timestamp, frame)`` pairs; returns a FrameResult per frame and Events when spotted."""

    def __init__(self, config: EngineConfig | None = None, recognizer: Recognizer | None = None) -> None:
        self.config = config = config or EngineConfig()
        if not (config.fps > 0):
            raise EngineError(f"frame rate must be positive, got {config.fps}")
        self._face_config = config.face if config.face is not None else FaceConfig()
        self._spotter_config = config.spotter if config.spotter is not None else SpotterConfig()
        self._tracker = FaceTracker(self._face_config)
        self._spotter = StreamingSpotter(config.fps, self._spotter_config)
        if recognizer is None and config.recognize:
            recognizer = load_recognizer(config.weights, config.device)
        self.recognizer = recognizer if config.recognize else None
        self._ring = AlignedRing(int(self._spotter.max_lookback_frames) + config.ring_margin + 1, config.align_size)
        self._pending: list[Event] = []
        self._speech_offset: int | None = None
        """The offset of the last interval left out as speech (a train's next one gets no new note)."""
        self._left_out: list[tuple[float, float, str, int, int, int]] = []
        """Intervals left out since the last frame result, for its ``left_out``."""
        self._notes: list[str] = []
        """Messages for the next frame result that has none (an interval left out at an exposure step)."""
        self._index = 0
        self._next_event_id = 1
        self.stats = EngineStats()
        self.recognition_error: RecognitionError | None = None
        """The last recognition failure (e.g. GPU out of memory); its events carry no label."""

    @property
    def device_name(self) -> str:
        """Where the network runs ("CPU", a GPU name), or "off" when spotting only."""
        return getattr(self.recognizer, "device_name", "CPU") if self.recognizer is not None else "off"

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(getattr(self.recognizer, "class_names", ())) if self.recognizer is not None else ()

    @property
    def frame_index(self) -> int:
        """Index the next processed frame will get."""
        return self._index

    @property
    def ring_capacity(self) -> int:
        return self._ring.capacity

    @property
    def spotter_config(self) -> SpotterConfig:
        """The settings the current stream is spotted with (its first face's size may have changed the
        blur; ``SpotterConfig.small_face_upscale``)."""
        return self._spotter.config

    def reset(self, start_index: int = 0) -> None:
        """Start a new stream (after a seek or a source change): tracker, spotter and buffers cleared.
        Event ids keep counting, so they stay unique over the engine's life.

        ``start_index`` is the index the next frame gets, e.g. the source position after a seek, so
        frame and event indices keep matching the source.
        """
        self._tracker.reset()
        self._spotter = StreamingSpotter(self.config.fps, self._spotter_config)
        self._ring.clear()
        self._pending.clear()
        self._speech_offset = None
        self._left_out.clear()
        self._notes.clear()
        self._index = int(start_index)
        self.stats = EngineStats()
        self.recognition_error = None

    def process(self, timestamp: float, frame: np.ndarray, gray: np.ndarray | None = None
                ) -> tuple[FrameResult, list[Event]]:
        """Analyse one frame (BGR or grayscale uint8); return its result and any events completed now.

        ``gray`` is the frame's grayscale copy when the caller made it already: a capture thread
        converts while this one analyses the previous frame.
        """
        return self.advance(self.observe(timestamp, frame, gray))

    def observe(self, timestamp: float, frame: np.ndarray, gray: np.ndarray | None = None) -> Observation:
        """The face stage of :meth:`process`: find, track and align the face. It keeps only the face
        tracker's state, so it may run in another thread than :meth:`advance`, one frame ahead."""
        seconds = self.stats.seconds
        t0 = time.perf_counter()
        if gray is None:
            gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        face, message = self._tracker.update(gray, timestamp)
        if face is not None and message is None and self.config.small_face_iod > 0:
            iod = inter_ocular_distance(face.landmarks)
            if iod < self.config.small_face_iod:
                message = small_face_message(iod)
        if face is not None:
            pose = head_pose(face.landmarks, (gray.shape[1], gray.shape[0]))
            face.pose = pose.as_tuple() if pose is not None else None
        t1 = time.perf_counter()
        aligned = patch = upscale = None
        if face is not None:
            size = self.config.align_size
            m = alignment_matrix(face.landmarks, size)
            aligned = align_face(gray, face.landmarks, size, m)
            patch = face_patch(gray, face.landmarks, size, m)
            upscale = math.sqrt(abs(float(np.linalg.det(m[:, :2])))) * 224.0 / size
        seconds["face"] += t1 - t0
        seconds["align"] += time.perf_counter() - t1
        return Observation(timestamp, face, message, aligned, patch, upscale)

    def advance(self, observation: Observation) -> tuple[FrameResult, list[Event]]:
        """The rest of :meth:`process` for the next frame's observation, in frame order: spotting, events."""
        index = self._index
        timestamp, aligned, face = observation.timestamp, observation.aligned, observation.face
        t0 = time.perf_counter()
        self._ring.put(index, timestamp, aligned, observation.patch)
        if face is not None and face.switched and self._spotter.faces_pushed > 0:
            # Another person from here: no movement spans the change, and their face's noise is learnt anew.
            for interval in self._spotter.flush():
                self._add_interval(interval)
            self._count_speech()
            self._spotter = StreamingSpotter(self.config.fps, self._spotter_config)
            self._speech_offset = None
        if observation.upscale is not None and self._spotter.faces_pushed == 0:
            # The stream's first face sets the spotter for its size; nothing has been learnt before it.
            sized = sized_for(self._spotter_config, observation.upscale)
            if sized != self._spotter.config:
                self._spotter = StreamingSpotter(self.config.fps, sized)
        lips = lip_opening(face.landmarks) if face is not None else None
        step = self._spotter.push(index, timestamp, aligned, lips)
        self.stats.seconds["spotting"] += time.perf_counter() - t0
        for interval in step.intervals:
            self._add_interval(interval)
        self._count_speech()
        events = self._recognise_pending(force=False)
        self._index += 1
        self.stats.frames += 1
        self.stats.faces += face is not None
        result = FrameResult(
            index=index,
            timestamp=timestamp,
            face=face,
            motion_score=float(step.score),
            threshold=float(step.threshold),
            decided_scores=tuple((j, self._time_of(j), float(c)) for j, c in step.decided),
            region_motion=None if step.regions is None else tuple(float(v) for v in step.regions),
            message=observation.message or (self._notes.pop(0) if self._notes else None),
            left_out=tuple(self._left_out),
            aligned_face=aligned if self.config.keep_aligned else None,
        )
        self._left_out.clear()
        if self.config.frame_probabilities and self.recognizer is not None and aligned is not None:
            self._frame_probabilities(result)
        return result, events

    def _frame_probabilities(self, result: FrameResult) -> None:
        """This frame as an apex against the face one micro window before it (the spotter's comparison)."""
        reference = result.index - self._spotter.micro.window
        pair = self._ring.pair(reference, result.index)
        if pair is None:
            return
        t0 = time.perf_counter()
        try:
            rec = self.recognizer.recognize([pair])[0]
        except (RuntimeError, ValueError, MemoryError) as err:
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            self.recognition_error = RecognitionError(f"recognition failed: {text}", is_out_of_memory(err))
            return
        finally:
            self.stats.seconds["recognition"] += time.perf_counter() - t0
        result.probabilities = {str(k): float(v) for k, v in rec.probabilities.items()}
        result.probability_reference = reference

    def flush(self) -> list[Event]:
        """End of input: intervals still open are closed and every pending event is recognised."""
        for interval in self._spotter.flush():
            self._add_interval(interval)
        self._count_speech()
        return self._recognise_pending(force=True)

    def _count_speech(self) -> None:
        """Count the intervals the spotter left out as speech, with a note where a train of them starts."""
        for interval in self._spotter.speech:
            if self._speech_offset is None or self._spotter.mouth_still_between(self._speech_offset, interval.onset):
                self._notes.append(speech_message(self._time_of(int(interval.onset))))
            self._speech_offset = max(int(interval.offset), self._speech_offset or 0)
            onset, apex, offset = int(interval.onset), int(interval.apex), int(interval.offset)
            self.stats.speech.append((onset, apex, offset))
            self._left_out.append((self._time_of(onset), self._time_of(offset), "speech", onset, apex, offset))
        self._spotter.speech.clear()

    def _time_of(self, index: int) -> float:
        t = self._ring.timestamp(index)
        return t if t is not None else index / self.config.fps

    def _add_interval(self, interval: Any) -> None:
        event = self._new_event(interval)
        if event is not None:
            self._pending.append(event)

    def _new_event(self, interval: Any) -> Event | None:
        """The event of a spotted interval, or None for an interval across a step of the camera's exposure."""
        onset, apex, offset = int(interval.onset), int(interval.apex), int(interval.offset)
        onset_hit = self._ring.nearest_face(onset, onset, apex)
        apex_hit = self._ring.nearest_face(apex, onset, offset)
        limit = self.config.exposure_step_max
        if (limit > 0 and onset_hit is not None and apex_hit is not None
                and abs(exposure_gain(onset_hit[1], apex_hit[1]) - 1.0) > limit):
            self.stats.exposure_steps += 1
            self._notes.append(exposure_step_message(self._time_of(onset), self._time_of(apex)))
            return None
        # A movement made while talking is read against its reference frame (the exposure is judged on the
        # interval itself: a step inside it, not the light's drift over the reference's window before).
        reference = getattr(interval, "reference", None)
        if reference is not None:
            onset_hit = self._ring.nearest_face(int(reference), int(reference), apex) or onset_hit
        event = Event(
            event_id=self._next_event_id,
            onset_index=onset,
            apex_index=apex,
            offset_index=offset,
            onset_time=self._time_of(onset),
            apex_time=self._time_of(apex),
            offset_time=self._time_of(offset),
            kind=str(interval.kind),
            score=float(interval.score),
            reference_index=None if reference is None else int(reference),
            while_talking=self._spotter.while_talking(interval),
        )
        self._next_event_id += 1
        # Copy the faces now: the ring buffer moves on while the event waits for its batch.
        if onset_hit is not None and apex_hit is not None and onset_hit[0] != apex_hit[0]:
            event.onset_face, event.apex_face = self._ring.pair(onset_hit[0], apex_hit[0])
        self.stats.events += 1
        return event

    def _recognise_pending(self, force: bool) -> list[Event]:
        if not self._pending or (not force and len(self._pending) < max(1, self.config.recognition_batch)):
            return []
        events, self._pending = self._pending, []
        t0 = time.perf_counter()
        ready = [e for e in events if e.onset_face is not None and e.apex_face is not None]
        recognitions: list[Any] = [None] * len(ready)
        if self.recognizer is not None and ready:
            try:
                recognitions = list(self.recognizer.recognize([(e.onset_face, e.apex_face) for e in ready]))
                self.stats.recognition_batches += 1
            except (RuntimeError, ValueError, MemoryError) as err:
                text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                self.recognition_error = RecognitionError(f"recognition failed: {text}", is_out_of_memory(err))
                recognitions = [None] * len(ready)
        for event, rec in zip(ready, recognitions):
            measure_event(event, rec)
            self.stats.recognised += rec is not None
        self.stats.seconds["recognition"] += time.perf_counter() - t0
        return events


def measure_event(event: Event, recognition: Any | None) -> None:
    """Fill an event from the recogniser's verdict on its pair (label, probabilities, displacement, the
    registered apex, head motion) or, without one, from optical flow on the registered pair; then its
    motion per AU region. Spotted events and clip-mode events are measured alike."""
    if recognition is not None:
        event.label = str(recognition.label)
        event.probabilities = {str(k): float(v) for k, v in recognition.probabilities.items()}
        disp = recognition.displacement
        registered = getattr(recognition, "registered_apex", None)
        if registered is not None:
            event.apex_face = registered
        event.head_motion = dict(getattr(recognition, "head_motion", None) or {})
    else:
        disp, event.apex_face, event.head_motion = flow_displacement(event.onset_face, event.apex_face)
    event.displacement = np.asarray(disp, dtype=np.float32)
    event.region_magnitude = region_magnitudes(event.displacement)
