"""Per-dataset logit correction (a per-dataset head restricted to a bias, or a per-class scale and bias) fitted
on each LOSO fold's inner held-out predictions (its calibration folds), applied to the fold's test clips by
their dataset: nested, no test clip is used.

Usage: PYTHONPATH=. python results/per_dataset_bias/ds_bias.py RUN/seed_N ...
(a LOSO seed folder trained with ``train.calibration_folds`` > 1, whose fold records keep the inner logits).
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from frl_core.data.megc2019 import Megc2019
from frl_core.metrics import score
from frl_core.paths import default_data_root

DS = Megc2019(default_data_root())
DATASET = np.array([c.dataset for c in DS.clips])


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def fit(logits: np.ndarray, y: np.ndarray, kind: str, balanced: bool, l2: float = 1e-2):
    """(bias, scale) minimising cross-entropy (class-balanced if asked) with a small pull to (0, 1)."""
    z, t = torch.tensor(logits, dtype=torch.float64), torch.tensor(y)
    classes = z.shape[1]
    weight = None
    if balanced:
        count = np.bincount(y, minlength=classes).astype(float)
        count[count == 0] = 1
        weight = torch.tensor(len(y) / (classes * count))
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    scale = torch.ones(classes, dtype=torch.float64, requires_grad=kind == "vector")
    opt = torch.optim.LBFGS([bias, scale] if kind == "vector" else [bias], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z * scale + bias, t, weight=weight)
        loss = loss + l2 * (bias ** 2).sum() + l2 * ((scale - 1) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return bias.detach().numpy(), scale.detach().numpy()


def run(run_dir: str, kind: str, balanced: bool):
    y_all, before, after = [], [], []
    for path in sorted(Path(run_dir, "folds").glob("*.json")):
        record = json.loads(path.read_text())
        cal = record["calibration"]
        inner = np.array(cal["inner_indices"])
        inner_logits = np.concatenate([np.array(cal["inner_logits"]), np.array(cal["inner_logits_mirrored"])])
        inner_y, inner_ds = np.tile(DS.labels[inner], 2), np.tile(DATASET[inner], 2)
        plain, mirrored = np.array(record["logits"])[0], np.array(record["logits_mirrored"])[0]
        test_ds = DATASET[np.array(record["indices"])]
        probs = (softmax(plain) + softmax(mirrored)) / 2
        adjusted = probs.copy()
        for d in set(test_ds):
            bias, scale = fit(inner_logits[inner_ds == d], inner_y[inner_ds == d], kind, balanced)
            k = test_ds == d
            adjusted[k] = (softmax(plain[k] * scale + bias) + softmax(mirrored[k] * scale + bias)) / 2
        y_all += list(record["y_true"])
        before += list(probs.argmax(1))
        after += list(adjusted.argmax(1))
    y_all, before, after = map(np.array, (y_all, before, after))
    return score(y_all, before, 3), score(y_all, after, 3)


if __name__ == "__main__":
    for run_dir in sys.argv[1:]:
        for kind in ("bias", "vector"):
            for balanced in (False, True):
                a, b = run(run_dir, kind, balanced)
                print(f"{run_dir} {kind} balanced={balanced}: UF1 {a.uf1:.4f} -> {b.uf1:.4f}  "
                      f"UAR {a.uar:.4f} -> {b.uar:.4f}")
