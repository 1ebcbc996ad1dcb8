"""Files a user takes away: per-frame CSV, events CSV/JSON, per-event PNGs, an annotated video.

Writers stream (one row or frame at a time) so a 30-minute input never holds its results in memory.
Video: OpenCV's wheels here encode ``mp4v`` (.mp4) and ``MJPG`` (.avi); H.264 is not available.
"""

from __future__ import annotations

import csv
import functools
import dataclasses
import hashlib
import json
import math
import re
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from frl_core.faces.au_regions import REGION_NAMES
from frl_core.paths import REPO_ROOT
from frl_core.types import Event, FrameResult
from frl_core.viz import PALETTE, bgr, class_color, fitted_text_scale, render_event_figure

SCHEMA_VERSION = 1
"""Version of the output layout (events.json, the CSVs and their ``.meta.json`` sidecars, the ``.npy``
fields). Raised when a column or key changes meaning or disappears; new columns and keys keep it, so a
reader of version N reads every file of version N. ``frl_core.results.load`` refuses newer versions."""
POSE_COLUMNS = ("pose_pitch_deg", "pose_yaw_deg", "pose_roll_deg", "pose_tx_mm", "pose_ty_mm", "pose_tz_mm")
"""Head pose columns of the per-frame CSV (``frl_core.faces.head_pose``)."""
REGION_MOTION_COLUMNS = tuple(f"residual_{r}" for r in REGION_NAMES)
"""Per-frame CSV: the spotter's residual motion in each AU region behind ``motion_score`` (px of the 224-px
aligned face, head motion out, against the face a window before)."""

VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}
HEAD_MOTION_KEYS = ("dx_px", "dy_px", "rotation_deg", "scale", "yaw_deg", "pitch_deg")
"""The head motion columns of the events CSV (``registration.GlobalMotion.as_dict``)."""
_FONT = cv2.FONT_HERSHEY_SIMPLEX


class ExportError(Exception):
    """An export that cannot be written; ``str(err)`` is a one-line message for the user."""


def _num(value: float | None, digits: int = 4) -> str:
    """CSV text of a number: empty for None/nan so spreadsheets read a blank, not 'nan'."""
    if value is None or not math.isfinite(float(value)):
        return ""
    return f"{float(value):.{digits}f}"


def _json_num(value: float | None) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def tool_version() -> str:
    """The installed package's version, or the checkout's pyproject.toml version, or "unknown"."""
    from importlib import metadata

    try:
        return metadata.version("frl-dgt-studio")
    except metadata.PackageNotFoundError:
        pass
    try:
        found = re.search(r'^version\s*=\s*"([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    except OSError:
        found = None
    return found.group(1) if found else "unknown"


def file_sha256(path: str | Path | None) -> str | None:
    """Hex SHA-256 of a file (which weights produced a result), None when there is no such file.

    Every write of a run's outputs states it, so the digest of an unchanged file is computed once.
    """
    if path is None or not Path(path).is_file():
        return None
    stat = Path(path).stat()
    return _sha256_of(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _sha256_of(path: str, _mtime_ns: int, _size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _settings(config: object | None) -> dict | None:
    if config is None or not dataclasses.is_dataclass(config):
        return None
    return {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
            for k, v in dataclasses.asdict(config).items()}


def output_metadata(source: str | None, fps: float | None, weights: str | Path | None = None,
                    face_settings: object | None = None, spotter_settings: object | None = None,
                    **extra: object) -> dict:
    """What a later reader needs to trust a result: schema and tool version, source, frame rate, the
    weights file and its digest (None when spotting only), the face and spotter settings; ``extra`` adds keys."""
    meta = {
        "schema_version": SCHEMA_VERSION,
        "tool": "frl-dgt-studio",
        "tool_version": tool_version(),
        "source": None if source is None else str(source),
        "fps": _json_num(fps) if fps is not None else None,
        "weights": None if weights is None else str(weights),
        "weights_sha256": file_sha256(weights),
        "face_settings": _settings(face_settings),
        "spotter_settings": _settings(spotter_settings),
    }
    meta.update(extra)
    return meta


def sidecar_path(csv_path: str | Path) -> Path:
    """``frames.csv`` -> ``frames.meta.json``: where a CSV's metadata lives."""
    csv_path = Path(csv_path)
    return csv_path.with_name(csv_path.stem + ".meta.json")


def write_sidecar(csv_path: str | Path, columns: Sequence[str], metadata: dict) -> Path:
    """The JSON beside a CSV: schema version, the columns and the run's metadata (written atomically)."""
    doc = {"schema_version": SCHEMA_VERSION, "describes": Path(csv_path).name, "columns": list(columns),
           "metadata": dict(metadata)}
    return _write_json_atomic(sidecar_path(csv_path), doc)


def _write_json_atomic(path: Path, doc: dict) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(path)  # a reader never sees half a file, and a failed write leaves the last good one
    except OSError as err:
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from err
    return path


def frame_csv_header() -> list[str]:
    """Columns of the per-frame CSV: timing, face, box, motion score, 68 landmark x/y pairs, then the face
    confidence, head pose, (frame folders) the source image's file name, and the residual motion per AU region."""
    cols = ["index", "timestamp", "face_found", "detected", "n_faces", "box_x0", "box_y0", "box_x1", "box_y1",
            "motion_score", "threshold", "spotting_score", "message"]
    for i in range(68):
        cols += [f"lm{i}_x", f"lm{i}_y"]
    return cols + ["face_confidence", *POSE_COLUMNS, "source_file", *REGION_MOTION_COLUMNS]


def frame_csv_row(result: FrameResult, spotting_score: float | None = None, source_file: str | None = None) -> list[str]:
    """One CSV row; ``spotting_score`` is the frame's two-sided score, which later frames deliver."""
    face = result.face
    row = [str(result.index), _num(result.timestamp, 4), "1" if face is not None else "0"]
    if face is None:
        row += ["", "", "", "", "", ""]
    else:
        row += ["1" if face.detected else "0", str(face.n_faces)] + [_num(v, 1) for v in face.box]
    row += [_num(result.motion_score, 6), _num(result.threshold, 6), _num(spotting_score, 6), result.message or ""]
    if face is None:
        row += [""] * 136
    else:
        row += [_num(v, 2) for v in np.asarray(face.landmarks, dtype=np.float64).reshape(-1)]
    row.append("" if face is None else _num(face.confidence, 4))
    pose = face.pose if face is not None else None
    row += [""] * len(POSE_COLUMNS) if pose is None else [_num(v, 2) for v in pose]
    row.append(_text(source_file))
    regions = result.region_motion
    row += [""] * len(REGION_MOTION_COLUMNS) if regions is None else [_num(v, 4) for v in regions]
    return row


class FramesCsvWriter:
    """Per-frame CSV written row by row (flat memory over long inputs).

    A frame's two-sided spotting score arrives with a frame a window later, so its row waits for it;
    at most ``max_pending`` rows wait (frames that never get one, like the first window, are then
    written with the column blank).
    """

    max_pending = 2048

    def __init__(self, path: str | Path, metadata: dict | None = None, frame_names: Sequence[str] | None = None) -> None:
        """``metadata`` (:func:`output_metadata`) goes to the ``.meta.json`` sidecar; ``frame_names`` are a
        frame folder's file names by frame index, for the ``source_file`` column."""
        self.path = Path(path)
        self.frame_names = frame_names
        if metadata is not None:
            write_sidecar(self.path, frame_csv_header(), metadata)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", newline="")
        except OSError as err:
            raise ExportError(f"cannot write {self.path}: {err.strerror or err}") from err
        self._writer = csv.writer(self._fh)
        self._writer.writerow(frame_csv_header())
        self.rows = 0
        self._waiting: deque[FrameResult] = deque()
        self._scores: dict[int, float] = {}

    def write(self, result: FrameResult) -> None:
        oldest = self._waiting[0].index if self._waiting else result.index
        for index, _time, score in result.decided_scores:
            if index >= oldest:  # a row already written cannot take it
                self._scores[index] = score
        self._waiting.append(result)
        self.rows += 1
        while self._waiting and (self._waiting[0].index in self._scores or len(self._waiting) > self.max_pending):
            self._write_first()

    def _write_first(self) -> None:
        first = self._waiting.popleft()
        try:
            names = self.frame_names
            name = names[first.index] if names is not None and 0 <= first.index < len(names) else None
            self._writer.writerow(frame_csv_row(first, self._scores.pop(first.index, None), name))
        except OSError as err:
            raise ExportError(f"cannot write {self.path}: {err.strerror or err}") from err

    def close(self) -> None:
        if not self._fh.closed:
            try:
                while self._waiting:
                    self._write_first()
            finally:
                try:
                    self._fh.close()
                except OSError as err:
                    raise ExportError(f"cannot write {self.path}: {err.strerror or err}") from err

    def __enter__(self) -> FramesCsvWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FrameProbabilitiesWriter:
    """``frame_probabilities.csv``: per frame, the class probabilities of the frame taken as the apex of a
    movement starting at ``reference_index`` (one spotting window earlier), written row by row."""

    def __init__(self, path: str | Path, class_names: Sequence[str], metadata: dict | None = None) -> None:
        self.path = Path(path)
        self.class_names = list(class_names)
        self.header = ["index", "timestamp", "reference_index"] + [f"prob_{c}" for c in self.class_names]
        if metadata is not None:
            write_sidecar(self.path, self.header, metadata)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(self.header)
        except OSError as err:
            raise ExportError(f"cannot write {self.path}: {err.strerror or err}") from err

    def write(self, result: FrameResult) -> None:
        probs = result.probabilities or {}
        ref = "" if result.probability_reference is None else str(result.probability_reference)
        try:
            self._writer.writerow([str(result.index), _num(result.timestamp, 4), ref]
                                  + [_num(probs.get(c), 4) for c in self.class_names])
        except OSError as err:
            raise ExportError(f"cannot write {self.path}: {err.strerror or err}") from err

    def close(self) -> None:
        if not self._fh.closed:
            try:
                self._fh.close()
            except OSError as err:
                raise ExportError(f"cannot write {self.path}: {err.strerror or err}") from err


def write_frames_csv(path: str | Path, results: Iterable[FrameResult], metadata: dict | None = None,
                     frame_names: Sequence[str] | None = None) -> Path:
    """Write per-frame results (timestamp, face found, box, motion score, landmarks, pose) to ``path``,
    and ``metadata`` to its sidecar."""
    with FramesCsvWriter(path, metadata, frame_names) as writer:
        for result in results:
            writer.write(result)
    return Path(path)


def _class_names(events: Sequence[Event]) -> list[str]:
    names: list[str] = []
    for event in events:
        for name in event.probabilities:
            if name not in names:
                names.append(name)
    return names


def event_record(event: Event) -> dict:
    """The JSON-ready summary of an event: times, frames, kind, label, probabilities, region motion."""
    return {
        "event_id": event.event_id,
        "kind": event.kind,
        "onset_index": event.onset_index,
        "apex_index": event.apex_index,
        "offset_index": event.offset_index,
        "reference_index": event.reference_index,
        "while_talking": event.while_talking,
        "onset_time": _json_num(event.onset_time),
        "apex_time": _json_num(event.apex_time),
        "offset_time": _json_num(event.offset_time),
        "duration": _json_num(event.duration),
        "score": _json_num(event.score),
        "label": event.label,
        "top_class": event.top_class,
        "confidence": _json_num(event.confidence),
        "probabilities": {k: _json_num(v) for k, v in event.probabilities.items()},
        "region_magnitude": {k: _json_num(v) for k, v in event.region_magnitude.items()},
        "head_motion": {k: _json_num(v) for k, v in event.head_motion.items()},
    }


def write_events_csv(path: str | Path, events: Sequence[Event], metadata: dict | None = None) -> Path:
    """One row per event; a ``prob_<class>`` column per class, a ``motion_<region>`` per AU region (pixels
    of the aligned face, head motion removed) and the head motion registration removed; ``metadata``
    (:func:`output_metadata`) goes to the ``.meta.json`` sidecar."""
    path = Path(path)
    classes = _class_names(events)
    header = ["event_id", "kind", "onset_index", "apex_index", "offset_index", "onset_time", "apex_time",
              "offset_time", "duration", "score", "label", "top_class", "confidence", "while_talking"]
    header += [f"prob_{c}" for c in classes] + [f"motion_{r}" for r in REGION_NAMES]
    header += [f"head_{k}" for k in HEAD_MOTION_KEYS]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for e in events:
                writer.writerow(
                    [e.event_id, _text(e.kind), e.onset_index, e.apex_index, e.offset_index, _num(e.onset_time),
                     _num(e.apex_time), _num(e.offset_time), _num(e.duration), _num(e.score, 6), _text(e.label),
                     _text(e.top_class), _num(e.confidence), _flag(e.while_talking)]
                    + [_num(e.probabilities.get(c)) for c in classes]
                    + [_num(e.region_magnitude.get(r), 5) for r in REGION_NAMES]
                    + [_num(e.head_motion.get(k), 5) for k in HEAD_MOTION_KEYS]
                )
        tmp.replace(path)
    except OSError as err:
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from err
    if metadata is not None:
        write_sidecar(path, header, metadata)
    return path


def _flag(value: bool | None) -> str:
    """CSV text of a yes/no: 1 or 0, blank when unknown."""
    return "" if value is None else str(int(bool(value)))


def _text(value: str | None) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_events_json(path: str | Path, events: Sequence[Event], metadata: dict | None = None) -> Path:
    """``{"schema_version": N, "metadata": {...}, "events": [...]}`` with the fields of :func:`event_record`."""
    doc = {"schema_version": SCHEMA_VERSION, "metadata": dict(metadata or {}),
           "events": [event_record(e) for e in events]}
    return _write_json_atomic(Path(path), doc)


def event_png_name(event: Event) -> str:
    label = re.sub(r"[^\w-]", "_", event.label or "unrecognised")[:40]
    return f"event_{event.event_id:03d}_{event.apex_time:08.2f}s_{label}.png"


def write_event_png(out_dir: str | Path, event: Event) -> Path:
    """The per-event figure (faces, displacement map with legend, arrows, probabilities, AU regions), and
    beside it the displacement field itself as ``.npy`` ((2, H, W) float32 dx, dy in pixels of the aligned
    face) when the event has one."""
    out_dir = Path(out_dir)
    path = out_dir / event_png_name(event)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        ok = cv2.imwrite(str(path), render_event_figure(event))
        if ok and event.displacement is not None:
            np.save(path.with_suffix(".npy"), np.asarray(event.displacement, dtype=np.float32))
    except OSError as err:
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from err
    if not ok:
        raise ExportError(f"cannot write {path}")
    return path


def write_event_pngs(out_dir: str | Path, events: Iterable[Event]) -> list[Path]:
    return [write_event_png(out_dir, e) for e in events]


LABEL_DELAY_S = 4.0
"""How far an annotated video written while analysing runs behind the analysis: an event is reported once
its offset is certain, up to a few seconds after it, and its label belongs on the frames from its onset."""


class AnnotatedVideoWriter:
    """The input video with the face box, landmarks, motion score and each event's label drawn on.

    An event's label is drawn from its onset until ``label_seconds`` after its offset. Events known in
    advance (a second pass over a file) are given as ``events``; while analysing, events arrive after their
    offset, so frames are held back ``delay_s`` (JPEG-compressed, so a long delay stays small) and the
    events reported meanwhile are drawn on them. The container follows the extension: ``.mp4`` (mp4v) or
    ``.avi`` (MJPG). Opens on the first frame, so the frame size need not be known in advance.
    """

    def __init__(self, path: str | Path, fps: float, label_seconds: float = 1.5, events: Sequence[Event] = (),
                 delay_s: float = 0.0) -> None:
        self.path = Path(path)
        fourcc = VIDEO_FOURCC.get(self.path.suffix.lower())
        if fourcc is None:
            raise ExportError(f"annotated video must end in .mp4 or .avi, got {self.path.name}")
        self.fourcc = fourcc
        self.fps = float(fps)
        self.label_seconds = label_seconds
        self.delay_s = max(0.0, float(delay_s))
        self.events: list[Event] = list(events)
        self._held: deque[tuple[float, bytes | np.ndarray, FrameResult | None]] = deque()
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def _open(self, size: tuple[int, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, size)
        if not writer.isOpened():
            raise ExportError(f"cannot open {self.path} for writing with codec {self.fourcc}")
        self._writer, self._size = writer, size

    def add_events(self, events: Sequence[Event]) -> None:
        """Events reported since the last call (drawn on every held or later frame they cover)."""
        self.events.extend(events)

    def write(self, frame: np.ndarray, result: FrameResult | None = None, events: Sequence[Event] = ()) -> None:
        """Append ``frame`` (annotated with ``result``); ``events`` are those reported with this frame."""
        self.add_events(events)
        if self.delay_s <= 0:
            self._emit(frame, result)
            return
        timestamp = result.timestamp if result is not None else self.frames / max(self.fps, 1e-6)
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
        self._held.append((timestamp, jpeg.tobytes() if ok else frame.copy(), result))
        while self._held and timestamp - self._held[0][0] > self.delay_s:
            self._release_oldest()

    def _release_oldest(self) -> None:
        _t, held, result = self._held.popleft()
        frame = cv2.imdecode(np.frombuffer(held, np.uint8), cv2.IMREAD_UNCHANGED) if isinstance(held, bytes) else held
        self._emit(frame, result)

    def _emit(self, frame: np.ndarray, result: FrameResult | None) -> None:
        img = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()
        if self._writer is None:
            self._open((img.shape[1], img.shape[0]))
        if (img.shape[1], img.shape[0]) != self._size:
            img = cv2.resize(img, self._size)
        if result is not None:
            annotate_frame(img, result, self.event_at(result.timestamp))
        self._writer.write(img)
        self.frames += 1

    def event_at(self, timestamp: float) -> Event | None:
        """The latest event whose onset .. offset + ``label_seconds`` covers ``timestamp``."""
        covering = [e for e in self.events if e.onset_time - 0.5 / max(self.fps, 1e-6) <= timestamp
                    <= e.offset_time + self.label_seconds]
        return max(covering, key=lambda e: e.onset_time) if covering else None

    def close(self) -> None:
        while self._held:
            self._release_oldest()
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def annotate_frame(img: np.ndarray, result: FrameResult, event: Event | None = None) -> np.ndarray:
    """Draw a frame's face box, landmarks and motion score, and a recent event's label, in place (BGR)."""
    face = result.face
    if face is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        cv2.rectangle(img, (x0, y0), (x1, y1), bgr(PALETTE["face_box"]), 2)
        for x, y in np.asarray(face.landmarks).reshape(-1, 2):
            cv2.circle(img, (int(round(x)), int(round(y))), 1, bgr(PALETTE["landmarks"]), -1, cv2.LINE_AA)
    status = f"t {result.timestamp:7.2f}s  score {result.motion_score:.3g}" if math.isfinite(
        result.motion_score) else f"t {result.timestamp:7.2f}s"
    if result.message:
        status += f"  {result.message}"
    cv2.putText(img, status, (8, 20), _FONT, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, status, (8, 20), _FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    if event is not None:
        label = event.label or event.kind
        conf = f" {event.confidence:.0%}" if event.label is not None and math.isfinite(event.confidence) else ""
        text = f"{event.kind} expression: {label}{conf}" + (", while talking" if event.while_talking else "")
        scale = fitted_text_scale(text, img.shape[1], 0.7, thickness=2)
        cv2.putText(img, text, (8, img.shape[0] - 14), _FONT, scale, (0, 0, 0), 4, cv2.LINE_AA)
        color = bgr(class_color(event.label)) if event.label is not None else bgr(PALETTE["uncertain"])
        cv2.putText(img, text, (8, img.shape[0] - 14), _FONT, scale, color, 2, cv2.LINE_AA)
    return img
