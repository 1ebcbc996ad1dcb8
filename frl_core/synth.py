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

from frl_core.action_units import ACTION_UNITS, EXPRESSIONS, au_field
from frl_core.paths import ASSETS_DIR

DEFAULT_FACE = ASSETS_DIR / "faces" / "astronaut.jpg"
DEMO_DIR = ASSETS_DIR / "demo"

SPOTTING_EXPRESSIONS: tuple[str, ...] = ("brow_lower", "brow_raise", "chin_raise", "disgust",
                                          "lip_corner_depressor", "smile")
"""What the spotting benchmark's random sequences draw from: fixed, so its seeded sets stay the same
sequences as expressions are added."""


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


@dataclass
class Lighting:
    """Slow lighting change: overall gain and a left-right gradient, varying as sinusoids (fractions of
    the image's brightness)."""

    gain: float = 0.0
    gradient: float = 0.0
    period_s: float = 7.0
    phase: float = 0.0

    def at(self, t: float) -> tuple[float, float]:
        w = 2 * math.pi * t / self.period_s + self.phase
        return 1.0 + self.gain * math.sin(w), self.gradient * math.sin(0.7 * w + 1.0)

    @property
    def active(self) -> bool:
        return bool(self.gain or self.gradient)


class _Face:
    """The photo placed on the canvas, with its landmarks (found once with dlib)."""

    def __init__(self, image: np.ndarray, size: tuple[int, int], face_height: float,
                 background: str = "replicate") -> None:
        w, h = size
        ih, iw = image.shape[:2]
        scale = min(face_height * h / ih, w / iw)
        resized = cv2.resize(image, (max(1, round(iw * scale)), max(1, round(ih * scale))),
                             interpolation=cv2.INTER_CUBIC)
        rh, rw = resized.shape[:2]
        top, left = (h - rh) // 2, (w - rw) // 2
        pad = (top, h - rh - top, left, w - rw - left)
        self.canvas = cv2.copyMakeBorder(resized, *pad, cv2.BORDER_REPLICATE)
        if background == "soft":
            # a tight face crop in front of a blurred mirror of itself, its edges feathered: no streaks
            back = cv2.GaussianBlur(cv2.copyMakeBorder(resized, *pad, cv2.BORDER_REFLECT101), (0, 0), 0.04 * h)
            alpha = np.zeros((h, w), np.float32)
            alpha[top:top + rh, left:left + rw] = 1.0
            alpha = cv2.GaussianBlur(alpha, (0, 0), 0.02 * rh)
            alpha = (alpha[..., None] if image.ndim == 3 else alpha)
            self.canvas = (alpha * self.canvas + (1 - alpha) * back * 0.8).astype(np.uint8)
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
            w, h = self.size
            self._fields[aus] = au_field(self.landmarks, aus, h, w)
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
    lighting: Lighting = field(default_factory=Lighting)

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
            "lighting": asdict(self.lighting),
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
        if seq.lighting.active:
            gain, gradient = seq.lighting.at(i / seq.fps)
            ramp = (face.grid[0][0] / max(seq.size[0] - 1, 1) - 0.5) * np.float32(2 * gradient) + np.float32(gain)
            lit = image.astype(np.float32) * (ramp[None, :, None] if image.ndim == 3 else ramp[None, :])
            image = np.clip(lit, 0, 255).astype(np.uint8)
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
    lighting: Lighting | None = None,
    background: str = "replicate",
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
    key = (source, face_image.shape, tuple(size), face_height, background)
    face = _FACE_CACHE.get(key)
    if face is None:
        face = _Face(face_image, tuple(size), face_height, background)
        _FACE_CACHE.clear()
        _FACE_CACHE[key] = face
    seq = SyntheticSequence(
        fps=float(fps), size=tuple(size), events=sorted(events, key=lambda e: e.onset), blinks=list(blinks or []),
        head_motion=head_motion if head_motion is not None else HeadMotion(), n_frames=int(n_frames),
        noise_sigma=float(noise_sigma), seed=int(seed), face_landmarks=face.landmarks.copy(),
        lighting=lighting if lighting is not None else Lighting(),
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
    names = list(SPOTTING_EXPRESSIONS)
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


# -- the labelled real-face benchmark: spotting and recognition on encoded video ----------------------

LABELLED_EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "positive": ("smile",),
    "surprise": ("brow_raise", "surprise"),
    "negative": ("brow_lower", "lip_corner_depressor", "dimpler", "chin_raise", "disgust"),
}
"""The expressions the labelled benchmark draws from, per MEGC2019 class (classes in turn, so balanced)."""


def benchmark_faces(data_root: Path | None = None, count: int = 5) -> list[tuple[str, np.ndarray]]:
    """(name, BGR image) of the faces the labelled benchmark renders: the bundled astronaut, then up to
    ``count`` - 1 real faces from the MEGC2019 composite's subjects that the DGM never trained on (read
    from the research data when it is there, never copied)."""
    faces = [("astronaut", load_face(None))]
    if data_root is None or count <= 1:
        return faces
    labels = Path(data_root) / "megc2019" / "labels.csv"
    if not labels.is_file():
        return faces
    import csv

    from frl_core.training.dgm_train import held_out_subjects

    rows = list(csv.DictReader(labels.open()))
    subjects = [f"{r['dataset']}/{r['subject']}" for r in rows]
    held = held_out_subjects(subjects, 5)
    seen: set[str] = set()
    by_dataset: dict[str, list[dict]] = {}
    for r, subject in zip(rows, subjects):
        if subject in held and subject not in seen:
            seen.add(subject)
            by_dataset.setdefault(r["dataset"], []).append(r)
    order = [r for group in zip(*by_dataset.values()) for r in group]  # datasets in turn
    for r in order:
        if len(faces) >= count:
            break
        image = cv2.imread(str(Path(data_root) / "megc2019" / r["apex"]), cv2.IMREAD_COLOR)
        if image is None:
            continue
        try:  # a face dlib cannot find on the canvas cannot carry a benchmark sequence
            render_sequence(image, n_frames=1, face_height=0.55, head_motion=STILL, background="soft")
        except SynthError:
            continue
        faces.append((f"{r['dataset']}/{r['subject']}", image))
    return faces


def labelled_sequence(face_image: np.ndarray, seed: int, fps: float = 30.0, seconds: float = 20.0,
                      n_events: int = 4, amplitude_px: tuple[float, float] = (0.5, 3.0),
                      face_height: float = 0.55) -> SyntheticSequence:
    """Micro-expressions whose MEGC2019 class is known (the classes in turn from a random start), on a
    face that drifts, rolls and is lit unevenly, with blinks and noise. Amplitudes are drawn uniformly in
    ``amplitude_px``, in pixels of the 224-pixel aligned face (what every displacement figure uses)."""
    from frl_core.faces import alignment_matrix

    rng = np.random.default_rng(seed)
    n_frames = int(round(seconds * fps))
    probe = render_sequence(face_image, fps=fps, n_frames=1, face_height=face_height, head_motion=STILL,
                            background="soft")
    m = alignment_matrix(probe.face_landmarks, 224)
    px_per_aligned = 1.0 / math.sqrt(abs(np.linalg.det(m[:, :2])))
    classes = list(LABELLED_EXPRESSIONS)
    start = int(rng.integers(len(classes)))
    gap = int(round(1.2 * fps))
    length = int(round(0.6 * fps))
    slack = n_frames - int(1.2 * fps) - int(1.0 * fps) - n_events * length - gap * max(0, n_events - 1)
    if slack < 0:
        raise SynthError(f"{n_events} events do not fit in {seconds:g} s")
    cuts = np.sort(rng.integers(0, slack + 1, n_events))
    events, cursor, prev = [], int(1.2 * fps), 0
    for k, cut in enumerate(cuts):
        cursor += int(cut - prev)
        prev = int(cut)
        options = LABELLED_EXPRESSIONS[classes[(start + k) % len(classes)]]
        expression = options[int(rng.integers(len(options)))]
        amplitude = float(rng.uniform(*amplitude_px)) * px_per_aligned
        events.append(micro_event(cursor, fps, expression, amplitude, rise_s=float(rng.uniform(0.12, 0.2)),
                                  fall_s=float(rng.uniform(0.15, 0.25))))
        cursor += length + gap
    blinks: list[Blink] = []
    for _ in range(200):
        if len(blinks) == 2:
            break
        b0 = int(rng.integers(int(0.5 * fps), n_frames - int(0.5 * fps)))
        b1 = b0 + max(2, round(0.2 * fps))
        busy = [(e.onset, e.offset) for e in events] + [(b.start, b.end) for b in blinks]
        if all(b1 + int(0.3 * fps) < lo or b0 - int(0.3 * fps) > hi for lo, hi in busy):
            blinks.append(Blink(b0, b1))
    motion = HeadMotion(translation=float(rng.uniform(2.0, 4.0)), rotation_deg=float(rng.uniform(0.5, 1.5)),
                        periods_s=(float(rng.uniform(4, 7)), float(rng.uniform(2, 4))),
                        phase=tuple(rng.uniform(0, 6, 6)))
    lighting = Lighting(gain=float(rng.uniform(0.03, 0.08)), gradient=float(rng.uniform(0.02, 0.06)),
                        period_s=float(rng.uniform(6, 10)), phase=float(rng.uniform(0, 6)))
    return render_sequence(face_image, fps=fps, events=events, seed=seed, n_frames=n_frames, blinks=blinks,
                           head_motion=motion, noise_sigma=float(rng.uniform(1.5, 3.0)),
                           face_height=face_height, lighting=lighting, background="soft")


def encode_video(sequence: SyntheticSequence, path: str | Path, codec: str = "mp4v") -> Path:
    """Write the frames encoded as the product sees video: ``mp4v`` (OpenCV) or ``h264`` (ffmpeg's libx264
    at its default quality, when ffmpeg is installed)."""
    import shutil
    import subprocess

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if codec == "mp4v":
        return write_video(sequence, path)
    if codec != "h264":
        raise SynthError(f"unknown codec {codec!r}: use mp4v or h264")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SynthError("H.264 needs ffmpeg on the PATH")
    w, h = sequence.size
    cmd = [ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}",
           "-r", f"{sequence.fps:g}", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    try:
        for frame in sequence.frames:
            proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    finally:
        proc.stdin.close()
        proc.wait()
    if proc.returncode != 0:
        raise SynthError(f"ffmpeg failed with exit code {proc.returncode}")
    return path


@dataclass
class RecognitionReport:
    """Spotting and recognition of labelled movements on encoded video."""

    codec: str
    sequences: int
    ground_truth: int
    spotted: int
    true_positives: int
    f1: float
    apex_errors: list[int]
    label_correct: int
    label_uncertain: int
    region_correct: int
    by_class: dict[str, list[int]]
    """class -> [matched, labelled right]."""
    by_amplitude: dict[str, list[int]]
    """amplitude bin (px of the aligned face) -> [events, spotted, labelled right]."""
    lines: list[str] = field(default_factory=list)
    truth_pairs: int = 0
    """Events recognised from their true onset and apex frames (recognition alone, spotting aside)."""
    truth_label_correct: int = 0
    truth_uncertain: int = 0
    truth_region_correct: int = 0
    truth_by_class: dict[str, list[int]] = field(default_factory=dict)

    @property
    def label_accuracy(self) -> float:
        return self.label_correct / self.true_positives if self.true_positives else float("nan")

    @property
    def region_accuracy(self) -> float:
        return self.region_correct / self.true_positives if self.true_positives else float("nan")

    @property
    def truth_label_accuracy(self) -> float:
        return self.truth_label_correct / self.truth_pairs if self.truth_pairs else float("nan")

    @property
    def truth_region_accuracy(self) -> float:
        return self.truth_region_correct / self.truth_pairs if self.truth_pairs else float("nan")


def evaluate_recognition(sequences: list[tuple[str, SyntheticSequence]], codec: str, work_dir: Path,
                         weights: str | Path | None = None, device: str = "cpu") -> RecognitionReport:
    """Encode each sequence, analyse the file with the engine (spotting and the live path), and score:
    interval F1 (MEGC IoU >= 0.5), apex error, label accuracy ("uncertain" counts as not right), and
    whether the AU region that moved most in the event's displacement holds one of its action units."""
    from frl_core.action_units import regions_of
    from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
    from frl_core.faces import alignment_matrix
    from frl_core.sources import open_source
    from frl_core.spotting.megc_metric import match_intervals

    from frl_core.viz import region_magnitudes

    engine = None
    tp = n_gt = n_pred = label_ok = uncertain = region_ok = 0
    truth = {"pairs": 0, "right": 0, "uncertain": 0, "region": 0}
    truth_by_class: dict[str, list[int]] = {}
    apex_errors: list[int] = []
    by_class: dict[str, list[int]] = {}
    by_amp: dict[str, list[int]] = {}
    lines: list[str] = []
    for name, seq in sequences:
        path = encode_video(seq, Path(work_dir) / f"{name.replace('/', '_')}_{seq.seed}.{'mp4' if codec == 'mp4v' else 'mkv'}",
                            codec)
        if engine is None:
            engine = AnalysisEngine(EngineConfig(fps=seq.fps, weights=weights, device=device, keep_aligned=True))
        else:
            engine.reset()
        wanted = {i for e in seq.events for i in (e.onset, e.apex)}
        kept: dict[int, np.ndarray] = {}

        def keep(_frame, result, _events, kept=kept, wanted=wanted) -> None:
            if result.index in wanted and result.aligned_face is not None:
                kept[result.index] = result.aligned_face

        source = open_source(str(path))
        try:
            found = analyse_source(source, engine, on_frame=keep)
        finally:
            source.close()
        truth_events = [e for e in seq.events if e.onset in kept and e.apex in kept]
        recognitions = engine.recognizer.recognize([(kept[e.onset], kept[e.apex]) for e in truth_events]) \
            if engine.recognizer is not None and truth_events else []
        for e, rec in zip(truth_events, recognitions):
            truth["pairs"] += 1
            truth["right"] += rec.label == e.label
            truth["uncertain"] += rec.label == "uncertain"
            mags = region_magnitudes(rec.displacement)
            truth["region"] += max(mags, key=mags.get) in regions_of(e.action_units)
            row = truth_by_class.setdefault(e.label, [0, 0])
            row[0] += 1
            row[1] += rec.label == e.label
        m = alignment_matrix(seq.face_landmarks, 224)
        aligned_per_px = math.sqrt(abs(np.linalg.det(m[:, :2])))
        gt = [(e.onset, e.offset) for e in seq.events]
        pred = [(e.onset_index, e.offset_index) for e in found]
        matches = dict(match_intervals(gt, pred))
        n_gt += len(gt)
        n_pred += len(pred)
        for g, e in enumerate(seq.events):
            amp = e.amplitude * aligned_per_px
            key = f"{math.floor(amp * 2) / 2:.1f}-{math.floor(amp * 2) / 2 + 0.5:.1f}"
            row = by_amp.setdefault(key, [0, 0, 0])
            row[0] += 1
            cls = by_class.setdefault(e.label, [0, 0])
            if g not in matches:
                lines.append(f"{name} seed {seq.seed}: missed {e.expression} ({amp:.2f} px) {e.onset}-{e.apex}-{e.offset}")
                continue
            ev = found[matches[g]]
            tp += 1
            row[1] += 1
            cls[0] += 1
            apex_errors.append(abs(ev.apex_index - e.apex))
            right = ev.label == e.label
            label_ok += right
            row[2] += right
            cls[1] += right
            uncertain += ev.label == "uncertain"
            regions = regions_of(e.action_units)
            strongest = max(ev.region_magnitude, key=ev.region_magnitude.get) if ev.region_magnitude else None
            region_ok += strongest in regions
            if not right or strongest not in regions:
                lines.append(f"{name} seed {seq.seed}: {e.expression} ({amp:.2f} px) -> {ev.label_text()}, "
                             f"strongest region {strongest}")
        lines += [f"{name} seed {seq.seed}: false {e.kind} {e.onset_index}-{e.apex_index}-{e.offset_index}"
                  for p, e in enumerate(found) if p not in set(matches.values())]
    f1 = 2 * tp / (n_gt + n_pred) if (n_gt + n_pred) else 1.0
    return RecognitionReport(codec, len(sequences), n_gt, n_pred, tp, f1, apex_errors, label_ok, uncertain,
                             region_ok, by_class, dict(sorted(by_amp.items())), lines, truth["pairs"],
                             truth["right"], truth["uncertain"], truth["region"], truth_by_class)


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
    bench.add_argument("--labelled", action="store_true",
                       help="the labelled real-face benchmark: AU movements of known class on several faces, "
                            "encoded, analysed with recognition (spotting, labels, strongest AU region)")
    bench.add_argument("--faces", type=int, default=5, help="--labelled: how many faces (astronaut + composite)")
    bench.add_argument("--codec", choices=["mp4v", "h264", "both"], default="both",
                       help="--labelled: encoding (h264 needs ffmpeg; 'both' skips it without)")
    bench.add_argument("--weights", default=None, help="--labelled: checkpoint (default: the shipped one)")
    bench.add_argument("--events", type=int, default=4, help="--labelled: events per sequence")
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
        if args.labelled:
            return _labelled_bench(args)
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


def _labelled_bench(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from frl_core.engine import EngineError
    from frl_core.paths import default_data_root

    faces = benchmark_faces(default_data_root(), args.faces)
    codecs = ["mp4v", "h264"] if args.codec == "both" else [args.codec]
    if args.codec == "both" and shutil.which("ffmpeg") is None:
        codecs = ["mp4v"]
        print("ffmpeg not found: H.264 skipped")
    per_face = max(1, args.sequences // len(faces))
    seqs = [(name, labelled_sequence(img, args.seed + 1000 * f + k, fps=args.fps, seconds=args.seconds,
                                     n_events=args.events, face_height=0.9 if name == "astronaut" else 0.55))
            for f, (name, img) in enumerate(faces) for k in range(per_face)]
    print(f"{len(seqs)} sequences ({len(faces)} faces: {', '.join(n for n, _ in faces)}), "
          f"{sum(len(s.events) for _, s in seqs)} labelled micro-expressions, amplitudes 0.5-3 px of the aligned face")
    with tempfile.TemporaryDirectory() as tmp:
        for codec in codecs:
            try:
                rep = evaluate_recognition(seqs, codec, Path(tmp), weights=args.weights)
            except EngineError as err:
                print(f"error: {err}", file=sys.stderr)
                return 4
            errs = rep.apex_errors
            print(f"[{codec}] spotting: {rep.ground_truth} events, {rep.spotted} spotted, {rep.true_positives} "
                  f"true positives, F1 {rep.f1:.3f}, median apex error {np.median(errs) if errs else float('nan'):.1f} frames")
            print(f"[{codec}] recognition of the spotted: label accuracy {rep.label_accuracy:.3f} "
                  f"({rep.label_correct}/{rep.true_positives}; {rep.label_uncertain} uncertain), strongest AU region "
                  f"right {rep.region_accuracy:.3f}")
            print(f"[{codec}] by class (spotted, right): " + ", ".join(f"{c} {v[0]}/{v[1]}" for c, v in rep.by_class.items()))
            print(f"[{codec}] recognition from the true onset and apex frames: label accuracy "
                  f"{rep.truth_label_accuracy:.3f} ({rep.truth_label_correct}/{rep.truth_pairs}; {rep.truth_uncertain} "
                  f"uncertain), strongest AU region right {rep.truth_region_accuracy:.3f}; by class (events, right): "
                  + ", ".join(f"{c} {v[0]}/{v[1]}" for c, v in rep.truth_by_class.items()))
            print(f"[{codec}] by amplitude px (events, spotted, right): "
                  + ", ".join(f"{k} {v[0]}/{v[1]}/{v[2]}" for k, v in rep.by_amplitude.items()))
            for line in rep.lines:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
