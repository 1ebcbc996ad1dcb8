"""The window's handle on the core's analysis session: Qt signals around :mod:`frl_core.engine.session`.

The session's threads (capture, the face stage, analysis) call a listener; here each call becomes a queued
Qt signal, so the window hears everything in its own thread, in the order it happened. What the window
has received decides what it believes: a source counts as analysed once its ``analysis_finished`` signal
arrived, after every result before it, and news of a source the window has left (an older generation)
is dropped on arrival. The GUI thread never decodes a frame nor runs the model.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.displacement_view import event_pictures
from app.settings import AppSettings, engine_config
from frl_core.engine.runner import SourceInfo
from frl_core.io.sources import FrameSource, open_source
from frl_core.engine.session import (
    EngineFactory,
    ModelInfo,
    RecognizerLoader,
    Session,
    SessionListener,
    SourceFactory,
    load_model,
    make_engine,
)
from frl_core.paths import ASSETS_DIR

__all__ = ["ModelInfo", "Pipeline", "SourceInfo", "default_weights_path", "fps_text", "load_recognizer", "preload",
           "reserve_gui_core"]

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


def load_recognizer(weights: str | Path | None, device: str) -> tuple[Any, ModelInfo]:
    """The core's :func:`~frl_core.engine.session.load_model`, or the model :func:`warm_up` loaded for it."""
    preloaded = _PRELOADED.pop((device, str(weights or "")), None)
    return preloaded if preloaded is not None else load_model(weights or None, device)


def reserve_gui_core() -> None:
    """Leave a core to the GUI thread: a CPU forward pass on every core starves the event loop."""
    try:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    except ImportError:  # reported when the model loads
        pass


def preload(key: tuple[str, str], recognizer: Any, info: ModelInfo) -> None:
    """Hand a model loaded at start-up (behind the splash) to the first :func:`load_recognizer` for ``key``.

    Building the network and its first forward pass hold Python's global lock for seconds; done in the
    analysis thread while the window is up, that would freeze the GUI.
    """
    _PRELOADED[key] = (recognizer, info)


class _Signals(SessionListener):
    """The session's listener: every report becomes a signal of the pipeline (queued to the GUI thread)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline

    def source_opened(self, generation: int, info: SourceInfo) -> None:
        self.p._opened.emit(generation, info)

    def source_failed(self, message: str) -> None:
        self.p._source_failed.emit(message)

    def source_error(self, generation: int, message: str) -> None:
        self.p._source_error.emit(generation, message)

    def source_notice(self, generation: int, message: str) -> None:
        self.p._source_notice.emit(generation, message)

    def source_ended(self, generation: int) -> None:
        self.p._ended.emit(generation)

    def recording_failed(self, message: str) -> None:
        self.p._recording_failed.emit(message)

    def results(self, generation: int, results: list) -> None:
        self.p._results.emit(generation, results)

    def events_found(self, generation: int, found: list) -> None:
        self.p._events.emit(generation, found)

    def frame_ready(self) -> None:
        self.p._display.emit()

    def analysis_error(self, message: str) -> None:
        self.p._analysis_error.emit(message)

    def analysis_finished(self, generation: int) -> None:
        self.p._finished_signal.emit(generation)

    def model_ready(self, info: ModelInfo) -> None:
        self.p._model_ready.emit(info)

    def model_failed(self, message: str) -> None:
        self.p._model_failed.emit(message)

    def stats(self, fps_processed: float) -> None:
        self.p._stats.emit(fps_processed)


class Pipeline(QObject):
    """Open sources, play/pause/step/seek, record, change the model, stop cleanly; tells the window by
    signals. ``generation`` numbers each opened source so that late news of a previous one is ignored."""

    source_opened = Signal(object)  # SourceInfo
    source_failed = Signal(str)
    source_error = Signal(str)
    source_notice = Signal(str)
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

    _opened = Signal(int, object)
    _source_error = Signal(int, str)
    _source_notice = Signal(int, str)
    _ended = Signal(int)
    _results = Signal(int, list)
    _events = Signal(int, list)
    _display = Signal()
    _finished_signal = Signal(int)
    _model_ready = Signal(object)
    _stats = Signal(float)
    # Messages too go through the pipeline's own signals, connected before the session's threads start: a
    # public signal emitted from a thread before the window has connected to it would be lost (a wrong
    # weights file fails within milliseconds of the window's creation).
    _source_failed = Signal(str)
    _recording_failed = Signal(str)
    _analysis_error = Signal(str)
    _model_failed = Signal(str)

    def __init__(self, settings: AppSettings, parent: QObject | None = None,
                 recognizer_loader: RecognizerLoader = load_recognizer, engine_factory: EngineFactory | None = None,
                 source_factory: SourceFactory | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.generation = 0
        """The generation of the source the window shows (the session may already be opening another)."""
        self.info: SourceInfo | None = None
        self.model_info: ModelInfo | None = None
        self.pictures: dict[int, dict] = {}
        """Displacement pictures drawn by the analysis thread, by ``id(event)`` (the newest ones)."""
        self._finished = True
        self.fps_override: float | None = None
        """The frame rate the user gave for the current source only; opening another source forgets it."""
        self.rotate = settings.rotate
        """The clockwise turn the current source's frames are given (the settings' when it was opened)."""
        self._opened.connect(self._on_opened)
        self._source_error.connect(self._on_source_error)
        self._source_notice.connect(self._on_source_notice)
        self._ended.connect(self._on_ended)
        self._results.connect(self._on_results)
        self._events.connect(self._on_events)
        self._display.connect(self._on_display)
        self._finished_signal.connect(self._on_finished)
        self._model_ready.connect(self._on_model_ready)
        self._stats.connect(self._on_stats)
        self._source_failed.connect(self.source_failed)  # signal to signal: queued to this object's thread
        self._recording_failed.connect(self.recording_failed)
        self._analysis_error.connect(self.analysis_error)
        self._model_failed.connect(self.model_failed)
        self.session = Session(self._engine_config(), _Signals(self), pace=settings.pace,
                               fps_override=self._fps_override(), recognizer_loader=recognizer_loader,
                               engine_factory=engine_factory or make_engine,
                               source_factory=source_factory or self._open_source,
                               describe_event=event_pictures)

    def _open_source(self, spec: str | int, fps_override: float | None) -> FrameSource:
        return open_source(spec, fps_override, rotate=self.rotate)

    def _engine_config(self):
        return engine_config(self.settings, 30.0)

    def _fps_override(self) -> float | None:
        return self.fps_override

    @property
    def capture(self):
        """The capture thread of the source being shown (None when there is none or it was stopped)."""
        return self.session.capture

    @property
    def device_name(self) -> str:
        return self.model_info.device_name if self.model_info else "loading…"

    @property
    def spotter_blur_applied(self) -> float | None:
        """The blur the source being shown is spotted with (more for a small face)."""
        return self.session.spotter_blur_applied

    @property
    def dropped(self) -> int:
        """Live frames dropped because analysis was busy, for the current source."""
        return self.session.dropped

    def is_analysing(self) -> bool:
        """True from opening a source until its analysis ended (end of a file, camera stopped or lost)."""
        return not self._finished

    def is_playing(self) -> bool:
        return self.session.is_playing()

    # --- commands -----------------------------------------------------------------------------------
    def apply_settings(self) -> None:
        """The settings changed: the pace applies at once, everything else to the next source opened."""
        self.rotate = self.settings.rotate
        self.session.configure(self._engine_config(), self.settings.pace, self._fps_override())

    def open(self, spec: str | int, autoplay: bool = True, fps: float | None = None) -> None:
        """Open a source at its own frame rate, or at ``fps`` when given (for this source only)."""
        self.fps_override = fps
        self.apply_settings()
        self.session.open(spec, autoplay)

    def set_source_fps(self, fps: float | None) -> None:
        """Analyse the current source again at ``fps`` (None: the rate the source itself gives)."""
        self.fps_override = fps
        self.reanalyse()

    def reanalyse(self) -> None:
        """Open the current source again with the current settings (results start afresh)."""
        self.apply_settings()
        self.session.reopen()

    def play(self) -> None:
        self.session.pace = self.settings.pace
        self.session.play()

    def pause(self) -> None:
        self.session.pause()

    def step(self) -> None:
        self.session.step()

    def seek(self, index: int) -> None:
        self.session.seek(index)

    def stop_source(self) -> None:
        self.session.stop_source()

    def start_recording(self, path: Path) -> None:
        self.session.start_recording(path)

    def stop_recording(self) -> None:
        self.session.stop_recording()

    def reload_model(self) -> None:
        self.apply_settings()
        self.session.reload_model()

    def shutdown(self) -> bool:
        """Stop every thread; True when all stopped within the time limit."""
        return self.session.shutdown()

    # --- from the session, in the GUI thread ---------------------------------------------------------
    def _on_opened(self, generation: int, info: SourceInfo) -> None:
        self.generation, self.info = generation, info
        self._finished = False
        self.source_opened.emit(info)

    def _on_source_error(self, generation: int, message: str) -> None:
        if generation == self.generation:
            self.source_error.emit(message)

    def _on_source_notice(self, generation: int, message: str) -> None:
        if generation == self.generation:
            self.source_notice.emit(message)

    def _on_ended(self, generation: int) -> None:
        if generation == self.generation:
            self.source_ended.emit()

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
        item = self.session.take_display()
        if item is not None:
            self.frame_ready.emit(item)

    def _on_model_ready(self, info: ModelInfo) -> None:
        self.model_info = info
        self.model_ready.emit(info)

    def _on_stats(self, fps_processed: float) -> None:
        self.stats_changed.emit(self.session.fps_in(), fps_processed, self.session.dropped)


def fps_text(value: float) -> str:
    return "–" if not math.isfinite(value) or value <= 0 else f"{value:.0f}"
