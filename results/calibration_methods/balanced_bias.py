"""A class bias fitted for the balanced figures instead: temperature and bias minimising the class-balanced
negative log-likelihood (each clip weighted by one over its class's count) of the other subjects' held-out
logits, for every test subject; UF1 / UAR of the decisions it gives, against the uncalibrated decisions.

    PYTHONPATH=. python results/calibration_methods/balanced_bias.py results/megc2019_live_parted_lips_loso 1
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from compare import load, probabilities  # noqa: E402

from frl_core.metrics import score  # noqa: E402


def fit_balanced(views: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    v = torch.tensor(views)
    yt = torch.tensor(y)
    counts = np.bincount(y, minlength=views.shape[-1])
    w = torch.tensor(1.0 / counts[y])
    w = w / w.mean()
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(views.shape[-1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        p = torch.softmax(v / torch.exp(log_t) + b, dim=-1).mean(0)
        loss = -(w * torch.log(p[torch.arange(len(yt)), yt].clamp_min(1e-12))).mean()
        loss.backward()
        return loss

    opt.step(closure)
    return float(torch.exp(log_t.detach())), b.detach().numpy()


def main(run: str, seeds: str) -> None:
    torch.set_num_threads(1)
    views, y, owner = load(Path(run), [int(s) for s in seeds.split(",")])
    before = score(y, probabilities(views, 1.0).argmax(1))
    out = np.zeros((len(y), views.shape[-1]))
    for i in np.unique(owner):
        own, rest = owner == i, owner != i
        t, b = fit_balanced(views[:, rest], y[rest])
        out[own] = probabilities(views[:, own], t, b)
    after = score(y, out.argmax(1))
    print(f"{run} seeds {seeds}: UF1 {before.uf1:.4f} -> {after.uf1:.4f}, UAR {before.uar:.4f} -> {after.uar:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
