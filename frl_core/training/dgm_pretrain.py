"""DGM warm-up on motions whose truth is known, before the recognition training of a pair-mode model.

Why: trained only end to end on a few hundred semi-synthetic pairs, the DGM barely leaves its "no
motion" start (its displacement on the demo clip stayed at ~0.01 px), so the displacement maps users see
were empty. Here the DGM alone is trained for ``train.dgm_pretrain_steps`` steps on the training clips'
real apex faces warped by random smooth fields (``random_smooth_displacement``, peak drawn from
``train.dgm_pretrain_peak_px``) or, half the time, by the clip's own semi-synthetic flow, with sensor noise
added to both frames; the loss is the model's own DGM losses (photometric, smoothness, teacher). Only
training-fold faces are used, so a LOSO fold never sees its held-out subject here either.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch

from frl_core.data.pairs import pseudo_onset, random_peak, random_smooth_displacement, flow_png_to_displacement
from frl_core.models.frl_dgt import FRLDGT
from frl_core.models.losses import displacement_losses
from frl_core.training.samples import SampleSet

NOISE_SIGMA = 2.0 / 255.0


def synthetic_pair_batch(
    samples: SampleSet, indices: np.ndarray, img_size: int, rng: np.random.Generator, peak_range: tuple[float, float]
) -> dict[str, torch.Tensor]:
    """Onset, apex (B, 1, S, S) in [0, 1] and the true displacement (B, 2, S, S) in pixels."""
    onsets, apexes, truths = [], [], []
    for i in indices:
        apex = samples.apexes[int(i)]
        if apex.shape != (img_size, img_size):
            apex = cv2.resize(apex, (img_size, img_size), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            disp = random_smooth_displacement(rng, img_size, float(rng.uniform(*peak_range)))
        else:
            disp = flow_png_to_displacement(samples.flows[int(i)], random_peak(rng), img_size)
        onsets.append(pseudo_onset(apex, disp))
        apexes.append(apex)
        truths.append(disp)
    onset = torch.from_numpy(np.stack(onsets).astype(np.float32)[:, None] / 255.0)
    apex = torch.from_numpy(np.stack(apexes).astype(np.float32)[:, None] / 255.0)
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    onset = (onset + NOISE_SIGMA * torch.randn(onset.shape, generator=gen)).clamp(0, 1)
    apex = (apex + NOISE_SIGMA * torch.randn(apex.shape, generator=gen)).clamp(0, 1)
    return {"onset": onset, "apex": apex, "teacher_flow": torch.from_numpy(np.stack(truths))}


def pretrain_dgm(
    model: FRLDGT,
    samples: SampleSet,
    train_indices: np.ndarray,
    train_cfg: dict[str, Any],
    device: torch.device,
    rng: np.random.Generator,
) -> list[float]:
    """Train the DGM alone for ``dgm_pretrain_steps`` steps; returns each step's total DGM loss."""
    steps = int(train_cfg.get("dgm_pretrain_steps", 0) or 0)
    if steps <= 0 or model.dgm is None:
        return []
    if samples.apexes is None:
        raise ValueError("DGM pretraining needs the apex faces (pair-mode samples)")
    peak_range = tuple(float(x) for x in train_cfg.get("dgm_pretrain_peak_px", (0.3, 3.0)))
    bs = int(train_cfg.get("batch_size", 32))
    img_size = int(model.config.img_size)
    optimiser = torch.optim.AdamW(model.dgm.parameters(), lr=float(train_cfg.get("dgm_pretrain_lr", 2e-3)))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=float(train_cfg.get("dgm_pretrain_lr", 2e-3)),
                                                    total_steps=steps, pct_start=0.1)
    model.to(device).train()
    losses = []
    for _ in range(steps):
        idx = rng.choice(train_indices, size=min(bs, len(train_indices)), replace=False)
        batch = {k: v.to(device) for k, v in synthetic_pair_batch(samples, idx, img_size, rng, peak_range).items()}
        displacement, _ = model.dgm(batch["onset"], batch["apex"])
        parts = displacement_losses(batch["onset"], batch["apex"], displacement, model.config,
                                    teacher_flow=batch["teacher_flow"])
        total = sum(weight * value for weight, value in parts.values())
        optimiser.zero_grad(set_to_none=True)
        total.backward()
        optimiser.step()
        scheduler.step()
        losses.append(float(total.detach()))
    return losses


@torch.no_grad()
def endpoint_error(model: FRLDGT, batch: dict[str, torch.Tensor]) -> float:
    """Mean end-point error (pixels) of the DGM's displacement against the batch's true one."""
    model.eval()
    displacement, _ = model.dgm(batch["onset"], batch["apex"])
    return float(torch.sqrt(((displacement - batch["teacher_flow"]) ** 2).sum(1)).mean())
