"""Where frames come from: a video file, a folder of frames, a single image, or a camera.

Every source yields ``(timestamp_seconds, frame_bgr_uint8)`` through ``read()`` and returns ``None``
at the end, so the engine, the CLI and the GUI consume them alike. Sources are plain objects with no
thread of their own: the caller may read from any thread, but one source must be read from one thread
at a time (the live helpers in :mod:`frl_core.engine` own a capture thread for that).

Timestamps of recorded sources are ``index / fps`` (container timestamps are often missing or wrong in
research data; a video file whose frames' timestamps show a variable rate is first resampled to a constant
one by them); a live camera's are seconds since it opened. ``fps_override`` replaces the frame rate a
source reports, for files that lie about it (CASME II frame folders are 200 fps, not the 30 assumed).
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".jp2"})
DEFAULT_FOLDER_FPS = 30.0
"""Frame rate assumed for a frame folder when none is given (pass ``fps_override`` for dataset rates)."""
DEFAULT_CAMERA_FPS = 30.0
_MAX_PLAUSIBLE_FPS = 1000.0
_CAMERA_READ_RETRIES = 10
_DAMAGE_RETRIES = 60
"""Failed reads in a row a video file that announces more frames is read on through (a damaged stretch)."""


class SourceError(Exception):
    """A source that cannot be opened or read; ``str(err)`` is a one-line message for the user."""


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: img2 < img10, reg_img9 < reg_img10."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def list_frame_files(folder: Path) -> list[Path]:
    """The image files of a frame folder in natural order (dataset layouts like img1.jpg..img120.jpg)."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    files.sort(key=lambda p: natural_key(p.name))
    return files


def frame_file_names(spec: str | int | Path | None) -> list[str] | None:
    """The file names of a frame folder by frame index (what ``open_source`` reads), None for other sources."""
    if spec is None or isinstance(spec, int) or not Path(spec).is_dir():
        return None
    names = [p.name for p in list_frame_files(Path(spec))]
    return names or None


def _plausible_fps(value: float) -> bool:
    return np.isfinite(value) and 0.0 < value <= _MAX_PLAUSIBLE_FPS


TEXT_CODECS = ("ansi", "tty ")
"""FFmpeg decoders that turn plain text into frames (its tty demuxer renders ANSI art)."""


def looks_like_text(path: Path, probe_bytes: int = 4096) -> bool:
    """True for a file that starts with text: no video container has an opening without NUL bytes that
    also decodes as UTF-8."""
    try:
        with open(path, "rb") as f:
            head = f.read(probe_bytes)
    except OSError:
        return False
    if not head or b"\x00" in head or head.startswith(b"YUV4MPEG2"):  # y4m: a text header, then raw pixels
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start >= len(head) - 3  # a multi-byte character cut by the probe
    return True


def _fourcc_text(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
    return "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))


def _open_capture(target: str | int, not_open: str, no_frame: str) -> tuple[cv2.VideoCapture, np.ndarray]:
    """An opened capture and its first frame (read now, so an undecodable source fails at open time)."""
    cap = cv2.VideoCapture(target)
    if not cap.isOpened():
        cap.release()
        raise SourceError(not_open)
    ok, first = cap.read()
    if not ok or first is None:
        cap.release()
        raise SourceError(no_frame)
    return cap, first


def _fps(reported: float, fps_override: float | None, default: float) -> tuple[float, str]:
    """The rate timestamps use and where it comes from (see ``FrameSource.fps_origin``)."""
    if fps_override is not None:
        return float(fps_override), "override"
    return (reported, "source") if _plausible_fps(reported) else (default, "assumed")


class FrameSource:
    """Common interface of all sources.

    Attributes: ``fps`` (frames per second used for timestamps), ``frame_count`` (None for live),
    ``is_live``, ``name`` (for status bars and file names), ``frame_size`` ``(width, height)`` or None
    when unknown before the first frame, ``position`` (index of the next frame ``read`` returns).
    """

    fps: float
    fps_origin: str = "source"
    """Where ``fps`` comes from: "source" (the container or camera says), "override" (the user said),
    "assumed" (nothing says: a frame folder, or a file whose stored rate is implausible)."""
    frame_count: int | None
    is_live: bool
    name: str
    frame_size: tuple[int, int] | None
    position: int

    def read(self) -> tuple[float, np.ndarray] | None:
        """The next ``(timestamp, frame)`` (BGR uint8), or None at the end of a recorded source."""
        raise TypeError(f"{type(self).__name__} does not implement read()")

    def seek(self, index: int) -> None:
        """Make the next ``read`` return frame ``index`` (recorded sources only)."""
        raise SourceError(f"{self.name}: seeking is not possible in a live source")

    def close(self) -> None:
        """Release the file or device; reading afterwards returns None."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        while True:
            item = self.read()
            if item is None:
                return
            yield item


_RATE_PROBE_FRAMES = 10
"""Frames read ahead at open to see whether a file's frame rate is constant."""
_VARIABLE_RATE_TOLERANCE = 0.05
_STANDARD_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0, 90.0, 100.0, 119.88, 120.0, 240.0)


class VideoFileSource(FrameSource):
    """A video file decoded by OpenCV's FFmpeg backend.

    A file whose frames' own timestamps tick at another rate than the container's average (a variable frame
    rate: phones in dim light, screen and video-call recordings) is resampled to a constant rate by those
    timestamps, the nearest frame repeated or skipped (``variable_rate``): frame indices, times and the
    spotter's windows then stay true to the clock. Every other file is read frame for frame as it is stored.

    A decoder error before the frame count the file announces is not its end: reading goes on past the damaged
    stretch, the first frame decoded after it stands in for the frames lost (by its timestamp), so later frames
    keep their times, and their indices are kept in ``damaged`` for the run to report.
    """

    def __init__(self, path: Path, fps_override: float | None = None) -> None:
        self.path = path
        self.name = path.name
        self.is_live = False
        not_video = f"cannot read video {path}: not a video OpenCV can decode"
        if looks_like_text(path):
            raise SourceError(f"cannot read video {path}: it is a text file, not a video")
        self._cap, first = _open_capture(str(path), not_video, f"cannot read video {path}: it holds no decodable frame")
        if _fourcc_text(self._cap).lower() in TEXT_CODECS:
            self._cap.release()
            raise SourceError(f"cannot read video {path}: it is a text file, not a video")
        self._ahead: deque[tuple[float, np.ndarray]] = deque([(self._pts(), first)])
        self.reported_fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps, self.fps_origin = _fps(self.reported_fps, fps_override, DEFAULT_FOLDER_FPS)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None
        self.frame_size = (int(first.shape[1]), int(first.shape[0]))
        self.position = 0
        self.variable_rate = False
        """True when the stored frames are resampled to ``fps`` by their timestamps."""
        self._current: tuple[float, np.ndarray] | None = None
        self._t0 = 0.0
        self._stored_count = count if count > 0 else None
        self._reads = 1
        self._last_pts: float | None = None
        self._held: np.ndarray | None = None
        self._stand_ins = 0
        self.damaged: list[int] = []
        if fps_override is None and self.fps_origin == "source":
            self._probe_rate(count)

    def _pts(self) -> float:
        """The timestamp (s) of the frame read last."""
        return float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0

    def _decode(self) -> tuple[float, np.ndarray] | None:
        ok, frame = self._cap.read()
        self._reads += 1
        return (self._pts(), frame) if ok and frame is not None else None

    def _decode_on(self) -> tuple[tuple[float, np.ndarray] | None, int]:
        """The next decodable frame, read past a damaged stretch while the file announces more frames; and
        how many reads failed before it."""
        failed = 0
        while (item := self._decode()) is None:
            failed += 1
            if self._stored_count is None or self._reads >= self._stored_count or failed >= _DAMAGE_RETRIES:
                return None, failed
        return item, failed

    def _probe_rate(self, count: int) -> None:
        while len(self._ahead) < _RATE_PROBE_FRAMES:
            item = self._decode()
            if item is None:
                break
            self._ahead.append(item)
        times = np.array([t for t, _ in self._ahead])
        steps = np.diff(times)
        if len(steps) < 4 or not np.all(steps > 0):
            return  # too short to tell, or timestamps that do not tick: read frame for frame
        rate = 1.0 / float(np.median(steps))
        if abs(rate - self.reported_fps) <= _VARIABLE_RATE_TOLERANCE * rate:
            return
        # Frames tick faster than the file's average: resample at that rate (or at the average when the file
        # starts in a slow stretch), snapped to the standard rate it is.
        rate = max(rate, self.reported_fps)
        nearest = min(_STANDARD_RATES, key=lambda r: abs(r - rate))
        rate = nearest if abs(nearest - rate) <= 0.03 * nearest else rate
        if not _plausible_fps(rate):
            return
        self.variable_rate = True
        self._t0 = float(times[0])
        self.fps = rate
        self.frame_count = round(count / self.reported_fps * rate) if count > 0 else None

    def _peek(self) -> tuple[float, np.ndarray] | None:
        if not self._ahead:
            item, failed = self._decode_on()
            if item is None:
                return None
            if failed:
                # timestamps place the frames after a damaged stretch; the slots before them repeat the last one
                self.damaged.append(self.position)
            self._ahead.append(item)
        return self._ahead[0]

    def read(self) -> tuple[float, np.ndarray] | None:
        if self._cap is None:
            return None
        if not self.variable_rate:
            if self._held is not None:
                if self._stand_ins:
                    self._stand_ins -= 1
                    self.damaged.append(self.position)
                    frame = self._held.copy()
                else:
                    frame, self._held = self._held, None
            else:
                if self._ahead:
                    (pts, frame), failed = self._ahead.popleft(), 0
                else:
                    item, failed = self._decode_on()
                    if item is None:
                        return None
                    pts, frame = item
                lost = failed
                if failed and self._last_pts is not None:
                    by_time = round((pts - self._last_pts) * self.fps) - 1
                    lost = by_time if 0 <= by_time <= 10 * failed else failed
                self._last_pts = pts
                if lost:
                    # the frame decoded after the damage stands in for the frames it lost, then shows itself
                    self._held, self._stand_ins = frame, lost - 1
                    self.damaged.append(self.position)
                    frame = frame.copy()
        else:
            slot = self._t0 + self.position / self.fps
            half = 0.5 / self.fps
            shown = self._current
            while (upcoming := self._peek()) is not None and (self._current is None or upcoming[0] <= slot + half):
                self._current = self._ahead.popleft()
            if self._current is None or (upcoming is None and slot > self._current[0] + half):
                return None
            # a repeated frame is a copy: a consumer that draws on its frame must not draw on the last one
            frame = self._current[1].copy() if self._current is shown else self._current[1]
        index = self.position
        self.position += 1
        return index / self.fps, frame

    def seek(self, index: int) -> None:
        if self._cap is None:
            raise SourceError(f"{self.name} is closed")
        index = max(0, int(index))
        if self.frame_count is not None:
            index = min(index, self.frame_count)
        self._ahead.clear()
        self._current = None
        self._held, self._stand_ins, self._last_pts = None, 0, None
        if self.variable_rate:
            # OpenCV seeks by time to about the frame shown then; reading resumes from there
            self._cap.set(cv2.CAP_PROP_POS_MSEC, 1000.0 * (self._t0 + index / self.fps))
        else:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self.position = index

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FrameFolderSource(FrameSource):
    """A folder of image files (one frame each) read in natural order; also a single image file.

    A file that cannot be decoded (a damaged copy, a stray non-image with an image's extension) does not end
    the sequence: the nearest readable frame before it stands in for it, so every later frame keeps its index
    and timestamp, and its path is kept in ``unreadable`` for the run to report. Only a folder with no
    readable image at all fails to open. Frames of another size than the first are read as they are, and
    named in ``other_size``: a folder that mixes sizes (a crop, a thumbnail) shows a moving face.
    """

    def __init__(self, files: list[Path], name: str, fps_override: float | None = None) -> None:
        self.files = files
        self.name = name
        self.is_live = False
        self.fps, self.fps_origin = _fps(0.0, fps_override, DEFAULT_FOLDER_FPS)
        self.frame_count = len(files)
        self.position = 0
        self.unreadable: list[Path] = []
        self.other_size: list[Path] = []
        first_index, first = self._first_readable()
        self.frame_size = (int(first.shape[1]), int(first.shape[0]))
        self._cached: tuple[int, np.ndarray] | None = (first_index, first)

    def _decode(self, index: int) -> np.ndarray | None:
        return cv2.imread(str(self.files[index]), cv2.IMREAD_COLOR)

    def _first_readable(self) -> tuple[int, np.ndarray]:
        for index in range(self.frame_count):
            frame = self._decode(index)
            if frame is not None:
                return index, frame
        if self.frame_count == 1:
            raise SourceError(f"cannot read image {self.files[0]}: not an image OpenCV can decode")
        raise SourceError(f"{self.name}: none of its {self.frame_count} image files is one OpenCV can decode")

    def _stand_in(self, index: int) -> np.ndarray:
        """The nearest readable frame before ``index`` (after it, at the very start), decoded afresh: the
        consumer may have drawn on the copy it was given."""
        if self.files[index] not in self.unreadable:
            self.unreadable.append(self.files[index])
        for other in [*range(index - 1, -1, -1), *range(index + 1, self.frame_count)]:
            if self.files[other] in self.unreadable:
                continue
            frame = self._decode(other)
            if frame is not None:
                return frame
            self.unreadable.append(self.files[other])
        raise SourceError(f"{self.name}: no image OpenCV can decode")

    def read(self) -> tuple[float, np.ndarray] | None:
        index = self.position
        if index >= self.frame_count:
            return None
        if self._cached is not None and self._cached[0] == index:
            frame = self._cached[1]
            self._cached = None
        else:
            frame = self._decode(index)
        if frame is None:
            frame = self._stand_in(index)
        elif (frame.shape[1], frame.shape[0]) != self.frame_size and self.files[index] not in self.other_size:
            self.other_size.append(self.files[index])
        self.position += 1
        return index / self.fps, frame

    def seek(self, index: int) -> None:
        self.position = min(max(0, int(index)), self.frame_count)

    def close(self) -> None:
        self.position = self.frame_count
        self._cached = None


class CameraSource(FrameSource):
    """A camera by index. ``read`` raises SourceError when the camera stops delivering (unplugged)."""

    def __init__(self, index: int, fps_override: float | None = None) -> None:
        self.index = index
        self.name = f"camera {index}"
        self.is_live = True
        self.frame_count = None
        self.position = 0
        self._cap, first = _open_capture(index, f"no camera at index {index} (is one connected and free?)",
                                         f"camera {index} opened but delivers no frames")
        self._t0 = time.monotonic()
        self._pending: np.ndarray | None = first
        self.reported_fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps, self.fps_origin = _fps(self.reported_fps, fps_override, DEFAULT_CAMERA_FPS)
        self.frame_size = (int(first.shape[1]), int(first.shape[0]))

    def read(self) -> tuple[float, np.ndarray] | None:
        if self._cap is None:
            return None
        if self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            frame = None
            for _ in range(_CAMERA_READ_RETRIES):
                ok, frame = self._cap.read()
                if ok and frame is not None:
                    break
                frame = None
            if frame is None:
                self.close()
                raise SourceError(f"camera {self.index} stopped delivering frames (unplugged?)")
        self.position += 1
        return time.monotonic() - self._t0, frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


ROTATIONS = (0, 90, 180, 270)
"""Clockwise turns a source's frames can be given (``open_source(..., rotate=)``)."""

_CV_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def rotate_frame(frame: np.ndarray, degrees: int) -> np.ndarray:
    """The frame turned ``degrees`` (0, 90, 180, 270) clockwise."""
    return frame if degrees == 0 else cv2.rotate(frame, _CV_ROTATE[degrees])


class RotatedSource(FrameSource):
    """Another source's frames turned clockwise: a camera mounted sideways or upside down, or a phone video
    whose rotation flag was lost (OpenCV already applies a flag that is there)."""

    def __init__(self, inner: FrameSource, degrees: int) -> None:
        if degrees not in _CV_ROTATE:
            raise SourceError(f"rotation must be one of {', '.join(map(str, ROTATIONS))} degrees, got {degrees}")
        self.inner, self.degrees = inner, degrees
        self.name = inner.name
        self.is_live = inner.is_live
        self.fps, self.fps_origin = inner.fps, inner.fps_origin
        self.frame_count = inner.frame_count
        size = inner.frame_size
        self.frame_size = None if size is None else (size if degrees == 180 else (size[1], size[0]))

    @property
    def position(self) -> int:  # type: ignore[override]
        return self.inner.position

    def __getattr__(self, name: str):
        """What only some sources have (a folder's ``files``, a file's ``path``) comes from the inner one."""
        return getattr(self.__dict__["inner"], name)

    def read(self) -> tuple[float, np.ndarray] | None:
        item = self.inner.read()
        return None if item is None else (item[0], rotate_frame(item[1], self.degrees))

    def seek(self, index: int) -> None:
        self.inner.seek(index)

    def close(self) -> None:
        self.inner.close()


def open_source(spec: str | int | Path, fps_override: float | None = None, rotate: int = 0) -> FrameSource:
    """Open a camera index (int or digits), a video file, a frame folder or a single image, its frames
    turned ``rotate`` degrees clockwise.

    Raises SourceError with a one-line message for a missing path, an unreadable video, a folder
    without images, no camera, or a rotation other than 0, 90, 180, 270.
    """
    if rotate not in ROTATIONS:
        raise SourceError(f"rotation must be one of {', '.join(map(str, ROTATIONS))} degrees, got {rotate}")
    source = _open_source(spec, fps_override)
    return source if rotate == 0 else RotatedSource(source, rotate)


def _open_source(spec: str | int | Path, fps_override: float | None) -> FrameSource:
    if fps_override is not None and not _plausible_fps(float(fps_override)):
        raise SourceError(f"frame rate must be between 0 and {_MAX_PLAUSIBLE_FPS:g}, got {fps_override}")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return CameraSource(int(spec), fps_override)
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceError(f"no such file or folder: {path}")
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            subdirs = sorted((p for p in path.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))
            with_images = [d for d in subdirs if list_frame_files(d)]
            if with_images:
                raise SourceError(
                    f"folder {path} holds no images itself; open one of its {len(with_images)} "
                    f"sequence folders, e.g. {with_images[0]}"
                )
            raise SourceError(f"folder {path} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        return FrameFolderSource(files, path.name, fps_override)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return FrameFolderSource([path], path.name, fps_override)
    return VideoFileSource(path, fps_override)
