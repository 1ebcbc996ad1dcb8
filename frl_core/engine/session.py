"""An interactive analysis session: what the GUI drives, with no Qt in it.

One source at a time is read by a :class:`~frl_core.engine.runner.CaptureThread` (play, pause, step, seek,
pace, record) into a :class:`~frl_core.engine.runner.FrameQueue`: live input keeps one slot and drops
what analysis has not taken, a recorded file waits so every frame is analysed. One long-lived
:class:`AnalysisWorker` owns the recogniser (loaded once, kept across sources, moved to the CPU when the
GPU runs out of memory) and an :class:`~frl_core.engine.analysis.AnalysisEngine` per source; with an engine
that has a face stage, that stage runs in a thread of its own one frame ahead of spotting, as in the CLI.

Everything the threads find is reported to a :class:`SessionListener`, from the thread that found it,
with the source's ``generation`` so a caller can ignore late news of a source it has left. The GUI's
listener turns each call into a queued Qt signal.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from frl_core.engine.analysis import AnalysisEngine, EngineConfig, Observation, is_out_of_memory, load_recognizer
from frl_core.engine.runner import (
    END,
    AnalysedFrames,
    CaptureListener,
    CaptureThread,
    FrameItem,
    FrameQueue,
    RateMeter,
    SourceInfo,
)
from frl_core.io.sources import FrameSource
from frl_core.types import Event, FrameResult

RECORDED_QUEUE_DEPTH = 4
"""Frames a recorded source may be read ahead of analysis."""
RESULT_BATCH_S = 0.05
"""Per-frame results are reported in batches at most this often (fast analysis must not flood a GUI)."""
STOP_TIMEOUT_S = 0.9
"""How long ``shutdown`` waits for the threads altogether."""


@dataclass
class ModelInfo:
    """What a user is shown about the loaded recogniser."""

    device_name: str
    description: str
    untrained: bool
    class_names: tuple[str, ...]


def load_model(weights: str | Path | None, device: str = "auto") -> tuple[Any, ModelInfo]:
    """The recogniser for ``weights`` (None: the shipped default) on ``device``, and its description.

    A wrong file or device raises :class:`~frl_core.engine.analysis.EngineError`. Without a chosen file
    and without shipped weights, an untrained small model keeps the whole pipeline usable, and says so.
    """
    from frl_core.models.inference import default_checkpoint_path

    if weights:
        recognizer = load_recognizer(weights, device)
        return recognizer, ModelInfo(recognizer.device_name, Path(weights).name, False, tuple(recognizer.class_names))
    default = Path(default_checkpoint_path())
    if default.is_file():
        recognizer = load_recognizer(None, device)
        return recognizer, ModelInfo(recognizer.device_name, default.name, False, tuple(recognizer.class_names))
    from frl_core.models import create_model
    from frl_core.models.inference import Recognizer

    recognizer = Recognizer.from_model(create_model("frl_dgt_small", input_mode="pair"), device=device)
    return recognizer, ModelInfo(recognizer.device_name, "frl_dgt_small (untrained model)", True,
                                 tuple(recognizer.class_names))


def make_engine(config: EngineConfig, recognizer: Any) -> AnalysisEngine:
    """The engine for one source; without a recogniser it spots only."""
    if recognizer is None:
        config = dataclasses.replace(config, recognize=False)
    return AnalysisEngine(config, recognizer=recognizer)


RecognizerLoader = Callable[[str | Path | None, str], tuple[Any, ModelInfo]]
EngineFactory = Callable[[EngineConfig, Any], Any]
SourceFactory = Callable[[str | int, float | None], FrameSource]


class SessionListener:
    """What a session reports, from its threads. Every method is a no-op here; override what you need."""

    def source_opened(self, generation: int, info: SourceInfo) -> None: ...

    def source_failed(self, message: str) -> None:
        """A source could not be opened (the previous one, if any, keeps running)."""

    def source_error(self, generation: int, message: str) -> None:
        """The source broke mid-stream (camera unplugged, a file that cannot be read on)."""

    def source_notice(self, generation: int, message: str) -> None:
        """The source reads on, but a user should know something (a damaged frame stood in for)."""

    def source_ended(self, generation: int) -> None:
        """A recorded source was read to its end (playing again replays it)."""

    def recording_failed(self, message: str) -> None: ...

    def results(self, generation: int, results: list[FrameResult]) -> None:
        """Per-frame results in source order, batched; without the aligned crops."""

    def events_found(self, generation: int, found: list[tuple[Event, Any]]) -> None:
        """Events with source frame indices, each with what ``describe_event`` made of it (or None)."""

    def frame_ready(self) -> None:
        """A newer frame to show is waiting: take it with :meth:`Session.take_display`."""

    def analysis_error(self, message: str) -> None: ...

    def analysis_finished(self, generation: int) -> None:
        """Everything the source delivered was analysed and its last events flushed."""

    def model_ready(self, info: ModelInfo) -> None: ...

    def model_failed(self, message: str) -> None: ...

    def stats(self, fps_processed: float) -> None:
        """Frames analysed a second, about twice a second while analysing."""


def _light(result: FrameResult) -> FrameResult:
    """A copy without the aligned crop: a window keeps one result per frame for hours of video."""
    return result if result.aligned_face is None else dataclasses.replace(result, aligned_face=None)


@dataclass
class _Source:
    generation: int
    queue: FrameQueue
    analysed: AnalysedFrames
    config: EngineConfig


class AnalysisWorker(threading.Thread):
    """Owns the recogniser and the current source's engine; analyses what the source's queue delivers.

    Frames arrive in source order except after a seek; a jump starts a new segment: the events found so
    far are flushed and the engine is reset at the new position, so indices keep matching the source.
    Frames already analysed (a replay) are only offered for display.
    """

    def __init__(self, listener: SessionListener, weights: str | Path | None, device: str,
                 recognizer_loader: RecognizerLoader = load_model, engine_factory: EngineFactory = make_engine,
                 describe_event: Callable[[Event], Any] | None = None) -> None:
        super().__init__(name="analysis", daemon=True)
        self.listener = listener
        self.recognizer_loader = recognizer_loader
        self.engine_factory = engine_factory
        self.describe_event = describe_event
        self.weights, self.device = weights, device
        self.recognizer: Any = None
        self.model_info: ModelInfo | None = None
        self.rate = RateMeter()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._pending_source: _Source | None = None
        self._pending_model: tuple[str | Path | None, str] | None = None
        self._engine: Any = None
        self._display: tuple[np.ndarray, FrameResult | None, int] | None = None
        self._display_waiting = False

    # --- commands, from any thread ------------------------------------------------------------------
    def set_source(self, source: _Source) -> None:
        with self._lock:
            self._pending_source = source
        self._wake.set()

    def reload_model(self, weights: str | Path | None, device: str) -> None:
        with self._lock:
            self._pending_model = (weights, device)
        self._wake.set()

    def take_display(self) -> tuple[np.ndarray, FrameResult | None, int] | None:
        """The newest frame to show, with its result (None for a replayed frame) and index."""
        with self._lock:
            item, self._display = self._display, None
            self._display_waiting = False
            return item

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    @property
    def spotter_blur_applied(self) -> float | None:
        """The blur the current stream is spotted with (more for a small face; ``SpotterConfig.small_face_blur``),
        for the exports' metadata; None before a source is analysed."""
        config = getattr(self._engine, "spotter_config", None)
        return float(config.blur_sigma) if config is not None else None

    # --- the model ----------------------------------------------------------------------------------
    def _load_model(self, weights: str | Path | None, device: str) -> None:
        """Load what is asked for; on failure keep the current model, or fall back to the default one."""
        try:
            recognizer, info = self.recognizer_loader(weights, device)
        except Exception as err:  # EngineError (wrong weights file), DeviceError (no GPU), ...: all for the user
            message = f"cannot load the model: {err}"
            if self.recognizer is not None:
                self.listener.model_failed(f"{message} (still using {self.model_info.description})")
                return
            if (weights or None, device) == (None, "auto"):
                self.listener.model_failed(message)
                return
            try:
                recognizer, info = self.recognizer_loader(None, "auto")
            except Exception as err2:
                self.listener.model_failed(f"{message}; the default model failed too: {err2}")
                return
            self.listener.model_failed(f"{message} (using {info.description} on {info.device_name} instead)")
            weights, device = None, "auto"
        self.recognizer, self.model_info = recognizer, info
        self.weights, self.device = weights, device
        if self._engine is not None:
            self._engine.recognizer = recognizer
        self.listener.model_ready(info)

    def _fall_back_to_cpu(self) -> None:
        self.listener.analysis_error("the GPU ran out of memory: recognition moves to the CPU "
                                     "(events found so far are kept)")
        self._load_model(self.weights, "cpu")

    # --- the thread ---------------------------------------------------------------------------------
    def run(self) -> None:
        self._load_model(self.weights, self.device)
        segment = _Segment(self)
        while not self._halt.is_set():
            with self._lock:
                pending_model, self._pending_model = self._pending_model, None
                pending_source, self._pending_source = self._pending_source, None
            if pending_model is not None:
                self._load_model(*pending_model)
            if pending_source is not None:
                segment.close()
                segment = _Segment(self, pending_source, self._build_engine(pending_source.config))
            if segment.source is None or segment.engine is None:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            segment.step()
        segment.close()

    def _build_engine(self, config: EngineConfig) -> Any:
        if self.recognizer is None:
            self.listener.analysis_error("no model is loaded: events are spotted but not recognised "
                                         "(choose a weights file in Settings)")
        try:
            self._engine = self.engine_factory(config, self.recognizer)
        except Exception as err:
            self.listener.analysis_error(f"cannot start the analysis engine: {err}")
            self._engine = None
        return self._engine

    def report_failure(self, err: BaseException) -> None:
        """A frame's analysis failed: a GPU out of memory moves the model to the CPU, anything else is
        reported and analysis goes on with the next frame."""
        if is_out_of_memory(err):
            self._fall_back_to_cpu()
        else:
            self.listener.analysis_error(f"analysis failed on this frame: {err}")

    def guarded(self, call: Callable[[], Any]) -> Any:
        """Run an engine call; report what went wrong (``report_failure``) and return None then."""
        try:
            out = call()
        except Exception as err:
            self.report_failure(err)
            return None
        engine = self._engine
        failure = getattr(engine, "recognition_error", None)
        if failure is not None:
            engine.recognition_error = None
            if is_out_of_memory(failure):
                self._fall_back_to_cpu()
            else:
                self.listener.analysis_error(f"{failure} (the event is kept, without a label)")
        return out

    def offer_display(self, frame: np.ndarray, result: FrameResult | None, index: int) -> None:
        with self._lock:
            self._display = (frame, result, index)
            notify = not self._display_waiting
            self._display_waiting = True
        if notify:
            self.listener.frame_ready()

    def report_events(self, generation: int, events: list[Event] | None) -> None:
        if events:
            describe = self.describe_event
            self.listener.events_found(generation, [(e, describe(e) if describe else None) for e in events])


class _Segment:
    """The analysis of one source: frames in source order from its queue, with the face stage one frame
    ahead in a thread of its own when the engine has one (``observe`` / ``advance``)."""

    def __init__(self, worker: AnalysisWorker, source: _Source | None = None, engine: Any = None) -> None:
        self.worker, self.source, self.engine = worker, source, engine
        self.batch: list[FrameResult] = []
        self.last_index: int | None = None
        self.last_emit = self.last_stats = time.monotonic()
        self.staged = engine is not None and hasattr(engine, "observe") and hasattr(engine, "advance")
        self._observed: FrameQueue | None = None
        self._stage: _FaceStage | None = None

    def _flush_results(self) -> None:
        if self.batch:
            self.worker.listener.results(self.source.generation, self.batch)
            self.batch = []
        self.last_emit = time.monotonic()

    def _restart(self, start_index: int | None) -> None:
        """End the current run of consecutive frames: flush its events, reset the engine at ``start_index``."""
        self._stop_stage()
        self._flush_results()
        if self.last_index is not None:
            self.worker.report_events(self.source.generation, self.worker.guarded(self.engine.flush))
        self.engine.reset(0 if start_index is None else start_index)
        self.last_index = None

    def _next(self) -> Any:
        """The next item: from the face stage when it runs (an (item, observation) pair), else the queue."""
        if self._stage is not None:
            return self._observed.get(0.02)
        return self.source.queue.get(0.02)

    def step(self) -> None:
        item = self._next()
        if item is None and self._stage is None and self.source.queue.closed:
            self.worker._wake.wait(0.02)  # the source was stopped; wait for the next one
            return
        if item is END or (isinstance(item, tuple) and item[0] is END):
            self._restart(None)
            self.worker.listener.analysis_finished(self.source.generation)
        elif item is not None:
            frame_item, observation = item if isinstance(item, tuple) else (item, None)
            self._analyse(frame_item, observation)
        now = time.monotonic()
        if self.batch and (now - self.last_emit >= RESULT_BATCH_S or item is None):
            self._flush_results()
        if now - self.last_stats >= 0.5:
            self.worker.listener.stats(self.worker.rate.rate())
            self.last_stats = now

    def _analyse(self, item: FrameItem, observation: Observation | BaseException | None) -> None:
        worker, source = self.worker, self.source
        if isinstance(observation, BaseException):  # the face stage failed on this frame
            self._stop_stage()
            worker.report_failure(observation)
            self.last_index = None
            return
        if observation is None:
            self._stop_stage()  # the stage handed this frame on unobserved, so it has ended (or none ran)
            if item.index in source.analysed:
                worker.offer_display(item.frame, None, item.index)
                return
            if self.last_index is None or item.index != self.last_index + 1:
                self._restart(item.index)
            if self.staged:
                self._start_stage(first=item)
                return
            out = worker.guarded(lambda: self.engine.process(item.timestamp, item.frame, item.gray))
        else:
            out = worker.guarded(lambda: self.engine.advance(observation))
        if out is None:
            self.last_index = None
            return
        result, events = out
        source.analysed.add(item.index)
        self.last_index = item.index
        self.batch.append(_light(result))
        worker.rate.tick()
        worker.offer_display(item.frame, result, item.index)
        if events:
            self._flush_results()
            worker.report_events(source.generation, events)

    def _start_stage(self, first: FrameItem) -> None:
        """Run the face stage from ``first`` on, in its own thread, until the frames stop following on."""
        self._observed = FrameQueue(1 if self.source.queue.maxsize == 1 else RECORDED_QUEUE_DEPTH)
        self._stage = _FaceStage(self.engine, self.source, first, self._observed)
        self._stage.start()

    def _stop_stage(self) -> None:
        if self._stage is not None:
            self._stage.stop()
            self._stage.join(timeout=2.0)
            self._stage = None
            self._observed = None

    def close(self) -> None:
        self._stop_stage()
        if self.source is not None and self.batch:
            self._flush_results()


class _FaceStage(threading.Thread):
    """Observes consecutive, not yet analysed frames one ahead of spotting. It stops before a frame that
    does not follow on (a seek) or was analysed already (a replay), handing that frame on unobserved, so
    the spotting side decides what comes next; an END marker is handed on as it is."""

    def __init__(self, engine: Any, source: _Source, first: FrameItem, out: FrameQueue) -> None:
        super().__init__(name="face-stage", daemon=True)
        self.engine, self.source, self.first, self.out = engine, source, first, out
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.out.close(discard=True)

    def run(self) -> None:
        item: Any = self.first
        expected = self.first.index
        while not self._halt.is_set():
            if item is None:
                item = self.source.queue.get(0.02)
                continue
            if item is END:
                self.out.put((END, None), drop=False, stop=self._halt)
                return
            if item.index != expected or item.index in self.source.analysed:
                self.out.put((item, None), drop=False, stop=self._halt)
                return
            try:
                observation = self.engine.observe(item.timestamp, item.frame, item.gray)
            except Exception as err:  # reported by the spotting side
                self.out.put((item, err), drop=False, stop=self._halt)
                return
            if not self.out.put((item, observation), drop=False, stop=self._halt):
                return
            expected += 1
            item = None


class _CaptureReports(CaptureListener):
    """Routes a capture thread's news to its session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def opened(self, capture: CaptureThread, info: SourceInfo) -> None:
        self.session._on_opened(capture, info)

    def open_failed(self, capture: CaptureThread, message: str) -> None:
        self.session._on_open_failed(capture, message)

    def failed(self, capture: CaptureThread, message: str) -> None:
        self.session.listener.source_error(self.session._generation_of(capture), message)

    def notice(self, capture: CaptureThread, message: str) -> None:
        self.session.listener.source_notice(self.session._generation_of(capture), message)

    def ended(self, capture: CaptureThread) -> None:
        self.session.listener.source_ended(self.session._generation_of(capture))

    def recording_failed(self, capture: CaptureThread, message: str) -> None:
        self.session.listener.recording_failed(message)


class Session:
    """Open sources, play, pause, step, seek, record, change the model, stop cleanly: one analysis worker
    for the session's life, one capture thread per source.

    ``engine_config`` shapes every engine (its ``fps`` is taken from each source); its ``weights`` and
    ``device`` choose the model. A source being opened does not stop the current one until it opened:
    a wrong path or a missing camera leaves the user where they were.
    """

    def __init__(self, engine_config: EngineConfig, listener: SessionListener | None = None, *,
                 pace: str = "max", fps_override: float | None = None,
                 recognizer_loader: RecognizerLoader = load_model, engine_factory: EngineFactory = make_engine,
                 source_factory: SourceFactory | None = None,
                 describe_event: Callable[[Event], Any] | None = None) -> None:
        self.engine_config = engine_config
        self.listener = listener or SessionListener()
        self.pace = pace
        self.fps_override = fps_override
        self.source_factory = source_factory
        self.capture: CaptureThread | None = None
        self.queue: FrameQueue | None = None
        self.info: SourceInfo | None = None
        self.generation = 0
        self._opening: CaptureThread | None = None
        self._generations: dict[int, int] = {}
        self._retired: list[CaptureThread] = []
        self._lock = threading.RLock()
        self._reports = _CaptureReports(self)
        self.worker = AnalysisWorker(self.listener, engine_config.weights, engine_config.device,
                                     recognizer_loader, engine_factory, describe_event)
        self.worker.start()

    @property
    def model_info(self) -> ModelInfo | None:
        return self.worker.model_info

    @property
    def spotter_blur_applied(self) -> float | None:
        """The blur the current source is spotted with (``AnalysisWorker.spotter_blur_applied``)."""
        return self.worker.spotter_blur_applied

    def configure(self, engine_config: EngineConfig, pace: str | None = None,
                  fps_override: float | None = None) -> None:
        """New settings: the next source opened uses them; the pace applies at once."""
        self.engine_config = engine_config
        self.fps_override = fps_override
        if pace is not None:
            self.pace = pace
            if self.capture is not None:
                self.capture.set_pace(pace)

    def reload_model(self) -> None:
        """Load the model the current ``engine_config`` names (weights, device)."""
        self.worker.reload_model(self.engine_config.weights, self.engine_config.device)

    # --- sources ------------------------------------------------------------------------------------
    def open(self, spec: str | int, autoplay: bool = True) -> None:
        """Open a source in a new capture thread; the current one keeps running until the new one opens."""
        with self._lock:
            if self._opening is not None:
                self._retire(self._opening)
            capture = CaptureThread(spec, fps_override=self.fps_override, pace=self.pace, autoplay=autoplay,
                                    stop_at_end=False, listener=self._reports, source_factory=self.source_factory)
            self._opening = capture
        capture.start()

    def reopen(self) -> None:
        """Open the current source again with the current settings (results start afresh)."""
        if self.info is not None:
            self.open(self.info.spec)

    def _on_opened(self, capture: CaptureThread, info: SourceInfo) -> None:
        with self._lock:
            if capture is not self._opening:
                return
            self._opening = None
            if self.capture is not None:
                self._retire(self.capture)
            self.generation += 1
            self._generations[id(capture)] = self.generation
            self.capture, self.info = capture, info
            self.queue = FrameQueue(1 if info.is_live else RECORDED_QUEUE_DEPTH)
            config = dataclasses.replace(self.engine_config, fps=float(info.fps))
            self.worker.set_source(_Source(self.generation, self.queue, capture.analysed, config))
            generation = self.generation
        self.listener.source_opened(generation, info)
        capture.attach(self.queue)

    def _on_open_failed(self, capture: CaptureThread, message: str) -> None:
        with self._lock:
            if capture is self._opening:
                self._opening = None
        self.listener.source_failed(message)

    def _generation_of(self, capture: CaptureThread) -> int:
        return self._generations.get(id(capture), -1)

    def _retire(self, capture: CaptureThread, graceful: bool = False) -> None:
        capture.stop(graceful=graceful)
        self._retired = [c for c in self._retired if c.is_alive()] + [capture]

    # --- transport ----------------------------------------------------------------------------------
    def play(self) -> None:
        """Play on; at the end of a recorded source, replay it from the start (with its stored results)."""
        if self.capture is not None:
            self.capture.set_pace(self.pace)
            self.capture.play()

    def pause(self) -> None:
        if self.capture is not None:
            self.capture.pause()

    def is_playing(self) -> bool:
        return self.capture is not None and self.capture.is_playing()

    def step(self) -> None:
        if self.capture is not None:
            self.capture.step()

    def seek(self, index: int) -> None:
        if self.capture is not None and self.info is not None and not self.info.is_live:
            self.capture.seek(index)

    def stop_source(self) -> None:
        """Stop a live source (camera): analysis flushes its last events, and every result stays."""
        with self._lock:
            if self.capture is not None:
                self._retire(self.capture, graceful=True)
                self.capture = None

    def start_recording(self, path: Path) -> None:
        if self.capture is not None:
            self.capture.start_recording(path)

    def stop_recording(self) -> None:
        if self.capture is not None:
            self.capture.stop_recording()

    def take_display(self) -> tuple[np.ndarray, FrameResult | None, int] | None:
        return self.worker.take_display()

    def fps_in(self) -> float:
        return self.capture.rate_in.rate() if self.capture is not None else 0.0

    @property
    def dropped(self) -> int:
        return self.queue.dropped if self.queue is not None else 0

    # --- shutdown -----------------------------------------------------------------------------------
    def shutdown(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop every thread; True when all stopped within ``timeout_s``."""
        with self._lock:
            threads = [t for t in (self.capture, self._opening) if t is not None] + self._retired
            self.capture = self._opening = None
        for t in threads:
            t.stop()
        self.worker.stop()
        deadline = time.monotonic() + timeout_s
        started = [t for t in threads + [self.worker] if t.ident is not None]
        for t in started:
            t.join(max(0.001, deadline - time.monotonic()))
        return not any(t.is_alive() for t in started)
