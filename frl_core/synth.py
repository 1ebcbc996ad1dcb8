"""Synthetic face videos with known micro-expressions, for tests, the benchmark and the demo.

A real face photo (the public-domain NASA astronaut portrait in ``assets/faces/``) is rendered at a
given frame rate as a 640x480 video with what makes spotting hard on live input: small head motion
(translation, in-plane rotation, scale), sensor noise and eye blinks. Facial action units are smooth
local warps around the photo's own 68 landmarks (Gaussian displacement fields), ramped with a raised
cosine from onset to apex and back to offset, so every event's onset, apex and offset frame and its
label are known exactly.

Command line: ``python -m frl_core.synth demo [--out assets/demo]`` regenerates the shipped demo video
and its ground truth; ``python -m frl_core.synth bench`` measures the spotter on a batch of generated
sequences (interval F1 by the MEGC metric and apex error).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from frl_core.paths import ASSETS_DIR

DEFAULT_FACE = ASSETS_DIR / "faces" / "astronaut.jpg"
DEMO_DIR = ASSETS_DIR / "demo"

# Action units as landmark displacements: (landmark index, direction (x, y) in the image, weight).
# Directions are in image axes (y down); the subject's right side is the image left.
ACTION_UNITS: dict[str, tuple[tuple[int, tuple[float, float], float], ...]] = {
    "AU1": tuple((i, (0.0, -1.0), 1.0) for i in (20, 21, 22, 23)),  # inner brow raiser
    "AU2": tuple((i, (0.0, -1.0), 1.0) for i in (17, 18, 19, 24, 25, 26)),  # outer brow raiser
    "AU4": ((19, (0.3, 0.7), 0.8), (20, (0.5, 0.8), 1.0), (21, (0.6, 0.8), 1.0),
            (22, (-0.6, 0.8), 1.0), (23, (-0.5, 0.8), 1.0), (24, (-0.3, 0.7), 0.8)),  # brow lowerer
    "AU9": ((31, (0.0, -1.0), 0.8), (35, (0.0, -1.0), 0.8), (27, (0.0, 0.6), 0.5)),  # nose wrinkler
    "AU12": ((48, (-0.7, -0.7), 1.0), (54, (0.7, -0.7), 1.0), (49, (-0.3, -0.4), 0.5),
             (53, (0.3, -0.4), 0.5)),  # lip corner puller (smile)
    "AU14": ((48, (-1.0, 0.0), 1.0), (54, (1.0, 0.0), 1.0)),  # dimpler
    "AU15": ((48, (-0.2, 1.0), 1.0), (54, (0.2, 1.0), 1.0), (59, (0.0, 0.6), 0.5),
             (55, (0.0, 0.6), 0.5)),  # lip corner depressor
    "AU17": ((57, (0.0, -1.0), 0.7), (8, (0.0, -1.0), 1.0), (7, (0.0, -0.8), 0.7),
             (9, (0.0, -0.8), 0.7)),  # chin raiser
}

EXPRESSIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "smile": (("AU12",), "positive"),
    "brow_raise": (("AU1", "AU2"), "surprise"),
    "brow_lower": (("AU4",), "negative"),
    "lip_corner_depressor": (("AU15",), "negative"),
    "disgust": (("AU9", "AU4"), "negative"),
    "chin_raise": (("AU17", "AU15"), "negative"),
}
"""Named movements: their action units and their MEGC2019 3-class label."""


class SynthError(ValueError):
    """Bad generator input (no face in the photo, events outside the video)."""


@dataclass
class SyntheticEvent:
    """One movement with exact frame indices (onset and offset frames are the neutral ends)."""

    onset: int
    apex: int
    offset: int
    expression: str
    amplitude: float = 2.5
    """Peak displacement of the moving landmarks, in pixels of the source frame."""
    label: str = ""
    action_units: tuple[str, ...] = ()
    kind: str = "micro"

    def __post_init__(self) -> None:
        if self.expression not in EXPRESSIONS:
            raise SynthError(f"unknown expression {self.expression!r}; choose from {sorted(EXPRESSIONS)}")
        if not (self.onset < self.apex < self.offset):
            raise SynthError(f"need onset < apex < offset, got {self.onset}, {self.apex}, {self.offset}")
        aus, label = EXPRESSIONS[self.expression]
        self.action_units = self.action_units or aus
        self.label = self.label or label

    def intensity(self, frame: int) -> float:
        """Raised-cosine ramp: 0 at onset, 1 at apex, 0 at offset."""
        if frame <= self.onset or frame >= self.offset:
            return 0.0
        if frame <= self.apex:
            return 0.5 * (1.0 - math.cos(math.pi * (frame - self.onset) / (self.apex - self.onset)))
        return 0.5 * (1.0 + math.cos(math.pi * (frame - self.apex) / (self.offset - self.apex)))


@dataclass
class Blink:
    """An eye blink: both lids close and reopen between frames ``start`` and ``end``."""

    start: int
    end: int

    def closure(self, frame: int) -> float:
        """0 open, 1 closed."""
        if frame <= self.start or frame >= self.end:
            return 0.0
        return math.sin(math.pi * (frame - self.start) / (self.end - self.start))


@dataclass
class HeadMotion:
    """Smooth head motion: sums of sinusoids (pixels, degrees, relative scale)."""

    translation: float = 4.0
    rotation_deg: float = 1.0
    scale: float = 0.01
    periods_s: tuple[float, float] = (5.3, 2.9)
    phase: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)

    def at(self, t: float) -> tuple[float, float, float, float]:
        """Translation x, y (pixels), rotation (degrees) and scale at time ``t`` (seconds)."""
        p1, p2 = self.periods_s
        ph = self.phase

        def wave(a: float, b: float) -> float:
            return 0.6 * math.sin(2 * math.pi * t / p1 + a) + 0.4 * math.sin(2 * math.pi * t / p2 + b)

        return (self.translation * wave(ph[0], ph[1]), self.translation * wave(ph[2], ph[3]),
                self.rotation_deg * wave(ph[4], ph[5]), 1.0 + self.scale * wave(ph[1], ph[4]))


STILL = HeadMotion(translation=0.0, rotation_deg=0.0, scale=0.0)


class _Face:
    """The photo placed on the canvas, with its landmarks (found once with dlib)."""

    def __init__(self, image: np.ndarray, size: tuple[int, int], face_height: float) -> None:
        w, h = size
        ih, iw = image.shape[:2]
        scale = min(face_height * h / ih, w / iw)
        resized = cv2.resize(image, (max(1, round(iw * scale)), max(1, round(ih * scale))),
                             interpolation=cv2.INTER_CUBIC)
        rh, rw = resized.shape[:2]
        top, left = (h - rh) // 2, (w - rw) // 2
        self.canvas = cv2.copyMakeBorder(resized, top, h - rh - top, left, w - rw - left, cv2.BORDER_REPLICATE)
        self.landmarks = _landmarks(self.canvas)
        self.size = size
        eyes = self.landmarks[36:48]
        self.iod = float(np.linalg.norm(self.landmarks[42:48].mean(0) - self.landmarks[36:42].mean(0)))
        self.eye_centres = [self.landmarks[36:42].mean(0), self.landmarks[42:48].mean(0)]
        self.eye_width = float(np.ptp(eyes[:6, 0]))
        lm = self.landmarks
        self.eye_opening = float(np.mean([np.linalg.norm(lm[a] - lm[b])
                                          for a, b in ((37, 41), (38, 40), (43, 47), (44, 46))]))
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self.grid = (gx, gy)
        self._fields: dict[tuple[str, ...], np.ndarray] = {}
        self._blink: np.ndarray | None = None

    def au_field(self, aus: tuple[str, ...]) -> np.ndarray:
        """(2, H, W) displacement of a unit-amplitude movement of these action units."""
        if aus not in self._fields:
            gx, gy = self.grid
            field_ = np.zeros((2,) + gx.shape, np.float32)
            sigma = 0.22 * self.iod
            for au in aus:
                for idx, (dx, dy), weight in ACTION_UNITS[au]:
                    px, py = self.landmarks[idx]
                    g = np.exp(-((gx - px) ** 2 + (gy - py) ** 2) / (2 * sigma * sigma)).astype(np.float32)
                    norm = math.hypot(dx, dy) or 1.0
                    field_[0] += g * (weight * dx / norm)
                    field_[1] += g * (weight * dy / norm)
            peak = float(np.sqrt(field_[0] ** 2 + field_[1] ** 2).max()) or 1.0
            self._fields[aus] = field_ / peak
        return self._fields[aus]

    def blink_field(self) -> np.ndarray:
        """(2, H, W) downward motion of the upper lids at full closure, confined to the eyes.

        The lid travels the eye's opening; the skin above it follows less and less up to the crease.
        """
        if self._blink is None:
            gx, gy = self.grid
            field_ = np.zeros((2,) + gx.shape, np.float32)
            half, sy = 0.6 * self.eye_width, 0.45 * self.eye_opening
            for cx, cy in self.eye_centres:
                # Raised cosine across the eye's width (the lids stop at the corners), Gaussian up and down.
                u = np.clip((gx - cx) / half, -1.0, 1.0)
                wx = np.cos(0.5 * np.pi * u) ** 2
                g = wx * np.exp(-((gy - cy) ** 2) / (2 * sy * sy))
                field_[1] += (1.1 * self.eye_opening * g).astype(np.float32)
            self._blink = field_
        return self._blink


def _landmarks(image: np.ndarray) -> np.ndarray:
    from frl_core.faces import FaceConfig, FaceTracker

    tracker = FaceTracker(FaceConfig(detect_width=image.shape[1], smoothing=0.0))
    obs, _ = tracker.update(image)
    if obs is None:
        raise SynthError("the face photo has no face dlib can find")
    return obs.landmarks.astype(np.float32)


@dataclass
class SyntheticSequence:
    """A rendered video (frames made on demand) and its ground truth."""

    fps: float
    size: tuple[int, int]
    events: list[SyntheticEvent]
    blinks: list[Blink]
    head_motion: HeadMotion
    n_frames: int
    noise_sigma: float
    seed: int
    face_landmarks: np.ndarray
    frames: "RenderedFrames" = field(repr=False, default=None)  # type: ignore[assignment]

    def ground_truth(self) -> dict:
        """JSON-ready description: frame rate, size, events (frames, times, label, AUs), blinks."""
        return {
            "fps": self.fps,
            "width": self.size[0],
            "height": self.size[1],
            "frames": self.n_frames,
            "seed": self.seed,
            "noise_sigma": self.noise_sigma,
            "head_motion": asdict(self.head_motion),
            "events": [
                {
                    "onset": e.onset, "apex": e.apex, "offset": e.offset,
                    "onset_time": e.onset / self.fps, "apex_time": e.apex / self.fps,
                    "offset_time": e.offset / self.fps,
                    "kind": e.kind, "expression": e.expression, "label": e.label,
                    "action_units": list(e.action_units), "amplitude_px": e.amplitude,
                }
                for e in self.events
            ],
            "blinks": [{"start": b.start, "end": b.end} for b in self.blinks],
        }


class RenderedFrames(Sequence):
    """The frames of a SyntheticSequence, rendered when asked for (a long video never sits in memory)."""

    def __init__(self, face: _Face, seq: SyntheticSequence) -> None:
        self.face, self.seq = face, seq

    def __len__(self) -> int:
        return self.seq.n_frames

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._render(index)

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self._render(i)

    def _render(self, i: int) -> np.ndarray:
        face, seq = self.face, self.seq
        field_: np.ndarray | None = None
        for e in seq.events:
            a = e.intensity(i)
            if a > 0:
                part = face.au_field(e.action_units) * np.float32(a * e.amplitude)
                field_ = part if field_ is None else field_ + part
        for b in seq.blinks:
            c = b.closure(i)
            if c > 0:
                part = face.blink_field() * np.float32(c)
                field_ = part if field_ is None else field_ + part
        image = face.canvas
        if field_ is not None:
            gx, gy = face.grid
            image = cv2.remap(image, gx - field_[0], gy - field_[1], cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        tx, ty, rot, scale = seq.head_motion.at(i / seq.fps)
        if tx or ty or rot or scale != 1.0:
            cx, cy = face.landmarks[27:36].mean(0)
            m = cv2.getRotationMatrix2D((float(cx), float(cy)), rot, scale)
            m[:, 2] += (tx, ty)
            image = cv2.warpAffine(image, m, seq.size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if seq.noise_sigma > 0:
            rng = np.random.default_rng((seq.seed, i))
            noise = rng.standard_normal(image.shape[:2], dtype=np.float32) * np.float32(seq.noise_sigma)
            noisy = image.astype(np.float32) + (noise[..., None] if image.ndim == 3 else noise)
            image = np.clip(noisy, 0, 255).astype(np.uint8)
        return image


_FACE_CACHE: dict[tuple, _Face] = {}


def load_face(path: str | Path | None = None) -> np.ndarray:
    """The face photo (BGR uint8); the shipped astronaut by default."""
    path = Path(path) if path is not None else DEFAULT_FACE
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SynthError(f"cannot read face image {path}")
    return image


def render_sequence(
    face_image: np.ndarray | str | Path | None = None,
    fps: float = 30.0,
    size: tuple[int, int] = (640, 480),
    events: list[SyntheticEvent] | None = None,
    seed: int = 0,
    seconds: float | None = None,
    n_frames: int | None = None,
    blinks: list[Blink] | None = None,
    head_motion: HeadMotion | None = None,
    noise_sigma: float = 2.0,
    face_height: float = 0.9,
) -> SyntheticSequence:
    """A video of the face with these events; length from ``n_frames``, ``seconds`` or the last event."""
    if not fps > 0:
        raise SynthError(f"frame rate must be positive, got {fps}")
    if face_image is None or isinstance(face_image, (str, Path)):
        source = str(Path(face_image) if face_image is not None else DEFAULT_FACE)
        face_image = load_face(face_image)
    else:
        source = hashlib.blake2b(np.ascontiguousarray(face_image).tobytes(), digest_size=16).hexdigest()
    events = list(events or [])
    if n_frames is None:
        n_frames = int(round(seconds * fps)) if seconds is not None else (
            max((e.offset for e in events), default=0) + int(fps))
    for e in events:
        if e.offset >= n_frames:
            raise SynthError(f"event ending at frame {e.offset} does not fit in {n_frames} frames")
    key = (source, face_image.shape, tuple(size), face_height)
    face = _FACE_CACHE.get(key)
    if face is None:
        face = _Face(face_image, tuple(size), face_height)
        _FACE_CACHE.clear()
        _FACE_CACHE[key] = face
    seq = SyntheticSequence(
        fps=float(fps), size=tuple(size), events=sorted(events, key=lambda e: e.onset), blinks=list(blinks or []),
        head_motion=head_motion if head_motion is not None else HeadMotion(), n_frames=int(n_frames),
        noise_sigma=float(noise_sigma), seed=int(seed), face_landmarks=face.landmarks.copy(),
    )
    seq.frames = RenderedFrames(face, seq)
    return seq


def micro_event(onset: int, fps: float, expression: str, amplitude: float = 2.5,
                rise_s: float = 0.17, fall_s: float = 0.23) -> SyntheticEvent:
    """A micro-expression starting at ``onset``: about 0.4 s from onset to offset."""
    apex = onset + max(1, round(rise_s * fps))
    return SyntheticEvent(onset, apex, apex + max(1, round(fall_s * fps)), expression, amplitude, kind="micro")


def macro_event(onset: int, fps: float, expression: str, amplitude: float = 7.0,
                rise_s: float = 0.4, fall_s: float = 0.9) -> SyntheticEvent:
    """A macro-expression: over a second from onset to offset."""
    apex = onset + max(1, round(rise_s * fps))
    return SyntheticEvent(onset, apex, apex + max(1, round(fall_s * fps)), expression, amplitude, kind="macro")


def random_sequence(seed: int, fps: float = 30.0, seconds: float = 20.0, n_micro: int = 4, n_macro: int = 0,
                    n_blinks: int = 3, head_motion: HeadMotion | None = None,
                    size: tuple[int, int] = (640, 480)) -> SyntheticSequence:
    """Random micro (and macro) expressions, well apart, with blinks and head motion, reproducible by seed."""
    rng = np.random.default_rng(seed)
    n_frames = int(round(seconds * fps))
    kinds = ["macro"] * n_macro + ["micro"] * n_micro
    rng.shuffle(kinds)
    names = sorted(EXPRESSIONS)
    # Events start at least ``gap`` apart from the previous one's offset, so each has a neutral
    # face on both sides within the spotter's windows.
    gap = int(round(1.5 * fps))
    lengths = [int(0.6 * fps) if k == "micro" else int(1.6 * fps) for k in kinds]
    slack = n_frames - int(1.5 * fps) - int(1.0 * fps) - sum(lengths) - gap * max(0, len(kinds) - 1)
    if slack < 0:
        raise SynthError(f"{len(kinds)} events do not fit in {seconds:g} s")
    cuts = np.sort(rng.integers(0, slack + 1, len(kinds)))
    events: list[SyntheticEvent] = []
    cursor = int(1.5 * fps)
    prev_cut = 0
    for kind, length, cut in zip(kinds, lengths, cuts):
        cursor += int(cut - prev_cut)
        prev_cut = int(cut)
        expression = names[int(rng.integers(len(names)))]
        if kind == "micro":
            event = micro_event(cursor, fps, expression, amplitude=float(rng.uniform(2.0, 3.5)),
                                rise_s=float(rng.uniform(0.12, 0.2)), fall_s=float(rng.uniform(0.15, 0.25)))
        else:
            event = macro_event(cursor, fps, expression, amplitude=float(rng.uniform(5.0, 8.0)))
        events.append(event)
        cursor += length + gap
    blinks: list[Blink] = []
    margin = int(0.3 * fps)
    for _ in range(50 * n_blinks):
        if len(blinks) == n_blinks:
            break
        start = int(rng.integers(int(0.5 * fps), n_frames - int(0.5 * fps)))
        end = start + max(2, round(float(rng.uniform(0.15, 0.25)) * fps))
        busy = [(e.onset, e.offset) for e in events] + [(b.start, b.end) for b in blinks]
        if all(end + margin < lo or start - margin > hi for lo, hi in busy):
            blinks.append(Blink(start, end))
    motion = head_motion if head_motion is not None else HeadMotion(
        periods_s=(float(rng.uniform(4, 7)), float(rng.uniform(2, 4))), phase=tuple(rng.uniform(0, 6, 6)))
    return render_sequence(None, fps=fps, size=size, events=events, seed=seed, n_frames=n_frames,
                           blinks=blinks, head_motion=motion)


def demo_sequence(fps: float = 30.0, size: tuple[int, int] = (640, 480), seconds: float = 24.0,
                  seed: int = 7) -> SyntheticSequence:
    """The shipped demo: four micro-expressions, one macro-expression, blinks, gentle head motion."""
    def at(t: float) -> int:
        return int(round(t * fps))

    events = [
        micro_event(at(2.5), fps, "smile", 3.0),
        micro_event(at(6.5), fps, "brow_raise", 3.0),
        micro_event(at(10.5), fps, "brow_lower", 3.0),
        macro_event(at(14.0), fps, "smile", 7.0),
        micro_event(at(19.0), fps, "lip_corner_depressor", 3.0),
    ]
    events = [e for e in events if e.offset < at(seconds)]
    blinks = [Blink(at(t), at(t) + max(2, at(0.2))) for t in (4.6, 12.3, 17.2) if at(t) + at(0.2) < at(seconds)]
    return render_sequence(None, fps=fps, size=size, events=events, seed=seed, n_frames=at(seconds),
                           blinks=blinks, head_motion=HeadMotion(translation=3.0, rotation_deg=0.8))


def write_video(sequence: SyntheticSequence, path: str | Path) -> Path:
    """Write the frames as an mp4v video."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), sequence.fps, sequence.size)
    if not writer.isOpened():
        raise SynthError(f"cannot write video {path}")
    try:
        for frame in sequence.frames:
            writer.write(frame)
    finally:
        writer.release()
    return path


def write_demo(out_dir: str | Path = DEMO_DIR) -> tuple[Path, Path]:
    """Regenerate ``demo.mp4`` and ``demo_ground_truth.json``."""
    out_dir = Path(out_dir)
    seq = demo_sequence()
    video = write_video(seq, out_dir / "demo.mp4")
    truth = out_dir / "demo_ground_truth.json"
    gt = seq.ground_truth()
    gt["video"] = video.name
    gt["face_image"] = "assets/faces/astronaut.jpg (NASA, public domain)"
    truth.write_text(json.dumps(gt, indent=2) + "\n", encoding="utf-8")
    return video, truth


# -- measuring the spotter on generated sequences ---------------------------------------------------

@dataclass
class SpottingReport:
    sequences: int
    ground_truth: int
    spotted: int
    true_positives: int
    precision: float
    recall: float
    f1: float
    apex_errors: list[int]
    ms_per_frame: dict[str, float]
    """CPU milliseconds per frame of each stage."""
    misses: list[str] = field(default_factory=list)
    """Ground-truth events not found and spotted intervals that match nothing, for inspection."""

    @property
    def median_apex_error(self) -> float:
        return float(np.median(self.apex_errors)) if self.apex_errors else float("nan")


def spot_sequence(sequence: SyntheticSequence, face_config=None, spotter_config=None,
                  timings: dict[str, float] | None = None):
    """Run face tracking, alignment and the streaming spotter over a sequence; the intervals found."""
    import time

    from frl_core.faces import FaceTracker, align_face
    from frl_core.spotting import StreamingSpotter

    tracker = FaceTracker(face_config)
    spotter = StreamingSpotter(sequence.fps, spotter_config)
    found = []
    clock = time.thread_time  # CPU time of this thread: a shared machine's load does not inflate it
    for i, frame in enumerate(sequence.frames):
        t0 = clock()
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        obs, _ = tracker.update(gray)
        t1 = clock()
        aligned = align_face(gray, obs.landmarks, 224) if obs is not None else None
        t2 = clock()
        found.extend(spotter.push(i, i / sequence.fps, aligned).intervals)
        t3 = clock()
        if timings is not None:
            for k, dt in (("face", t1 - t0), ("align", t2 - t1), ("spotting", t3 - t2)):
                timings[k] = timings.get(k, 0.0) + dt
    found.extend(spotter.flush())
    return found


def evaluate_spotting(sequences: list[SyntheticSequence], spotter_config=None) -> SpottingReport:
    """Interval F1 (MEGC: IoU >= 0.5, pooled) and apex errors of matched events over the sequences."""
    from frl_core.spotting.megc_metric import match_intervals

    tp = n_gt = n_pred = 0
    apex_errors: list[int] = []
    misses: list[str] = []
    timings: dict[str, float] = {}
    frames = 0
    for seq in sequences:
        found = spot_sequence(seq, spotter_config=spotter_config, timings=timings)
        frames += seq.n_frames
        gt = [(e.onset, e.offset) for e in seq.events]
        pred = [(iv.onset, iv.offset) for iv in found]
        matches = match_intervals(gt, pred)
        tp += len(matches)
        n_gt += len(gt)
        n_pred += len(pred)
        for g, p in matches:
            apex_errors.append(abs(found[p].apex - seq.events[g].apex))
        hit_g, hit_p = {g for g, _ in matches}, {p for _, p in matches}
        misses += [f"seed {seq.seed}: missed {e.kind} {e.expression} {e.onset}-{e.apex}-{e.offset}"
                   for g, e in enumerate(seq.events) if g not in hit_g]
        misses += [f"seed {seq.seed}: false {iv.kind} {iv.onset}-{iv.apex}-{iv.offset} score {iv.score:.2f}"
                   for p, iv in enumerate(found) if p not in hit_p]
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gt if n_gt else 0.0
    f1 = 2 * tp / (n_pred + n_gt) if (n_pred + n_gt) else 1.0
    ms = {k: 1000.0 * v / max(frames, 1) for k, v in timings.items()}
    return SpottingReport(len(sequences), n_gt, n_pred, tp, precision, recall, f1, apex_errors, ms, misses)


def measure_costs(frames: int = 300, repeats: int = 30) -> dict[str, tuple[float, float]]:
    """Milliseconds per call (wall, CPU) of each face/spotting stage on the 640x480 demo sequence.

    CPU time is reported beside wall time because on a shared machine the wall clock also counts
    other processes' turns.
    """
    import time

    import dlib

    from frl_core.faces import FaceTracker, _models, align_face
    from frl_core.spotting import StreamingSpotter

    seq = demo_sequence()
    grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in seq.frames[:frames]]
    detector, predictor = _models("dlib")
    _, compiled = _models("compiled")

    def timed(fn, n: int) -> tuple[float, float]:
        fn()
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        return (1000 * (time.perf_counter() - w0) / n, 1000 * (time.process_time() - c0) / n)

    g = grays[0]
    small = cv2.resize(g, (320, 240), interpolation=cv2.INTER_AREA)
    r = detector(small, 0)[0]
    rect = dlib.rectangle(r.left() * 2, r.top() * 2, r.right() * 2, r.bottom() * 2)
    out = {
        "detect (320x240 copy, no upsampling)": timed(
            lambda: detector(cv2.resize(g, (320, 240), interpolation=cv2.INTER_AREA), 0), repeats),
        "detect (320x240 copy, 1 upsampling: only while no face)": timed(lambda: detector(small, 1), repeats // 3),
        "detect (full 640x480, for comparison)": timed(lambda: detector(g, 0), repeats // 3),
        "landmarks (dlib's 68-point predictor)": timed(lambda: predictor(g, rect), 10 * repeats),
        "landmarks (the same model, compiled: frl_core.landmarks)": timed(
            lambda: compiled.predict(g, (rect.left(), rect.top(), rect.right(), rect.bottom())), 10 * repeats),
    }
    tracker = FaceTracker()
    obs = tracker.update(g)[0]
    out["align_face (224)"] = timed(lambda: align_face(g, obs.landmarks, 224), 10 * repeats)

    def track_all() -> list:
        tracker.reset()
        return [tracker.update(f)[0] for f in grays]

    w, c = timed(track_all, 1)
    out["FaceTracker.update per frame (detect every 30, track between)"] = (w / len(grays), c / len(grays))
    observations = track_all()
    aligned = [align_face(f, o.landmarks, 224) for f, o in zip(grays, observations)]

    def spot_all() -> None:
        spotter = StreamingSpotter(seq.fps)
        for i, a in enumerate(aligned):
            spotter.push(i, i / seq.fps, a)

    w, c = timed(spot_all, 1)
    out["StreamingSpotter.push per frame"] = (w / len(aligned), c / len(aligned))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frl_core.synth", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="regenerate assets/demo/demo.mp4 and its ground truth")
    demo.add_argument("--out", type=Path, default=DEMO_DIR)
    bench = sub.add_parser("bench", help="spotting F1 and apex error on generated sequences")
    bench.add_argument("--sequences", type=int, default=10)
    bench.add_argument("--seconds", type=float, default=20.0)
    bench.add_argument("--fps", type=float, default=30.0)
    bench.add_argument("--seed", type=int, default=100)
    bench.add_argument("--macro", type=int, default=0, help="macro-expressions per sequence")
    sub.add_parser("cost", help="milliseconds per frame of each face and spotting stage at 640x480")
    args = parser.parse_args(argv)
    try:
        if args.command == "cost":
            for name, (wall, cpu) in measure_costs().items():
                print(f"{name:66s} {wall:7.2f} ms wall {cpu:7.2f} ms CPU")
            return 0
        if args.command == "demo":
            video, truth = write_demo(args.out)
            print(f"wrote {video} and {truth}")
            return 0
        if args.sequences < 1 or not args.seconds > 0 or not args.fps > 0:
            raise SynthError("--sequences must be at least 1, --seconds and --fps positive")
        seqs = [random_sequence(args.seed + k, fps=args.fps, seconds=args.seconds, n_macro=args.macro)
                for k in range(args.sequences)]
        rep = evaluate_spotting(seqs)
    except SynthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{rep.sequences} sequences at {args.fps:g} fps: {rep.ground_truth} events, {rep.spotted} spotted, "
          f"{rep.true_positives} true positives")
    print(f"precision {rep.precision:.3f}  recall {rep.recall:.3f}  F1 {rep.f1:.3f}  "
          f"median apex error {rep.median_apex_error:.1f} frames")
    print("CPU ms per frame: " + ", ".join(f"{k} {v:.2f}" for k, v in rep.ms_per_frame.items()))
    for line in rep.misses:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
