"""Exporting what the window found: events (CSV, JSON), per-frame results, displacement maps, the annotated
video and a screenshot. Kept apart from the window so that its file holds the views and the pipeline wiring."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QFileDialog

from app.pipeline import Pipeline, SourceInfo, default_weights_path
from app.results import SessionResults
from app.settings import AppSettings, engine_config
from frl_core.io import exports
from frl_core.io.sources import SourceError, frame_file_names, open_source


class VideoExportThread(QThread):
    """Writes the annotated video: decodes the source again and draws the stored results on it."""

    progress = Signal(int, int)
    done = Signal(str)
    failed = Signal(str)

    def __init__(self, spec: str, fps_override: float | None, out_path: Path, results: SessionResults) -> None:
        super().__init__()
        self.spec, self.fps_override, self.out_path = spec, fps_override, out_path
        self.frames = dict(results.frames)
        self.by_offset = results.events_ending_at()
        self._stop = threading.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            with open_source(self.spec, self.fps_override) as source:
                total = source.frame_count or 0
                with exports.AnnotatedVideoWriter(self.out_path, source.fps) as writer:
                    index = 0
                    for _timestamp, frame in source:
                        if self._stop.is_set():
                            break
                        writer.write(frame, self.frames.get(index), self.by_offset.get(index, []))
                        index += 1
                        if index % 25 == 0:
                            self.progress.emit(index, total)
        except (SourceError, exports.ExportError, OSError) as err:
            self.failed.emit(str(err))
            return
        self.done.emit(str(self.out_path))


class ExportActions:
    """The export commands of :class:`app.main_window.MainWindow` (File ▸ Export), mixed into it.

    It relies on the window's state below and on its ``show_message``, ``_last_dir`` and ``_remember_dir``;
    the window's widget methods (``statusBar``, ``grab``) come from QMainWindow.
    """

    settings: AppSettings
    pipeline: Pipeline
    results: SessionResults
    source_info: SourceInfo | None
    recording_path: Path | None
    _export_thread: VideoExportThread | None

    def _export_metadata(self) -> dict:
        """The core's output metadata (schema, tool version, weights digest, settings) plus the window's model."""
        info = self.pipeline.model_info
        fps = self.source_info.fps if self.source_info else 30.0
        config = engine_config(self.settings, fps)
        weights = self.settings.weights or default_weights_path()
        return exports.output_metadata(
            str(self.source_info.spec) if self.source_info else None, self.source_info.fps if self.source_info else None,
            weights=None if info is not None and info.untrained else weights,
            face_settings=config.face, spotter_settings=config.spotter,
            model=info.description if info else None,
            device=info.device_name if info else None,
            untrained_model=info.untrained if info else None,
            exported=datetime.now().isoformat(timespec="seconds"),
        )

    def _frame_names(self) -> list[str] | None:
        return frame_file_names(self.source_info.spec) if self.source_info and not self.source_info.is_live else None

    def _ask_path(self, path, title: str, suggestion: str, filters: str) -> Path | None:
        if path:
            return Path(path)
        start = str(Path(self._last_dir()) / suggestion)
        chosen, _ = QFileDialog.getSaveFileName(self, title, start, filters)
        if chosen:
            self._remember_dir(Path(chosen).parent)
        return Path(chosen) if chosen else None

    def _stem(self) -> str:
        return Path(self.source_info.name).stem if self.source_info else "frl_dgt"

    def _export(self, write, target: Path | None, what: str) -> Path | None:
        if target is None:
            return None
        try:
            write(target)
        except exports.ExportError as err:
            self.show_message(str(err), "error")
            return None
        self.statusBar().showMessage(f"{what} written to {target}", 8000)
        return target

    def export_events_csv(self, path: str | Path | None = None) -> Path | None:
        target = self._ask_path(path, "Export events (CSV)", f"{self._stem()}_events.csv", "CSV (*.csv)")
        return self._export(lambda t: exports.write_events_csv(t, self.results.events, self._export_metadata()),
                            target, "events")

    def export_events_json(self, path: str | Path | None = None) -> Path | None:
        target = self._ask_path(path, "Export events (JSON)", f"{self._stem()}_events.json", "JSON (*.json)")
        return self._export(lambda t: exports.write_events_json(t, self.results.events, self._export_metadata()),
                            target, "events")

    def export_frames_csv(self, path: str | Path | None = None) -> Path | None:
        target = self._ask_path(path, "Export per-frame results (CSV)", f"{self._stem()}_frames.csv", "CSV (*.csv)")
        return self._export(lambda t: exports.write_frames_csv(t, self.results.ordered_frames(), self._export_metadata(),
                                                               self._frame_names()), target, "per-frame results")

    def export_event_pngs(self, folder: str | Path | None = None) -> list[Path]:
        if not self.results.events:
            self.show_message("no events to export yet", "info")
            return []
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Folder for the displacement maps", self._last_dir())
            if not folder:
                return []
        try:
            written = exports.write_event_pngs(folder, self.results.events)
        except exports.ExportError as err:
            self.show_message(str(err), "error")
            return []
        self.statusBar().showMessage(f"{len(written)} displacement map(s) written to {folder}", 8000)
        return written

    def export_video(self, path: str | Path | None = None) -> VideoExportThread | None:
        """Write the annotated video in a worker thread (the source is decoded again, not here)."""
        info = self.source_info
        spec = str(info.spec) if info is not None and not info.is_live else None
        if info is not None and info.is_live and self.recording_path is None:
            self.show_message("an annotated video needs a recorded source: record the camera first, then open "
                              "the recording", "info")
            return None
        if spec is None or not self.results.frames:
            self.show_message("analyse a video or a folder of frames first", "info")
            return None
        if self._export_thread is not None and self._export_thread.isRunning():
            self.show_message("an annotated video is already being written", "info")
            return None
        target = self._ask_path(path, "Export annotated video", f"{self._stem()}_annotated.mp4",
                                "MP4 video (*.mp4);;AVI video (*.avi)")
        if target is None:
            return None
        fps = self.settings.fps_override if self.settings.fps_override > 0 else None
        thread = VideoExportThread(spec, fps, target, self.results)
        thread.progress.connect(lambda i, n: self.statusBar().showMessage(
            f"writing annotated video: frame {i}" + (f"/{n}" if n else ""), 2000))
        thread.done.connect(lambda p: self.statusBar().showMessage(f"annotated video written to {p}", 8000))
        thread.failed.connect(lambda msg: self.show_message(msg, "error"))
        self._export_thread = thread
        thread.start()
        return thread

    def save_screenshot(self, path: str | Path | None = None) -> Path | None:
        target = self._ask_path(path, "Save screenshot", f"{self._stem()}_screenshot.png", "PNG image (*.png)")
        if target is None:
            return None
        if target.suffix.lower() != ".png":
            target = target.with_suffix(".png")
        if not self.grab().save(str(target), "PNG"):
            self.show_message(f"cannot write {target}", "error")
            return None
        self.statusBar().showMessage(f"screenshot saved to {target}", 8000)
        return target
