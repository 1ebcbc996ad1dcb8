"""The inputs of a protocol held in memory, and the batches the LOSO loop feeds to a model.

Two sources: the MEGC2019 composite (flow images, apex faces; pair mode uses semi-synthetic pseudo-onsets,
see frl_core.data.pairs) and the raw datasets (real onset and apex frames read from their folders; flow mode
computes a MEGC2019-style flow image from them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from frl_core.data.common import DatasetError
from frl_core.data.raw import megc_style_flow, read_frame
from frl_core.data.pairs import MEASURED_PEAK_PX, SEMI_SYNTHETIC_LABEL, make_pair, random_peak
from frl_core.models.frl_dgt import mirror_flow_image

if TYPE_CHECKING:
    from frl_core.training.au_augment import AugmentBank

PROTOCOLS: dict[str, str] = {
    "megc2019-loso": "MEGC2019 composite (SMIC + CASME II + SAMM), 3 classes, 68 LOSO folds",
    "casme2-5class-loso": "CASME II raw frames, 5 classes, 26 LOSO folds (needs the licensed dataset)",
    "samm-5class-loso": "SAMM raw frames, 5 classes, 28 LOSO folds (needs the licensed dataset)",
}


@dataclass
class SampleSet:
    """Every clip of a protocol: labels, subjects, source dataset, and the arrays the models read."""

    class_names: tuple[str, ...]
    labels: np.ndarray
    subjects: list[str]
    datasets: list[str]
    keys: list[str]
    flows: np.ndarray  # uint8 (N, 28, 28, 3), OpenCV channel order
    apexes: np.ndarray | None = None  # uint8 (N, S, S) grayscale faces
    onsets: np.ndarray | None = None  # uint8 (N, S, S); None -> semi-synthetic pseudo-onsets
    data_label: str = "real"
    augment: "AugmentBank | None" = None
    """Synthetic AU flow images (``au_augment``): indices from ``len(self)`` on, training only."""
    action_units: np.ndarray | None = None
    """Coded AUs of the real clips (``model.au_loss_weight``): float32 (N, K) multi-hot over the vocabulary."""
    au_known: np.ndarray | None = None
    """bool (N,): whether a clip's AUs are known (False for SMIC, uncoded clips and every synthetic item)."""
    _eval_pairs: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    _flow_tensor: torch.Tensor | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def all_labels(self) -> np.ndarray:
        """Labels of the real clips, then of the synthetic bank's items."""
        if self.augment is None:
            return self.labels
        return np.concatenate([self.labels, self.augment.labels])

    def augment_indices(self, train_indices: np.ndarray) -> np.ndarray:
        """Indices of the synthetic items whose face belongs to one of these clips' subjects."""
        if self.augment is None:
            return np.zeros(0, np.int64)
        allowed = set(np.asarray(self.subjects)[np.asarray(train_indices, dtype=np.int64)].tolist())
        keep = [i for i, s in enumerate(self.augment.subjects) if s in allowed]
        return len(self) + np.asarray(keep, dtype=np.int64)

    def clip_twins(self) -> np.ndarray:
        """For each real clip, the index of its own motion rendered through the DGM (the clip bank,
        ``au_augment_clips``), or -1 where the bank holds none."""
        twins = np.full(len(self), -1, dtype=np.int64)
        if self.augment is None:
            return twins
        position = {key: i for i, key in enumerate(self.keys)}
        for j, name in enumerate(self.augment.expressions):
            if name.startswith("clip:") and name[5:] in position:
                twins[position[name[5:]]] = len(self) + j
        return twins

    def au_batch(self, indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """AU targets (B, K) and known mask (B,) of these indices; synthetic items count as unknown."""
        if self.action_units is None or self.au_known is None:
            raise DatasetError("these samples carry no AU targets (attach_action_units)")
        idx = np.asarray(indices, dtype=np.int64)
        real = idx < len(self)
        targets = np.zeros((len(idx), self.action_units.shape[1]), np.float32)
        known = np.zeros(len(idx), bool)
        targets[real] = self.action_units[idx[real]]
        known[real] = self.au_known[idx[real]]
        return torch.from_numpy(targets), torch.from_numpy(known)

    def flow_tensor(self) -> torch.Tensor:
        """All flow images (real, then synthetic) as the contract's float32 (N, 3, 28, 28) in [0, 1]."""
        if self._flow_tensor is None:
            flows = self.flows if self.augment is None else np.concatenate([self.flows, self.augment.flows])
            self._flow_tensor = torch.from_numpy(
                np.ascontiguousarray(flows.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
            )
        return self._flow_tensor

    @property
    def semi_synthetic(self) -> bool:
        return self.onsets is None

    def subject_order(self) -> list[str]:
        return list(dict.fromkeys(self.subjects))


def load_samples(protocol: dict, input_mode: str, img_size: int) -> SampleSet:
    """Load a protocol's clips. protocol: the config's [protocol] table (name, data_root, frames_root)."""
    from frl_core.paths import default_data_root

    name = protocol.get("name", "")
    if name not in PROTOCOLS:
        raise DatasetError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}")
    data_root = Path(protocol.get("data_root") or default_data_root())
    if name == "megc2019-loso":
        from frl_core.data.megc2019 import Megc2019

        ds = Megc2019(data_root)
        apexes = None
        if input_mode == "pair":
            apexes = ds.apexes
            if apexes.shape[1] != img_size:
                apexes = np.stack([cv2.resize(a, (img_size, img_size), interpolation=cv2.INTER_AREA) for a in apexes])
        return SampleSet(
            class_names=ds.class_names,
            labels=ds.labels,
            subjects=ds.subjects,
            datasets=[c.dataset for c in ds.clips],
            keys=[c.key for c in ds.clips],
            flows=ds.flows,
            apexes=apexes,
            onsets=None,
            data_label=SEMI_SYNTHETIC_LABEL if input_mode == "pair" else "real (published MEGC2019 flow images)",
        )
    frames_root = protocol.get("frames_root") or ""
    if not frames_root:
        raise DatasetError(f"protocol {name} reads the raw dataset's frames: set protocol.frames_root")
    return load_raw_protocol(name, data_root, Path(frames_root), img_size)


def samples_for(config: dict) -> SampleSet:
    """The clips a training config reads, with its synthetic action-unit flows (``train.au_augment``) and
    the coded AUs its AU head needs (``model.au_loss_weight``) attached."""
    from frl_core.training.au_augment import attach

    samples = load_samples(config["protocol"], config["model"].get("input_mode", "flow"),
                           int(config["model"].get("img_size", 224)))
    attach(samples, config)
    attach_action_units(samples, config)
    return samples


def attach_action_units(samples: SampleSet, config: dict) -> None:
    """Give ``samples`` the coded AUs of its clips when the config trains the AU head
    (``model.au_loss_weight`` > 0), read from the coding tables under the data root's ``annotations/``."""
    from frl_core.data.action_units import COMPOSITE_AU_VOCABULARY, au_targets, composite_action_units
    from frl_core.paths import default_data_root

    if not float(config["model"].get("au_loss_weight", 0.0) or 0.0) > 0:
        return
    k = int(config["model"].get("num_action_units", len(COMPOSITE_AU_VOCABULARY)))
    if k != len(COMPOSITE_AU_VOCABULARY):
        raise DatasetError(f"model.num_action_units is {k} but the AU vocabulary has {len(COMPOSITE_AU_VOCABULARY)} AUs")
    data_root = Path(config["protocol"].get("data_root") or default_data_root())
    coded = composite_action_units(data_root / "annotations")
    samples.action_units, samples.au_known = au_targets(samples.keys, coded)
    if not samples.au_known.any():
        raise DatasetError(f"model.au_loss_weight > 0 but no clip has coded AUs (tables in {data_root / 'annotations'})")


def load_raw_protocol(name: str, data_root: Path, frames_root: Path, img_size: int):
    """The samples of casme2-5class-loso / samm-5class-loso: real onset and apex frames of each usable clip."""
    if name == "casme2-5class-loso":
        from frl_core.data.casme2 import CASME2_5CLASS, read_casme2

        clips = read_casme2(data_root / "annotations" / "casme2_coding_20140508.xlsx", frames_root)
        class_names = CASME2_5CLASS
    elif name == "samm-5class-loso":
        from frl_core.data.samm import SAMM_5CLASS, read_samm

        clips = read_samm(data_root / "annotations" / "samm_micro_facs_codes_v2.xlsx", frames_root)
        class_names = SAMM_5CLASS
    else:
        raise DatasetError(f"protocol {name} does not read a raw dataset")
    clips = [c for c in clips if c.label5 is not None and c.frame_dir is not None]
    if not clips:
        raise DatasetError(f"{name}: no usable clip under {frames_root} (check protocol.frames_root)")
    onsets, apexes, flows = [], [], []
    for c in clips:
        onset, apex = read_frame(c, c.onset), read_frame(c, c.apex)
        flows.append(megc_style_flow(onset, apex))
        onsets.append(cv2.resize(onset, (img_size, img_size), interpolation=cv2.INTER_AREA))
        apexes.append(cv2.resize(apex, (img_size, img_size), interpolation=cv2.INTER_AREA))
    return SampleSet(
        class_names=tuple(class_names),
        labels=np.array([c.label5 for c in clips], dtype=np.int64),
        subjects=[c.subject for c in clips],
        datasets=[c.dataset for c in clips],
        keys=[c.key for c in clips],
        flows=np.stack(flows),
        apexes=np.stack(apexes),
        onsets=np.stack(onsets),
        data_label=f"real onset/apex frames of {clips[0].dataset} (flow: TV-L1, the MEGC2019 composite's recipe)",
    )


def make_batch(
    samples: SampleSet,
    indices: np.ndarray,
    input_mode: str,
    img_size: int,
    train: bool,
    rng: np.random.Generator | None,
    hflip: bool = False,
) -> dict[str, torch.Tensor]:
    """The batch dict of the model contract: label + flow, or label + onset/apex (+ teacher_flow)."""
    batch: dict[str, torch.Tensor] = {"label": torch.from_numpy(samples.all_labels[indices].astype(np.int64))}
    flip = None
    if train and hflip and rng is not None:
        flip = torch.from_numpy(rng.random(len(indices)) < 0.5)
    if samples.action_units is not None:
        batch["action_units"], batch["au_known"] = samples.au_batch(indices)
    if input_mode == "flow":
        flow = samples.flow_tensor()[torch.from_numpy(np.asarray(indices, dtype=np.int64))]
        if flip is not None and flip.any():
            flow[flip] = mirror_flow_image(flow[flip])
        batch["flow"] = flow
        return batch
    if samples.apexes is None:
        raise DatasetError("pair mode needs apex faces; the samples were loaded for flow mode")
    onsets, apexes, teachers = [], [], []
    for i in indices:
        i = int(i)
        if samples.onsets is not None:
            onsets.append(samples.onsets[i])
            apexes.append(samples.apexes[i])
            continue
        if train and rng is not None:
            onset, apex, disp = make_pair(samples.apexes[i], samples.flows[i], img_size, random_peak(rng))
        else:
            if i not in samples._eval_pairs:
                samples._eval_pairs[i] = make_pair(samples.apexes[i], samples.flows[i], img_size, MEASURED_PEAK_PX)
            onset, apex, disp = samples._eval_pairs[i]
        onsets.append(onset)
        apexes.append(apex)
        teachers.append(disp)
    batch["onset"] = torch.from_numpy(np.stack(onsets).astype(np.float32)[:, None] / 255.0)
    batch["apex"] = torch.from_numpy(np.stack(apexes).astype(np.float32)[:, None] / 255.0)
    if teachers:
        batch["teacher_flow"] = torch.from_numpy(np.stack(teachers))
    if flip is not None and flip.any():
        for key in ("onset", "apex"):
            batch[key][flip] = torch.flip(batch[key][flip], dims=[3])
        if "teacher_flow" in batch:
            t = torch.flip(batch["teacher_flow"][flip], dims=[3])
            t[:, 0] = -t[:, 0]
            batch["teacher_flow"][flip] = t
    return batch


def mirror_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same batch seen in a mirror: flow images flipped with u negated, faces flipped."""
    out = dict(batch)
    if "flow" in batch:
        out["flow"] = mirror_flow_image(batch["flow"])
    for key in ("onset", "apex"):
        if key in batch:
            out[key] = torch.flip(batch[key], dims=[3])
    return out


def model_inputs(batch: dict[str, torch.Tensor], input_mode: str, device: torch.device) -> tuple:
    """Positional inputs of model(...) for a batch: (flow,) or (onset, apex)."""
    if input_mode == "flow":
        return (batch["flow"].to(device),)
    return (batch["onset"].to(device), batch["apex"].to(device))
