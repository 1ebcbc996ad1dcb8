"""Session experiment: Gaussian-smooth the DGM displacement before it is rendered as a flow image."""
import sys, json
from pathlib import Path
import torch, torch.nn.functional as F
import frl_core.models.inference as inf
from frl_core.models.frl_dgt import render_flow_image as plain
from frl_core.training.live_path import evaluate_loso
from frl_core.paths import default_data_root

def smoothed(sigma):
    if sigma <= 0:
        return plain
    r = int(3 * sigma)
    x = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-x * x / (2 * sigma * sigma)); k = k / k.sum()
    def render(d, size=28):
        dd = d.double()
        c = dd.shape[1]
        kx = k.view(1, 1, 1, -1).repeat(c, 1, 1, 1).to(dd)
        ky = k.view(1, 1, -1, 1).repeat(c, 1, 1, 1).to(dd)
        dd = F.conv2d(F.pad(dd, (r, r, 0, 0), mode="replicate"), kx, groups=c)
        dd = F.conv2d(F.pad(dd, (0, 0, r, r), mode="replicate"), ky, groups=c)
        return plain(dd.to(d.dtype), size)
    return render

for s in map(float, sys.argv[1:]):
    inf.render_flow_image = smoothed(s)
    out = evaluate_loso([Path("runs/live_clips_nocal/seed_1"), Path("runs/live_clips_nocal/seed_2")],
                        Path("assets/weights/frl_dgt_live.pt"), default_data_root(), noise_draws=0, log=lambda *a: None)
    print(f"sigma {s}: agreement {out['agreement']:.4f} live UF1 {out['live']['uf1']:.4f} flow UF1 {out['flow']['uf1']:.4f} "
          f"image r {out['image_correlation']['dgm']} per dataset {out['per_dataset_agreement']}", flush=True)
