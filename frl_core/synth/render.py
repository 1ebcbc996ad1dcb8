"""Synthetic face videos with known micro-expressions, for tests, the benchmark and the demo.

A real face photo (the public-domain NASA astronaut portrait in ``assets/faces/``) is rendered at a
given frame rate as a 640x480 video with what makes spotting hard on live input: small head motion
(translation, in-plane rotation, scale), sensor noise and eye blinks. Facial action units are smooth
local warps around the photo's own 68 landmarks (Gaussian displacement fields), ramped with a raised
cosine from onset to apex and back to offset, so every event's onset, apex and offset frame and its
label are known exactly.

``python main.py synth demo`` regenerates the shipped demo video and its ground truth;
``python main.py synth bench`` measures the spotter on generated sequences (:mod:`frl_core.benchmarks.generated`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from frl_core.faces.action_units import EXPRESSIONS, MovementShape
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
    shape: MovementShape | None = None
    """How the movement's field departs from the textbook one (None: textbook)."""

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
    turn_deg: tuple[float, float] = (0.0, 0.0)
    """Largest turn in depth about the vertical (yaw) and horizontal (pitch) axis, degrees: rendered as the
    parallax of the face's depth (:meth:`turn_at`)."""
    turn_periods_s: tuple[float, float] = (4.7, 6.1)
    depth_scale: float = 1.0
    """This person's depths as a multiple of the generic face's (``faces.head_pose.GENERIC_FACE_3D``)."""

    def at(self, t: float) -> tuple[float, float, float, float]:
        """Translation x, y (pixels), rotation (degrees) and scale at time ``t`` (seconds)."""
        p1, p2 = self.periods_s
        ph = self.phase

        def wave(a: float, b: float) -> float:
            return 0.6 * math.sin(2 * math.pi * t / p1 + a) + 0.4 * math.sin(2 * math.pi * t / p2 + b)

        return (self.translation * wave(ph[0], ph[1]), self.translation * wave(ph[2], ph[3]),
                self.rotation_deg * wave(ph[4], ph[5]), 1.0 + self.scale * wave(ph[1], ph[4]))

    def turn_at(self, t: float) -> tuple[float, float]:
        """Yaw and pitch (degrees, ``faces.head_pose``'s signs) at time ``t``: one sinusoid each."""
        (yaw, pitch), (p1, p2), ph = self.turn_deg, self.turn_periods_s, self.phase
        return (yaw * math.sin(2 * math.pi * t / p1 + ph[3]), pitch * math.sin(2 * math.pi * t / p2 + ph[0]))

    @property
    def turns(self) -> bool:
        return any(self.turn_deg)


STILL = HeadMotion(translation=0.0, rotation_deg=0.0, scale=0.0)


@dataclass
class Lighting:
    """Slow lighting change: overall gain and a left-right gradient, varying as sinusoids (fractions of
    the image's brightness)."""

    gain: float = 0.0
    gradient: float = 0.0
    period_s: float = 7.0
    phase: float = 0.0
    exposure_steps: tuple[tuple[float, float], ...] = ()
    """A camera's automatic exposure: (start in seconds, the gain it settles at), in time order; each step
    ramps linearly from the gain before it over ``exposure_ramp_s``."""
    exposure_ramp_s: float = 0.13

    def exposure_at(self, t: float) -> float:
        level = 1.0
        for start, target in self.exposure_steps:
            if t <= start:
                break
            done = min(1.0, (t - start) / self.exposure_ramp_s) if self.exposure_ramp_s > 0 else 1.0
            level += (target - level) * done
        return level

    def at(self, t: float) -> tuple[float, float]:
        w = 2 * math.pi * t / self.period_s + self.phase
        gain = 1.0 + self.gain * math.sin(w)
        if self.exposure_steps:
            gain *= self.exposure_at(t)
        return gain, self.gradient * math.sin(0.7 * w + 1.0)

    @property
    def active(self) -> bool:
        return bool(self.gain or self.gradient or self.exposure_steps)


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
            # a tight face crop in front of a blurred mirror of itself, its edges feathered: no streaks. The
            # mirror fills a 4:3 frame at most; a wider one continues its side edges, or the mirror would show
            # whole copies of the face beside it, which the detector finds.
            bw = min(w, max(rw, round(h * 4 / 3)))
            bleft = min(left, (w - bw) // 2)
            back = cv2.GaussianBlur(cv2.copyMakeBorder(resized, top, h - rh - top, left - bleft, bw - rw - left + bleft,
                                                       cv2.BORDER_REFLECT101), (0, 0), 0.04 * h)
            back = cv2.copyMakeBorder(back, 0, 0, bleft, w - bw - bleft, cv2.BORDER_REPLICATE)
            alpha = np.zeros((h, w), np.float32)
            alpha[top:top + rh, left:left + rw] = 1.0
            alpha = cv2.GaussianBlur(alpha, (0, 0), 0.02 * rh)
            alpha = (alpha[..., None] if image.ndim == 3 else alpha)
            self.canvas = (alpha * self.canvas + (1 - alpha) * back * 0.8).astype(np.uint8)
        elif background == "studio":
            # a plain backdrop, one colour per row taken from the photo's side edges and smoothed, with the
            # photo's edges feathered into it: no streaks, no mirrored ghosts
            edges = np.concatenate([resized[:, :max(1, rw // 40)], resized[:, -max(1, rw // 40):]], axis=1)
            rows = np.median(edges, axis=1).astype(np.float32)
            rows = cv2.GaussianBlur(rows.reshape(rh, 1, -1), (1, 0), sigmaX=0.1, sigmaY=0.05 * rh).reshape(rh, -1)
            column = cv2.copyMakeBorder(rows.reshape(rh, 1, -1), pad[0], pad[1], 0, 0, cv2.BORDER_REPLICATE)
            back = np.repeat(column.reshape(h, 1, -1), w, axis=1)
            alpha = np.zeros((h, w), np.float32)
            alpha[top:top + rh, left:left + rw] = 1.0
            alpha = cv2.GaussianBlur(alpha, (0, 0), 0.03 * rh)
            alpha = alpha[..., None]
            self.canvas = (alpha * cv2.copyMakeBorder(resized, *pad, cv2.BORDER_REPLICATE)
                           + (1 - alpha) * back).astype(np.uint8)
        try:
            self.landmarks = _landmarks(self.canvas)
        except SynthError:
            # A face too small for the detector on the canvas (a person far from the camera): find the
            # landmarks on the photo at a size the detector likes and carry them onto the canvas.
            up = max(1.0, 480.0 / max(1, ih))
            big = cv2.resize(image, (round(iw * up), round(ih * up)), interpolation=cv2.INTER_CUBIC)
            found = _landmarks(big)
            sx, sy = rw / big.shape[1], rh / big.shape[0]
            self.landmarks = ((found + 0.5) * np.array([sx, sy], np.float32) - 0.5
                              + np.array([left, top], np.float32)).astype(np.float32)
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
        self._fields: dict[tuple[tuple[str, ...], MovementShape | None], np.ndarray] = {}
        self._blink: np.ndarray | None = None
        self._depth: dict[float, np.ndarray] = {}

    def depth_px(self, scale: float) -> np.ndarray:
        """(H, W) depth of the face in front of (negative) or behind its eye corners, in canvas pixels: the generic
        face's depths at this face's own landmarks, times ``scale``. A turn of ``a`` radians moves a point by about
        ``a`` times its depth; the first-order parallax, without what the turn hides or foreshortens."""
        if scale not in self._depth:
            from frl_core.faces.head_pose import face_depth_px

            w, h = self.size
            self._depth[scale] = face_depth_px(self.landmarks, h, w, scale)
        return self._depth[scale]

    def au_field(self, aus: tuple[str, ...], shape: MovementShape | None = None) -> np.ndarray:
        """(2, H, W) displacement of a unit-amplitude movement of these action units (textbook, or ``shape``)."""
        key = (aus, shape)
        if key not in self._fields:
            w, h = self.size
            self._fields[key] = (shape or MovementShape()).field(self.landmarks, aus, h, w)
        return self._fields[key]

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

    def head_matrix(self, index: int) -> np.ndarray:
        """The 2x3 image transform of frame ``index``'s head motion (about the nose, as rendered)."""
        tx, ty, rot, scale = self.head_motion.at(index / self.fps)
        cx, cy = self.face_landmarks[27:36].mean(0)
        m = cv2.getRotationMatrix2D((float(cx), float(cy)), rot, scale)
        m[:, 2] += (tx, ty)
        return m

    def landmarks_at(self, index: int) -> np.ndarray:
        """Where the photo's 68 landmarks are in frame ``index`` (head motion; expressions aside)."""
        m = self.head_matrix(index)
        return self.face_landmarks.astype(np.float64) @ m[:, :2].T + m[:, 2]

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
                    **({} if e.shape is None else {"shape": asdict(e.shape)}),
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
                part = face.au_field(e.action_units, e.shape) * np.float32(a * e.amplitude)
                field_ = part if field_ is None else field_ + part
        for b in seq.blinks:
            c = b.closure(i)
            if c > 0:
                part = face.blink_field() * np.float32(c)
                field_ = part if field_ is None else field_ + part
        if seq.head_motion.turns:
            yaw, pitch = seq.head_motion.turn_at(i / seq.fps)
            depth = face.depth_px(seq.head_motion.depth_scale)
            # yaw > 0 turns the face to the image's left: what is in front of the eyes (depth < 0) moves left
            part = np.stack([depth * np.float32(math.radians(yaw)), depth * np.float32(-math.radians(pitch))])
            field_ = part if field_ is None else field_ + part
        image = face.canvas
        if field_ is not None:
            gx, gy = face.grid
            image = cv2.remap(image, gx - field_[0], gy - field_[1], cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        tx, ty, rot, scale = seq.head_motion.at(i / seq.fps)
        if tx or ty or rot or scale != 1.0:
            image = cv2.warpAffine(image, seq.head_matrix(i), seq.size, flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
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
    """A video of the face with these events; length from ``n_frames``, ``seconds`` or the last event.

    ``background`` fills the frame around the photo: "replicate" (its edge pixels, fast), "soft" (a blurred
    mirror of it, feathered) or "studio" (a plain backdrop from its edge colours, feathered).
    """
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
    if background not in ("replicate", "soft", "studio"):
        raise SynthError(f"unknown background {background!r}: replicate, soft or studio")
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
                rise_s: float = 0.17, fall_s: float = 0.23, shape: MovementShape | None = None) -> SyntheticEvent:
    """A micro-expression starting at ``onset``: about 0.4 s from onset to offset."""
    apex = onset + max(1, round(rise_s * fps))
    return SyntheticEvent(onset, apex, apex + max(1, round(fall_s * fps)), expression, amplitude, kind="micro",
                          shape=shape)


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
    # "studio": the photo's edges are feathered into a plain backdrop; replicated border pixels would show
    # as smeared streaks at the sides and bottom that look like a bug.
    return render_sequence(None, fps=fps, size=size, events=events, seed=seed, n_frames=at(seconds),
                           blinks=blinks, head_motion=HeadMotion(translation=3.0, rotation_deg=0.8),
                           background="studio")


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
