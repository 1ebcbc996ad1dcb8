"""Flow images of action-unit movements whose class is known, to teach the trunk what canonical AUs mean.

The composite's 442 real flow images teach the trunk what lab micro-expressions look like after their
dataset's own preprocessing; they show it a textbook lip-corner puller only as often as the recordings
happened to. This bank adds, on the training subjects' own faces, movements built from the facial
action units the MEGC2019 classes are coded from (``synth.LABELLED_EXPRESSIONS``: AU12 -> positive;
AU1+2 (+AU5/26) -> surprise; AU4, AU9, AU14, AU15, AU17 -> negative), passed through exactly the live
path: a pair degraded like camera frames, the DGM's displacement, the composite-style flow image.

Each item carries its face's subject, so a LOSO fold trains only on the items of its training subjects
(``train.au_augment``: how many per real clip each epoch draws). Figures of a trunk trained with it are
labelled so; the labelled benchmark's faces (the astronaut, the DGM's held-out subjects) are never in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from frl_core.faces.action_units import CLASS_EXPRESSIONS as LABELLED_EXPRESSIONS
from frl_core.faces.action_units import (EXPRESSIONS, HELD_OUT_EXPRESSIONS, MOVEMENT_SETS, VARIED_EXPRESSIONS,
                                         MovementShape)
from frl_core.paths import REPO_ROOT


@dataclass
class AugmentBank:
    """Synthetic flow images (uint8, N x 28 x 28 x 3, strain / v / u), their class index and subject."""

    flows: np.ndarray
    labels: np.ndarray
    subjects: list[str]
    expressions: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def _dgm_of(dgm_path: str | Path, size: int | None) -> tuple[Any, int]:
    """The DGM a checkpoint carries and the face size to run it at: ``size`` when given (> 0), else the
    size the file runs its DGM at. A DGM checkpoint (``train-dgm``) or a live file both do: the shipped
    file runs its DGM at 224 px but trained its trunks on banks rendered at 112
    (``dgm_face_size.trained_at``), which ``size`` = 112 reproduces."""
    from frl_core.models.checkpoint import load_checkpoint

    model, _ = load_checkpoint(dgm_path)
    if model.dgm is None:
        raise ValueError(f"{dgm_path} has no DGM")
    model.dgm.mirror = False  # the recipes' banks were rendered by one view of the DGM; a file's setting keeps them
    return model, int(size) if size else int(model.config.img_size)


BANK_TURN_DEG = 10.0
"""How far a varied bank turns a movement's directions (``MovementShape.draw``); the benchmark turns twice as far."""

PARTED_LIPS_GAIN = (0.4, 3.0)
"""How strongly parted lips (AU25) join a bank movement, relative to the movement's own peak."""

LIPS_STAY_CLOSED = frozenset({"AU17", "AU24"})
"""Action units that press or push the lips together: a movement with one of them never gets parted lips."""


def build_au_bank(dgm_path: str | Path, data_root: Path, class_names: tuple[str, ...], per_face: int = 2,
                  amplitude_px: tuple[float, float] = (0.5, 3.0), seed: int = 11, size: int | None = None,
                  movements: str = "textbook", parted_lips: float = 0.0, emphasis: tuple[str, ...] = (),
                  video_coded: float = 0.0) -> AugmentBank:
    """``per_face`` movements on every apex face of the composite except the DGM's held-out subjects,
    amplitudes uniform in ``amplitude_px`` (pixels of the 224-pixel aligned face), through the DGM at
    ``size`` px (None: the checkpoint's own).

    ``movements`` "textbook": each class's ``CLASS_EXPRESSIONS`` at the textbook width (0.22 of the
    inter-ocular distance), one side at 0.7-1 of the other, as every bank until 2026-12-06. "varied": also
    ``VARIED_EXPRESSIONS`` (AU6+12, AU1+2+26, AU4+7, AU10), every movement shaped by ``MovementShape.draw``
    (width 0.15-0.32, each side 0.5-1, directions turned up to ``BANK_TURN_DEG``): a smile with the cheeks raised is
    still a smile. ``HELD_OUT_EXPRESSIONS`` are never drawn.

    ``parted_lips``: the share of movements (of any class) whose lips also part (AU25, at ``PARTED_LIPS_GAIN`` of
    the movement's peak, the same shape; named ``<expression>+AU25``). The coding tables give AU25 to negative,
    positive and surprise clips alike: the lower lip's drop says nothing of the class, and a bank without it
    taught the trunk that every drop of the lower lip is a lip-corner depressor's (a smile with the lips parted was
    read as negative). The other items are those of the bank without it, bit for bit.

    ``emphasis``: expressions drawn twice as often as the others of their class, for a movement close to
    another class's (the dimpler's horizontal pull of the mouth corners is close to a smile's).

    ``video_coded``: the share of pairs coded as a video codec codes a movement (``dgm_train.video_coded_pair``:
    the movement over a few frames on a drifting face, mp4v) instead of JPEG frame by frame; the other items are
    those of the bank without it, bit for bit. Encoded video cost the dimpler far more than the smile."""
    if not 0.0 <= video_coded <= 1.0:
        raise ValueError(f"video_coded is a share of the pairs, 0..1: got {video_coded}")
    if movements not in MOVEMENT_SETS:
        raise ValueError(f"unknown movements {movements!r}: use one of {', '.join(MOVEMENT_SETS)}")
    if not 0.0 <= parted_lips <= 1.0:
        raise ValueError(f"parted_lips is a share of the movements, 0..1: got {parted_lips}")
    held_out = {n for names in HELD_OUT_EXPRESSIONS.values() for n in names}
    unknown = [e for e in emphasis if e not in EXPRESSIONS or e in held_out]
    if unknown:
        raise ValueError(f"cannot emphasise {unknown}: not a movement a bank draws")

    def twice(options: tuple[str, ...]) -> tuple[str, ...]:
        return options + tuple(e for e in options if e in emphasis)

    import tempfile

    from frl_core.training.dgm_train import (DGMTrainConfig, global_affine_field, held_out_subjects, load_face_bank,
                                             make_pair, video_coded_pair)
    from frl_core.motion.flow_image import flow_image

    model, size = _dgm_of(dgm_path, size)
    cfg = DGMTrainConfig(img_size=size)
    bank = load_face_bank(Path(data_root))
    held = held_out_subjects(bank.subjects, cfg.held_out_every)
    rng = np.random.default_rng(seed)
    shapes = np.random.default_rng((seed, 11)) if movements == "varied" else None
    lips = np.random.default_rng((seed, 25))
    coder = np.random.default_rng((seed, 264))
    classes = [c for c in LABELLED_EXPRESSIONS if c in class_names]
    pairs, labels, subjects, names = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="frl_bank_") as work:
        for i, subject in enumerate(bank.subjects):
            if subject in held:
                continue
            for k in range(per_face):
                cls = classes[(i * per_face + k) % len(classes)]
                options = twice(LABELLED_EXPRESSIONS[cls])
                expression = options[int(rng.integers(len(options)))]
                pts = bank.landmarks[i] + rng.normal(0.0, 1.0, (68, 2))
                gains = (float(rng.uniform(0.7, 1.0)), float(rng.uniform(0.7, 1.0)))
                shape = MovementShape(side_gain=gains)
                if shapes is not None:
                    options = twice(LABELLED_EXPRESSIONS[cls] + VARIED_EXPRESSIONS[cls])
                    expression = options[int(shapes.integers(len(options)))]
                    shape = MovementShape.draw(shapes, turn_deg=BANK_TURN_DEG)
                aus = EXPRESSIONS[expression][0]
                field = shape.field(pts, aus, 224, 224)
                part, gain = lips.random() < parted_lips, float(lips.uniform(*PARTED_LIPS_GAIN))
                if part and not LIPS_STAY_CLOSED & set(aus):
                    field = field + np.float32(gain) * shape.field(pts, ("AU25",), 224, 224)
                    field /= np.float32(np.sqrt(field[0] ** 2 + field[1] ** 2).max())
                    expression += "+AU25"
                field = field * np.float32(rng.uniform(*amplitude_px))
                field += global_affine_field(rng, 224, 0.1)
                onset, apex, _ = make_pair(bank.faces[i], field, rng, cfg)
                if coder.random() < video_coded:
                    onset, apex = video_coded_pair(bank.faces[i], field, coder, cfg, Path(work))
                pairs.append((onset, apex))
                labels.append(class_names.index(cls))
                subjects.append(subject.split("/", 1)[1])
                names.append(expression)
    flows = []
    with torch.no_grad():
        for start in range(0, len(pairs), 64):
            chunk = pairs[start:start + 64]
            o = torch.from_numpy(np.stack([p[0] for p in chunk]).astype(np.float32)[:, None] / 255.0)
            a = torch.from_numpy(np.stack([p[1] for p in chunk]).astype(np.float32)[:, None] / 255.0)
            d, _ = model.dgm(o, a)
            flows += [flow_image(x) for x in d.numpy()]
    return AugmentBank(np.stack(flows), np.asarray(labels, dtype=np.int64), subjects, names)


BANK_CACHE_DIR = REPO_ROOT / "runs" / "cache"
"""Where built AU banks are kept (git-ignored), whatever folder the DGM checkpoint sits in."""


def load_or_build(dgm_path: str | Path, data_root: Path, class_names: tuple[str, ...], per_face: int,
                  cache_dir: Path | None = None, size: int | None = None, movements: str = "textbook",
                  parted_lips: float = 0.0, emphasis: tuple[str, ...] = (), video_coded: float = 0.0) -> AugmentBank:
    """The bank, cached as ``.npz`` in ``cache_dir`` (default ``runs/cache``), keyed by the checkpoint's
    digest, ``per_face``, the DGM's face size, the movements, the share with parted lips, the emphasis and the
    share coded as video."""
    from frl_core.models.checkpoint import read_payload

    digest = read_payload(dgm_path)["sha256"][:12]
    cache_dir = Path(cache_dir) if cache_dir is not None else BANK_CACHE_DIR
    kind = ("" if movements == "textbook" else f"_{movements}") + (f"_lips{parted_lips:g}" if parted_lips else "")
    kind += "".join(f"_x{e}" for e in sorted(emphasis)) + (f"_video{video_coded:g}" if video_coded else "")
    cache = cache_dir / f"au_bank_{digest}_{per_face}{f'_{int(size)}px' if size else ''}{kind}.npz"
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        return AugmentBank(data["flows"], data["labels"], [str(s) for s in data["subjects"]],
                           [str(s) for s in data["expressions"]])
    bank = build_au_bank(dgm_path, data_root, class_names, per_face, size=size, movements=movements,
                         parted_lips=parted_lips, emphasis=tuple(emphasis), video_coded=video_coded)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, flows=bank.flows, labels=bank.labels, subjects=np.asarray(bank.subjects),
                        expressions=np.asarray(bank.expressions))
    return bank


AU_BANK_LABEL = "synthetic flow images of canonical action units on the training faces, through the DGM"
AU_BANK_VARIED_LABEL = (f"{AU_BANK_LABEL}, also cheek raiser, lid tightener, upper lip raiser and jaw drop, each "
                        "movement's width, side strengths and direction varied")
CLIP_BANK_LABEL = ("each training clip's motion through the DGM (its apex face and a pseudo-onset warped from it "
                   "by the clip's flow)")
"""What a checkpoint's ``data`` says the banks added, so that a file never claims only real flow images."""


def build_clip_bank(dgm_path: str | Path, data_root: Path, class_names: tuple[str, ...], size: int | None = None
                    ) -> AugmentBank:
    """Every composite clip's own motion as the live path measures it: the real apex face and a
    pseudo-onset warped from it by the clip's real flow (``data.pairs``), the apex registered onto the
    onset, the DGM's displacement (at ``size`` px; None: the checkpoint's own), the composite-style flow
    image; the clip's class and subject.

    The trunk otherwise learns real motion only from TV-L1 flow images, and on real pairs it reads the
    DGM's; this shows it the training subjects' real micro-expression motions in the DGM's hand."""
    from frl_core.data.megc2019 import Megc2019
    from frl_core.motion.flow_image import flow_image
    from frl_core.motion.registration import register
    from frl_core.training.live_path import semi_synthetic_pair

    model, size = _dgm_of(dgm_path, size)
    ds = Megc2019(Path(data_root))
    names = list(ds.class_names)
    if [c for c in class_names] != names:
        raise ValueError(f"the composite's classes {names} are not the trunk's {list(class_names)}")

    def dgm_input(face: np.ndarray) -> np.ndarray:
        return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0

    flows = []
    with torch.no_grad():
        for start in range(0, len(ds.clips), 64):
            onsets, apexes = [], []
            for i in range(start, min(start + 64, len(ds.clips))):
                onset, apex = semi_synthetic_pair(ds.apexes[i], ds.flows[i])
                registered, _ = register(onset, apex)
                onsets.append(dgm_input(onset))
                apexes.append(dgm_input(registered))
            d, _ = model.dgm(torch.from_numpy(np.stack(onsets)[:, None]), torch.from_numpy(np.stack(apexes)[:, None]))
            flows += [flow_image(x) for x in d.numpy()]
    return AugmentBank(np.stack(flows), np.asarray(ds.labels, dtype=np.int64), list(ds.subjects),
                       [f"clip:{c.key}" for c in ds.clips])


def _joined(a: AugmentBank, b: AugmentBank) -> AugmentBank:
    return AugmentBank(np.concatenate([a.flows, b.flows]), np.concatenate([a.labels, b.labels]),
                       a.subjects + b.subjects, a.expressions + b.expressions)


def attach(samples, config: dict) -> None:
    """Give ``samples`` the synthetic AU bank a config asks for (``train.au_augment`` > 0), built with
    the DGM ``train.au_augment_dgm`` at ``train.au_augment_per_face`` movements per face."""
    from frl_core.paths import default_data_root
    from frl_core.training.config import ConfigError

    tcfg = config["train"]
    if not float(tcfg.get("au_augment", 0.0) or 0.0) > 0:
        return
    if config["model"].get("input_mode", "flow") != "flow":
        raise ConfigError("train.au_augment adds flow images: it needs model.input_mode = \"flow\"")
    dgm = tcfg.get("au_augment_dgm") or ""
    path = Path(dgm) if Path(dgm).is_absolute() else REPO_ROOT / dgm
    if not dgm or not path.is_file():
        raise ConfigError(f"train.au_augment needs train.au_augment_dgm, a DGM checkpoint (not found: {dgm!r})")
    clips = bool(tcfg.get("au_augment_clips", False))
    if clips and config["protocol"].get("name") != "megc2019-loso":
        raise ConfigError("train.au_augment_clips renders the MEGC2019 composite's clips: it needs that protocol")
    data_root = Path(config["protocol"].get("data_root") or default_data_root())
    size = int(tcfg.get("au_augment_dgm_size", 0) or 0) or None
    movements = str(tcfg.get("au_augment_movements", "textbook"))
    parted_lips = float(tcfg.get("au_augment_parted_lips", 0.0) or 0.0)
    emphasis = tuple(tcfg.get("au_augment_emphasis", ()) or ())
    video_coded = float(tcfg.get("au_augment_video_coded", 0.0) or 0.0)
    samples.augment = load_or_build(path, data_root, tuple(samples.class_names),
                                    int(tcfg.get("au_augment_per_face", 2)), size=size, movements=movements,
                                    parted_lips=parted_lips, emphasis=emphasis, video_coded=video_coded)
    samples.data_label += f" + {AU_BANK_LABEL if movements == 'textbook' else AU_BANK_VARIED_LABEL}"
    if parted_lips:
        samples.data_label += f", {parted_lips:.0%} of them with the lips parted (AU25)"
    if emphasis:
        samples.data_label += f", {', '.join(emphasis)} drawn twice as often"
    if video_coded:
        samples.data_label += f", {video_coded:.0%} of the pairs coded as mp4v video on a drifting face"
    if clips:
        samples.augment = _joined(samples.augment, build_clip_bank(path, data_root, tuple(samples.class_names),
                                                                   size=size))
        samples.data_label += f" + {CLIP_BANK_LABEL}"
    samples._flow_tensor = None
