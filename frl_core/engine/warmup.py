"""Getting the analysis ready before the first frame: face models loaded, compiled kernels built, the
recogniser loaded and run once.

numba compiles the face and spotting kernels on their first call and caches them on disk; on a first run
that takes about a minute, which used to happen inside the first analysed frame with nothing on screen.
Here it happens up front, on a short clip of the bundled face, while :class:`WarmUp` tells a splash screen
how many kernels are ready.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

KERNEL_MODULES = ("frl_core.faces.kernels", "frl_core.faces.landmarks", "frl_core.spotting.kernels")
"""Where the compiled (numba) functions of the analysis live."""

WARM_FRAMES = 24
"""Frames of the warm-up clip: enough for the spotter to score a frame against one a window before."""


def compiled_kernels() -> list[Any]:
    """Every numba-compiled function of the analysis (dispatchers with a ``signatures`` list)."""
    kernels = []
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if hasattr(value, "signatures") and hasattr(value, "py_func") and value.py_func.__module__ == name:
                kernels.append(value)
    return kernels


def warm_up_frames(n: int = WARM_FRAMES, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    """The bundled face, still but for a small shift, as ``n`` BGR frames of ``size``."""
    import cv2

    from frl_core.synth.render import load_face

    face = load_face()
    w, h = size
    scale = min(w / face.shape[1], h / face.shape[0])
    base = np.full((h, w, 3), 127, np.uint8)
    small = cv2.resize(face, (int(face.shape[1] * scale), int(face.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    base[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    return [np.roll(base, i % 2, axis=1) for i in range(n)]


@dataclass
class WarmUp:
    """Runs the steps of getting ready in a background thread; the GUI polls :meth:`status`.

    ``load_recognizer(weights, device)`` returns ``(recognizer, info)``; its result (or the error it
    raised, as text) is kept for the caller, who hands the model to the analysis thread.
    """

    weights: str | Path | None = None
    device: str = "auto"
    load_recognizer: Callable[[str | Path | None, str], tuple[Any, Any]] | None = None
    step: str = "starting"
    step_index: int = 0
    steps: int = 3
    problems: list[str] = field(default_factory=list)
    recognizer: Any = None
    model_info: Any = None
    _kernels: list[Any] = field(default_factory=list)
    _started: float = 0.0
    _step_started: float = 0.0
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> WarmUp:
        self._started = self._step_started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="warm-up", daemon=True)
        self._thread.start()
        return self

    def run(self) -> WarmUp:
        """The same steps in the calling thread (the CLI and tests)."""
        self._started = self._step_started = time.perf_counter()
        self._run()
        return self

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def kernels_ready(self) -> tuple[int, int]:
        """(compiled or loaded from the cache, all) kernels of the analysis."""
        kernels = self._kernels
        return sum(1 for k in kernels if k.signatures), len(kernels)

    def status(self) -> str:
        """One line for a splash screen: the step, its progress and how long it has taken."""
        elapsed = time.perf_counter() - self._step_started
        text = f"{self.step_index}/{self.steps} {self.step}"
        if self.step.startswith("preparing the analysis"):
            ready, total = self.kernels_ready()
            text += f": {ready}/{total} kernels ready"
            if elapsed > 3:
                text += " (the first run compiles them, about a minute; they are cached after)"
        if elapsed > 3:
            text += f" · {elapsed:.0f} s"
        return text

    def _begin(self, step: str) -> None:
        self.step_index += 1
        self.step = step
        self._step_started = time.perf_counter()

    def _run(self) -> None:
        try:
            self._begin("loading the face models")
            from frl_core.engine.analysis import AnalysisEngine, EngineConfig

            try:
                self._kernels = compiled_kernels()
                engine = AnalysisEngine(EngineConfig(fps=30.0, recognize=False))
                self._begin("preparing the analysis")
                for i, frame in enumerate(warm_up_frames()):
                    engine.process(i / 30.0, frame)
                engine.flush()
            except Exception as err:  # a missing landmark model: reported again when a source opens
                self.problems.append(str(err))
            self._begin("loading the expression model")
            if self.load_recognizer is not None:
                try:
                    self.recognizer, self.model_info = self.load_recognizer(self.weights, self.device)
                    blank = np.full((64, 64), 128, np.uint8)
                    self.recognizer.recognize([(blank, blank)])
                except Exception as err:  # reported again, in the window, when the analysis thread loads it
                    self.recognizer = self.model_info = None
                    self.problems.append(str(err))
        finally:
            self._done.set()
