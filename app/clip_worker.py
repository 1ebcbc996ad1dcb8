"""Clip mode in the window: a dataset clip (onset -> apex -> offset, often shorter than the spotting
windows) analysed as one movement by :class:`frl_core.engine.clip.ClipAnalyzer`, in a thread of its own."""

from __future__ import annotations

from PySide6.QtCore import QThread, Signal

from app.pipeline import load_recognizer
from app.settings import AppSettings, engine_config
from frl_core.engine.clip import MAX_CLIP_FRAMES, ClipAnalyzer, ClipError
from frl_core.io.sources import SourceError, open_source


class ClipThread(QThread):
    """Reads the whole clip, finds its apex, recognises the onset/apex pair; reports a ``ClipResult``."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, spec: str, fps_override: float | None, settings: AppSettings, rotate: int = 0) -> None:
        super().__init__()
        self.spec, self.fps_override, self.settings = spec, fps_override, settings.copy()
        self.rotate = rotate

    def run(self) -> None:
        try:
            with open_source(self.spec, self.fps_override, rotate=self.rotate) as source:
                fps = source.fps
                frames = []
                for _t, frame in source:
                    frames.append(frame)
                    if len(frames) > MAX_CLIP_FRAMES:
                        raise ClipError(f"more than {MAX_CLIP_FRAMES} frames is too long for one movement")
            try:
                recognizer, _info = load_recognizer(self.settings.weights or None, self.settings.device)
            except Exception as err:  # a bad weights file: the clip is still measured, without a label
                recognizer = None
                self.failed.emit(f"cannot load the model ({err}): the clip is measured without a label")
            result = ClipAnalyzer(engine_config(self.settings, fps), recognizer).analyse(frames, fps)
        except (ClipError, SourceError) as err:
            self.failed.emit(f"clip mode: {err}")
            return
        self.done.emit(result)
