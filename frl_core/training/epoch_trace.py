"""How much choosing the epoch on the held-out subject inflates LOSO figures: a diagnostic, not a result.

    python main.py epoch-trace --config configs/megc2019_flow.toml --seed 1 \\
        --out results/epoch_trace_flow_seed1

Published LOSO figures on the MEGC2019 composite are often the best epoch *per fold*, picked on the
subject being tested (HTNet's public code keeps, for every fold, the epoch with the highest accuracy on
that subject). This project's recipe never does that: every fold trains the config's fixed epochs and is
predicted once. To say how far apart the two protocols are on the same model, this runs the same LOSO
folds with the same seeds and, after every epoch, predicts the held-out subject without touching
training (prediction draws no random numbers, so the last epoch's predictions equal an ordinary run's).
It reports three pooled figures side by side:

* ``last_epoch``: the honest figure (the config's fixed epochs), what ``main.py train`` reports;
* ``best_common_epoch``: one epoch for all folds, chosen on the pooled test UF1 (peeks once);
* ``best_epoch_per_fold``: each fold's epoch with the highest held-out accuracy, the first if tied
  (peeks once per subject; HTNet's protocol);
* ``random_guesses_best_epoch_per_fold``: the same per-fold choice among as many uniform random guesses
  as there are epochs, no model at all: what the choice is worth on these folds by itself.

The last three read the test labels to choose: they measure the protocol, they are never a model's figure.
Single-model configs only (no ``train.ensemble`` or ``extra_members``).

``--permute-train-labels`` is the control: every fold trains on its training clips with their labels
randomly permuted (class counts kept), so the model can learn nothing about the emotion, and is scored
against the true test labels. Its last epoch should sit at chance; whatever the per-fold choice adds on
top of that is what the choice alone is worth.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from frl_core.metrics import score
from frl_core.training.config import ConfigError, apply_override, load_config, parse_override, save_resolved, validate


def trace_fold(model, samples, fold, config: dict[str, Any], device, seed: int) -> np.ndarray:
    """(epochs, n_test, C) held-out probabilities after every epoch of one fold's training."""
    from frl_core.training.loop import predict, train_model

    per_epoch: list[np.ndarray] = []

    def after_epoch(_epoch: int, _loss: float) -> None:
        per_epoch.append(predict(model, samples, fold.test_indices, config, device))
        model.train()

    train_model(model, samples, fold.train_indices, config, device, seed, after_epoch)
    return np.stack(per_epoch)


def best_candidate(candidates: np.ndarray, y: np.ndarray) -> int:
    """Index of the row of ``candidates`` (K, n) with the highest accuracy on ``y`` (n,), the first if tied."""
    return int(np.argmax((candidates == y[None, :]).mean(1)))


def protocol_figures(y_true: list[np.ndarray], probs: list[np.ndarray], num_classes: int) -> dict[str, Any]:
    """Pooled UF1/UAR of the last epoch, of the best common epoch and of each fold's best epoch.

    ``y_true[f]`` (n_f,) and ``probs[f]`` (epochs, n_f, C) per fold.
    """
    truth = np.concatenate(y_true)
    preds = [p.argmax(2) for p in probs]
    epochs = preds[0].shape[0]
    by_epoch = [score(truth, np.concatenate([p[e] for p in preds]), num_classes) for e in range(epochs)]
    common = int(np.argmax([s.uf1 for s in by_epoch]))
    chosen = [best_candidate(p, t) for p, t in zip(preds, y_true)]
    per_fold = score(truth, np.concatenate([p[e] for p, e in zip(preds, chosen)]), num_classes)
    last = by_epoch[-1]
    return {
        "last_epoch": {"epoch": epochs, "uf1": last.uf1, "uar": last.uar},
        "best_common_epoch": {"epoch": common + 1, "uf1": by_epoch[common].uf1, "uar": by_epoch[common].uar},
        "best_epoch_per_fold": {"uf1": per_fold.uf1, "uar": per_fold.uar,
                                "epochs_chosen": [e + 1 for e in chosen]},
        "uf1_by_epoch": [round(s.uf1, 4) for s in by_epoch],
    }


def chance_with_per_fold_choice(y_true: list[np.ndarray], epochs: int, num_classes: int,
                                repeats: int = 20, seed: int = 0) -> dict[str, float]:
    """Pooled UF1/UAR of uniform random guesses when each fold keeps the best of ``epochs`` guesses.

    The arithmetic floor of the per-fold protocol: no model at all, only the choice on the test labels,
    over the same folds (sizes and labels) and the same number of candidates. Mean over ``repeats``.
    """
    rng = np.random.default_rng(seed)
    truth = np.concatenate(y_true)
    uf1, uar = [], []
    for _ in range(repeats):
        picked = []
        for y in y_true:
            guesses = rng.integers(0, num_classes, (epochs, len(y)))
            picked.append(guesses[best_candidate(guesses, y)])
        s = score(truth, np.concatenate(picked), num_classes)
        uf1.append(s.uf1)
        uar.append(s.uar)
    return {"epochs": epochs, "repeats": repeats, "uf1": float(np.mean(uf1)), "uar": float(np.mean(uar))}


def permuted_training_labels(samples, train_indices: np.ndarray, seed: int):
    """A view of ``samples`` whose training clips carry a random permutation of their own labels.

    Class counts are kept and test clips keep their labels (they are not read in training anyway); the
    flows, subjects and datasets are the same objects.
    """
    labels = samples.labels.copy()
    labels[train_indices] = np.random.default_rng(seed).permutation(labels[train_indices])
    return replace(samples, labels=labels)


def trace_epochs(config: dict[str, Any], seed: int, out_dir: Path, threads: int = 0,
        permute_train_labels: bool = False) -> dict[str, Any]:
    import torch

    from frl_core.training.folds import check_disjoint, make_folds

    from frl_core.training.loop import build_model, ensemble_size, set_determinism
    from frl_core.training.loso import held_out_groups
    from frl_core.training.report import prediction_rows, write_predictions
    from frl_core.training.samples import load_samples

    if ensemble_size(config) != 1 or config["train"].get("extra_members"):
        raise ConfigError("epoch_trace traces one model per fold: drop train.ensemble and train.extra_members")
    if threads > 0:
        torch.set_num_threads(threads)
    device = torch.device("cpu")
    mode = config["model"].get("input_mode", "flow")
    samples = load_samples(config["protocol"], mode, int(config["model"].get("img_size", 224)))
    folds = make_folds(held_out_groups(config, samples), list(config["protocol"].get("subjects") or []))
    check_disjoint(folds, samples.subjects)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_resolved(config, out_dir)
    y_true, probs, test_indices = [], [], []
    started = time.perf_counter()
    for fold in folds:
        fold_seed = seed * 1000 + fold.number
        set_determinism(fold_seed, device)
        model = build_model(config["model"], len(samples.class_names), samples.class_names)
        training = permuted_training_labels(samples, fold.train_indices, fold_seed) if permute_train_labels else samples
        probs.append(trace_fold(model, training, fold, config, device, fold_seed))
        y_true.append(samples.labels[fold.test_indices])
        test_indices.append(fold.test_indices)
        print(f"{fold.test_subject}: n={len(fold.test_indices)} last-epoch accuracy "
              f"{float((probs[-1][-1].argmax(1) == y_true[-1]).mean()):.3f}", flush=True)
    figures = protocol_figures(y_true, probs, len(samples.class_names))
    figures["random_guesses_best_epoch_per_fold"] = chance_with_per_fold_choice(
        y_true, len(probs[0]), len(samples.class_names))
    figures.update({"seed": seed, "folds": len(folds), "permuted_train_labels": permute_train_labels,
                    "wall_seconds": round(time.perf_counter() - started, 1),
                    "note": "best_common_epoch and best_epoch_per_fold choose with the test labels: "
                            "a measure of that protocol, not a figure of the model"})
    (out_dir / "epoch_trace.json").write_text(json.dumps(figures, indent=2))
    rows = []
    for epoch in range(len(probs[0])):
        records = [{"subject": fold.test_subject, "indices": idx.tolist(), "y_true": y.tolist(),
                    "y_pred": p[epoch].argmax(1).tolist(), "probabilities": p[epoch].tolist()}
                   for fold, idx, y, p in zip(folds, test_indices, y_true, probs)]
        rows += prediction_rows(samples, records, seed, epoch=epoch + 1)
    write_predictions(out_dir / "predictions_by_epoch.csv.gz", rows)
    return figures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--permute-train-labels", action="store_true",
                        help="control: train every fold on randomly permuted labels, score on the true ones")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        for text in args.overrides:
            apply_override(config, *parse_override(text))
        validate(config)
        figures = trace_epochs(config, args.seed, args.out, args.threads, args.permute_train_labels)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for key in ("last_epoch", "best_common_epoch", "best_epoch_per_fold", "random_guesses_best_epoch_per_fold"):
        f = figures[key]
        print(f"{key:36s} UF1 {f['uf1']:.4f}  UAR {f['uar']:.4f}" + (f"  (epoch {f['epoch']})" if "epoch" in f else ""))
    return 0

