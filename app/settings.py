"""The user's settings: persisted with QSettings, edited in a dialog, turned into an engine config.

The dialog only edits numbers and paths; what they mean for the engine is decided in frl_core
(``EngineConfig``, ``FaceConfig``, ``SpotterConfig``) and mapped in :func:`engine_config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from frl_core.faces import FOLLOW_RULES, FaceConfig
from frl_core.io.sources import ROTATIONS
from frl_core.spotting.config import SpotterConfig

RETIRED_KEYS = ("fps_override", "head_turns")
"""Keys earlier versions stored that must not act any more: a frame-rate override belongs to one source
(Playback ▸ Frame rate of this source), never to every later file; "head_turns" was stored while taking turns out
was off by default, so its False was nobody's choice (now ``take_out_head_turns``)."""

SPOTTER_SCORE = 3
"""Which spotting score a stored threshold factor belongs to. Score 2 (block noise weights, a similarity
head-motion model, AU-masked smoothing) has a lower, steadier noise floor than score 1, whose default
factor was 8; score 3 is score 2 on the tracker's stronger landmark smoothing, which removed the jitter
that its default factor 5 stood above (default 4). A factor stored for an older score is dropped for the
current default."""

ORGANIZATION = "FRL-DGT"
APPLICATION = "Micro-expression studio"


@dataclass
class AppSettings:
    """Everything the settings dialog edits. ``weights`` empty means the shipped default weights."""

    device: str = "auto"
    weights: str = ""
    detect_every_n: int = FaceConfig.detect_every_n
    landmark_every_n: int = FaceConfig.landmark_every_n
    """The 68-point predictor runs every N frames; optical flow carries the landmarks between."""
    window_s: float = SpotterConfig.window_s
    """Spotting (micro) window in seconds."""
    threshold: float = SpotterConfig.threshold_k
    """Adaptive threshold factor k: running median + k robust standard deviations of the score."""
    leave_out_speech: bool = True
    """Leave out mouth movements that come in trains (talking; ``SpotterConfig.speech_train``)."""
    take_out_head_turns: bool = SpotterConfig.head_turn
    """Take the head's turns in depth out of spotting too (``SpotterConfig.head_turn``)."""
    face_crops: bool = False
    """Frames are already face crops (dataset frames): use the whole frame when no face is detected."""
    follow: str = FaceConfig.follow
    """Which face is followed when several are in view: "largest", "left" or "right" (``FaceConfig.follow``)."""
    rotate: int = 0
    """Turn every frame this many degrees clockwise first (a camera mounted sideways, a phone video whose
    rotation flag was lost): 0, 90, 180 or 270."""
    show_face_box: bool = True
    show_landmarks: bool = True
    show_regions: bool = True
    pace: str = "max"
    """"max" analyses recorded files as fast as possible, "1x" at their own frame rate."""
    qsettings: QSettings | None = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, qsettings: QSettings | None = None) -> AppSettings:
        """Read the stored values; anything missing or unreadable keeps its default."""
        store = qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)
        out = cls(qsettings=store)
        for f in dataclasses.fields(cls):
            if f.name == "qsettings" or not store.contains(f.name):
                continue
            raw = store.value(f.name)
            default = getattr(out, f.name)
            try:
                if isinstance(default, bool):
                    value = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
                else:
                    value = type(default)(raw)
            except (TypeError, ValueError):
                continue
            setattr(out, f.name, value)
        # Versions before 0.5 stored 0 for "the spotter's default": show the real value instead.
        if out.window_s <= 0:
            out.window_s = SpotterConfig.window_s
        if out.threshold <= 0 or _stored_int(store, "spotter_score") != SPOTTER_SCORE:
            out.threshold = SpotterConfig.threshold_k
        if out.device not in ("auto", "cpu", "cuda"):
            out.device = "auto"
        if out.pace not in ("max", "1x"):
            out.pace = "max"
        if out.rotate not in ROTATIONS:
            out.rotate = 0
        if out.follow not in FOLLOW_RULES:
            out.follow = FaceConfig.follow
        return out

    def save(self) -> None:
        store = self.qsettings if self.qsettings is not None else QSettings(ORGANIZATION, APPLICATION)
        for f in dataclasses.fields(self):
            if f.name != "qsettings":
                store.setValue(f.name, getattr(self, f.name))
        store.setValue("spotter_score", SPOTTER_SCORE)
        for name in RETIRED_KEYS:
            store.remove(name)
        store.sync()

    def copy(self) -> AppSettings:
        return dataclasses.replace(self)

    def model_key(self) -> tuple[str, str]:
        """What decides which model must be loaded: a change here reloads the network."""
        return (self.device, self.weights)


def _stored_int(store: QSettings, key: str) -> int | None:
    try:
        return int(store.value(key)) if store.contains(key) else None
    except (TypeError, ValueError):
        return None


def _with(config, **values):
    """``dataclasses.replace`` restricted to the fields the config really has."""
    names = {f.name for f in dataclasses.fields(config)}
    return dataclasses.replace(config, **{k: v for k, v in values.items() if k in names and v is not None})


def engine_config(settings: AppSettings, fps: float):
    """The frl_core ``EngineConfig`` for a source at ``fps``."""
    from frl_core.engine import EngineConfig

    face = _with(FaceConfig(), detect_every_n=max(1, int(settings.detect_every_n)),
                 landmark_every_n=max(1, int(settings.landmark_every_n)),
                 whole_frame_fallback=bool(settings.face_crops), follow=settings.follow)
    spotter = SpotterConfig()
    if settings.window_s > 0:
        spotter = _with(spotter, window_s=float(settings.window_s))
    if settings.threshold > 0:
        spotter = _with(spotter, threshold_k=float(settings.threshold))
    if not settings.leave_out_speech:
        spotter = _with(spotter, speech_train=0)
    spotter = _with(spotter, head_turn=bool(settings.take_out_head_turns))
    return _with(EngineConfig(), fps=float(fps), face=face, spotter=spotter, device=settings.device,
                 weights=settings.weights or None, keep_aligned=False)


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings()`` returns it after OK."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings.copy()
        form = QFormLayout()

        self.device = QComboBox()
        self.device.addItem("Automatic (GPU when present)", "auto")
        self.device.addItem("CPU", "cpu")
        self.device.addItem("GPU (CUDA)", "cuda")
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        form.addRow("Device", self.device)

        self.weights = QLineEdit(settings.weights)
        self.weights.setPlaceholderText("shipped default weights")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_weights)
        row = QHBoxLayout()
        row.addWidget(self.weights, 1)
        row.addWidget(browse)
        holder = QWidget()
        holder.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Model weights", holder)

        self.detect_every_n = QSpinBox()
        self.detect_every_n.setRange(1, 120)
        self.detect_every_n.setValue(settings.detect_every_n)
        self.detect_every_n.setSuffix(" frames")
        self.detect_every_n.setSpecialValueText("every frame")
        self.detect_every_n.setToolTip("Run the face detector every N frames; landmarks track the face in between")
        form.addRow("Face detection every", self.detect_every_n)

        self.landmark_every_n = QSpinBox()
        self.landmark_every_n.setRange(1, 10)
        self.landmark_every_n.setValue(settings.landmark_every_n)
        self.landmark_every_n.setSuffix(" frames")
        self.landmark_every_n.setSpecialValueText("every frame")
        self.landmark_every_n.setToolTip("Run the 68-point landmark model every N frames; optical flow carries the "
                                         "landmarks in between (1 = every frame, the default)")
        form.addRow("Landmark model every", self.landmark_every_n)

        self.window_s = QDoubleSpinBox()
        self.window_s.setRange(0.1, 10.0)
        self.window_s.setSingleStep(0.1)
        self.window_s.setDecimals(2)
        self.window_s.setSuffix(" s")
        self.window_s.setValue(settings.window_s)
        self.window_s.setToolTip(f"Each frame is compared with the face this long before and after it; longer than "
                                 f"a micro-expression (default {SpotterConfig.window_s:g} s)")
        form.addRow("Spotting window", self.window_s)

        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.5, 100.0)
        self.threshold.setSingleStep(0.5)
        self.threshold.setDecimals(1)
        self.threshold.setPrefix("median + ")
        self.threshold.setSuffix(" × robust SD")
        self.threshold.setValue(settings.threshold)
        self.threshold.setToolTip(f"An interval starts where the spotting score (px of the 224-px face) rises above "
                                  f"its running median plus this many robust standard deviations, and never below "
                                  f"{SpotterConfig.min_threshold:g} px ({SpotterConfig.warmup_threshold:g} px in the first "
                                  f"{SpotterConfig.warmup_s:g} s, while it learns the face's noise). Higher spots fewer, "
                                  f"stronger movements "
                                  f"(default {SpotterConfig.threshold_k:g})")
        form.addRow("Spotting threshold", self.threshold)
        self.spotting_defaults = QPushButton("Spotting defaults")
        self.spotting_defaults.setToolTip(f"Window {SpotterConfig.window_s:g} s, threshold k = "
                                          f"{SpotterConfig.threshold_k:g}")
        self.spotting_defaults.clicked.connect(self._spotting_defaults)
        form.addRow("", self.spotting_defaults)

        self.leave_out_speech = QCheckBox("Leave out talking: mouth movements that come in trains")
        self.leave_out_speech.setChecked(settings.leave_out_speech)
        self.leave_out_speech.setToolTip(f"{SpotterConfig.speech_train} or more movements at the lips and chin, the "
                                         f"mouth never still for more than {SpotterConfig.speech_gap_s:g} s between, "
                                         "are syllables, not micro-expressions; the message bar says where they "
                                         "were left out. Brow movements and smiles made while talking are still "
                                         "found")
        form.addRow("Speech", self.leave_out_speech)

        self.head_turns = QCheckBox("Take the head's turns in depth out of spotting")
        self.head_turns.setChecked(settings.take_out_head_turns)
        self.head_turns.setToolTip("A head turned a few degrees moves the nose against the cheeks, which spotting "
                                   "would read as facial motion (displacement maps always take it out). Untick it "
                                   "only to spot as earlier versions did")
        form.addRow("Head", self.head_turns)

        self.face_crops = QCheckBox("Frames are face crops: use the whole frame when no face is detected")
        self.face_crops.setChecked(settings.face_crops)
        form.addRow("Input", self.face_crops)

        self.rotate = QComboBox()
        for degrees in ROTATIONS:
            self.rotate.addItem("Upright (as the source gives them)" if degrees == 0 else f"{degrees}° clockwise",
                                degrees)
        self.rotate.setCurrentIndex(max(0, self.rotate.findData(settings.rotate)))
        self.rotate.setToolTip("The face detector finds upright faces only: turn the frames of a camera mounted "
                               "sideways or upside down, or of a phone video whose rotation flag was lost")
        form.addRow("Turn frames", self.rotate)

        self.follow = QComboBox()
        self.follow.addItem("The largest (nearest the camera)", "largest")
        self.follow.addItem("The leftmost in the picture", "left")
        self.follow.addItem("The rightmost in the picture", "right")
        self.follow.setCurrentIndex(max(0, self.follow.findData(settings.follow)))
        self.follow.setToolTip("Which face is analysed when several are in view (an interview recorded with both "
                               "people in the picture); left or right keeps the person followed until their face "
                               "is lost")
        form.addRow("Face to follow", self.follow)

        self.pace = QComboBox()
        self.pace.addItem("As fast as possible", "max")
        self.pace.addItem("Real time (1x)", "1x")
        self.pace.setCurrentIndex(max(0, self.pace.findData(settings.pace)))
        form.addRow("Recorded files play", self.pace)

        self.show_face_box = QCheckBox("Face box")
        self.show_face_box.setChecked(settings.show_face_box)
        self.show_landmarks = QCheckBox("Landmarks")
        self.show_landmarks.setChecked(settings.show_landmarks)
        self.show_regions = QCheckBox("AU regions")
        self.show_regions.setChecked(settings.show_regions)
        overlays = QHBoxLayout()
        for box in (self.show_face_box, self.show_landmarks, self.show_regions):
            overlays.addWidget(box)
        overlays_holder = QWidget()
        overlays.setContentsMargins(0, 0, 0, 0)
        overlays_holder.setLayout(overlays)
        form.addRow("Overlays", overlays_holder)

        note = QLabel("Device and weights reload the model; the other analysis settings apply to the next "
                      "source opened (or Playback ▸ Re-analyse).")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _spotting_defaults(self) -> None:
        self.window_s.setValue(SpotterConfig.window_s)
        self.threshold.setValue(SpotterConfig.threshold_k)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model weights", str(Path(self.weights.text()).parent),
                                              "PyTorch checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.weights.setText(path)

    def result_settings(self) -> AppSettings:
        s = self._settings
        s.device = self.device.currentData()
        s.weights = self.weights.text().strip()
        s.detect_every_n = self.detect_every_n.value()
        s.landmark_every_n = self.landmark_every_n.value()
        s.window_s = self.window_s.value()
        s.threshold = self.threshold.value()
        s.pace = self.pace.currentData()
        s.face_crops = self.face_crops.isChecked()
        s.leave_out_speech = self.leave_out_speech.isChecked()
        s.take_out_head_turns = self.head_turns.isChecked()
        s.rotate = int(self.rotate.currentData())
        s.follow = str(self.follow.currentData())
        s.show_face_box = self.show_face_box.isChecked()
        s.show_landmarks = self.show_landmarks.isChecked()
        s.show_regions = self.show_regions.isChecked()
        return s
