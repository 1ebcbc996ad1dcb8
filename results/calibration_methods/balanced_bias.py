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
from compare import fit, load, probabilities  # noqa: E402

from frl_core.metrics import score  # noqa: E402


def fit_balanced(views: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    counts = np.bincount(y, minlength=views.shape[-1])
    weights = 1.0 / counts[y]
    return fit(views, y, with_bias=True, weights=weights / weights.mean())


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
