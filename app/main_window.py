"""The main window: video with overlays, displacement map, live charts, events table, exports.

It drives :class:`app.pipeline.Pipeline` (capture and analysis threads) and only paints what the
threads report. Every failure a user can meet is shown in the message bar above the views, and
leaves the window usable with everything found so far.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSize, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSlider,
    QSplitter,
    QStyle,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.cameras import CameraProbe
from app.charts import ProbabilityBars, ProbabilityTimeline, ScoreChart, class_color
from app.clip_worker import ClipThread
from app.displacement_view import DisplacementView
from app.export_actions import ExportActions, VideoExportThread
from app.message_bar import MessageBar
from app.pipeline import ModelInfo, Pipeline, SourceInfo, fps_text
from app.results import EventsTableModel, SessionResults
from app.settings import AppSettings, SettingsDialog
from app.video_view import VideoView
from frl_core.engine.analysis import EXPOSURE_STEP, SPEECH
from frl_core.engine.clip import looks_like_a_clip
from frl_core.faces import MSG_REPLACED
from frl_core.io import exports
from frl_core.paths import ASSETS_DIR
from frl_core.types import Event, FrameResult
from frl_core.viz import PALETTE



def demo_clip_path() -> Path:
    """The bundled demo clip: what the app opens when no camera is present and no source is named."""
    return ASSETS_DIR / "demo" / "demo.mp4"

CHART_REFRESH_MS = 125
"""Charts redraw on alternate ticks (score, then timeline), each at most 4 times a second: a pyqtgraph
redraw costs tens of milliseconds in software rendering, and the event loop must never stall 50 ms."""
DISPLAY_INTERVAL_MS = 33
"""The video view repaints at most 30 times a second, however fast a file is analysed."""
EVENT_CAPTION_S = 2.0
"""How long the video names the latest event after its offset."""


class MainWindow(ExportActions, QMainWindow):
    """The FRL-DGT micro-expression studio."""

    first_frame_shown = Signal()
    """Once per window: the first video frame has been painted (start-up timing)."""

    def __init__(self, settings: AppSettings | None = None, probe_cameras: bool = True,
                 pipeline: Pipeline | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else AppSettings.load()
        self.setWindowTitle("FRL-DGT micro-expression studio")
        self.setAcceptDrops(True)
        self.results = SessionResults()
        self.events_model = EventsTableModel(self.results, self)
        self.source_info: SourceInfo | None = None
        self.source_notices: list[str] = []
        """What the current source's reading reported without stopping (damaged or odd-sized frame files)."""
        self.cameras: list[int] = []
        self.recording_path: Path | None = None
        self._recording_from = 0.0
        self._export_thread: VideoExportThread | None = None
        self._last_time = 0.0
        self._playhead: float | None = None
        self._latest_event: Event | None = None
        self._class_names: list[str] = []
        self._first_frame_shown = False
        self.truth: list = []
        """Ground-truth intervals of the current source (``TruthInterval``), shown and compared."""
        self.truth_comparison = None
        """The last comparison of the events with the truth (``TruthComparison``)."""
        self.truth_file: Path | None = None
        self._truth_spec: str | None = None
        self._truth_note: str | None = None
        self._clip_thread: ClipThread | None = None
        self._pending_truth: tuple[str, Path] | None = None

        self.pipeline = pipeline or Pipeline(self.settings, parent=self)
        self._build_views()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect_pipeline()
        self._apply_overlay_settings()
        self._update_transport()

        self._pending_frame: tuple | None = None
        self._display_timer = QTimer(self)
        self._display_timer.setInterval(DISPLAY_INTERVAL_MS)
        self._display_timer.timeout.connect(self._show_pending_frame)
        self._chart_timer = QTimer(self)
        self._chart_timer.setInterval(CHART_REFRESH_MS)
        self._chart_timer.timeout.connect(self._refresh_charts)
        self._chart_timer.start()
        self.camera_probe = CameraProbe(self)
        self.camera_probe.found.connect(self._on_cameras_found)
        if probe_cameras:
            self.camera_probe.start()

    # --- construction -------------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.banner = MessageBar()
        self.video = VideoView()
        self.play_button = QToolButton()
        self.play_button.setAutoRaise(True)
        self.step_button = QToolButton()
        self.step_button.setAutoRaise(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.sliderReleased.connect(lambda: self.seek(self.slider.value()))
        self.slider.actionTriggered.connect(self._on_slider_action)
        self.time_label = QLabel("–")
        self.time_label.setMinimumWidth(150)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        transport = QHBoxLayout()
        transport.setContentsMargins(0, 0, 0, 0)
        transport.addWidget(self.play_button)
        transport.addWidget(self.step_button)
        transport.addWidget(self.slider, 1)
        transport.addWidget(self.time_label)
        video_panel = QWidget()
        vlayout = QVBoxLayout(video_panel)
        vlayout.setContentsMargins(0, 0, 0, 0)
        vlayout.addWidget(self.video, 1)
        vlayout.addLayout(transport)

        self.displacement = DisplacementView()
        self.table = QTableView()
        self.table.setModel(self.events_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        # Qt sizes ResizeToContents columns from the rows there are when it lays the header out, not again
        # as rows arrive or change: 'macro' and '✓ accepted' would stay cut to their header's width.
        for changed in (self.events_model.rowsInserted, self.events_model.dataChanged, self.events_model.modelReset):
            changed.connect(lambda *_: header.resizeSections())
        self.selection = self.table.selectionModel()
        self.selection.selectionChanged.connect(self._on_event_selected)
        events_box = QWidget()
        elayout = QVBoxLayout(events_box)
        elayout.setContentsMargins(0, 0, 0, 0)
        self.events_title = QLabel("<b>Events</b> — select one to see its map and seek there")
        self.accept_button = QToolButton()
        self.reject_button = QToolButton()
        self.reset_button = QToolButton()
        title_row = QHBoxLayout()
        title_row.addWidget(self.events_title, 1)
        for button in (self.accept_button, self.reject_button, self.reset_button):
            button.setAutoRaise(True)
            title_row.addWidget(button)
        elayout.addLayout(title_row)
        elayout.addWidget(self.table, 1)
        self.events_model.edit_refused.connect(lambda msg: self.show_message(msg, "warning"))

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(video_panel)
        top.addWidget(self.displacement)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([740, 540])

        self.score_chart = ScoreChart()
        self.prob_bars = ProbabilityBars()
        self.timeline = ProbabilityTimeline()
        self.prob_tabs = QTabWidget()
        self.prob_tabs.setDocumentMode(True)
        self.prob_tabs.addTab(self.prob_bars.widget, "Latest event")
        self.prob_tabs.addTab(self.timeline.widget, "Per event")
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.score_chart.widget)
        bottom.addWidget(events_box)
        bottom.addWidget(self.prob_tabs)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 3)
        bottom.setStretchFactor(2, 2)
        bottom.setSizes([520, 480, 280])

        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(top)
        main.addWidget(bottom)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        main.setSizes([470, 260])

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 2)
        layout.addWidget(self.banner)
        layout.addWidget(main, 1)
        self.setCentralWidget(central)

    def _action(self, text: str, slot, shortcut=None, icon: QStyle.StandardPixmap | None = None,
                tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(lambda *_args, run=slot: run())
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.open_video_action = self._action("Open &video…", self.open_video_dialog, QKeySequence.StandardKey.Open,
                                              sp.SP_DialogOpenButton, "Open a recorded video")
        self.open_folder_action = self._action("Open &frame folder…", self.open_folder_dialog, "Ctrl+Shift+O",
                                               sp.SP_DirOpenIcon, "Open a folder of frames (image sequence)")
        self.open_demo_action = self._action("Open &demo clip", self.open_demo, None, None,
                                             "The bundled clip with known micro-expressions")
        self.load_truth_action = self._action("Load &ground truth…", lambda: self.load_truth(), None, None,
                                              "Coded intervals for this source (the project's JSON, a MEGC-style CSV "
                                              "or list): shown on the spotting chart and compared with the events")
        self.camera_action = self._action("&Camera", self.toggle_camera, "Ctrl+K", sp.SP_ComputerIcon,
                                          "Start or stop live analysis from a camera", checkable=True)
        self.record_action = self._action("&Record", self.toggle_recording, "Ctrl+R", sp.SP_DialogSaveButton,
                                          "Record the live stream and its results", checkable=True)
        self.play_action = self._action("&Play", self.toggle_play, "Space", sp.SP_MediaPlay, "Play / pause")
        self.step_action = self._action("&Step", self.step, "Right", sp.SP_MediaSeekForward, "Analyse one frame")
        self.reanalyse_action = self._action("Re-&analyse", self.reanalyse, "F5", sp.SP_BrowserReload,
                                             "Analyse the source again with the current settings")
        self.clip_action = self._action("Analyse as one &clip", lambda: self.analyse_as_clip(), "Ctrl+L", None,
                                         "The whole source is one movement (a dataset clip): onset = first frame, "
                                         "apex = largest AU-region motion from it, offset = last frame")
        self.source_fps_action = self._action("&Frame rate of this source…", self.ask_source_fps, None, None,
                                              "Give the frame rate of the open video or frame folder (this source "
                                              "only; the next file opened uses its own)")
        self.export_events_csv_action = self._action("Events as &CSV…", lambda: self.export_events_csv(), None)
        self.export_events_json_action = self._action("Events as &JSON…", lambda: self.export_events_json(), None)
        self.export_frames_action = self._action("Per-&frame CSV…", lambda: self.export_frames_csv(), None)
        self.export_pngs_action = self._action("Displacement &PNGs…", lambda: self.export_event_pngs(), None)
        self.export_video_action = self._action("Annotated &video…", lambda: self.export_video(), None)
        self.export_coding_action = self._action("Coding table (CASME II layout)…", lambda: self.export_coding_table(),
                                                 None, None, "The reviewed events: accepted, rejected, relabelled, "
                                                 "moved (the machine's own results are not changed)")
        self.import_coding_action = self._action("&Import coding table…", lambda: self.import_coding_table(), None,
                                                 None, "Re-open a review saved as a coding table")
        self.accept_action = self._action("Accept", lambda: self.review_selected("accepted"), "Ctrl+Return", None,
                                          "Accept the selected event (coding)")
        self.reject_action = self._action("Reject", lambda: self.review_selected("rejected"), "Ctrl+Backspace", None,
                                          "Reject the selected event (coding)")
        self.reset_review_action = self._action("Reset", lambda: self.review_selected(None), None, None,
                                                "Back to what the machine found")
        self.accept_button.setDefaultAction(self.accept_action)
        self.reject_button.setDefaultAction(self.reject_action)
        self.reset_button.setDefaultAction(self.reset_review_action)
        self.screenshot_action = self._action("&Screenshot…", lambda: self.save_screenshot(), "Ctrl+Shift+S",
                                              None, "Save a PNG of this window")
        self.settings_action = self._action("Se&ttings…", self.open_settings, QKeySequence.StandardKey.Preferences,
                                            sp.SP_FileDialogDetailedView, "Device, model, detection and spotting")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.face_box_action = self._action("Face &box", self._overlay_toggled, "B", checkable=True)
        self.landmarks_action = self._action("&Landmarks", self._overlay_toggled, "L", checkable=True)
        self.regions_action = self._action("&AU regions", self._overlay_toggled, "R", checkable=True)
        self.play_button.setDefaultAction(self.play_action)
        self.step_button.setDefaultAction(self.step_action)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for a in (self.open_video_action, self.open_folder_action, self.open_demo_action):
            file_menu.addAction(a)
        file_menu.addAction(self.import_coding_action)
        file_menu.addAction(self.load_truth_action)
        file_menu.addSeparator()
        self.export_menu = file_menu.addMenu("&Export")
        for a in (self.export_events_csv_action, self.export_events_json_action, self.export_frames_action,
                  self.export_pngs_action, self.export_video_action, self.export_coding_action):
            self.export_menu.addAction(a)
        self.export_menu.addSeparator()
        self.export_menu.addAction(self.screenshot_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        play_menu = bar.addMenu("&Playback")
        for a in (self.play_action, self.step_action, self.reanalyse_action, self.clip_action, self.source_fps_action):
            play_menu.addAction(a)
        live_menu = bar.addMenu("&Live")
        live_menu.addAction(self.camera_action)
        live_menu.addAction(self.record_action)
        view_menu = bar.addMenu("&View")
        for a in (self.face_box_action, self.landmarks_action, self.regions_action):
            view_menu.addAction(a)

        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.open_video_action)
        tb.addAction(self.open_folder_action)
        tb.addSeparator()
        tb.addAction(self.camera_action)
        tb.addAction(self.record_action)
        tb.addSeparator()
        tb.addAction(self.reanalyse_action)
        export_button = QToolButton()
        export_button.setText("Export")
        export_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DriveFDIcon))
        export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_button.setMenu(self.export_menu)
        tb.addWidget(export_button)
        tb.addAction(self.settings_action)
        tb.addSeparator()
        for a in (self.face_box_action, self.landmarks_action, self.regions_action):
            tb.addAction(a)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.source_label = QLabel("no source")
        self.fps_label = QLabel("fps in – / processed –")
        self.dropped_label = QLabel("dropped 0")
        self.device_label = QLabel("device: loading…")
        self.model_label = QLabel("model: loading…")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(True)
        self.progress.hide()
        for w in (self.source_label, self.fps_label, self.dropped_label, self.device_label, self.model_label):
            w.setContentsMargins(6, 0, 6, 0)
            sb.addPermanentWidget(w)
        sb.addPermanentWidget(self.progress)

    def _connect_pipeline(self) -> None:
        p = self.pipeline
        p.source_opened.connect(self._on_source_opened)
        p.source_failed.connect(lambda msg: self.show_message(msg, "error"))
        p.source_error.connect(self._on_source_error)
        p.source_notice.connect(self._on_source_notice)
        p.source_ended.connect(self._update_transport)
        p.analysis_finished.connect(self._on_analysis_finished)
        p.results.connect(self._on_results)
        p.events_found.connect(self._on_events)
        p.frame_ready.connect(self._on_frame)
        p.model_ready.connect(self._on_model_ready)
        p.model_failed.connect(self._on_model_failed)
        p.analysis_error.connect(lambda msg: self.show_message(msg, "warning"))
        p.stats_changed.connect(self._on_stats)
        p.recording_failed.connect(self._on_recording_failed)

    # --- opening sources ----------------------------------------------------------------------------
    def open_spec(self, spec: str | int) -> None:
        """Open a video, a frame folder, an image or a camera index; a failure leaves everything as it was."""
        self.statusBar().showMessage(f"opening {spec}…", 3000)
        self.pipeline.open(spec)

    def open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", self._last_dir(),
                                              "Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.wmv);;All files (*)")
        if path:
            self._remember_dir(Path(path).parent)
            self.open_spec(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of frames", self._last_dir())
        if path:
            self._remember_dir(Path(path))
            self.open_spec(path)

    def open_demo(self) -> None:
        demo = demo_clip_path()
        if demo.is_file():
            self.open_spec(str(demo))
            truth = demo.with_name("demo_ground_truth.json")
            if truth.is_file():
                self._pending_truth = (str(demo), truth)
        else:
            self.show_message(f"the demo clip is missing ({demo}); open a video or a folder of frames", "warning")

    def _last_dir(self) -> str:
        store = self.settings.qsettings
        return str(store.value("last_dir", str(Path.home()))) if store is not None else str(Path.home())

    def _remember_dir(self, folder: Path) -> None:
        if self.settings.qsettings is not None:
            self.settings.qsettings.setValue("last_dir", str(folder))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_spec(paths[0])

    def toggle_camera(self) -> None:
        live = self.source_info is not None and self.source_info.is_live and self.pipeline.capture is not None
        if live:
            self.stop_camera()
            return
        self.camera_action.setChecked(False)
        self._open_picked_camera()

    def _open_picked_camera(self) -> None:
        index = self._pick_camera()
        if index is not None:
            self.open_spec(index)

    def _pick_camera(self) -> int | None:
        if len(self.cameras) == 1:
            return self.cameras[0]
        if self.cameras:
            items = [f"camera {i}" for i in self.cameras]
            choice, ok = QInputDialog.getItem(self, "Camera", "Analyse live from:", items, 0, False)
            return self.cameras[items.index(choice)] if ok else None
        index, ok = QInputDialog.getInt(self, "Camera", "No camera was found. Try camera index:", 0, 0, 16)
        return index if ok else None

    def stop_camera(self) -> None:
        if self.recording_path is not None:
            self.toggle_recording()
        self.pipeline.stop_source()
        self.camera_action.setChecked(False)
        self.statusBar().showMessage("camera stopped; its results stay in the window", 4000)
        self._update_transport()

    def _on_cameras_found(self, cameras: list[int]) -> None:
        self.cameras = cameras
        if cameras and (self.source_info is None or not self.source_info.is_live):
            self.show_message(f"{len(cameras)} camera(s) found: analyse your face live, or keep watching the demo.",
                              "info", ("Analyse camera live", self._open_picked_camera))

    # --- pipeline reports ---------------------------------------------------------------------------
    def _on_source_opened(self, info: SourceInfo) -> None:
        if self._export_thread is not None:
            self._export_thread.request_stop()
        self.source_info = info
        self.source_notices = []
        self.events_model.reset()
        self.displacement.clear()
        self.video.clear()
        self.score_chart.clear()
        self.score_chart.set_truth([])
        self.prob_bars.clear()
        self.timeline.clear()
        self._latest_event = None
        self._last_time = 0.0
        pending, self._pending_truth = self._pending_truth, None
        if pending is not None and pending[0] == str(info.spec):
            self.load_truth(pending[1], announce=False)
        elif self.truth and self._truth_spec == str(info.spec):  # re-analysed: the same source keeps its truth
            self._show_truth()
        else:
            self.truth, self.truth_file = [], None
            self.banner.hide()
        kind = "camera" if info.is_live else ("frames" if Path(str(info.spec)).is_dir() else "video")
        count = f", {info.frame_count} frames" if info.frame_count else ""
        rate = f"{info.fps:g} fps" + {"assumed": " ASSUMED", "override": " (set by you)"}.get(info.fps_origin, "")
        if info.variable_rate:
            rate += ", variable rate resampled by its timestamps"
        self.source_label.setText(f"{kind}: {info.name} ({rate}{count})")
        self.source_label.setToolTip(f"{info.spec}\nPlayback ▸ Frame rate of this source… changes the rate")
        self.source_label.setStyleSheet("color: #ffa94d; font-weight: bold;" if info.fps_origin == "assumed" else "")
        if not info.is_live and looks_like_a_clip(info.frame_count, info.fps):
            assumed = f" (at an assumed {info.fps:g} fps: Playback ▸ Frame rate sets it)" if info.fps_origin == "assumed" \
                else ""
            self.show_message(f"{info.name} has {info.frame_count} frames, too few for the spotting windows"
                              f"{assumed}: it looks like a dataset clip, one movement from onset to offset.",
                              "warning", ("Analyse as one clip", self.analyse_as_clip))
        elif info.fps_origin == "assumed" and not info.is_live:
            self.show_message(f"{info.name}: no frame rate is stored with this {'folder' if kind == 'frames' else 'file'}"
                              f", so {info.fps:g} fps is assumed. Spotting windows are in seconds: give the real "
                              "rate (CASME II and SAMM frames are 200 fps).", "warning",
                              ("Set frame rate…", self.ask_source_fps))
        self.slider.setEnabled(not info.is_live and bool(info.frame_count))
        self.slider.setRange(0, max(0, (info.frame_count or 1) - 1))
        self.slider.setValue(0)
        self.progress.setVisible(not info.is_live and bool(info.frame_count))
        self.progress.setRange(0, info.frame_count or 0)
        self.progress.setValue(0)
        self.camera_action.setChecked(info.is_live)
        self.setWindowTitle(f"{info.name} — FRL-DGT micro-expression studio")
        self._update_transport()

    def _on_source_notice(self, message: str) -> None:
        self.source_notices.append(message)
        self.show_message(message, "warning")

    def _on_source_error(self, message: str) -> None:
        saved = ""
        if self.source_info is not None and self.source_info.is_live:
            self.pipeline.stop_source()
            self.camera_action.setChecked(False)
            if self.recording_path is not None:
                saved = self._finish_recording(announce=False)
        self.show_message(f"{message} — results found so far are kept{saved}", "error")
        self._update_transport()

    def _on_results(self, results: list[FrameResult]) -> None:
        self.results.add_frames(results)
        self.score_chart.add_results(results)
        if results:
            self._last_time = results[-1].timestamp
        for r in results:
            if r.message and EXPOSURE_STEP in r.message:
                self.show_message(f"{r.message[0].upper()}{r.message[1:]} (not a facial movement; a fixed exposure "
                                  "keeps such movements)", "info")
            elif r.message and SPEECH in r.message:
                self.show_message(f"{r.message[0].upper()}{r.message[1:]} (Settings ▸ Speech keeps them)", "info")
        switched = next((r for r in results if r.face is not None and r.face.switched), None)
        if switched is not None:
            why = ("the face followed was lost and a face found elsewhere" if switched.message == MSG_REPLACED
                   else "another, larger face came into view")
            self.show_message(f"{why}: that face is followed from {switched.timestamp:.2f} s "
                              f"(frame {switched.index}), where spotting started afresh", "info")

    def _on_events(self, events: list[Event]) -> None:
        self.events_model.append(events)
        for e in events:
            color = class_color(e.label, self._class_index(e.label)) if e.label else PALETTE["uncertain"]
            self.score_chart.add_event(e, color)
            self.timeline.add_event(e)
        latest = events[-1]
        self._latest_event = latest
        self.events_title.setText(f"<b>Events</b> ({len(self.results.events)}) — select one to see its map and "
                                  "seek there")
        # The views of the newest event follow in later turns of the event loop, so that no single turn
        # holds the GUI for long.
        QTimer.singleShot(0, lambda: self.prob_bars.show_event(latest))
        QTimer.singleShot(0, lambda: self._show_latest_event(latest))

    def _show_latest_event(self, event: Event) -> None:
        if not self.table.selectionModel().hasSelection() and event is self._latest_event:
            self.displacement.show_event(event, self.pipeline.pictures.get(id(event)))

    def _class_index(self, name: str) -> int:
        if name not in self._class_names:
            self._class_names.append(name)
        return self._class_names.index(name)

    def _on_frame(self, item: tuple) -> None:
        """Keep the newest frame; it is painted at most every DISPLAY_INTERVAL_MS (analysis may run faster)."""
        self._pending_frame = item
        if not self._display_timer.isActive():
            self._display_timer.start()

    def _show_pending_frame(self) -> None:
        item, self._pending_frame = self._pending_frame, None
        if item is None:
            self._display_timer.stop()
            if not self.video.smooth:
                self.video.smooth = True
                self.video.update()
            return
        self.video.smooth = False
        frame, result, index = item
        if result is None:
            result = self.results.frames.get(index)
        self.video.set_frame(frame, result, index)
        if not self._first_frame_shown:
            self._first_frame_shown = True
            self.first_frame_shown.emit()
        e = self._latest_event
        t = result.timestamp if result is not None else self._last_time
        recent = e is not None and e.onset_time - 0.05 <= t <= e.offset_time + EVENT_CAPTION_S
        self.video.set_event(e if recent else None)
        if result is not None:
            self._playhead = result.timestamp
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        total = self.source_info.frame_count if self.source_info else None
        stamp = f"{result.timestamp:.2f} s" if result is not None else ""
        self.time_label.setText(f"{index + 1}/{total}  {stamp}" if total else f"frame {index}  {stamp}")

    def load_truth(self, path: str | Path | None = None, announce: bool = True) -> int | None:
        """Show coded intervals for the current source on the spotting chart; returns how many."""
        from frl_core.engine.truth import load_truth, rate_note
        from frl_core.io.ground_truth import GroundTruthError

        if self.source_info is None:
            self.show_message("open a source first: ground truth belongs to one video or frame folder", "info")
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load ground truth", str(self.export_dir()),
                                                  "Ground truth (*.json *.csv *.txt);;All files (*)")
            if not path:
                return None
        own_rate = self.source_info.fps if self.source_info.fps_origin == "source" else None
        try:
            truth = load_truth(path, fps=own_rate)
        except GroundTruthError as err:
            self.show_message(str(err), "error")
            return None
        self.truth, self.truth_file, self._truth_spec = truth, Path(path), str(self.source_info.spec)
        self._truth_note = rate_note(path, own_rate)
        self._show_truth()
        if self._truth_note:
            self.show_message(self._truth_note, "info")
        if announce:
            self.statusBar().showMessage(f"ground truth: {len(truth)} coded interval(s) from {Path(path).name}", 8000)
        if not self.pipeline.is_analysing() and self.results.frame_count():
            self._compare_with_truth()
        return len(truth)

    def _show_truth(self) -> None:
        fps = self.source_info.fps if self.source_info else 30.0
        self.score_chart.set_truth([(t.onset / fps, (t.offset + 1) / fps, t.label) for t in self.truth])

    def _compare_with_truth(self) -> None:
        from frl_core.io.ground_truth import compare_to_truth

        comparison = compare_to_truth(self.truth, self.results.events)
        self.truth_comparison = comparison
        note = f" ({self._truth_note})" if self._truth_note else ""
        self.show_message(f"{self.truth_file.name if self.truth_file else 'ground truth'}: {comparison.summary()}{note}",
                          "info")

    def _on_analysis_finished(self) -> None:
        if self.truth:
            self._compare_with_truth()
        self.timeline.set_duration(self._last_time)
        self.score_chart.show_all()
        self.timeline.show_all()
        n = len(self.results.events)
        if self.results.frame_count() and self.results.faces_seen == 0:
            turned = (f"its frames are turned {self.pipeline.rotate}° clockwise" if self.pipeline.rotate
                      else "a sideways video")
            self.show_message("no face was found in this source: nothing to spot. Try another video, or check "
                              f"the lighting and that the face is frontal and upright ({turned}: Settings ▸ Turn "
                              "frames).", "warning")
        else:
            self.statusBar().showMessage(f"analysis finished: {self.results.frame_count()} frames, {n} event(s)",
                                         8000)
        self._update_transport()

    def _on_model_ready(self, info: ModelInfo) -> None:
        self.device_label.setText(f"device: {info.device_name}")
        self.model_label.setText(f"model: {info.description}")
        self.model_label.setStyleSheet("color: #ffa94d; font-weight: bold;" if info.untrained else "")
        self.model_label.setToolTip("No trained weights are installed: labels are not meaningful yet."
                                    if info.untrained else "")
        self.prob_bars.set_classes(list(info.class_names))

    def _on_model_failed(self, message: str) -> None:
        self.show_message(message, "error")
        if self.pipeline.model_info is None:
            self.device_label.setText("device: –")
            self.model_label.setText("model: none (spotting only)")
            self.model_label.setStyleSheet("color: #ff8787; font-weight: bold;")
            self.prob_bars.widget.setTitle("class probabilities: no model loaded", size="9pt")

    def _on_stats(self, fps_in: float, fps_processed: float, dropped: int) -> None:
        self.fps_label.setText(f"fps in {fps_text(fps_in)} / processed {fps_text(fps_processed)}")
        self.dropped_label.setText(f"dropped {dropped}")
        self.dropped_label.setStyleSheet("color: #ffa94d;" if dropped else "")
        self._update_transport()

    def _refresh_charts(self) -> None:
        self._chart_tick = getattr(self, "_chart_tick", 0) + 1
        if self._chart_tick % 2:
            if self._playhead is not None:
                self.score_chart.set_playhead(self._playhead)
                self._playhead = None
            self.score_chart.refresh()
        else:
            self.timeline.refresh()
            if self._export_thread is None or not self._export_thread.isRunning():
                self.progress.setValue(self.results.frame_count())

    def show_message(self, text: str, level: str = "error", action: tuple[str, object] | None = None) -> None:
        """Show ``text`` above the views; a message never hides a visible warning or error of the same or
        higher level: it is added below it."""
        rank = {"info": 0, "warning": 1, "error": 2}
        if self.banner.isVisible() and rank.get(self.banner.level, 0) >= 1 and rank.get(level, 0) <= rank[
                self.banner.level]:
            if text not in self.banner.label.text():
                self.banner.label.setText(self.banner.label.text() + "\n" + text)
        else:
            self.banner.show_message(text, level, action)
        self.statusBar().showMessage(text, 8000)

    # --- transport ----------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.pipeline.is_playing():
            self.pipeline.pause()
        else:
            self.score_chart.follow = self.timeline.follow = True
            self.pipeline.play()
        self._update_transport()

    def step(self) -> None:
        self.pipeline.step()
        self._update_transport()

    def seek(self, index: int) -> None:
        self.pipeline.seek(index)

    def _on_slider_action(self, _action: int) -> None:
        if not self.slider.isSliderDown():
            QTimer.singleShot(0, lambda: self.seek(self.slider.sliderPosition()))

    def ask_source_fps(self) -> None:
        """Ask for the current source's frame rate and analyse it again at that rate."""
        info = self.source_info
        if info is None or info.is_live:
            self.show_message("open a video or a folder of frames first; a camera gives its own rate", "info")
            return
        fps, ok = QInputDialog.getDouble(self, "Frame rate", f"Frames per second of {info.name}\n(this source only):",
                                         info.fps, 1.0, 1000.0, 1)
        if ok:
            self.set_source_fps(fps)

    def analyse_as_clip(self) -> ClipThread | None:
        """Analyse the open video or folder as one movement (clip mode) in a thread; its one event replaces
        the events found by spotting."""
        info = self.source_info
        if info is None or info.is_live:
            self.show_message("open a video or a folder of frames first: clip mode needs a recorded source", "info")
            return None
        if self._clip_thread is not None and self._clip_thread.isRunning():
            return None
        thread = ClipThread(str(info.spec), self.pipeline.fps_override, self.settings, self.pipeline.rotate)
        thread.done.connect(self._on_clip_done)
        thread.failed.connect(lambda msg: self.show_message(msg, "error"))
        self._clip_thread = thread
        self.statusBar().showMessage(f"clip mode: reading {info.name} and finding its apex…", 5000)
        thread.start()
        return thread

    def _on_clip_done(self, result) -> None:
        event = result.event
        self.pipeline.pause()
        self.events_model.reset()
        self.results.add_frames(result.frames)
        self.score_chart.clear()
        self.score_chart.add_results(result.frames)
        self.score_chart.show_all()
        self._on_events([event])
        self.displacement.show_event(event)
        self.prob_bars.show_event(event)
        how = "found: largest AU-region motion from the onset" if result.apex_found else "given"
        self.show_message(f"clip mode: onset {event.onset_index}, apex {event.apex_index} ({how}), offset "
                          f"{event.offset_index}: {event.label_text()}", "info")
        if self.truth:
            self._compare_with_truth()

    def set_source_fps(self, fps: float | None) -> None:
        """Analyse the current source again at ``fps``; None goes back to the source's own rate."""
        if self.source_info is None or self.source_info.is_live:
            return
        self.pipeline.set_source_fps(fps)

    def reanalyse(self) -> None:
        if self.source_info is None:
            self.show_message("open a video, a folder of frames or a camera first", "info")
            return
        self.pipeline.reanalyse()

    def _update_transport(self) -> None:
        playing = self.pipeline.is_playing()
        recorded = self.source_info is not None and not self.source_info.is_live and self.pipeline.capture is not None
        live = self.source_info is not None and self.source_info.is_live and self.pipeline.capture is not None
        self.play_action.setEnabled(recorded)
        self.step_action.setEnabled(recorded)
        self.play_action.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay))
        self.play_action.setText("&Pause" if playing else "&Play")
        self.record_action.setEnabled(live)
        self.camera_action.setChecked(live)

    # --- recording ----------------------------------------------------------------------------------
    def recordings_dir(self) -> Path:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation) or str(Path.home())
        return Path(base) / "FRL-DGT recordings"

    def toggle_recording(self, path: str | Path | None = None) -> None:
        if self.recording_path is None:
            if not (self.source_info is not None and self.source_info.is_live):
                self.record_action.setChecked(False)
                self.show_message("recording needs a live camera source", "info")
                return
            stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
            target = Path(path) if path else self.recordings_dir() / f"recording_{stamp}.mp4"
            self.recording_path = target
            self._recording_from = self._last_time
            self.pipeline.start_recording(target)
            self.record_action.setChecked(True)
        else:
            self.pipeline.stop_recording()
            self._finish_recording()

    def _finish_recording(self, announce: bool = True) -> str:
        """Save the results of the recorded span beside the raw video; returns what was saved."""
        target = self.recording_path
        self.recording_path = None
        self.record_action.setChecked(False)
        if target is None:
            return ""
        span = [e for e in self.results.events if e.apex_time >= self._recording_from]
        frames = [r for r in self.results.ordered_frames() if r.timestamp >= self._recording_from]
        try:
            metadata = self._export_metadata()
            exports.write_events_csv(target.with_name(target.stem + "_events.csv"), span, metadata)
            exports.write_events_json(target.with_name(target.stem + "_events.json"), span, metadata)
            exports.write_frames_csv(target.with_name(target.stem + "_frames.csv"), frames, metadata)
        except exports.ExportError as err:
            self.show_message(str(err), "error")
            return ""
        saved = f"; the recording and its results are in {target.parent}"
        if announce:
            self.show_message(f"recorded {target} with its events and per-frame results", "info")
        return saved

    def _on_recording_failed(self, message: str) -> None:
        self.recording_path = None
        self.record_action.setChecked(False)
        self.show_message(message, "error")

    # --- settings -----------------------------------------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, new: AppSettings) -> None:
        """Store the settings; reload the model if device or weights changed, redraw the overlays."""
        reload = new.model_key() != self.settings.model_key()
        new.qsettings = self.settings.qsettings
        for name, value in vars(new).items():
            setattr(self.settings, name, value)
        self.settings.save()
        self._apply_overlay_settings()
        self.pipeline.apply_settings()
        if reload:
            self.model_label.setText("model: loading…")
            self.pipeline.reload_model()

    def _apply_overlay_settings(self) -> None:
        s = self.settings
        self.face_box_action.setChecked(s.show_face_box)
        self.landmarks_action.setChecked(s.show_landmarks)
        self.regions_action.setChecked(s.show_regions)
        self.video.set_overlays(s.show_face_box, s.show_landmarks, s.show_regions)

    def _overlay_toggled(self) -> None:
        s = self.settings
        s.show_face_box = self.face_box_action.isChecked()
        s.show_landmarks = self.landmarks_action.isChecked()
        s.show_regions = self.regions_action.isChecked()
        s.save()
        self.video.set_overlays(s.show_face_box, s.show_landmarks, s.show_regions)

    # --- selection ----------------------------------------------------------------------------------
    def _on_event_selected(self, *_args) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        event = self.results.events[rows[0].row()]
        self.displacement.show_event(event, self.pipeline.pictures.get(id(event)))
        self.prob_bars.show_event(event)
        if self.source_info is not None and not self.source_info.is_live:
            self.pipeline.pause()
            self.seek(event.apex_index)
            self._update_transport()

    # --- coding -------------------------------------------------------------------------------------
    def review_selected(self, status: str | None) -> None:
        """Accept or reject the selected event (None: back to the machine's version)."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.show_message("select an event in the table first", "info")
            return
        if status is None:
            self.events_model.reset_review(rows[0].row())
        else:
            self.events_model.set_status(rows[0].row(), status)

    # --- shutdown -----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop every thread (within a second) before the window goes."""
        if self.recording_path is not None:
            self.pipeline.stop_recording()
            self._finish_recording()
        if self._export_thread is not None:
            self._export_thread.request_stop()
            self._export_thread.wait(500)
        if self._clip_thread is not None:
            self._clip_thread.wait(2000)
        self._chart_timer.stop()
        self.pipeline.shutdown()
        super().closeEvent(event)
