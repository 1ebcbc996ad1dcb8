"""Three ways to calibrate a LOSO run's held-out logits, each fitted without the test subject (for every
held-out subject, on the other subjects' held-out logits), compared on the pooled clips.

- temperature: one scalar dividing the logits (what the shipped files use);
- temperature + class bias (bias-corrected temperature scaling, Alexandari et al. 2020): softmax(l / T + b);
  it moves the decision towards the classes the held-out logits under-predict;
- temperature per predicted class: the temperature of the class the uncalibrated output picked, which
  leaves every decision as it was.

Each view (the recipe's mirrored one too) and each seed of an ensemble is calibrated with the same
parameters (one temperature for all members; the shipped files fit one per member, which `evaluate`
reports) and their probabilities are averaged. Reads the fold records (``seed_N/folds/*.json``); numpy,
plus torch for the fits.

    PYTHONPATH=. python results/calibration_methods/compare.py runs/live_lips_nocal 1,2
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from frl_core.metrics import score
from frl_core.training.calibration import (
    ece_if_calibrated, expected_calibration_error, negative_log_likelihood, softmax)


def load(run: Path, seeds: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views (seed x mirror, clips, classes), labels and each clip's subject index, subjects sorted."""
    per_seed = [{json.loads(p.read_text())["subject"]: json.loads(p.read_text())
                 for p in sorted((run / f"seed_{s}" / "folds").glob("*.json"))} for s in seeds]
    subjects = sorted(per_seed[0])
    y = np.concatenate([per_seed[0][s]["y_true"] for s in subjects]).astype(np.int64)
    owner = np.concatenate([np.full(len(per_seed[0][s]["y_true"]), i) for i, s in enumerate(subjects)])
    views = []
    for records in per_seed:
        for key in ("logits", "logits_mirrored"):
            if records[subjects[0]].get(key) is not None:
                views.append(np.concatenate([np.asarray(records[s][key], dtype=np.float64)[0] for s in subjects]))
    return np.stack(views), y, owner


def probabilities(views: np.ndarray, temperature: np.ndarray | float, bias: np.ndarray | None = None) -> np.ndarray:
    t = np.broadcast_to(np.asarray(temperature, dtype=np.float64), views.shape[1])[None, :, None]
    z = views / t + (0.0 if bias is None else bias)
    return np.mean([softmax(v) for v in z], axis=0)


def fit(views: np.ndarray, y: np.ndarray, with_bias: bool, weights: np.ndarray | None = None
        ) -> tuple[float, np.ndarray]:
    """Temperature (and class bias) minimising the negative log-likelihood of the averaged views, each clip
    weighted by ``weights`` (None: all alike)."""
    v = torch.tensor(views)
    yt = torch.tensor(y)
    w = torch.ones(len(y), dtype=torch.float64) if weights is None else torch.tensor(weights, dtype=torch.float64)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(views.shape[-1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t, b] if with_bias else [log_t], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        p = torch.softmax(v / torch.exp(log_t) + b, dim=-1).mean(0)
        loss = -(w * torch.log(p[torch.arange(len(yt)), yt].clamp_min(1e-12))).mean()
        loss.backward()
        return loss

    opt.step(closure)
    return float(torch.exp(log_t.detach())), b.detach().numpy()


def cross_fitted(views: np.ndarray, y: np.ndarray, owner: np.ndarray, method: str) -> np.ndarray:
    decided = probabilities(views, 1.0).argmax(1)
    out = np.zeros((len(y), views.shape[-1]))
    for i in np.unique(owner):
        own, rest = owner == i, owner != i
        if method == "temperature":
            out[own] = probabilities(views[:, own], fit(views[:, rest], y[rest], with_bias=False)[0])
        elif method == "temperature + class bias":
            t, b = fit(views[:, rest], y[rest], with_bias=True)
            out[own] = probabilities(views[:, own], t, b)
        else:
            temps = np.ones(views.shape[-1])
            for c in range(views.shape[-1]):
                picked = rest & (decided == c)
                if picked.any():
                    temps[c] = fit(views[:, picked], y[picked], with_bias=False)[0]
            out[own] = probabilities(views[:, own], temps[decided[own]])
    return out


def main(run: str, seeds: str) -> None:
    torch.set_num_threads(1)
    views, y, owner = load(Path(run), [int(s) for s in seeds.split(",")])
    print(f"{run} seeds {seeds}: {len(y)} clips, {views.shape[0]} views")
    for method in ("temperature", "temperature + class bias", "temperature per predicted class"):
        p = cross_fitted(views, y, owner, method)
        s = score(y, p.argmax(1))
        floor = ece_if_calibrated(p)
        print(f"  {method:32s} UF1 {s.uf1:.4f} UAR {s.uar:.4f}  ECE {expected_calibration_error(p, y)[0]:.4f} "
              f"(15 bins {expected_calibration_error(p, y, 15)[0]:.4f}; perfectly calibrated 95 % under "
              f"{floor['p95']:.4f})  NLL {negative_log_likelihood(p, y):.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
