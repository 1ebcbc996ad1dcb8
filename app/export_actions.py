"""Exporting what the window found: events (CSV, JSON), per-frame results, displacement maps, the annotated
video and a screenshot. Kept apart from the window so that its file holds the views and the pipeline wiring."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QFileDialog, QProgressBar

from app.pipeline import Pipeline, SourceInfo, default_weights_path
from app.results import EventsTableModel, SessionResults
from app.settings import AppSettings, engine_config
from frl_core.io import coding, exports
from frl_core.io.sources import SourceError, frame_file_names, open_source


class VideoExportThread(QThread):
    """Writes the annotated video: decodes the source again and draws the stored results on it."""

    progress = Signal(int, int)
    done = Signal(str)
    failed = Signal(str)

    def __init__(self, spec: str, fps_override: float | None, out_path: Path, results: SessionResults,
                 rotate: int = 0) -> None:
        super().__init__()
        self.spec, self.fps_override, self.out_path, self.rotate = spec, fps_override, out_path, rotate
        self.frames = dict(results.frames)
        self.events = list(results.events)
        self._stop = threading.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            with open_source(self.spec, self.fps_override, rotate=self.rotate) as source:
                total = source.frame_count or 0
                with exports.AnnotatedVideoWriter(self.out_path, source.fps, events=self.events) as writer:
                    index = 0
                    for _timestamp, frame in source:
                        if self._stop.is_set():
                            break
                        writer.write(frame, self.frames.get(index))
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
    events_model: EventsTableModel
    source_info: SourceInfo | None
    recording_path: Path | None
    _export_thread: VideoExportThread | None
    source_notices: list[str]
    progress: QProgressBar

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
            spotter_blur_applied=self.pipeline.spotter_blur_applied,
            model=info.description if info else None,
            device=info.device_name if info else None,
            untrained_model=info.untrained if info else None,
            source_notices=list(self.source_notices),
            left_out_as_speech=self.results.left_out_as_speech(),
            exported=datetime.now().isoformat(timespec="seconds"),
        )

    def _frame_names(self) -> list[str] | None:
        return frame_file_names(self.source_info.spec) if self.source_info and not self.source_info.is_live else None

    def export_dir(self) -> Path:
        """Where export dialogs open: beside the analysed video or frame folder, else the last folder used."""
        info = self.source_info
        if info is not None and not info.is_live:
            source = Path(str(info.spec))
            if source.parent.is_dir():
                return source.parent
        return Path(self._last_dir())

    def _ask_path(self, path, title: str, suggestion: str, filters: str) -> Path | None:
        if path:
            return Path(path)
        start = str(self.export_dir() / suggestion)
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
            folder = QFileDialog.getExistingDirectory(self, "Folder for the displacement maps", str(self.export_dir()))
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
        thread = VideoExportThread(spec, self.pipeline.fps_override, target, self.results, self.pipeline.rotate)
        self.progress.setFormat("video %p%")
        self.progress.setRange(0, info.frame_count or 0)
        self.progress.setValue(0)
        self.progress.show()
        thread.progress.connect(self._on_video_export_progress)
        thread.done.connect(lambda p: self.statusBar().showMessage(f"annotated video written to {p}", 8000))
        thread.failed.connect(lambda msg: self.show_message(msg, "error"))
        thread.finished.connect(self._on_video_export_finished)
        self._export_thread = thread
        thread.start()
        return thread

    def _on_video_export_progress(self, index: int, total: int) -> None:
        self.progress.setValue(index)
        self.statusBar().showMessage(f"writing annotated video: frame {index}" + (f"/{total}" if total else ""), 2000)

    def _on_video_export_finished(self) -> None:
        self.progress.setFormat("%p%")
        self.progress.setRange(0, (self.source_info.frame_count or 0) if self.source_info else 0)
        self.progress.setValue(self.results.frame_count())

    def export_coding_table(self, path: str | Path | None = None) -> Path | None:
        """The coder's review in the CASME II coding-table layout (machine results stay as they were)."""
        if not self.results.events:
            self.show_message("no events to code yet", "info")
            return None
        target = self._ask_path(path, "Export coding table (CASME II layout)", f"{self._stem()}_coding.csv",
                                "CSV (*.csv)")
        subject = Path(str(self.source_info.spec)).parent.name if self.source_info else ""
        coded = [self.results.coded(e) for e in self.results.events]
        return self._export(lambda t: coding.write_coding_table(t, coded, subject, self._stem()), target,
                            f"coding table ({self.results.reviewed_count()} reviewed of {len(coded)} events)")

    def import_coding_table(self, path: str | Path | None = None) -> int | None:
        """Re-open a review: coded events are matched to this source's events; returns how many matched."""
        if not self.results.events:
            self.show_message("analyse the source first: a coding table is matched to its events", "info")
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import coding table", str(self.export_dir()),
                                                  "CSV (*.csv);;All files (*)")
            if not path:
                return None
        try:
            coded = coding.read_coding_table(path)
        except coding.CodingError as err:
            self.show_message(str(err), "error")
            return None
        review, unmatched = coding.match_review(self.results.events, coded)
        self.events_model.replace_review(review)
        note = f"; {unmatched} coded event(s) overlap no event found here and were left out" if unmatched else ""
        self.show_message(f"coding table {Path(path).name}: {len(coded) - unmatched} event(s) re-opened{note}",
                          "warning" if unmatched else "info")
        return len(coded) - unmatched

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
