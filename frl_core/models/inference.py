"""Recognising onset/apex pairs for the engine: batched, on CPU or CUDA (mixed precision there).

The live path per pair: the apex face is registered onto the onset face (head motion out,
``frl_core.motion.registration``), both are resized to the model's input, the DGM measures the displacement,
the network classifies it (with ``motion_encoding = "flow_image"`` through the flow image the trunk was
trained on), probabilities are averaged with the mirrored flow image's and divided by the calibrated
temperature, and a top probability below the calibrated threshold makes the label ``uncertain``.
Temperature, threshold and mirror averaging travel in the checkpoint (``metadata["inference"]``).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from frl_core.models.checkpoint import CheckpointError, MissingCheckpointError, load_checkpoint
from frl_core.models.frl_dgt import FRLDGT, mirror_flow_image, render_flow_image
from frl_core.paths import ASSETS_DIR
from frl_core.motion.registration import register

UNCERTAIN = "uncertain"
"""The label of an event whose calibrated top probability is below the checkpoint's threshold."""
REGISTRATION_SIZE = 224
"""Faces of other sizes (or of two sizes) are resized to this square before registration."""


class DeviceError(RuntimeError):
    """The device asked for cannot be used here, with a message for the user."""


def default_checkpoint_path() -> Path:
    """The shipped live-path weights (``python main.py assemble-live``; see the model card)."""
    return ASSETS_DIR / "weights" / "frl_dgt_live.pt"


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
    """A class name, or ``UNCERTAIN`` when the top probability is below the calibrated threshold."""
    probabilities: dict[str, float]
    """Calibrated class probabilities (shown also when the label is uncertain)."""
    displacement: np.ndarray
    """(2, S, S) float32 dx, dy in pixels of the faces as given (S = their side): the onset->apex motion
    after registration."""
    registered_apex: np.ndarray | None = None
    """The apex face registered onto the onset face (uint8, S x S): what the displacement was measured on."""
    head_motion: dict[str, float] | None = None
    """The global motion registration removed (``GlobalMotion.as_dict``)."""
    flow_image: np.ndarray | None = None
    """The composite-style flow image the trunk read (uint8 28 x 28 x 3: strain, v, u), when it reads one."""

    @property
    def top_class(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)


@dataclass(frozen=True)
class InferenceSettings:
    """How a checkpoint's outputs are turned into a label; stored in ``metadata["inference"]``."""

    temperature: float = 1.0
    """Logits are divided by this before the softmax (fitted on training folds' held-out predictions)."""
    uncertain_below: float = 0.0
    """A calibrated top probability below this gives the label ``uncertain`` (0 = never)."""
    tta_hflip: bool = False
    """Average the probabilities with those of the mirrored flow image (the recipe's test-time mirror)."""
    register: bool = True
    """Register the apex face onto the onset face before the DGM."""
    member_temperatures: tuple[float, ...] = ()
    """With an ensemble of trunks (``config.ensemble_size`` > 1): each member's own temperature, fitted on
    its own training folds; their calibrated probabilities are averaged. Empty: ``temperature`` for all."""

    @classmethod
    def from_metadata(cls, metadata: dict) -> "InferenceSettings":
        raw = dict((metadata or {}).get("inference") or {})
        try:
            out = cls(temperature=float(raw.get("temperature", 1.0)),
                      uncertain_below=float(raw.get("uncertain_below", 0.0)),
                      tta_hflip=bool(raw.get("tta_hflip", False)), register=bool(raw.get("register", True)),
                      member_temperatures=tuple(float(t) for t in raw.get("member_temperatures") or ()))
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"the checkpoint's inference settings cannot be read: {err}") from err
        for t in (out.temperature, *out.member_temperatures):
            if not (np.isfinite(t) and 0.01 <= t <= 100.0):
                raise CheckpointError(f"the checkpoint's temperature {t} is outside 0.01..100")
        if not (0.0 <= out.uncertain_below <= 1.0):
            raise CheckpointError(f"the checkpoint's uncertainty threshold {out.uncertain_below} is outside 0..1")
        return out

    def as_dict(self) -> dict:
        out = {"temperature": self.temperature, "uncertain_below": self.uncertain_below,
               "tta_hflip": self.tta_hflip, "register": self.register}
        if self.member_temperatures:
            out["member_temperatures"] = list(self.member_temperatures)
        return out


class Recognizer:
    """A pair-mode FRL-DGT model with its preprocessing, ready for the engine."""

    def __init__(self, model: FRLDGT, device: str | torch.device = "auto", max_batch: int = 64,
                 settings: InferenceSettings | None = None) -> None:
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
        self.settings = settings or InferenceSettings()
        members = int(model.config.ensemble_size)
        self.reads_flow_image = model.config.motion_encoding == "flow_image"
        self.label_size: int = int(model.config.dgm_label_size) or self.input_size
        if self.settings.member_temperatures and len(self.settings.member_temperatures) != members:
            raise CheckpointError(f"the checkpoint holds {members} trunks but "
                                  f"{len(self.settings.member_temperatures)} member temperatures")

    @classmethod
    def from_model(cls, model: FRLDGT, device: str | torch.device = "auto",
                   settings: InferenceSettings | None = None) -> "Recognizer":
        return cls(model, device, settings=settings)

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None, device: str | torch.device = "auto") -> "Recognizer":
        """Load ``path``, or the shipped default weights when ``path`` is None."""
        if path is None:
            path = default_checkpoint_path()
            if not path.is_file():
                raise MissingCheckpointError(
                    f"the default weights {path} are not there yet: build them with `python main.py "
                    "assemble-live` (see assets/weights/MODEL_CARD.md) or pass a checkpoint",
                    str(path),
                )
        target = resolve_device(device)
        model, metadata = load_checkpoint(path, device="cpu")
        recognizer = cls(model, target, settings=InferenceSettings.from_metadata(metadata))
        recognizer.check_finite(path)
        return recognizer

    def calibrated(self, logits: torch.Tensor, mirrored: torch.Tensor | None) -> torch.Tensor:
        """(M, B, C) member logits (and those of the mirrored flow image) -> (B, C) probabilities: each
        member's softmax at its own temperature, averaged with its mirrored view's, then over members."""
        temps = self.settings.member_temperatures or (self.settings.temperature,) * logits.shape[0]
        t = torch.tensor(temps, dtype=logits.dtype, device=logits.device)[:, None, None]
        probs = torch.softmax(logits / t, dim=2)
        if mirrored is not None:
            probs = (probs + torch.softmax(mirrored / t, dim=2)) / 2
        return probs.mean(dim=0)

    def check_finite(self, path: str | Path = "the model") -> None:
        """Refuse a model whose outputs on a plain textured pair are not finite (e.g. weights set to NaN)."""
        rng = np.random.default_rng(0)
        onset = cv2.GaussianBlur(rng.integers(0, 256, (112, 112), dtype=np.uint8), (0, 0), 2.0)
        apex = np.roll(onset, 1, axis=1)
        rec = self.recognize([(onset, apex)])[0]
        if not (all(np.isfinite(v) for v in rec.probabilities.values()) and np.isfinite(rec.displacement).all()):
            raise CheckpointError(f"{path} was refused: its model gives non-finite outputs (damaged weights)")

    def preprocess(self, face: np.ndarray, size: int | None = None) -> np.ndarray:
        """An aligned face (uint8 grayscale, or BGR) of any size -> float32 square of ``size`` (default
        ``input_size``) in [0, 1]."""
        face = np.asarray(face)
        if face.ndim == 3 and face.shape[2] == 3:
            face = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
        if face.ndim != 2 or face.size == 0:
            raise ValueError(f"expected a grayscale face image (H, W), got shape {face.shape}")
        if face.dtype != np.uint8:
            raise ValueError(f"expected a uint8 face image, got {face.dtype}")
        s = int(size or self.input_size)
        if face.shape != (s, s):
            shrink = face.shape[0] > s or face.shape[1] > s
            face = cv2.resize(face, (s, s), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        return face.astype(np.float32) / 255.0

    def _registered(self, onset: np.ndarray, apex: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict | None]:
        """(onset, registered apex, original apex) as uint8 grayscale squares of one size, and the head motion."""
        faces = []
        for face in (onset, apex):
            face = np.asarray(face)
            if face.ndim == 3 and face.shape[2] == 3:
                face = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
            if face.ndim != 2 or face.size == 0 or face.dtype != np.uint8:
                raise ValueError(f"expected uint8 grayscale or BGR faces, got shape {face.shape} and {face.dtype}")
            faces.append(face)
        onset, apex = faces
        if onset.shape != apex.shape or onset.shape[0] != onset.shape[1]:
            s = REGISTRATION_SIZE
            onset, apex = (cv2.resize(f, (s, s), interpolation=cv2.INTER_AREA if max(f.shape) > s else cv2.INTER_LINEAR)
                           for f in (onset, apex))
        if not self.settings.register or onset.shape[0] < 32:
            return onset, apex, apex, None
        registered, motion = register(onset, apex)
        return onset, registered, apex, motion.as_dict()

    @torch.inference_mode()
    def recognize(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[Recognition]:
        """One ``Recognition`` per (onset_face, apex_face) pair, computed in batches."""
        results: list[Recognition] = []
        settings = self.settings
        for start in range(0, len(pairs), self.max_batch):
            chunk = [self._registered(o, a) for o, a in pairs[start:start + self.max_batch]]
            onset = np.stack([self.preprocess(o) for o, _, _, _ in chunk])[:, None]
            apex = np.stack([self.preprocess(r) for _, r, _, _ in chunk])[:, None]
            onset_t = torch.from_numpy(onset).to(self.device)
            apex_t = torch.from_numpy(apex).to(self.device)
            amp = torch.autocast("cuda", dtype=torch.float16) if self.use_amp else nullcontext()
            with amp:
                if self.reads_flow_image:
                    # the DGM once, then every trunk on the flow image and (batched with it) its mirror
                    displacement, _ = self.model.dgm(onset_t, apex_t)
                    read = displacement
                    if self.label_size != self.input_size:
                        # the trunks read the motion at the size their banks were rendered at
                        small = [torch.from_numpy(np.stack([self.preprocess(f[k], self.label_size) for f in chunk])[:, None])
                                 .to(self.device) for k in (0, 1)]
                        read, _ = self.model.dgm(*small)
                    flow = render_flow_image(read, self.model.config.flow_input_size)
                    out = {"displacement": displacement}
                    views = torch.cat((flow, mirror_flow_image(flow))) if settings.tta_hflip else flow
                    both = self.model.ensemble_flow_logits(views).float()
                    logits, mirrored = (both[:, :len(flow)], both[:, len(flow):]) if settings.tta_hflip else (both, None)
                else:
                    out = self.model.forward_features(onset_t, apex_t)
                    flow, logits, mirrored = None, self.model.forward_head(out["features"]).float()[None], None
            probs_np = self.calibrated(logits, mirrored).cpu().numpy()
            disp = out["displacement"].float().cpu().numpy()
            flow_np = None if flow is None else np.round(flow.float().cpu().numpy() * 255).astype(np.uint8)
            for k, (p, d) in enumerate(zip(probs_np, disp)):
                onset_face, registered, _, motion = chunk[k]
                side = onset_face.shape[0]
                if d.shape[-1] != side:
                    d = np.stack([cv2.resize(c, (side, side), interpolation=cv2.INTER_LINEAR) for c in d])
                    d *= side / self.input_size
                top = int(p.argmax())
                label = self.class_names[top] if p[top] >= settings.uncertain_below else UNCERTAIN
                results.append(Recognition(
                    label=label,
                    probabilities={c: float(v) for c, v in zip(self.class_names, p)},
                    displacement=np.ascontiguousarray(d, dtype=np.float32),
                    registered_apex=registered,
                    head_motion=motion,
                    flow_image=None if flow_np is None else np.ascontiguousarray(flow_np[k].transpose(1, 2, 0)),
                ))
        return results
