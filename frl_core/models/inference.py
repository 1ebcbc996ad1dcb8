"""Recognising onset/apex pairs for the engine: batched, on CPU or CUDA (mixed precision there)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from frl_core.models.checkpoint import CheckpointError, MissingCheckpointError, load_checkpoint
from frl_core.models.frl_dgt import FRLDGT
from frl_core.paths import ASSETS_DIR


class DeviceError(RuntimeError):
    """The device asked for cannot be used here, with a message for the user."""


def default_checkpoint_path() -> Path:
    """The shipped pair-mode weights (produced by ``python main.py train --all-data``)."""
    return ASSETS_DIR / "weights" / "frl_dgt_pair.pt"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" -> CUDA when torch sees a GPU, else CPU; "cuda" without a GPU is a DeviceError."""
    name = str(device)
    if name in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} was asked for but torch sees no CUDA GPU on this machine")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"unknown device {name!r}: use auto, cpu or cuda")


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "CPU"


@dataclass
class Recognition:
    """The network's verdict on one onset/apex pair."""

    label: str
    probabilities: dict[str, float]
    displacement: np.ndarray
    """(2, H, W) float32 dx, dy in pixels of the ``input_size`` crop: the onset->apex motion."""


class Recognizer:
    """A pair-mode FRL-DGT model with its preprocessing, ready for the engine."""

    def __init__(self, model: FRLDGT, device: str | torch.device = "auto", max_batch: int = 64) -> None:
        if not isinstance(model, FRLDGT):
            raise CheckpointError(f"the recogniser needs an FRL-DGT model, got {type(model).__name__}")
        if model.input_mode != "pair":
            raise CheckpointError(
                "this is a flow-mode model (it reads MEGC2019 flow images); recognising onset/apex "
                "faces needs a pair-mode checkpoint"
            )
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.class_names: tuple[str, ...] = tuple(model.class_names)
        self.input_size: int = int(model.config.img_size)
        self.device_name: str = device_description(self.device)
        self.max_batch = int(max_batch)
        self.use_amp = self.device.type == "cuda"

    @classmethod
    def from_model(cls, model: FRLDGT, device: str | torch.device = "auto") -> "Recognizer":
        return cls(model, device)

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None, device: str | torch.device = "auto") -> "Recognizer":
        """Load ``path``, or the shipped default weights when ``path`` is None."""
        if path is None:
            path = default_checkpoint_path()
            if not path.is_file():
                raise MissingCheckpointError(
                    f"the default weights {path} are not there yet: train them with "
                    "`python main.py train --config configs/megc2019_pair.toml --all-data` or pass a checkpoint",
                    str(path),
                )
        target = resolve_device(device)
        model, _ = load_checkpoint(path, device="cpu")
        return cls(model, target)

    def preprocess(self, face: np.ndarray) -> np.ndarray:
        """An aligned face (uint8 grayscale, or BGR) of any size -> float32 ``input_size`` square in [0, 1]."""
        face = np.asarray(face)
        if face.ndim == 3 and face.shape[2] == 3:
            face = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
        if face.ndim != 2 or face.size == 0:
            raise ValueError(f"expected a grayscale face image (H, W), got shape {face.shape}")
        if face.dtype != np.uint8:
            raise ValueError(f"expected a uint8 face image, got {face.dtype}")
        s = self.input_size
        if face.shape != (s, s):
            shrink = face.shape[0] > s or face.shape[1] > s
            face = cv2.resize(face, (s, s), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        return face.astype(np.float32) / 255.0

    @torch.inference_mode()
    def recognize(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[Recognition]:
        """One ``Recognition`` per (onset_face, apex_face) pair, computed in batches."""
        results: list[Recognition] = []
        for start in range(0, len(pairs), self.max_batch):
            chunk = pairs[start:start + self.max_batch]
            onset = np.stack([self.preprocess(o) for o, _ in chunk])[:, None]
            apex = np.stack([self.preprocess(a) for _, a in chunk])[:, None]
            onset_t = torch.from_numpy(onset).to(self.device)
            apex_t = torch.from_numpy(apex).to(self.device)
            amp = torch.autocast("cuda", dtype=torch.float16) if self.use_amp else nullcontext()
            with amp:
                out = self.model.forward_features(onset_t, apex_t)
                logits = self.model.forward_head(out["features"])
            probs = torch.softmax(logits.float(), dim=1).cpu().numpy()
            disp = out["displacement"].float().cpu().numpy()
            for p, d in zip(probs, disp):
                results.append(Recognition(
                    label=self.class_names[int(p.argmax())],
                    probabilities={c: float(v) for c, v in zip(self.class_names, p)},
                    displacement=np.ascontiguousarray(d, dtype=np.float32),
                ))
        return results
