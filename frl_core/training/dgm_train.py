"""Training the DGM to measure real displacement: known motions on real faces, plus a real sequence.

The displacement a user sees, and the flow image the recogniser reads, come from the DGM, so it must
measure motion in pixels, not just produce something the classifier likes. It is trained here alone,
on pairs whose displacement is known:

* real faces: the MEGC2019 composite's apex faces (68 subjects), aligned and framed as the app frames
  faces; a fifth of the subjects (``held_out_subjects``) are never trained on and measure the error;
* known fields, with the peak drawn log-uniformly over ``peak_px`` (pixels of a 112-pixel face):
  action-unit-shaped movements around the face's landmarks (``frl_core.faces.action_units``, random AUs,
  widths, asymmetry and landmark jitter), random smooth fields (a few Gaussian blobs), the clip's own
  published flow (``data.pairs``), and no motion at all; a small global affine on top stands for what
  registration leaves;
* what a camera and a codec do: sensor noise, JPEG compression of each frame, a brightness change
  between the two frames, and which of the two frames carries the warp's interpolation blur;
* the loss: Charbonnier end-point error against the known field, plus the DGM's self-supervised
  photometric and edge-aware smoothness losses, which also run on the one real multi-frame sequence
  (``sequences/casme2_sub_clip_resampled``, registered pairs) so real sensor texture shapes the estimate.

``python main.py train-dgm --out runs/dgm`` trains and writes a DGM checkpoint (a pair-mode FRL-DGT
whose trunk is untrained) and the validation report; ``python main.py bench dgm`` measures a checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from frl_core.faces.action_units import ACTION_UNITS, au_field
from frl_core.faces.au_regions import TEMPLATE_68, canonical_region_boxes
from frl_core.data.pairs import flow_png_to_displacement, random_smooth_displacement
from frl_core.models.losses import charbonnier, edge_aware_smoothness

FIELD_KINDS = ("action_units", "smooth", "clip_flow", "none")
UNIT_FACE_PX = 112
"""Field peaks and end-point errors are stated in pixels of a face of this side, whatever size the DGM
runs at (the issue's figures are at 112 px)."""
SEQUENCE_DIR = "sequences/casme2_sub_clip_resampled"


@dataclass
class DGMTrainConfig:
    """Everything that shapes a DGM training run."""

    img_size: int = 112
    steps: int = 4000
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 1
    peak_px: tuple[float, float] = (0.05, 4.0)
    """Peak displacement of a training field, log-uniform, pixels of a ``UNIT_FACE_PX`` face."""
    field_mix: tuple[float, float, float, float] = (0.45, 0.2, 0.25, 0.1)
    """Odds of each field kind, in ``FIELD_KINDS`` order."""
    global_px: float = 0.1
    """Standard deviation of the residual global motion added to every field (pixels at the corners)."""
    noise_range: tuple[float, float] = (0.0, 3.0)
    """Sensor noise standard deviation (grey levels), uniform."""
    jpeg_range: tuple[int, int] = (40, 95)
    """JPEG quality of each frame, uniform; applied with ``jpeg_probability``."""
    jpeg_probability: float = 0.7
    brightness: float = 0.04
    """Largest relative gain change between the two frames (and a tenth of that as offset)."""
    teacher_weight: float = 1.0
    photometric_weight: float = 0.2
    smoothness_weight: float = 0.02
    sequence_weight: float = 0.5
    """Weight of the self-supervised losses on the real sequence's registered pairs (0 = off)."""
    held_out_every: int = 5
    """Every n-th subject (in the composite's order) is held out of training for validation."""
    validation_pairs: int = 256
    threads: int = 2
    variant: str = "frl_dgt_small"
    dgm_channels: tuple[int, ...] = (16, 32, 48)
    dgm_iterations: int = 1
    extra: dict = field(default_factory=dict)


# -------------------------------------------------------------------------------------------- faces


@dataclass
class FaceBank:
    """Real faces (uint8, 224 x 224) with their subject, clip flow and landmarks."""

    faces: np.ndarray
    subjects: list[str]
    flows: np.ndarray | None
    landmarks: np.ndarray
    """(N, 68, 2) landmarks in pixels of the 224 face (the template where none was found)."""

    def __len__(self) -> int:
        return len(self.faces)


def held_out_subjects(subjects: list[str], every: int) -> set[str]:
    """Every ``every``-th subject in order of first appearance (deterministic, dataset-balanced enough)."""
    order = list(dict.fromkeys(subjects))
    return {s for i, s in enumerate(order) if i % every == every // 2}


def load_face_bank(data_root: Path) -> FaceBank:
    """The composite's apex faces, aligned as the app aligns faces, with their landmarks on the crop."""
    from frl_core.data.megc2019 import Megc2019
    from frl_core.faces import FaceConfig, FaceTracker, align_face, alignment_matrix

    ds = Megc2019(data_root)
    faces, marks = [], []
    tracker = FaceTracker(FaceConfig(detect_width=448, smoothing=0.0))
    template = TEMPLATE_68 * 224
    for apex in ds.apexes:
        padded = cv2.copyMakeBorder(apex, 112, 112, 112, 112, cv2.BORDER_REPLICATE)
        tracker.reset()
        obs, _ = tracker.update(padded)
        if obs is None:
            faces.append(apex)
            marks.append(template)
            continue
        m = alignment_matrix(obs.landmarks, 224)
        faces.append(align_face(padded, obs.landmarks, 224))
        marks.append(obs.landmarks @ m[:, :2].T + m[:, 2])
    subjects = [f"{c.dataset}/{c.subject}" for c in ds.clips]
    return FaceBank(np.stack(faces), subjects, ds.flows, np.stack(marks).astype(np.float64))


# ------------------------------------------------------------------------------------------- fields


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def random_au_field(rng: np.random.Generator, landmarks: np.ndarray, size: int) -> np.ndarray:
    """A unit-peak action-unit movement (1-3 random AUs, random width and asymmetry) around jittered
    landmarks given for a ``size`` face."""
    names = sorted(ACTION_UNITS)
    aus = tuple(rng.choice(names, size=int(rng.integers(1, 4)), replace=False))
    pts = np.asarray(landmarks, dtype=np.float64) + rng.normal(0.0, 0.01 * size, (68, 2))
    gains = (float(rng.uniform(0.4, 1.2)), float(rng.uniform(0.4, 1.2)))
    return au_field(pts, aus, size, size, sigma_iod=float(rng.uniform(0.15, 0.35)), side_gain=gains)


def global_affine_field(rng: np.random.Generator, size: int, px: float) -> np.ndarray:
    """A small random affine field (translation, rotation, scale) of about ``px`` pixels."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2.0
    t = rng.normal(0.0, px, 2)
    a = rng.normal(0.0, px / size, (2, 2))
    return np.stack([t[0] + a[0, 0] * (xs - c) + a[0, 1] * (ys - c),
                     t[1] + a[1, 0] * (xs - c) + a[1, 1] * (ys - c)]).astype(np.float32)


def random_field(rng: np.random.Generator, bank: FaceBank, index: int, size: int, cfg: DGMTrainConfig
                 ) -> tuple[np.ndarray, str]:
    """A known displacement (2, size, size) in pixels for face ``index``, and its kind."""
    kind = FIELD_KINDS[int(rng.choice(len(FIELD_KINDS), p=np.asarray(cfg.field_mix) / sum(cfg.field_mix)))]
    peak = _log_uniform(rng, *cfg.peak_px) * size / UNIT_FACE_PX
    if kind == "action_units":
        base = random_au_field(rng, bank.landmarks[index] * (size / 224.0), size) * np.float32(peak)
    elif kind == "smooth":
        base = random_smooth_displacement(rng, size, peak)
    elif kind == "clip_flow" and bank.flows is not None:
        base = flow_png_to_displacement(bank.flows[index], peak * 224.0 / size, size)
    else:
        base = np.zeros((2, size, size), np.float32)
    return base + global_affine_field(rng, size, cfg.global_px * size / UNIT_FACE_PX), kind


# -------------------------------------------------------------------------------------------- pairs


def _warp(image: np.ndarray, field: np.ndarray, sign: float) -> np.ndarray:
    """image(x + sign * d(x)), bilinear, reflected border."""
    h, w = image.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xs + sign * field[0], ys + sign * field[1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT101)


def _degrade(image: np.ndarray, rng: np.random.Generator, cfg: DGMTrainConfig, gain: float, offset: float
             ) -> np.ndarray:
    out = image.astype(np.float32) * gain + offset
    sigma = float(rng.uniform(*cfg.noise_range))
    if sigma > 0:
        out = out + rng.normal(0.0, sigma, out.shape).astype(np.float32)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if rng.random() < cfg.jpeg_probability:
        quality = int(rng.integers(cfg.jpeg_range[0], cfg.jpeg_range[1] + 1))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def make_pair(face: np.ndarray, field_224: np.ndarray, rng: np.random.Generator, cfg: DGMTrainConfig
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset, apex, truth) at ``img_size``: the face and its warp by a known field given at 224 px,
    degraded as a camera and codec would; truth in pixels of the ``img_size`` face."""
    if rng.random() < 0.5:
        onset, apex = face, _warp(face, field_224, -1.0)  # apex(x) = onset(x - d(x))
    else:
        onset, apex = _warp(face, field_224, 1.0), face  # onset(x) = apex(x + d(x))
    g = 1.0 + float(rng.uniform(-cfg.brightness, cfg.brightness))
    o = float(rng.uniform(-cfg.brightness, cfg.brightness)) * 25.5
    onset = _degrade(onset, rng, cfg, 1.0, 0.0)
    apex = _degrade(apex, rng, cfg, g, o)
    s = cfg.img_size
    onset = cv2.resize(onset, (s, s), interpolation=cv2.INTER_AREA)
    apex = cv2.resize(apex, (s, s), interpolation=cv2.INTER_AREA)
    truth = np.stack([cv2.resize(c, (s, s), interpolation=cv2.INTER_AREA) for c in field_224]) * (s / 224.0)
    return onset, apex, truth.astype(np.float32)


VIDEO_RISE_FRAMES = (3, 7)
"""Frames from the onset to the apex of a video-coded pair (4-7 at 30 fps is a micro-expression's rise)."""
VIDEO_DRIFT_PX = (0.05, 0.4)
"""Head drift per frame of a video-coded pair, pixels of the 224 face, uniform (a webcam user's slow drift)."""


def _moved(image: np.ndarray, dx: float, dy: float, deg: float, inverse: bool = False) -> np.ndarray:
    side = image.shape[0]
    m = cv2.getRotationMatrix2D(((side - 1) / 2.0, (side - 1) / 2.0), deg, 1.0)
    m[:, 2] += (dx, dy)
    if inverse:
        m = cv2.invertAffineTransform(m)
    return cv2.warpAffine(image, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def video_coded_pair(face: np.ndarray, field_224: np.ndarray, rng: np.random.Generator, cfg: DGMTrainConfig,
                     work_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(onset, apex) at ``img_size`` as a video codec delivers them: the movement rising over a few frames
    on a face that drifts and rolls, with sensor noise, coded as one mp4v clip (OpenCV's own encoder), decoded,
    and the head's motion undone as alignment would. A codec codes each frame from the last one, motion
    compensated, so its error on a small movement is not JPEG's on a single frame: a dimpler's horizontal pull
    came out of mp4v and H.264 with more vertical motion around it than it went in with."""
    rise = int(rng.integers(VIDEO_RISE_FRAMES[0], VIDEO_RISE_FRAMES[1] + 1))
    frames = [face, face] + [_warp(face, field_224 * np.float32(k / rise), -1.0) for k in range(1, rise + 1)]
    frames.append(frames[-1])
    angle = float(rng.uniform(0.0, 2.0 * math.pi))
    speed = float(rng.uniform(*VIDEO_DRIFT_PX))
    roll = float(rng.normal(0.0, 0.03))
    moves = [(k * speed * math.cos(angle), k * speed * math.sin(angle), k * roll) for k in range(len(frames))]
    sigma = float(rng.uniform(*cfg.noise_range))
    g = 1.0 + float(rng.uniform(-cfg.brightness, cfg.brightness))
    o = float(rng.uniform(-cfg.brightness, cfg.brightness)) * 25.5
    coded = []
    for k, (frame, move) in enumerate(zip(frames, moves)):
        t = min(1.0, max(0.0, (k - 1) / rise))
        out = _moved(frame, *move).astype(np.float32) * (1.0 + t * (g - 1.0)) + t * o
        out = out + rng.normal(0.0, sigma, out.shape).astype(np.float32)
        coded.append(cv2.cvtColor(np.clip(np.round(out), 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR))
    path = Path(work_dir) / "pair.mp4"
    side = face.shape[0]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (side, side))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write mp4v video here")
    for frame in coded:
        writer.write(frame)
    writer.release()
    capture = cv2.VideoCapture(str(path))
    decoded = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        decoded.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    capture.release()
    if len(decoded) != len(frames):
        raise RuntimeError(f"mp4v gave back {len(decoded)} of {len(frames)} frames")
    onset = _moved(decoded[1], *moves[1], inverse=True)
    apex = _moved(decoded[rise + 1], *moves[rise + 1], inverse=True)
    s = cfg.img_size
    return (cv2.resize(onset, (s, s), interpolation=cv2.INTER_AREA),
            cv2.resize(apex, (s, s), interpolation=cv2.INTER_AREA))


def make_batch(bank: FaceBank, indices: np.ndarray, rng: np.random.Generator, cfg: DGMTrainConfig
               ) -> dict[str, torch.Tensor]:
    onsets, apexes, truths = [], [], []
    for i in indices:
        field_224, _ = random_field(rng, bank, int(i), 224, cfg)
        o, a, t = make_pair(bank.faces[int(i)], field_224, rng, cfg)
        onsets.append(o)
        apexes.append(a)
        truths.append(t)
    return {"onset": torch.from_numpy(np.stack(onsets).astype(np.float32)[:, None] / 255.0),
            "apex": torch.from_numpy(np.stack(apexes).astype(np.float32)[:, None] / 255.0),
            "truth": torch.from_numpy(np.stack(truths))}


def sequence_pairs(data_root: Path, img_size: int) -> dict[str, torch.Tensor] | None:
    """The real sequence's registered (001, k) pairs at ``img_size``, or None when it is not there."""
    from frl_core.motion.flow_image import composite_face
    from frl_core.motion.registration import register

    folder = Path(data_root) / SEQUENCE_DIR
    paths = sorted(folder.glob("*.jpg"))
    if len(paths) < 2:
        return None
    frames = [composite_face(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)) for p in paths]
    onsets, apexes = [], []
    for k in range(1, len(frames)):
        registered, _ = register(frames[0], frames[k])
        onsets.append(cv2.resize(frames[0], (img_size, img_size), interpolation=cv2.INTER_AREA))
        apexes.append(cv2.resize(registered, (img_size, img_size), interpolation=cv2.INTER_AREA))
    return {"onset": torch.from_numpy(np.stack(onsets).astype(np.float32)[:, None] / 255.0),
            "apex": torch.from_numpy(np.stack(apexes).astype(np.float32)[:, None] / 255.0)}


# ----------------------------------------------------------------------------------------- training


def self_supervised(onset: torch.Tensor, apex: torch.Tensor, displacement: torch.Tensor, cfg: DGMTrainConfig
                    ) -> torch.Tensor:
    from frl_core.models.layers import warp

    loss = cfg.photometric_weight * charbonnier(warp(onset, displacement) - apex)
    return loss + cfg.smoothness_weight * edge_aware_smoothness(displacement, apex)


def build_dgm_model(cfg: DGMTrainConfig):
    """A pair-mode FRL-DGT with the live path's encoding; only its DGM is trained here."""
    from frl_core.models import create_model

    return create_model(cfg.variant, input_mode="pair", img_size=cfg.img_size, motion_encoding="flow_image",
                        dgm_features_to_trunk=False, motion_size=28, flow_zero="median",
                        dgm_channels=tuple(cfg.dgm_channels), dgm_iterations=int(cfg.dgm_iterations),
                        **cfg.extra)


def train_dgm(cfg: DGMTrainConfig, bank: FaceBank, sequence: dict[str, torch.Tensor] | None,
              log=print, partial: Path | None = None, init=None) -> tuple[torch.nn.Module, list[dict]]:
    """Train the DGM of a fresh model for ``cfg.steps`` steps; returns the model and a loss log.
    With ``partial``, the model so far is saved there every 500 steps (to look at a long run early)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    model = build_dgm_model(cfg)
    if init is not None:
        model.dgm.load_state_dict(init.dgm.state_dict())
    dgm = model.dgm
    held = held_out_subjects(bank.subjects, cfg.held_out_every)
    train_idx = np.array([i for i, s in enumerate(bank.subjects) if s not in held])
    opt = torch.optim.AdamW(dgm.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.05)
    dgm.train()
    history: list[dict] = []
    t0 = time.perf_counter()
    running = []
    for step in range(cfg.steps):
        batch = make_batch(bank, rng.choice(train_idx, size=cfg.batch_size), rng, cfg)
        d, _ = dgm(batch["onset"], batch["apex"])
        sup = charbonnier(d - batch["truth"], 1e-3)
        loss = cfg.teacher_weight * sup + self_supervised(batch["onset"], batch["apex"], d, cfg)
        if sequence is not None and cfg.sequence_weight > 0:
            ds, _ = dgm(sequence["onset"], sequence["apex"])
            loss = loss + cfg.sequence_weight * self_supervised(sequence["onset"], sequence["apex"], ds, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running.append(float(sup.detach()))
        if (step + 1) % 100 == 0 or step + 1 == cfg.steps:
            entry = {"step": step + 1, "supervised": float(np.mean(running)), "seconds": time.perf_counter() - t0}
            history.append(entry)
            running = []
            log(f"step {step + 1}/{cfg.steps}  end-point loss {entry['supervised']:.4f}  {entry['seconds']:.0f} s")
        if partial is not None and (step + 1) % 500 == 0:
            from frl_core.models.checkpoint import save_checkpoint

            save_checkpoint(model, partial, metadata={"partial": f"step {step + 1} of {cfg.steps}"})
    model.eval()
    return model, history


# --------------------------------------------------------------------------------------- validation


@torch.no_grad()
def predict_displacement(model, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """The DGM's (2, S, S) displacement for uint8 faces already at the model's size."""
    o = torch.from_numpy(onset.astype(np.float32)[None, None] / 255.0)
    a = torch.from_numpy(apex.astype(np.float32)[None, None] / 255.0)
    model.eval()
    d, _ = model.dgm(o, a)
    return d[0].numpy()


def validation_set(bank: FaceBank, cfg: DGMTrainConfig, n: int, seed: int = 12345
                   ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """Fixed pairs on held-out subjects' faces: (onset, apex, truth, kind)."""
    rng = np.random.default_rng(seed)
    held = held_out_subjects(bank.subjects, cfg.held_out_every)
    idx = [i for i, s in enumerate(bank.subjects) if s in held]
    vcfg = DGMTrainConfig(**{**asdict(cfg), "field_mix": (0.5, 0.25, 0.25, 0.0), "peak_px": (0.3, 3.0)})
    out = []
    for _ in range(n):
        i = int(rng.choice(idx))
        field_224, kind = random_field(rng, bank, i, 224, vcfg)
        o, a, t = make_pair(bank.faces[i], field_224, rng, vcfg)
        out.append((o, a, t, kind))
    return out


def endpoint_errors(model, pairs) -> dict:
    """Mean end-point error (pixels of a ``UNIT_FACE_PX`` face, whatever size the DGM runs at) over all
    pixels, over moving pixels (true motion above 0.1 px), by field kind and by peak displacement."""
    rows = []
    for o, a, t, kind in pairs:
        unit = UNIT_FACE_PX / t.shape[-1]
        d = predict_displacement(model, o, a)
        err = np.sqrt(((d - t) ** 2).sum(0)) * unit
        mag = np.sqrt((t**2).sum(0)) * unit
        moving = mag > 0.1
        rows.append((float(err.mean()), float(err[moving].mean()) if moving.any() else float("nan"),
                     float(mag.max()), kind))
    arr = np.array([r[:3] for r in rows])
    out = {"pairs": len(rows), "epe": float(arr[:, 0].mean()), "epe_moving": float(np.nanmean(arr[:, 1]))}
    for kind in sorted({r[3] for r in rows}):
        sel = np.array([r[3] == kind for r in rows])
        out[f"epe_{kind}"] = float(arr[sel, 0].mean())
    for lo, hi in ((0.3, 1.0), (1.0, 2.0), (2.0, 3.5)):
        sel = (arr[:, 2] >= lo) & (arr[:, 2] < hi)
        if sel.any():
            out[f"epe_peak_{lo:g}_{hi:g}"] = float(arr[sel, 0].mean())
    return out


def au_region_mask(size: int) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    for x0, y0, x1, y1 in canonical_region_boxes(size):
        mask[int(y0):int(math.ceil(y1)), int(x0):int(math.ceil(x1))] = True
    return mask


def triad_agreement(dgm_tvl1: float, dis_tvl1: float, dgm_dis: float) -> dict[str, float]:
    """Each method's correlation with the motion itself, from the three pairwise correlations of three
    measurements of it (the triad estimate: with errors independent of each other and of the motion,
    r(X, Y) = r(X, motion) r(Y, motion)). It says how high a correlation with TV-L1 can go at all when
    TV-L1 itself is a noisy measurement of sub-pixel motion."""
    def one(a: float, b: float, c: float) -> float:
        return float(np.sqrt(max(a * b / c, 0.0))) if c > 0 else float("nan")

    return {"dgm_vs_motion": one(dgm_tvl1, dgm_dis, dis_tvl1), "tvl1_vs_motion": one(dgm_tvl1, dis_tvl1, dgm_dis),
            "dis_vs_motion": one(dis_tvl1, dgm_dis, dgm_tvl1)}


def sequence_agreement(model, data_root: Path, img_size: int) -> dict | None:
    """On the real sequence's registered (001, k) pairs: the DGM's displacement against TV-L1 flow
    inside the AU regions (Pearson correlation of dx and dy on the 28 x 28 grid the recogniser reads,
    and mean magnitudes in pixels of a 224 face)."""
    from frl_core.motion.flow_image import composite_face, tvl1_flow
    from frl_core.motion.registration import register

    folder = Path(data_root) / SEQUENCE_DIR
    paths = sorted(folder.glob("*.jpg"))
    if len(paths) < 2:
        return None
    frames = [composite_face(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)) for p in paths]
    grid = 28
    mask = cv2.resize(au_region_mask(224).astype(np.uint8), (grid, grid), interpolation=cv2.INTER_NEAREST) > 0
    rows = []
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    for k in range(1, len(frames)):
        registered, motion = register(frames[0], frames[k])
        flow = tvl1_flow(frames[0], registered)  # pixels of the 224 face
        # a second classical flow: how closely two classical methods agree on motion this small
        dis_flow = dis.calc(frames[0], registered, None).transpose(2, 0, 1)
        o = cv2.resize(frames[0], (img_size, img_size), interpolation=cv2.INTER_AREA)
        a = cv2.resize(registered, (img_size, img_size), interpolation=cv2.INTER_AREA)
        d = predict_displacement(model, o, a) * (224.0 / img_size)
        pooled_d = np.stack([cv2.resize(c, (grid, grid), interpolation=cv2.INTER_AREA) for c in d])
        pooled_f = np.stack([cv2.resize(c, (grid, grid), interpolation=cv2.INTER_AREA) for c in flow])
        pooled_dis = np.stack([cv2.resize(c, (grid, grid), interpolation=cv2.INTER_AREA) for c in dis_flow])
        x, y, z = pooled_d[:, mask].ravel(), pooled_f[:, mask].ravel(), pooled_dis[:, mask].ravel()
        corr = float(np.corrcoef(x, y)[0, 1])
        rows.append({"pair": f"{paths[0].stem}->{paths[k].stem}", "correlation": corr,
                     "dis_tvl1_correlation": float(np.corrcoef(z, y)[0, 1]),
                     "dgm_dis_correlation": float(np.corrcoef(x, z)[0, 1]),
                     "dgm_mean_px": float(np.sqrt((d**2).sum(0))[cv2.resize(
                         mask.astype(np.uint8), (img_size, img_size), interpolation=cv2.INTER_NEAREST) > 0].mean()),
                     "tvl1_mean_px": float(np.sqrt((flow**2).sum(0))[au_region_mask(224)].mean()),
                     "head_motion": motion.as_dict()})
    for r in rows:
        r.update(triad_agreement(r["correlation"], r["dis_tvl1_correlation"], r["dgm_dis_correlation"]))
    return {"pairs": rows, "mean_correlation": float(np.mean([r["correlation"] for r in rows])),
            **{f"mean_{k}": float(np.mean([r[k] for r in rows])) for k in ("dgm_vs_motion", "tvl1_vs_motion",
                                                                           "dis_vs_motion")},
            "mean_dis_tvl1_correlation": float(np.mean([r["dis_tvl1_correlation"] for r in rows])),
            "mean_dgm_dis_correlation": float(np.mean([r["dgm_dis_correlation"] for r in rows]))}


# ------------------------------------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/dgm"), help="folder for the checkpoint and report")
    parser.add_argument("--steps", type=int, default=DGMTrainConfig.steps)
    parser.add_argument("--batch-size", type=int, default=DGMTrainConfig.batch_size)
    parser.add_argument("--lr", type=float, default=DGMTrainConfig.lr)
    parser.add_argument("--seed", type=int, default=DGMTrainConfig.seed)
    parser.add_argument("--threads", type=int, default=DGMTrainConfig.threads)
    parser.add_argument("--sequence-weight", type=float, default=DGMTrainConfig.sequence_weight)
    parser.add_argument("--channels", default=",".join(str(c) for c in DGMTrainConfig.dgm_channels),
                        help="DGM encoder channels, comma-separated")
    parser.add_argument("--img-size", type=int, default=DGMTrainConfig.img_size,
                        help="face side the DGM runs at (112 or 224)")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this checkpoint's DGM (fine-tuning, e.g. at another face size)")
    parser.add_argument("--iterations", type=int, default=DGMTrainConfig.dgm_iterations,
                        help="DGM passes (each on the apex warped back by the estimate so far)")
    parser.add_argument("--data-root", type=Path, default=None)


def run(args: argparse.Namespace) -> int:
    from frl_core.models.checkpoint import save_checkpoint
    from frl_core.paths import default_data_root

    data_root = args.data_root or default_data_root()
    try:
        channels = tuple(int(c) for c in str(args.channels).split(","))
    except ValueError:
        print(f"error: --channels takes comma-separated integers, got {args.channels!r}", file=sys.stderr)
        return 2
    cfg = DGMTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         threads=args.threads, sequence_weight=args.sequence_weight, dgm_channels=channels,
                         dgm_iterations=args.iterations, img_size=args.img_size)
    if cfg.steps < 1 or cfg.batch_size < 1:
        print("error: --steps and --batch-size must be at least 1", file=sys.stderr)
        return 2
    try:
        bank = load_face_bank(data_root)
    except Exception as err:  # noqa: BLE001 - any unreadable data root is the user's to fix
        print(f"error: cannot read the MEGC2019 composite under {data_root}: {err}", file=sys.stderr)
        return 2
    sequence = sequence_pairs(data_root, cfg.img_size) if cfg.sequence_weight > 0 else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    init = None
    if args.init is not None:
        from frl_core.models.checkpoint import CheckpointError, load_checkpoint

        try:
            init = load_checkpoint(args.init)[0]
        except (CheckpointError, FileNotFoundError) as err:
            print(f"error: --init: {err}", file=sys.stderr)
            return 2
    model, history = train_dgm(cfg, bank, sequence, partial=out / "dgm_partial.pt", init=init)
    report = {"config": asdict(cfg), "history": history,
              "held_out_subjects": sorted(held_out_subjects(bank.subjects, cfg.held_out_every)),
              "validation": endpoint_errors(model, validation_set(bank, cfg, cfg.validation_pairs)),
              "sequence": sequence_agreement(model, data_root, cfg.img_size)}
    save_checkpoint(model, out / "dgm.pt", metadata={
        "trained": "DGM only (trunk untrained)", "dgm_training": asdict(cfg),
        "data": "MEGC2019 composite apex faces (CASME II, SAMM, SMIC-HS; non-commercial research only), "
                "held-out subjects excluded; CASME II sub01/EP02_01f sequence (self-supervised)"})
    (out / "report.json").write_text(json.dumps(report, indent=2))
    v = report["validation"]
    print(f"held-out end-point error {v['epe']:.3f} px (moving pixels {v['epe_moving']:.3f}) of a {UNIT_FACE_PX}-px face")
    if report["sequence"]:
        print(f"real sequence: correlation with TV-L1 in AU regions {report['sequence']['mean_correlation']:.3f}")
    return 0


# ---------------------------------------------------------------------------------------------- bench


def flow_image_check(model, data_root: Path) -> dict | None:
    """The composite's flow image of CASME II sub01/EP02_01f against flow images rendered from its
    sequence: TV-L1 by the composite's recipe and the DGM's displacement after registration
    (per-channel correlation, strain / v / u)."""
    from frl_core.motion.flow_image import FLOW_FACE_SIZE, channel_correlations, composite_face, flow_image, tvl1_flow
    from frl_core.motion.registration import register

    root = Path(data_root)
    paths = sorted((root / SEQUENCE_DIR).glob("*.jpg"))
    ref_path = root / "megc2019" / "flow" / "casme2_sub01_EP02_01f.png"
    apex_path = root / "megc2019" / "apex" / "casme2_sub01_EP02_01f.jpg"
    if len(paths) < 10 or not ref_path.is_file():
        return None
    reference = cv2.imread(str(ref_path))
    frames = [composite_face(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)) for p in paths]
    apex = composite_face(cv2.imread(str(apex_path), cv2.IMREAD_GRAYSCALE))
    s = model.config.img_size
    out: dict = {"tvl1": {}, "dgm": {}}
    targets = {f"{paths[0].stem}->{p.stem}": f for p, f in zip(paths[1:], frames[1:])}
    targets["001->composite apex"] = apex
    for name, target in targets.items():
        out["tvl1"][name] = channel_correlations(flow_image(tvl1_flow(frames[0], target)), reference)
        registered, _ = register(frames[0], target)
        d = predict_displacement(model, cv2.resize(frames[0], (s, s), interpolation=cv2.INTER_AREA),
                                 cv2.resize(registered, (s, s), interpolation=cv2.INTER_AREA))
        out["dgm"][name] = channel_correlations(flow_image(d), reference)
    out["note"] = (f"composite recipe: the crop resized to {FLOW_FACE_SIZE}, TV-L1, u/v area-averaged to 28, "
                   "strain from the 28x28 field, per-channel min-max")
    return out


def registration_errors(bank: FaceBank, cfg: DGMTrainConfig, n: int = 60, seed: int = 7) -> dict:
    """Registration on held-out faces moved by a known head motion (up to 3 px shift, 2 degrees of roll,
    2 % of scale), alone, with an action-unit movement of 1-3 px on top, and with that movement and the head also
    turned 1-4 degrees in depth about each axis (the parallax of the face's own landmarks at 0.75-1.25 times the
    generic depth; the similarity alone for contrast): mean and 95th percentile of the error of the recovered
    map over the face's inner part (pixels of the 224 face)."""
    from frl_core.faces.head_pose import face_depth_px
    from frl_core.motion.registration import estimate_global_motion

    rng = np.random.default_rng(seed)
    held = held_out_subjects(bank.subjects, cfg.held_out_every)
    idx = [i for i, s in enumerate(bank.subjects) if s in held]
    ys, xs = np.mgrid[32:192:8, 32:192:8]
    pts = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    out: dict = {}
    for case in ("head_motion_only", "with_action_units", "turned_with_action_units"):
        errors: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(n):
            i = int(rng.choice(idx))
            face = bank.faces[i]
            if case != "head_motion_only":
                field_ = random_au_field(rng, bank.landmarks[i], 224) * np.float32(rng.uniform(1.0, 3.0))
                face = _warp(face, field_, -1.0)
            parallax = np.zeros((2, xs.size))
            if case == "turned_with_action_units":
                depth = face_depth_px(bank.landmarks[i], 224, 224, rng.uniform(0.75, 1.25))
                angles = np.radians(rng.uniform(1.0, 4.0, 2) * rng.choice([-1.0, 1.0], 2))
                turn = np.stack([angles[0] * depth, angles[1] * depth]).astype(np.float32)
                face = _warp(face, turn, -1.0)
                parallax = turn[:, ys.ravel(), xs.ravel()]
            m = cv2.getRotationMatrix2D((111.5, 111.5), float(rng.uniform(-2, 2)), float(1 + rng.uniform(-0.02, 0.02)))
            m[:, 2] += rng.uniform(-3, 3, 2)
            moving = cv2.warpAffine(face, m, (224, 224), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_REPLICATE)
            moving = np.clip(moving + rng.normal(0, 2, moving.shape), 0, 255).astype(np.uint8)
            # where each reference point is in the moving face: turned first, then the head's similarity
            truth = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2] @ np.vstack([pts[:2] + parallax, pts[2:]])
            for turn_on in ((True, False) if case == "turned_with_action_units" else (True,)):
                motion = estimate_global_motion(bank.faces[i], moving, turn=turn_on)
                map_x, map_y = motion.source_maps()
                found = np.stack([map_x[ys.ravel(), xs.ravel()], map_y[ys.ravel(), xs.ravel()]])
                errors[turn_on].append(float(np.linalg.norm(found - truth, axis=0).mean()))
        out[case] = {"pairs": n, "mean_px": float(np.mean(errors[True])), "p95_px": float(np.percentile(errors[True], 95))}
        if errors[False]:
            out[case]["similarity_only_mean_px"] = float(np.mean(errors[False]))
    return out


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="a pair-mode checkpoint (default: the shipped live-path weights)")
    parser.add_argument("--pairs", type=int, default=256, help="held-out validation pairs")
    parser.add_argument("--dgm-mirror", choices=("file", "on", "off"), default="file",
                        help="the DGM's mirror averaging: as the checkpoint says (default), on or off")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")


def run_bench(args: argparse.Namespace) -> int:
    from frl_core.models.checkpoint import load_checkpoint
    from frl_core.models.inference import default_checkpoint_path
    from frl_core.paths import default_data_root

    data_root = args.data_root or default_data_root()
    model, _ = load_checkpoint(args.checkpoint or default_checkpoint_path())
    if model.dgm is None:
        print("error: this checkpoint has no DGM (flow mode)", file=sys.stderr)
        return 2
    if args.dgm_mirror != "file":
        model.dgm.mirror = args.dgm_mirror == "on"
    print(f"DGM at {model.config.img_size} px, mirror averaging {'on' if model.dgm.mirror else 'off'}")
    cfg = DGMTrainConfig(img_size=int(model.config.img_size))
    try:
        bank = load_face_bank(data_root)
    except Exception as err:  # noqa: BLE001
        print(f"error: the DGM benchmark needs the MEGC2019 composite under {data_root}: {err}", file=sys.stderr)
        return 2
    report = {"validation": endpoint_errors(model, validation_set(bank, cfg, args.pairs)),
              "sequence": sequence_agreement(model, data_root, cfg.img_size),
              "flow_image": flow_image_check(model, data_root),
              "registration": registration_errors(bank, cfg)}
    reg = report["registration"]
    print("registration on held-out faces (known head motion; error of the recovered map, px of the 224 face): "
          f"head motion only {reg['head_motion_only']['mean_px']:.3f} (p95 {reg['head_motion_only']['p95_px']:.3f}), "
          f"with a 1-3 px action unit {reg['with_action_units']['mean_px']:.3f} "
          f"(p95 {reg['with_action_units']['p95_px']:.3f}); the head also turned 1-4 degrees in depth "
          f"{reg['turned_with_action_units']['mean_px']:.3f} (p95 {reg['turned_with_action_units']['p95_px']:.3f}; "
          f"a similarity alone {reg['turned_with_action_units']['similarity_only_mean_px']:.3f})")
    v = report["validation"]
    print(f"held-out faces, {v['pairs']} pairs, peaks 0.3-3 px of a {UNIT_FACE_PX}-px face (DGM at "
          f"{cfg.img_size} px): end-point error "
          f"{v['epe']:.3f} px (moving pixels {v['epe_moving']:.3f})")
    print("  by peak: " + ", ".join(f"{k[9:].replace('_', '-')} px {val:.3f}" for k, val in v.items()
                                   if k.startswith("epe_peak_")))
    print("  by field: " + ", ".join(f"{k[4:]} {val:.3f}" for k, val in v.items()
                                    if k.startswith("epe_") and not k.startswith(("epe_peak", "epe_moving"))))
    seq = report["sequence"]
    if seq:
        print("real sequence (registered 001->k): correlation with TV-L1 in the AU regions, mean |d| (px, 224 face)")
        for row in seq["pairs"]:
            print(f"  {row['pair']}: r {row['correlation']:.3f} (DIS vs TV-L1 {row['dis_tvl1_correlation']:.3f}, "
                  f"DGM vs DIS {row['dgm_dis_correlation']:.3f})   DGM {row['dgm_mean_px']:.3f}   "
                  f"TV-L1 {row['tvl1_mean_px']:.3f}")
        print(f"  mean correlation {seq['mean_correlation']:.3f} (DIS vs TV-L1 {seq['mean_dis_tvl1_correlation']:.3f}, "
              f"DGM vs DIS {seq['mean_dgm_dis_correlation']:.3f})")
        print(f"  each one's correlation with the motion itself (triad estimate, errors assumed independent): "
              f"DGM {seq['mean_dgm_vs_motion']:.3f}, TV-L1 {seq['mean_tvl1_vs_motion']:.3f}, "
              f"DIS {seq['mean_dis_vs_motion']:.3f}")
    fi = report["flow_image"]
    if fi:
        print("flow image of casme2 sub01/EP02_01f: correlation (strain / v / u) with the composite's")
        for name in fi["tvl1"]:
            t, d = fi["tvl1"][name], fi["dgm"][name]
            print(f"  {name:22s} TV-L1 {t['strain']:.3f} / {t['v']:.3f} / {t['u']:.3f}    "
                  f"DGM {d['strain']:.3f} / {d['v']:.3f} / {d['u']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0
