"""Capture and analysis threads, and the results they hand to the window.

The GUI thread never decodes a frame nor runs the model. A :class:`CaptureThread` per source opens and
reads it (and records a live stream); one long-lived :class:`AnalysisThread` owns the recognizer (on the
GPU when present) and the frl_core engine. Between them a :class:`FrameMailbox`: for recorded files a
small blocking queue (every frame is analysed), for live input a single slot whose waiting frame is
replaced, and counted as dropped, when a newer one arrives, so analysis never lags behind the camera.

Results travel to the GUI by queued signals, coalesced so that fast analysis (hundreds of frames per
second) cannot flood the event loop: per-frame results in batches, the displayed frame only when the
GUI has taken the previous one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from app.displacement_view import event_pictures
from app.settings import AppSettings
from frl_core.engine import gray_copy
from frl_core.io.exports import VIDEO_FOURCC
from frl_core.paths import ASSETS_DIR
from frl_core.io.sources import FrameSource, SourceError, open_source
from frl_core.types import Event, FrameResult

STOP_TIMEOUT_MS = 900
"""How long closing waits for each thread; both together stay within the one second promised."""
RESULT_BATCH_S = 0.05
RECORDED_QUEUE_DEPTH = 4
KEPT_PICTURES = 200
"""Displacement pictures kept ready for the newest events; older ones are redrawn when selected."""


def default_weights_path() -> Path:
    """The shipped live-path weights (they may not exist yet in a development checkout)."""
    try:
        from frl_core.models.inference import default_checkpoint_path

        return Path(default_checkpoint_path())
    except ImportError:
        return ASSETS_DIR / "weights" / "frl_dgt_live.pt"


_PRELOADED: dict[tuple[str, str], tuple[object, ModelInfo]] = {}


def warm_up(settings: AppSettings | None = None) -> list[str]:
    """Load dlib's face models and the recognizer before the window runs; returns any problems met.

    Both hold Python's global lock for long stretches (dlib deserialises a 100 MB model in one C call;
    building the network and its first forward pass take seconds). Done in the analysis thread while
    the window is up, that would freeze the GUI; done here, behind a splash screen, the window stays
    responsive from its first frame. The recognizer is handed to the analysis thread through
    :func:`load_recognizer`.
    """
    problems = []
    try:
        import torch

        # Leave a core to the GUI thread: a CPU forward pass on every core starves the event loop.
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    except ImportError as err:
        problems.append(str(err))
    try:
        from frl_core.faces import FaceConfig, FaceTracker

        FaceTracker(FaceConfig())
    except Exception as err:  # a missing landmark model: the engine reports it when a source opens
        problems.append(str(err))
    if settings is not None:
        try:
            recognizer, info = load_recognizer(settings)
            blank = np.full((64, 64), 128, np.uint8)
            recognizer.recognize([(blank, blank)])
            _PRELOADED[settings.model_key()] = (recognizer, info)
        except Exception as err:  # reported again, in the window, when the analysis thread loads it
            problems.append(str(err))
    return problems


@dataclass
class SourceInfo:
    """What the window shows about an opened source."""

    spec: str | int
    name: str
    fps: float
    frame_count: int | None
    is_live: bool
    frame_size: tuple[int, int] | None


@dataclass
class FrameItem:
    index: int
    timestamp: float
    frame: np.ndarray
    gray: np.ndarray | None = None
    """Grayscale copy made in the capture thread (None for frames already analysed)."""


class _End:
    """Marks the end of a recorded source in the mailbox."""


END = _End()


class FrameMailbox:
    """Hand-over from capture to analysis: blocking queue for files, one dropping slot for live input."""

    def __init__(self, live: bool, depth: int = RECORDED_QUEUE_DEPTH) -> None:
        self.live = live
        self.depth = 1 if live else depth
        self.dropped = 0
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item, stop: threading.Event) -> bool:
        """Queue ``item``; live: replace a waiting frame (dropped); recorded: wait for room. False if stopped."""
        with self._cond:
            if self.live:
                while self._items and isinstance(self._items[0], FrameItem):
                    self._items.popleft()
                    self.dropped += 1
            else:
                while len(self._items) >= self.depth and not stop.is_set() and not self._closed:
                    self._cond.wait(0.05)
                if stop.is_set() or self._closed:
                    return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float):
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()


class AnalysedFrames:
    """Indices already analysed in this session (read by capture to pace replays, written by analysis)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: set[int] = set()

    def add(self, index: int) -> None:
        with self._lock:
            self._done.add(index)

    def __contains__(self, index: int) -> bool:
        with self._lock:
            return index in self._done

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)


class RateMeter:
    """Frames per second over the last second or so."""

    def __init__(self, span_s: float = 1.0) -> None:
        self.span_s = span_s
        self._times: deque[float] = deque()

    def tick(self) -> None:
        now = time.monotonic()
        self._times.append(now)
        while self._times and now - self._times[0] > self.span_s:
            self._times.popleft()

    def rate(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class CaptureThread(QThread):
    """Opens one source and feeds its frames to the mailbox: play, pause, step, seek, record."""

    opened = Signal(object)  # SourceInfo
    open_failed = Signal(str)
    failed = Signal(str)  # a source that broke mid-stream (camera unplugged, unreadable image)
    ended = Signal()
    recording_failed = Signal(str)

    def __init__(self, spec: str | int, fps_override: float | None, analysed: AnalysedFrames,
                 pace: str = "max", autoplay: bool = True,
                 source_factory: Callable[[str | int, float | None], FrameSource] = open_source) -> None:
        super().__init__()
        self.spec = spec
        self.fps_override = fps_override
        self.analysed = analysed
        self.pace = pace
        self.source_factory = source_factory
        self.mailbox: FrameMailbox | None = None
        self.info: SourceInfo | None = None
        self.rate_in = RateMeter()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._playing = autoplay
        self._steps = 0
        self._seek_to: int | None = None
        self._record_path: Path | None = None
        self._recorder: cv2.VideoWriter | None = None
        self._release = threading.Event()
        """Set when the window adopted this source (or gave up on it); reading starts only then."""
        self._adopted = False
        self._graceful = False

    # --- commands from the GUI thread -------------------------------------------------------------
    def adopt(self, mailbox: FrameMailbox) -> None:
        self.mailbox = mailbox
        self._adopted = True
        self._release.set()

    def play(self) -> None:
        with self._cond:
            self._playing = True
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._playing = False
            self._cond.notify_all()

    def is_playing(self) -> bool:
        return self._playing

    def step(self) -> None:
        with self._cond:
            self._playing = False
            self._steps += 1
            self._cond.notify_all()

    def seek(self, index: int) -> None:
        with self._cond:
            self._seek_to = max(0, int(index))
            self._cond.notify_all()

    def set_pace(self, pace: str) -> None:
        self.pace = pace

    def start_recording(self, path: Path) -> None:
        with self._cond:
            self._record_path = Path(path)
            self._cond.notify_all()

    def stop_recording(self) -> None:
        with self._cond:
            self._record_path = None

    def request_stop(self, graceful: bool = False) -> None:
        """Stop reading; ``graceful`` lets analysis finish the frames it has and flush its last events."""
        self._graceful = graceful
        self._stop.set()
        self._release.set()
        with self._cond:
            self._cond.notify_all()
        if self.mailbox is not None and not graceful:
            self.mailbox.close()

    # --- the thread ---------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            source = self.source_factory(self.spec, self.fps_override)
        except SourceError as err:
            self.open_failed.emit(str(err))
            return
        except Exception as err:  # an OpenCV or OS failure the source did not wrap: still a message
            self.open_failed.emit(f"cannot open {self.spec}: {err}")
            return
        try:
            self.info = SourceInfo(self.spec, source.name, float(source.fps), source.frame_count,
                                   bool(source.is_live), source.frame_size)
            self.opened.emit(self.info)
            self._release.wait()
            if self._adopted and not self._stop.is_set():
                self._loop(source)
                if source.is_live and (self._graceful or not self._stop.is_set()):
                    self.mailbox.put(END, threading.Event())
        finally:
            self._close_recorder()
            source.close()

    def _next_command(self) -> tuple[int | None, bool]:
        """Wait until there is something to do; returns (seek index or None, read a frame?)."""
        with self._cond:
            while not self._stop.is_set():
                if self._seek_to is not None:
                    seek, self._seek_to = self._seek_to, None
                    return seek, True
                if self._playing:
                    return None, True
                if self._steps:
                    self._steps -= 1
                    return None, True
                self._cond.wait(0.05)
        return None, False

    def _loop(self, source: FrameSource) -> None:
        pace_origin: tuple[float, int] | None = None
        at_end = False
        while not self._stop.is_set():
            seek, read = self._next_command()
            if not read:
                break
            if seek is not None:
                if source.is_live:
                    continue
                try:
                    source.seek(seek)
                except SourceError as err:
                    self.failed.emit(str(err))
                    continue
                at_end = False
                pace_origin = None
            elif at_end:
                with self._cond:
                    self._playing = False
                continue
            try:
                item = source.read()
            except SourceError as err:
                self.failed.emit(str(err))
                if source.is_live:
                    break
                continue
            if item is None:
                at_end = True
                with self._cond:
                    self._playing = False
                self.mailbox.put(END, self._stop)
                self.ended.emit()
                continue
            timestamp, frame = item
            index = source.position - 1
            self.rate_in.tick()
            self._record(frame, source.fps)
            if not source.is_live and self._playing:
                replay = index in self.analysed
                if self.pace == "1x" or replay:
                    if pace_origin is None:
                        pace_origin = (time.monotonic(), index)
                    due = pace_origin[0] + (index - pace_origin[1]) / max(source.fps, 1e-3)
                    delay = due - time.monotonic()
                    if delay > 0:
                        self._stop.wait(min(delay, 1.0))
                else:
                    pace_origin = None
            else:
                pace_origin = None
            gray = None if index in self.analysed else gray_copy(frame)
            if not self.mailbox.put(FrameItem(index, timestamp, frame, gray), self._stop):
                break

    def _record(self, frame: np.ndarray, fps: float) -> None:
        path = self._record_path
        if path is None:
            if self._recorder is not None:
                self._close_recorder()
            return
        if self._recorder is None:
            fourcc = VIDEO_FOURCC.get(path.suffix.lower(), "mp4v")
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps,
                                     (frame.shape[1], frame.shape[0]))
            if not writer.isOpened():
                self._record_path = None
                self.recording_failed.emit(f"cannot record to {path}")
                return
            self._recorder = writer
        self._recorder.write(frame)

    def _close_recorder(self) -> None:
        if self._recorder is not None:
            self._recorder.release()
            self._recorder = None


@dataclass
class ModelInfo:
    device_name: str
    description: str
    untrained: bool
    class_names: tuple[str, ...]


def _is_out_of_memory(err: BaseException) -> bool:
    return "out of memory" in str(err).lower() or type(err).__name__ == "OutOfMemoryError"


def load_recognizer(settings: AppSettings):
    """The recognizer the settings ask for, and a description for the status bar.

    A wrong weights file raises ``EngineError`` with frl_core's message. Without a chosen file and
    without shipped weights, an untrained small model keeps the whole pipeline usable (and says so).
    """
    from frl_core.engine import load_recognizer as engine_load_recognizer

    preloaded = _PRELOADED.pop(settings.model_key(), None)
    if preloaded is not None:
        return preloaded
    if settings.weights:
        recognizer = engine_load_recognizer(settings.weights, settings.device)
        return recognizer, ModelInfo(recognizer.device_name, Path(settings.weights).name, False,
                                     tuple(recognizer.class_names))
    default = default_weights_path()
    if default.is_file():
        recognizer = engine_load_recognizer(None, settings.device)
        return recognizer, ModelInfo(recognizer.device_name, default.name, False, tuple(recognizer.class_names))
    from frl_core.models import create_model
    from frl_core.models.inference import Recognizer

    recognizer = Recognizer.from_model(create_model("frl_dgt_small", input_mode="pair"), device=settings.device)
    return recognizer, ModelInfo(recognizer.device_name, "frl_dgt_small (untrained model)", True,
                                 tuple(recognizer.class_names))


def _light(result: FrameResult) -> FrameResult:
    """A copy without the aligned crop: the window keeps one per frame for hours of video."""
    if result.aligned_face is None:
        return result
    return dataclasses.replace(result, aligned_face=None)


class AnalysisThread(QThread):
    """Owns the recognizer and the engine; analyses what the current mailbox delivers."""

    model_ready = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    results = Signal(int, list)  # generation, [FrameResult]
    events_found = Signal(int, list)  # generation, [(Event, pictures)]
    display_ready = Signal()
    error = Signal(str)
    finished_source = Signal(int)  # generation: a recorded source was analysed to its end
    stats = Signal(float)  # frames per second processed

    def __init__(self, settings: AppSettings,
                 recognizer_loader: Callable[[AppSettings], tuple[object, ModelInfo]] = load_recognizer,
                 engine_factory: Callable[[AppSettings, object, float], object] | None = None) -> None:
        super().__init__()
        self.settings = settings.copy()
        self.recognizer_loader = recognizer_loader
        self.engine_factory = engine_factory or _make_engine
        self.recognizer = None
        self.model_info: ModelInfo | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending_source: tuple[int, FrameMailbox, AnalysedFrames, AppSettings, float] | None = None
        self._engine = None
        self._pending_model: AppSettings | None = None
        self._display: tuple[np.ndarray, FrameResult | None, int] | None = None
        self._display_waiting = False
        self.rate = RateMeter()

    # --- commands from the GUI thread -------------------------------------------------------------
    def set_source(self, generation: int, mailbox: FrameMailbox, analysed: AnalysedFrames,
                   settings: AppSettings, fps: float) -> None:
        with self._lock:
            self._pending_source = (generation, mailbox, analysed, settings.copy(), fps)
        self._wake.set()

    def reload_model(self, settings: AppSettings) -> None:
        with self._lock:
            self._pending_model = settings.copy()
        self._wake.set()

    def take_display(self) -> tuple[np.ndarray, FrameResult | None, int] | None:
        """The newest frame to show (the GUI calls this on ``display_ready``)."""
        with self._lock:
            item, self._display = self._display, None
            self._display_waiting = False
            return item

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # --- the thread ---------------------------------------------------------------------------------
    def _load_model(self, settings: AppSettings) -> None:
        """Load what the settings ask for; on failure keep the current model, or start with the default one."""
        try:
            recognizer, info = self.recognizer_loader(settings)
        except Exception as err:  # EngineError (wrong weights file), DeviceError (no GPU), ...: all for the user
            message = f"cannot load the model: {err}"
            if self.recognizer is not None:
                self.model_failed.emit(f"{message} (still using {self.model_info.description})")
                return
            fallback = settings.copy()
            fallback.weights, fallback.device = "", "auto"
            if fallback.model_key() == settings.model_key():
                self.model_failed.emit(message)
                return
            try:
                recognizer, info = self.recognizer_loader(fallback)
            except Exception as err2:
                self.model_failed.emit(f"{message}; the default model failed too: {err2}")
                return
            self.model_failed.emit(f"{message} (using {info.description} on {info.device_name} instead)")
        self.recognizer, self.model_info = recognizer, info
        self.settings = settings
        self.model_ready.emit(info)
        if self._engine is not None:
            self._engine.recognizer = recognizer

    def run(self) -> None:
        self._load_model(self.settings)
        self._engine = None
        generation = -1
        mailbox: FrameMailbox | None = None
        analysed: AnalysedFrames | None = None
        engine_settings = self.settings
        fps = 30.0
        last_index: int | None = None
        segment_start = 0
        batch: list[FrameResult] = []
        last_emit = last_stats = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                pending_model, self._pending_model = self._pending_model, None
                pending_source, self._pending_source = self._pending_source, None
            if pending_model is not None:
                self._load_model(pending_model)
                if self._engine is not None:
                    self._engine.recognizer = self.recognizer
            if pending_source is not None:
                if batch:
                    self.results.emit(generation, batch)
                    batch = []
                generation, mailbox, analysed, engine_settings, fps = pending_source
                self._engine = self._build_engine(engine_settings, fps)
                last_index = None
            engine = self._engine
            if mailbox is None or engine is None:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            item = mailbox.get(0.02)
            now = time.monotonic()
            if item is END:
                if batch:
                    self.results.emit(generation, batch)
                    batch = []
                self._emit_events(generation, self._guarded(engine.flush), segment_start)
                engine.reset()
                last_index = None
                self.finished_source.emit(generation)
            elif item is not None:
                if item.index in analysed:
                    self._offer_display(item.frame, None, item.index)
                else:
                    if last_index is None or item.index != last_index + 1:
                        if last_index is not None:
                            self.results.emit(generation, batch)
                            batch = []
                            self._emit_events(generation, self._guarded(engine.flush), segment_start)
                        engine.reset()
                        segment_start = item.index
                    out = self._guarded(lambda e=engine, f=item: e.process(f.timestamp, f.frame, f.gray))
                    if out is None:
                        last_index = None
                        continue
                    result, events = out
                    result = _light(result)
                    result.index = item.index
                    analysed.add(item.index)
                    last_index = item.index
                    batch.append(result)
                    self.rate.tick()
                    self._offer_display(item.frame, result, item.index)
                    if events:
                        self.results.emit(generation, batch)
                        batch = []
                        self._emit_events(generation, events, segment_start)
            if batch and (now - last_emit >= RESULT_BATCH_S or item is None):
                self.results.emit(generation, batch)
                batch = []
                last_emit = now
            if now - last_stats >= 0.5:
                self.stats.emit(self.rate.rate())
                last_stats = now

    def _emit_events(self, generation: int, events: list[Event] | None, segment_start: int) -> None:
        """Events with source frame indices (the engine counts from its last reset)."""
        if not events:
            return
        found = []
        for e in events:
            e.onset_index += segment_start
            e.apex_index += segment_start
            e.offset_index += segment_start
            found.append((e, event_pictures(e)))
        self.events_found.emit(generation, found)

    def _build_engine(self, settings: AppSettings, fps: float):
        if self.recognizer is None:
            self.error.emit("no model is loaded: events are spotted but not recognised "
                            "(choose a weights file in Settings)")
        try:
            return self.engine_factory(settings, self.recognizer, fps)
        except Exception as err:
            self.error.emit(f"cannot start the analysis engine: {err}")
            return None

    def _guarded(self, call: Callable):
        """Run an engine call and report what went wrong; a GPU out of memory moves the model to the CPU."""
        try:
            out = call()
        except Exception as err:
            if _is_out_of_memory(err):
                self._fall_back_to_cpu()
            else:
                self.error.emit(f"analysis failed on this frame: {err}")
            return None
        engine = self._engine
        problem = getattr(engine, "recognition_error", None)
        if problem:
            engine.recognition_error = None
            if "out of memory" in problem.lower():
                self._fall_back_to_cpu()
            else:
                self.error.emit(f"{problem} (the event is kept, without a label)")
        return out

    def _fall_back_to_cpu(self) -> None:
        self.error.emit("the GPU ran out of memory: recognition moves to the CPU (events found so far are kept)")
        cpu = self.settings.copy()
        cpu.device = "cpu"
        self._load_model(cpu)
        if self._engine is not None:
            self._engine.recognizer = self.recognizer

    def _offer_display(self, frame: np.ndarray, result: FrameResult | None, index: int) -> None:
        with self._lock:
            self._display = (frame, result, index)
            notify = not self._display_waiting
            self._display_waiting = True
        if notify:
            self.display_ready.emit()


def _make_engine(settings: AppSettings, recognizer, fps: float):
    from app.settings import engine_config
    from frl_core.engine import AnalysisEngine

    config = engine_config(settings, fps)
    if recognizer is None:
        config.recognize = False
    return AnalysisEngine(config, recognizer=recognizer)


class Pipeline(QObject):
    """The window's handle on the threads: open sources, play/pause/step/seek, record, stop cleanly.

    ``generation`` numbers each opened source so that late results of a previous one are ignored.
    """

    source_opened = Signal(object)  # SourceInfo
    source_failed = Signal(str)
    source_error = Signal(str)
    source_ended = Signal()
    analysis_finished = Signal()
    results = Signal(list)
    events_found = Signal(list)
    frame_ready = Signal(object)  # (frame, FrameResult | None, index): one tuple, never a bare None
    model_ready = Signal(object)
    model_failed = Signal(str)
    analysis_error = Signal(str)
    stats_changed = Signal(float, float, int)  # fps in, fps processed, dropped
    recording_failed = Signal(str)

    def __init__(self, settings: AppSettings, parent: QObject | None = None,
                 recognizer_loader=load_recognizer, engine_factory=None,
                 source_factory: Callable[[str | int, float | None], FrameSource] = open_source) -> None:
        super().__init__(parent)
        self.settings = settings
        self.source_factory = source_factory
        self.capture: CaptureThread | None = None
        self._opening: CaptureThread | None = None
        self.mailbox: FrameMailbox | None = None
        self.analysed = AnalysedFrames()
        self.info: SourceInfo | None = None
        self.generation = 0
        self.model_info: ModelInfo | None = None
        self._finished = True
        self._at_end = False
        self._retired: list[QThread] = []
        self.pictures: dict[int, dict] = {}
        """Displacement pictures drawn by the analysis thread, by ``id(event)`` (the newest ones)."""
        self.analysis = AnalysisThread(settings, recognizer_loader, engine_factory)
        self.analysis.model_ready.connect(self._on_model_ready)
        self.analysis.model_failed.connect(self.model_failed)
        self.analysis.results.connect(self._on_results)
        self.analysis.events_found.connect(self._on_events)
        self.analysis.display_ready.connect(self._on_display)
        self.analysis.error.connect(self.analysis_error)
        self.analysis.finished_source.connect(self._on_finished)
        self.analysis.stats.connect(self._on_stats)
        self.analysis.start()

    @property
    def device_name(self) -> str:
        return self.model_info.device_name if self.model_info else "loading…"

    def is_analysing(self) -> bool:
        """True from opening a source until its analysis ended (end of a file, camera stopped or lost)."""
        return not self._finished

    def is_playing(self) -> bool:
        return self.capture is not None and self.capture.is_playing()

    # --- sources ------------------------------------------------------------------------------------
    def open(self, spec: str | int, autoplay: bool = True) -> None:
        """Open a source in a new capture thread; the current one keeps running until the new one opens."""
        if self._opening is not None:
            self._retire(self._opening)
        fps = self.settings.fps_override if self.settings.fps_override > 0 else None
        thread = CaptureThread(spec, fps, AnalysedFrames(), self.settings.pace, autoplay, self.source_factory)
        thread.opened.connect(lambda info, t=thread: self._on_opened(t, info))
        thread.open_failed.connect(lambda msg, t=thread: self._on_open_failed(t, msg))
        self._opening = thread
        thread.start()

    def _on_opened(self, thread: CaptureThread, info: SourceInfo) -> None:
        if thread is not self._opening:
            return
        self._opening = None
        if self.capture is not None:
            self._retire(self.capture)
        self.generation += 1
        self.capture = thread
        self.info = info
        self.analysed = thread.analysed
        self.mailbox = FrameMailbox(info.is_live)
        self._finished = False
        self._at_end = False
        thread.failed.connect(self.source_error)
        thread.ended.connect(self._on_ended)
        thread.recording_failed.connect(self.recording_failed)
        self.analysis.set_source(self.generation, self.mailbox, self.analysed, self.settings, info.fps)
        self.source_opened.emit(info)
        thread.adopt(self.mailbox)

    def _on_ended(self) -> None:
        self._at_end = True
        self.source_ended.emit()

    def _on_open_failed(self, thread: CaptureThread, message: str) -> None:
        if thread is self._opening:
            self._opening = None
        self._retire(thread)
        self.source_failed.emit(message)

    def reanalyse(self) -> None:
        """Open the current source again with the current settings (results start afresh)."""
        if self.info is not None:
            self.open(self.info.spec)

    def _retire(self, thread: CaptureThread, graceful: bool = False) -> None:
        """Stop a capture thread without waiting; it is kept referenced until it has really finished
        (a QThread object deleted while its thread still runs aborts the process)."""
        thread.request_stop(graceful=graceful)
        self._retired = [t for t in self._retired if not t.isFinished()]
        self._retired.append(thread)

    # --- transport ----------------------------------------------------------------------------------
    def play(self) -> None:
        """Play on; at the end of a recorded source, replay it from the start (with stored results)."""
        if self.capture is not None:
            self.capture.set_pace(self.settings.pace)
            if self._at_end:
                self.capture.seek(0)
                self._at_end = False
            self.capture.play()

    def pause(self) -> None:
        if self.capture is not None:
            self.capture.pause()

    def step(self) -> None:
        if self.capture is not None:
            self.capture.step()

    def seek(self, index: int) -> None:
        if self.capture is not None and self.info is not None and not self.info.is_live:
            self._at_end = False
            self.capture.seek(index)

    def stop_source(self) -> None:
        """Stop a live source (camera): analysis flushes its last events, and all results stay."""
        if self.capture is not None:
            self._retire(self.capture, graceful=True)
            self.capture = None

    def start_recording(self, path: Path) -> None:
        if self.capture is not None:
            self.capture.start_recording(path)

    def stop_recording(self) -> None:
        if self.capture is not None:
            self.capture.stop_recording()

    def reload_model(self) -> None:
        self.analysis.reload_model(self.settings)

    # --- from the analysis thread -------------------------------------------------------------------
    def _on_model_ready(self, info: ModelInfo) -> None:
        self.model_info = info
        self.model_ready.emit(info)

    def _on_results(self, generation: int, results: list) -> None:
        if generation == self.generation:
            self.results.emit(results)

    def _on_events(self, generation: int, found: list) -> None:
        if generation != self.generation:
            return
        for event, pictures in found:
            if pictures is not None:
                self.pictures[id(event)] = pictures
        while len(self.pictures) > KEPT_PICTURES:
            self.pictures.pop(next(iter(self.pictures)))
        self.events_found.emit([event for event, _ in found])

    def _on_finished(self, generation: int) -> None:
        if generation == self.generation:
            self._finished = True
            self.analysis_finished.emit()

    def _on_display(self) -> None:
        item = self.analysis.take_display()
        if item is not None:
            self.frame_ready.emit(item)

    def _on_stats(self, fps_processed: float) -> None:
        fps_in = self.capture.rate_in.rate() if self.capture is not None else 0.0
        dropped = self.mailbox.dropped if self.mailbox is not None else 0
        self.stats_changed.emit(fps_in, fps_processed, dropped)

    # --- shutdown -----------------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Stop every thread; True when all stopped within the time limit."""
        threads: list[QThread] = [t for t in (self.capture, self._opening) if t is not None] + list(self._retired)
        for t in threads:
            t.request_stop()
        self.analysis.request_stop()
        deadline = time.monotonic() + STOP_TIMEOUT_MS / 1000.0
        ok = True
        for t in threads + [self.analysis]:
            remaining = max(1, int((deadline - time.monotonic()) * 1000))
            ok = t.wait(remaining) and ok
        if not ok:
            # Only a call that cannot be interrupted (a model still loading onto the GPU) gets here.
            # Waiting longer is better than destroying a running QThread, which aborts the process.
            for t in threads + [self.analysis]:
                t.wait()
        self.capture = None
        self._opening = None
        return ok


def fps_text(value: float) -> str:
    return "–" if not math.isfinite(value) or value <= 0 else f"{value:.0f}"
