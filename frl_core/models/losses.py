"""The DGM's self-supervised losses (and the optional teacher term); weights live in ``FRLDGTConfig``.

Photometric reconstruction: the onset warped by the displacement (``layers.warp``) should match the
apex. Charbonnier (a smooth robust L1) rather than L2 so that a few pixels the motion cannot explain
(eyelids, specular glints) do not dominate; an optional SSIM term adds local-structure agreement.
Edge-aware smoothness keeps the displacement piecewise smooth except where the apex has edges.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from frl_core.models.layers import warp


class LossWeights(Protocol):
    """The fields of ``FRLDGTConfig`` the losses read."""

    photometric_weight: float
    ssim_weight: float
    smoothness_weight: float
    teacher_weight: float
    charbonnier_eps: float
    edge_alpha: float


def charbonnier(x: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Mean of sqrt(x^2 + eps^2): L1 for large errors, smooth near zero."""
    return torch.sqrt(x * x + eps * eps).mean()


def ssim_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean (1 - SSIM) / 2 over 3x3 windows, in [0, 1] (images in [0, 1])."""
    c1, c2 = 0.01**2, 0.03**2
    xp = F.pad(x, (1, 1, 1, 1), mode="reflect")
    yp = F.pad(y, (1, 1, 1, 1), mode="reflect")
    mu_x = F.avg_pool2d(xp, 3, 1)
    mu_y = F.avg_pool2d(yp, 3, 1)
    sigma_x = F.avg_pool2d(xp * xp, 3, 1) - mu_x**2
    sigma_y = F.avg_pool2d(yp * yp, 3, 1) - mu_y**2
    sigma_xy = F.avg_pool2d(xp * yp, 3, 1) - mu_x * mu_y
    ssim = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sigma_x + sigma_y + c2))
    return ((1 - ssim) / 2).clamp(0, 1).mean()


def edge_aware_smoothness(displacement: torch.Tensor, image: torch.Tensor, alpha: float = 10.0) -> torch.Tensor:
    """First-order gradients of the displacement, down-weighted by exp(-alpha |grad image|)."""
    ddx = (displacement[..., :, 1:] - displacement[..., :, :-1]).abs()
    ddy = (displacement[..., 1:, :] - displacement[..., :-1, :]).abs()
    wx = torch.exp(-alpha * (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True))
    wy = torch.exp(-alpha * (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True))
    return (ddx * wx).mean() + (ddy * wy).mean()


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resample a (B, 2, h, w) pixel displacement to ``size``, rescaling dx and dy to the new pixels."""
    h, w = flow.shape[-2:]
    if (h, w) == tuple(size):
        return flow
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)
    scale = torch.tensor([size[1] / w, size[0] / h], dtype=flow.dtype, device=flow.device).view(1, 2, 1, 1)
    return out * scale


def displacement_losses(
    onset: torch.Tensor,
    apex: torch.Tensor,
    displacement: torch.Tensor,
    cfg: LossWeights,
    teacher_flow: torch.Tensor | None = None,
) -> dict[str, tuple[float, torch.Tensor]]:
    """``name -> (weight, value)`` for the DGM's losses; terms with weight 0 are skipped."""

    out: dict[str, tuple[float, torch.Tensor]] = {}
    displacement = displacement.float()
    warped = warp(onset.float(), displacement)
    if cfg.photometric_weight:
        out["photometric"] = (cfg.photometric_weight, charbonnier(warped - apex, cfg.charbonnier_eps))
    if cfg.ssim_weight:
        out["ssim"] = (cfg.ssim_weight, ssim_distance(warped, apex.float()))
    if cfg.smoothness_weight:
        out["smoothness"] = (cfg.smoothness_weight,
                             edge_aware_smoothness(displacement, apex.float(), cfg.edge_alpha))
    if teacher_flow is not None and cfg.teacher_weight:
        teacher = resize_flow(teacher_flow.float(), tuple(displacement.shape[-2:]))
        out["teacher"] = (cfg.teacher_weight, charbonnier(displacement - teacher, cfg.charbonnier_eps))
    return out
