"""Building blocks shared by the network and its losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def warp(image: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` at ``x - d(x)``: the onset warped onto the apex by the onset->apex displacement.

    Bilinear ``grid_sample`` on the pixel-centre grid (``align_corners=True``); outside the image the
    border value is repeated. The grid is computed and sampled in float64 and the result cast back,
    so a zero displacement returns the image bit for bit (float32 grid normalisation is off by ~1e-5).
    """
    b, _, h, w = image.shape
    d = displacement.double()
    ys = torch.arange(h, device=image.device, dtype=torch.float64)
    xs = torch.arange(w, device=image.device, dtype=torch.float64)
    gx = xs.view(1, 1, w) - d[:, 0]
    gy = ys.view(1, h, 1) - d[:, 1]
    grid = torch.stack((gx * (2.0 / max(w - 1, 1)) - 1.0, gy * (2.0 / max(h - 1, 1)) - 1.0), dim=-1)
    out = F.grid_sample(image.double(), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.to(image.dtype)
