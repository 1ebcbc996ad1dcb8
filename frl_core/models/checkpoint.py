"""FRL-DGT checkpoints: weights plus everything needed to use them, loaded with ``weights_only=True``.

A checkpoint is a plain dict of tensors and plain values (never pickled objects), so loading one
cannot run code. It carries the format version, the model config (class names and input mode
included), the preprocessing the inputs need, caller metadata, and a SHA-256 digest of the weights and of
everything else that shapes a prediction (config, class names, input mode, inference settings), so that
a tampered or truncated file is refused instead of silently giving other predictions. Files of format
version 1 (digest over the weights only) are still read; their config is validated like any other.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from frl_core.models.frl_dgt import FRLDGT, FRLDGTConfig, ModelConfigError

FORMAT = "frl_dgt_checkpoint"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


class CheckpointError(Exception):
    """A checkpoint file that cannot be used, with a message for the user."""


class MissingCheckpointError(CheckpointError, FileNotFoundError):
    """The checkpoint file does not exist."""

    def __init__(self, message: str, filename: str) -> None:
        super().__init__(message)
        self.filename = filename

    def __str__(self) -> str:
        return self.args[0]


def preprocessing_for(config: FRLDGTConfig) -> dict[str, Any]:
    """What the inputs must look like; stored so that a consumer never has to guess."""
    if config.input_mode == "pair":
        out = {"input": "onset and apex faces", "color": "grayscale", "alignment": "frl_core.faces.align_face",
               "size": [config.img_size, config.img_size], "scale": "uint8 / 255 -> [0, 1]",
               "resize": "cv2.INTER_AREA"}
        if config.motion_encoding == "flow_image":
            out.update({"alignment": "onset and apex aligned together at 224 px by frl_core.faces.align_pair (one "
                                     "similarity from their mean landmarks, each face resampled once from its frame; "
                                     "each by frl_core.faces.align_face when the head moved more than 8 px), then "
                                     "the apex registered onto the onset (frl_core.motion.registration)",
                        "motion": "the DGM's displacement rendered as a MEGC2019-style flow image "
                                  "(frl_core.motion.flow_image: u, v, optical strain at 28 x 28, per-channel min-max)"})
        return out
    return {"input": "MEGC2019 optical-flow image", "channel_order": "as cv2.imread returns it (BGR)",
            "size": [config.flow_input_size, config.flow_input_size], "scale": "uint8 / 255 -> [0, 1]"}


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the weights' names, shapes, dtypes and bytes, in sorted key order."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def behaviour_digest(payload: dict[str, Any]) -> str:
    """SHA-256 over the weights and every stored value that changes what the model predicts."""
    shaping = {"config": payload.get("config"), "class_names": payload.get("class_names"),
               "input_mode": payload.get("input_mode"),
               "inference": (payload.get("metadata") or {}).get("inference")}
    h = hashlib.sha256(state_digest(payload["state_dict"]).encode())
    h.update(json.dumps(shaping, sort_keys=True, default=str).encode())
    return h.hexdigest()


def save_checkpoint(model: FRLDGT, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (any device) with its config and ``metadata`` (plain values only) to ``path``."""
    if not isinstance(model, FRLDGT):
        raise CheckpointError(f"save_checkpoint takes an FRL-DGT model, got {type(model).__name__}")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "variant": getattr(model, "variant", "custom"),
        "config": model.config.to_dict(),
        "class_names": list(model.config.class_names),
        "input_mode": model.config.input_mode,
        "preprocessing": preprocessing_for(model.config),
        "metadata": dict(metadata or {}),
        "state_dict": state,
    }
    payload["sha256"] = behaviour_digest(payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(payload, tmp)
    except Exception as err:  # a metadata value torch cannot store safely
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"cannot save checkpoint {path}: {err}") from err
    tmp.replace(path)
    return path


def read_payload(path: str | Path) -> dict[str, Any]:
    """The checkpoint's dict, checked for format and integrity (no model is built)."""
    path = Path(path)
    if not path.is_file():
        raise MissingCheckpointError(f"checkpoint not found: {path}", str(path))
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            raise CheckpointError(f"{path} was refused: it contains Python objects (code that would run on "
                                  "loading), which this program never loads") from err
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"{path} is not a readable checkpoint ({first[:200]})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an FRL-DGT checkpoint (no '{FORMAT}' header)")
    if payload.get("format_version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path} has checkpoint format version {payload.get('format_version')}, this program reads "
            f"version {FORMAT_VERSION}"
        )
    for key in ("config", "state_dict", "sha256", "class_names", "input_mode"):
        if key not in payload:
            raise CheckpointError(f"{path} is incomplete: it has no '{key}'")
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is damaged: its weights are not a dict of tensors")
    expected = state_digest(state) if payload["format_version"] == 1 else behaviour_digest(payload)
    if expected != payload["sha256"]:
        raise CheckpointError(f"{path} has been modified or damaged: its contents do not match their checksum")
    return payload


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[FRLDGT, dict[str, Any]]:
    """The model (eval mode, on ``device``) and the checkpoint's metadata.

    The metadata returned also holds ``variant``, ``class_names``, ``input_mode`` and
    ``preprocessing`` as stored in the file.
    """
    payload = read_payload(path)
    try:
        config = FRLDGTConfig.from_dict(dict(payload["config"]))
    except (ModelConfigError, TypeError) as err:
        raise CheckpointError(f"{path} holds a model config this program cannot build: {err}") from err
    if list(config.class_names) != list(payload["class_names"]) or config.input_mode != payload["input_mode"]:
        raise CheckpointError(f"{path} is inconsistent: its class names or input mode disagree with its config")
    model = FRLDGT(config)
    model.variant = str(payload.get("variant", "custom"))
    try:
        result = model.load_state_dict(payload["state_dict"], strict=False)
    except RuntimeError as err:
        first = (str(err).strip().splitlines() or [""])[-1].strip()
        raise CheckpointError(f"{path} does not match the model its config describes ({first[:200]})") from err
    if result.missing_keys or result.unexpected_keys:
        detail = ", ".join((result.missing_keys + result.unexpected_keys)[:4])
        raise CheckpointError(f"{path} does not match the model its config describes (differing weights: {detail})")
    model.to(device).eval()
    metadata = dict(payload.get("metadata") or {})
    for key in ("variant", "class_names", "input_mode", "preprocessing"):
        metadata.setdefault(key, payload.get(key))
    return model, metadata
