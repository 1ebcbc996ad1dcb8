"""Face finding, landmark tracking and alignment onto the canonical face.

dlib's HOG detector costs tens of milliseconds a frame, so it runs on a downscaled copy and only when
needed: on the first frame, every ``detect_every_n`` frames to check the tracked face (drift), and when
the tracked face is lost. The periodic check looks only at the tracked face's neighbourhood (a fraction
of the frame, so a fraction of the cost); the whole frame is searched again every
``full_detect_every_n`` frames, for a new or larger face. In between, the face is tracked by its own
landmarks: the previous frame's landmarks give the box the predictor starts from. A cheap appearance
check (normalised correlation of a small aligned patch with the one kept at the last detection) tells
when the tracked landmarks no longer sit on a face.

The 68-point predictor is dlib's model file evaluated by :mod:`frl_core.faces.landmarks`: the same
landmarks as ``dlib.shape_predictor`` (to the pixel; unrounded here), compiled, at a fraction of dlib's
cost inside the engine, where dlib's regression-tree leaves fall out of the cache between frames, so it
runs on every frame. Its points jump from frame to frame on some faces (glasses, stubble), so the landmarks
are carried from frame to frame by pyramidal Lucas-Kanade optical flow inside the face's box, starting from
where the head's last motion takes them, and pulled a little towards the predictor's each frame
(``predictor_gain``); when the flow fails (rigid points that stop moving together) the predictor's points are
blended with the previous frame's instead, or taken as they are when the head moved further than jitter. With
``landmark_every_n > 1`` the predictor runs only every N frames and the flow alone carries the points between.

Alignment maps the landmarks onto ``au_regions.TEMPLATE_68`` (the MEGC2019 crop geometry) by a
similarity transform fitted on the rigid points only (eye corners, nose, upper jaw), so expressions
do not move the crop and the eyes come out level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from frl_core.faces import kernels as face_kernels
from frl_core.faces.au_regions import TEMPLATE_68, inter_ocular_distance
from frl_core.paths import landmark_model_path
from frl_core.types import FaceObservation

RIGID_POINTS: tuple[int, ...] = (0, 1, 2, 3, 13, 14, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35)
"""Landmarks that expressions barely move (upper jaw line, nose, eye corners): the similarity fit uses these."""

MSG_NO_FACE = "no face"
MSG_FACE_LOST = "face lost"
MSG_WHOLE_FRAME = "no face detected: whole frame used as the face"
MSG_SWITCHED = "another, larger face: tracking it from here"
MSG_REPLACED = "face lost, a face found elsewhere: tracking it from here as a new face"


FOLLOW_RULES: tuple[str, ...] = ("largest", "left", "right")
"""Which face is followed when several are in view (``FaceConfig.follow``)."""

_FOLLOW_WORDS = {"largest": "the largest", "left": "the leftmost", "right": "the rightmost"}


def several_faces_message(n: int, follow: str = "largest", kept_tracked: bool = False) -> str:
    return f"{n} faces: kept {'the one followed' if kept_tracked else _FOLLOW_WORDS[follow]}"


@dataclass
class FaceConfig:
    """How often and at what resolution the detector runs, and how landmarks are smoothed."""

    detect_every_n: int = 30
    """Re-detect every N frames even while tracking (drift), near the tracked face."""
    full_detect_every_n: int = 300
    """While tracking, search the whole frame every N frames (a new, larger face); 0 = only when lost."""
    detect_margin: float = 0.25
    """The periodic check near the tracked face searches its box grown by this fraction on each side."""
    detect_width: int = 320
    """The detector sees a copy of the frame downscaled to at most this width."""
    detect_scale: float | None = None
    """Explicit downscale factor for the detector (overrides ``detect_width``)."""
    upsample_when_missing: bool = True
    """When the cheap pass finds nothing and no face is tracked, try once more with one upsampling."""
    equalize_when_missing: bool = True
    """When the upsampled pass finds nothing either, try it once more on a contrast-equalised copy (CLAHE).
    dlib's HOG detector misses soft, low-contrast faces (dim light, heavy compression) at their own contrast
    and finds them equalised; equalising every pass would lose other faces, so it is the last try
    (docs/recognition.md, "Compressed video and low-contrast faces")."""
    follow: str = "largest"
    """Which face to follow when several are in view: "largest" (the person nearest the camera; a larger face
    that the whole-frame search finds later is followed from then on), or "left" / "right", the leftmost or
    rightmost face in the frame (an interview recorded with both people in view): a face being followed is
    then kept until it is lost, and the rule picks the next one."""
    whole_frame_fallback: bool = False
    """Input is already a face crop: when the detector finds nothing, the whole frame is the face."""
    smoothing: float = 0.7
    """Weight of the previous landmarks in the exponential smoothing of small landmark jitter (0 = off), on the
    predictor's own points: with ``predictor_gain`` 1, or on a frame with ``landmark_every_n`` > 1 that the flow
    could not carry. Landmarks carried by the flow are not smoothed again."""
    smoothing_motion: float = 0.08
    """Landmark motion (median point, fraction of the inter-ocular distance) above which no smoothing is
    applied. On a soft or upscaled face the predictor's points jump 2-10 px from frame to frame, beyond the
    earlier 0.03 (the spotter's false intervals on such faces: docs/recognition.md); head motion the
    smoothing lags behind is taken out downstream by the spotter's and the registration's global fits."""
    lost_correlation: float = 0.35
    """A tracked face whose patch correlates below this with the last detected one counts as lost."""
    landmark_every_n: int = 1
    """Run the 68-point predictor every N frames; optical flow carries the landmarks in between (1 = every frame)."""
    predictor_weight: float = 0.5
    """On predictor frames, how far the flowed landmarks move towards the predictor's (1 = all the way)."""
    landmark_backend: str = "compiled"
    """"compiled": dlib's 68-point model evaluated by :mod:`frl_core.faces.landmarks` (sub-pixel points, the
    faster); "dlib": ``dlib.shape_predictor`` itself (whole-pixel points)."""
    box_scale_gain: float = 0.5
    """How strongly the box the predictor starts from follows the landmarks' scale between detections
    (1 = fully, 0 = the detection's size). The predictor's points scale partly with their box; on a soft,
    upscaled face a box that follows them fully shrank the face by an eighth within half a second, or blew
    it up, frame after frame (``python main.py bench tracking``). At 0.5 a head that approaches or
    recedes by a third is still followed."""
    predictor_gain: float = 0.1
    """With ``landmark_every_n`` 1: the landmarks are carried from frame to frame by optical flow and moved
    this far towards the 68-point predictor's on every frame (1 = the predictor's alone, then ``smoothing``).
    On some faces the predictor's points jump by 2-4 % of the inter-ocular distance from one frame to the
    next (glasses, stubble, a jaw line against a plain background): the alignment moved by 2.6 px of the
    224-px face a frame and the spotter saw motion everywhere. The flow follows the head and the expression;
    the predictor, at this gain, keeps it from drifting (docs/recognition.md, "Faces the landmark model
    jitters on")."""
    flow_levels: int = 1
    """Pyramid levels above the frame that the landmark flow searches; each doubles the motion it can find from
    one frame to the next (beyond what ``flow_prediction`` predicts)."""
    flow_prediction: bool = True
    """The flow starts each landmark where the head's last motion (a similarity of the rigid points) takes it
    (scaled to the time since the last frame when ``update`` is given timestamps: a live source drops frames)
    and searches from there, so a moving head leaves only its change of speed to be found. Searching from where
    the points were, the flow lagged behind a head shaken at 7 px a frame on a soft face by 5 px of the aligned
    face, more than the predictor alone (``python main.py bench tracking``; docs/recognition.md)."""
    flow_max_residual: float = 0.04
    """Flowed rigid points that stray more than this (fraction of the inter-ocular distance, median) from
    one similarity motion are not trusted: the predictor runs on that frame instead."""


@dataclass
class _FlowReference:
    """What the next frame's landmark flow starts from: this frame's face neighbourhood, where it lies in the
    frame, the landmarks in it, the head's motion into this frame (a 2x3 similarity; None after a new face),
    this frame's time and the time that motion took (None when the caller gives no timestamps)."""

    patch: np.ndarray
    x0: int
    y0: int
    landmarks: np.ndarray
    motion: np.ndarray | None
    timestamp: float | None
    motion_seconds: float | None


class FaceModelError(RuntimeError):
    """The landmark model cannot be loaded."""


_MODELS: dict[str, object] = {}


LANDMARK_BACKENDS = ("compiled", "dlib")


def face_models(backend: str) -> tuple[object, object]:
    """dlib's detector and the shape predictor, loaded once per process (the predictor file is ~100 MB).

    ``backend="dlib"`` gives ``dlib.shape_predictor``; ``"compiled"`` the same model file evaluated by
    :class:`frl_core.faces.landmarks.ShapePredictor` (the same landmarks, unrounded, in about 60 % of the time).
    """
    import dlib

    if backend not in LANDMARK_BACKENDS:
        raise ValueError(f"landmark_backend must be one of {', '.join(LANDMARK_BACKENDS)}, got {backend!r}")
    if "detector" not in _MODELS:
        _MODELS["detector"] = dlib.get_frontal_face_detector()
    key = f"predictor/{backend}"
    if key not in _MODELS:
        path = Path(landmark_model_path())
        try:
            if backend == "dlib":
                _MODELS[key] = dlib.shape_predictor(str(path))
            else:
                from frl_core.faces.landmarks import LandmarkModelFormatError, ShapePredictor

                try:
                    _MODELS[key] = ShapePredictor(path)
                except (LandmarkModelFormatError, OSError) as err:
                    raise FaceModelError(f"cannot load the landmark model {path}: {err}") from err
        except RuntimeError as err:
            raise FaceModelError(f"cannot load the landmark model {path}: {err}") from err
    return _MODELS["detector"], _MODELS[key]


def to_gray(frame: np.ndarray) -> np.ndarray:
    """The uint8 grayscale frame the face stages run on; ValueError for what is not an image."""
    if frame is None or not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3) or frame.size == 0:
        raise ValueError("a frame must be a non-empty HxW or HxWx3 image array")
    if frame.ndim == 3:
        if frame.shape[2] == 1:
            frame = frame[:, :, 0]
        elif frame.shape[2] == 4:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
        else:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frame)


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) mapping points ``src`` onto ``dst``, as a 2x3 matrix."""
    return face_kernels.similarity(np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64))


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points moved by the 2x3 matrix ``m``."""
    return pts @ m[:, :2].T + m[:, 2]


_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_RIGID = np.array(RIGID_POINTS, dtype=np.int64)
_RIGID_TEMPLATE = np.ascontiguousarray(TEMPLATE_68[_RIGID], dtype=np.float64)


def alignment_matrix(landmarks: np.ndarray, size: int = 224) -> np.ndarray:
    """The 2x3 similarity that maps frame pixels onto the canonical crop of side ``size``."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (68, 2):
        raise ValueError(f"expected 68x2 landmarks, got shape {pts.shape}")
    return face_kernels.alignment(pts, _RIGID, _RIGID_TEMPLATE, float(size))


def align_face(gray: np.ndarray, landmarks: np.ndarray, size: int = 224, matrix: np.ndarray | None = None) -> np.ndarray:
    """The face warped onto the canonical template: uint8 ``size x size`` grayscale, eyes level
    (``matrix``: :func:`alignment_matrix` of these landmarks, when the caller has it already)."""
    gray = to_gray(gray)
    m = alignment_matrix(landmarks, size) if matrix is None else matrix
    return cv2.warpAffine(gray, m, (int(size), int(size)), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


_PATCH = 32
_PATCH_MARGIN = 4


def _appearance_patch(gray: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A small zero-mean, unit-norm aligned patch of the central face, for the 'still a face?' check."""
    return face_kernels.appearance_patch(gray, np.asarray(landmarks, dtype=np.float64), _RIGID, _RIGID_TEMPLATE,
                                         _PATCH, _PATCH_MARGIN)


class FaceTracker:
    """Finds one face per frame (the largest, or as ``FaceConfig.follow`` says), tracks it by its landmarks,
    reports what happened."""

    def __init__(self, config: FaceConfig | None = None) -> None:
        self.config = config or FaceConfig()
        if self.config.detect_every_n < 1:
            raise ValueError(f"detect_every_n must be at least 1, got {self.config.detect_every_n}")
        if self.config.landmark_every_n < 1:
            raise ValueError(f"landmark_every_n must be at least 1, got {self.config.landmark_every_n}")
        if self.config.full_detect_every_n < 0:
            raise ValueError(f"full_detect_every_n must be 0 or more, got {self.config.full_detect_every_n}")
        if self.config.follow not in FOLLOW_RULES:
            raise ValueError(f"follow must be one of {', '.join(FOLLOW_RULES)}, got {self.config.follow!r}")
        if not 0.0 <= self.config.box_scale_gain <= 1.0:
            raise ValueError(f"box_scale_gain must lie in 0..1, got {self.config.box_scale_gain}")
        if not 0.0 < self.config.predictor_gain <= 1.0:
            raise ValueError(f"predictor_gain must lie in (0, 1], got {self.config.predictor_gain}")
        if not 0 <= self.config.flow_levels <= 5:
            raise ValueError(f"flow_levels must lie in 0..5, got {self.config.flow_levels}")
        self._flow_tracking = self.config.landmark_every_n > 1 or self.config.predictor_gain < 1.0
        self._detector, self._predictor = face_models(self.config.landmark_backend)
        self._clahe: cv2.CLAHE | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the tracked face (new stream, seek)."""
        self._landmarks: np.ndarray | None = None
        self._box_model: np.ndarray | None = None
        self._box_iod = 1.0
        self._reference_patch: np.ndarray | None = None
        self._since_detect = 0
        self._since_full_detect = 0
        self._had_face = False
        self._last_box: tuple[float, float, float, float] | None = None
        self._flow_reference: _FlowReference | None = None
        self._new_face = True
        self._since_landmarks = 0
        self.predictor_calls = 0
        """Frames the 68-point predictor ran on since the last reset (the others were carried by flow)."""

    # -- detection -----------------------------------------------------------------------------
    def _detect(self, gray: np.ndarray, upsample: int, near: tuple[float, float, float, float] | None = None,
                equalize: bool = False) -> list[tuple[float, float, float, float]]:
        """Face boxes in frame pixels; with ``near``, only inside that box grown by ``detect_margin``; with
        ``equalize``, on a CLAHE-equalised copy of the (downscaled) frame."""
        h, w = gray.shape
        scale = self.config.detect_scale if self.config.detect_scale else min(1.0, self.config.detect_width / w)
        x0 = y0 = 0
        if near is not None:
            grow = self.config.detect_margin * max(near[2] - near[0], near[3] - near[1])
            x0, y0 = max(0, int(near[0] - grow)), max(0, int(near[1] - grow))
            x1, y1 = min(w, int(math.ceil(near[2] + grow))), min(h, int(math.ceil(near[3] + grow)))
            if x1 - x0 < 16 or y1 - y0 < 16:
                return []
            gray = gray[y0:y1, x0:x1]
            h, w = gray.shape
        small = gray if scale >= 0.999 else cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                       interpolation=cv2.INTER_AREA)
        if equalize:
            if self._clahe is None:  # one per tracker: an OpenCV CLAHE keeps buffers, not for sharing
                self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
            small = self._clahe.apply(small)
        # dlib reads the pixels as one contiguous block: a crop (a strided view) must be copied.
        rects = self._detector(np.ascontiguousarray(small), upsample)
        inv = 1.0 / scale
        return [(r.left() * inv + x0, r.top() * inv + y0, r.right() * inv + x0, r.bottom() * inv + y0)
                for r in rects]

    def _shape(self, gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        rect = (int(round(box[0])), int(round(box[1])), int(round(box[2])), int(round(box[3])))
        self.predictor_calls += 1
        if self.config.landmark_backend == "compiled":
            return self._predictor.predict(gray, rect)
        import dlib

        shape = self._predictor(gray, dlib.rectangle(*rect))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    # -- box <-> landmarks ---------------------------------------------------------------------
    @staticmethod
    def _frame(landmarks: np.ndarray) -> tuple[tuple[float, float], float]:
        """Centre and scale of the face by its rigid points, to carry the detector's box along."""
        cx, cy, iod = face_kernels.face_frame(landmarks, _RIGID)
        return (cx, cy), iod

    def _remember_box(self, box: tuple[float, float, float, float], landmarks: np.ndarray) -> None:
        centre, iod = self._frame(landmarks)
        b = np.asarray(box, dtype=np.float64)
        self._box_iod = iod
        self._box_model = np.array([(b[0] - centre[0]) / iod, (b[1] - centre[1]) / iod,
                                    (b[2] - centre[0]) / iod, (b[3] - centre[1]) / iod])

    def _tracked_box(self, landmarks: np.ndarray) -> tuple[float, float, float, float]:
        """The detector's box carried along by the landmarks: its place follows their centre, its size
        their scale at ``box_scale_gain`` (damped: see there)."""
        centre, iod = self._frame(landmarks)
        m = self._box_model
        unit = self._box_iod * (iod / self._box_iod) ** self.config.box_scale_gain
        return (centre[0] + m[0] * unit, centre[1] + m[1] * unit, centre[0] + m[2] * unit, centre[1] + m[3] * unit)

    @staticmethod
    def _box_of(landmarks: np.ndarray) -> tuple[float, float, float, float]:
        return face_kernels.bounds(landmarks)

    @classmethod
    def _same_face(cls, detected: tuple[float, float, float, float], tracked: tuple[float, float, float, float]) -> bool:
        """Whether a detection is the tracked face: they overlap, or the detection is centred on it.

        dlib's detector finds one face at scales a pyramid level (6/5) apart from one frame to the next,
        and on a soft face a level or two bigger; by overlap alone such a box is "another face", and the
        landmarks fitted in it are far too big (the alignment then stays wrong until the next check).
        """
        if cls._iou(detected, tracked) > 0.4:
            return True
        width = tracked[2] - tracked[0]
        dx = (detected[0] + detected[2] - tracked[0] - tracked[2]) / 2
        dy = (detected[1] + detected[3] - tracked[1] - tracked[3]) / 2
        return math.hypot(dx, dy) < 0.25 * width

    @staticmethod
    def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
        ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = ix * iy
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 0.0

    # -- landmarks by optical flow ---------------------------------------------------------------
    _FLOW_WINDOW = (11, 11)
    _FLOW_MARGIN = 0.6
    """The flow looks at the landmarks' box grown by this many inter-ocular distances on each side."""

    def _keep_flow_reference(self, gray: np.ndarray, timestamp: float | None = None) -> None:
        """Copy the face's neighbourhood of this frame: the next frame's flow starts from it."""
        if self._landmarks is None or not self._flow_tracking:
            self._flow_reference = None
            return
        h, w = gray.shape
        x0, y0, x1, y1 = face_kernels.flow_window(self._landmarks, self._FLOW_MARGIN, w, h)
        if x1 - x0 < 16 or y1 - y0 < 16:
            self._flow_reference = None
            return
        motion = seconds = None
        before = self._flow_reference
        if self.config.flow_prediction and before is not None and not self._new_face:
            motion = _similarity(before.landmarks[_RIGID], self._landmarks[_RIGID])
            if timestamp is not None and before.timestamp is not None and timestamp > before.timestamp:
                seconds = timestamp - before.timestamp
        self._flow_reference = _FlowReference(gray[y0:y1, x0:x1].copy(), int(x0), int(y0), self._landmarks, motion,
                                              timestamp, seconds)

    def _flowed(self, gray: np.ndarray, timestamp: float | None = None) -> np.ndarray | None:
        """The previous landmarks carried into this frame by Lucas-Kanade flow, or None when untrustworthy."""
        if self._flow_reference is None or self._landmarks is None:
            return None
        ref = self._flow_reference
        before, x0, y0, motion = ref.patch, ref.x0, ref.y0, ref.motion
        h, w = before.shape
        if gray.shape[0] < y0 + h or gray.shape[1] < x0 + w:
            return None
        after = gray[y0:y0 + h, x0:x0 + w]
        offset = np.array([x0, y0], np.float32)
        start = np.ascontiguousarray(self._landmarks.astype(np.float32) - offset)
        guess, flags = None, 0
        if motion is not None and ref.motion_seconds is not None and timestamp is not None:
            # Frames dropped (live input) make the gaps uneven: predict for this gap, not the last one's.
            ratio = min(max((timestamp - ref.timestamp) / ref.motion_seconds, 0.0), 4.0)
            if abs(ratio - 1.0) > 0.01:
                motion = _IDENTITY + ratio * (motion - _IDENTITY)
        if motion is not None:
            guess = np.ascontiguousarray(_apply(motion, self._landmarks).astype(np.float32) - offset)
            flags = cv2.OPTFLOW_USE_INITIAL_FLOW
        moved, status, _err = cv2.calcOpticalFlowPyrLK(
            before, after, start, guess, winSize=self._FLOW_WINDOW, maxLevel=self.config.flow_levels,
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 0.03), flags=flags)
        if moved is None:
            return None
        trusted, carried = face_kernels.carried_by_flow(
            self._landmarks, moved.reshape(-1, 2).astype(np.float64) + offset, status.ravel() > 0, _RIGID,
            self.config.flow_max_residual)
        return carried if trusted else None

    # -- per frame -----------------------------------------------------------------------------
    def update(self, frame: np.ndarray, timestamp: float | None = None) -> tuple[FaceObservation | None, str | None]:
        """Landmarks of the followed face in this frame, and a note for the user when something changed.

        ``timestamp`` (seconds) lets the landmark flow predict the head's motion over uneven gaps between
        frames (a live source drops frames when the analysis falls behind); without it frames count as evenly
        spaced."""
        gray = to_gray(frame)
        obs, message = self._update(gray, timestamp)
        if obs is not None and obs.n_faces > 0 and self._reference_patch is not None:
            obs.confidence = float(face_kernels.dot(_appearance_patch(gray, obs.landmarks), self._reference_patch))
        self._keep_flow_reference(gray, timestamp)
        return obs, message

    def _update(self, gray: np.ndarray, timestamp: float | None = None) -> tuple[FaceObservation | None, str | None]:
        cfg = self.config
        flowed = self._flowed(gray, timestamp) if self._flow_tracking and self._landmarks is not None else None
        if (flowed is not None and self._since_landmarks + 1 < cfg.landmark_every_n
                and self._since_detect + 1 < cfg.detect_every_n):
            self._since_detect += 1
            self._since_landmarks += 1
            return self._accept(flowed, gray, detected=False, n_faces=1, smooth=False), None
        self._since_landmarks = 0
        tracked: np.ndarray | None = None
        fused = False
        if self._landmarks is not None:
            tracked = self._shape(gray, self._tracked_box(self._landmarks))
            if not self._still_a_face(gray, tracked):
                tracked = None
            elif flowed is not None:
                # The predictor anchors where the landmarks are, the flow how they moved: move the
                # flowed points part of the way towards the predictor's, so its jitter stays small.
                gain = cfg.predictor_weight if cfg.landmark_every_n > 1 else cfg.predictor_gain
                tracked = flowed + gain * (tracked - flowed)
                fused = True
            elif cfg.landmark_every_n == 1 and self._flow_tracking:
                # No flow this frame: the previous landmarks are the prediction, at the same gain, unless
                # the face moved further than jitter goes (then the predictor alone, as before the flow).
                motion = float(np.median(np.linalg.norm(tracked - self._landmarks, axis=1)))
                if motion < cfg.smoothing_motion * max(inter_ocular_distance(self._landmarks), 1.0):
                    tracked = self._landmarks + cfg.predictor_gain * (tracked - self._landmarks)
                    fused = True
        periodic = tracked is not None and self._since_detect + 1 >= cfg.detect_every_n
        if tracked is not None and not periodic:
            self._since_detect += 1
            return self._accept(tracked, gray, detected=False, n_faces=1, smooth=not fused), None

        full = (tracked is None or (cfg.full_detect_every_n > 0
                                    and self._since_full_detect + self._since_detect + 1 >= cfg.full_detect_every_n))
        boxes = self._detect(gray, 0, near=None if full else self._tracked_box(tracked))
        if not boxes and tracked is None and cfg.upsample_when_missing:
            boxes = self._detect(gray, 1)
            if not boxes and cfg.equalize_when_missing:
                boxes = self._detect(gray, 1, equalize=True)
        self._since_full_detect = 0 if full else self._since_full_detect + self._since_detect + 1
        self._since_detect = 0
        message: str | None = None
        if boxes:
            chosen = self._preferred(boxes)
            # Left or right: the person followed stays followed while the tracker still finds their face.
            keep = tracked is not None and (cfg.follow != "largest" or self._same_face(chosen, self._tracked_box(tracked)))
            if len(boxes) > 1:
                message = several_faces_message(len(boxes), cfg.follow, keep and cfg.follow != "largest")
            if keep:
                # Same face: keep the tracked landmarks so re-detection does not make the alignment jump,
                # and refresh the appearance the 'still a face?' check compares with (slow drift, light).
                obs = self._accept(tracked, gray, detected=True, n_faces=len(boxes), smooth=not fused)
                self._reference_patch = _appearance_patch(gray, self._landmarks)
                return obs, message
            # The face followed until now, whether still tracked or lost this frame or before.
            previous = (None if tracked is not None else self._last_box if self._landmarks is None
                        else self._tracked_box(self._landmarks))
            landmarks = self._shape(gray, chosen)
            self._landmarks = None  # a new face: no smoothing across faces
            self._remember_box(chosen, landmarks)
            self._reference_patch = _appearance_patch(gray, landmarks)
            obs = self._accept(landmarks, gray, detected=True, n_faces=len(boxes))
            if tracked is not None:
                obs.switched = True
                message = MSG_SWITCHED
            elif previous is not None and not self._same_face(chosen, previous):
                # The face followed is gone and the one found is not where it was: most likely another
                # person (someone left the picture), whose face no earlier frame may be compared with. A head
                # moved faster than the tracker follows (beyond about 30 px a frame) lands here too; its
                # alignment is broken across that frame either way. The face's appearance cannot tell the two
                # apart: different people's patches correlated up to 0.86, the same face re-found 0.84-1.00.
                obs.switched = True
                message = MSG_REPLACED
            return obs, message
        if tracked is not None:
            return self._accept(tracked, gray, detected=False, n_faces=1, smooth=not fused), None
        if cfg.whole_frame_fallback:
            h, w = gray.shape
            # Where dlib's detector puts its box on a MEGC2019-style crop: slightly beyond the frame.
            box = (-0.138 * w, -0.138 * h, 0.964 * w, 0.969 * h)
            landmarks = self._shape(gray, box)
            self._landmarks = None
            obs = FaceObservation(box=box, landmarks=landmarks, detected=True, n_faces=0)
            self._had_face = True
            return obs, MSG_WHOLE_FRAME
        message = MSG_FACE_LOST if self._had_face else MSG_NO_FACE
        if self._landmarks is not None:
            self._last_box = self._tracked_box(self._landmarks)
        self._landmarks = None
        self._had_face = False
        return None, message

    def _preferred(self, boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
        """The detection the ``follow`` rule picks."""
        if self.config.follow == "left":
            return min(boxes, key=lambda b: b[0] + b[2])
        if self.config.follow == "right":
            return max(boxes, key=lambda b: b[0] + b[2])
        return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))

    def _still_a_face(self, gray: np.ndarray, landmarks: np.ndarray) -> bool:
        h, w = gray.shape
        x0, y0, x1, y1 = self._box_of(landmarks)
        inside_w = max(0.0, min(x1, w) - max(x0, 0.0))
        inside_h = max(0.0, min(y1, h) - max(y0, 0.0))
        if (x1 - x0) < 8 or inside_w * inside_h < 0.6 * (x1 - x0) * (y1 - y0):
            return False
        if self._reference_patch is None:
            return True
        corr = face_kernels.dot(_appearance_patch(gray, landmarks), self._reference_patch)
        return corr >= self.config.lost_correlation

    def _accept(self, landmarks: np.ndarray, gray: np.ndarray, detected: bool, n_faces: int,
                smooth: bool = True) -> FaceObservation:
        cfg = self.config
        prev = self._landmarks
        self._new_face = prev is None
        # Only the predictor jitters from frame to frame; flowed landmarks are already coherent in time.
        if smooth and prev is not None and cfg.smoothing > 0 and cfg.smoothing_motion > 0:
            # Jitter: blend with the previous landmarks, less so as the motion nears the limit.
            landmarks = face_kernels.smoothed(landmarks, prev, cfg.smoothing, cfg.smoothing_motion)
        self._landmarks = landmarks
        self._had_face = True
        box = self._box_of(landmarks)
        return FaceObservation(box=box, landmarks=landmarks.copy(), detected=detected, n_faces=max(1, n_faces))
