"""Subject-grouped K-fold cross-validation for choosing a recipe before any LOSO run.

    python main.py recipe-cv --config configs/megc2019_flow.toml --name ens3 \\
        --set train.ensemble=3 --cv-seeds 1,2 --append results/recipe_search.tsv

A recipe (epochs, augmentation, ensembling...) is chosen once for all LOSO folds from this CV's pooled
UF1, never per held-out subject. Subjects go to the K folds round-robin in order of first appearance, so
every fold mixes the three source datasets the same way each run; the split itself does not depend on the
seed, only the training does. Rows appended to the TSV read like the existing ones in
``results/recipe_search.tsv``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from frl_core.metrics import score
from frl_core.training.config import apply_override, load_config, parse_override, validate


def grouped_folds(subjects: list[str], k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) clip indices of K folds; each subject is in exactly one test set."""
    order = list(dict.fromkeys(subjects))
    arr = np.asarray(subjects)
    folds = []
    for f in range(k):
        test_subjects = set(order[f::k])
        mask = np.isin(arr, list(test_subjects))
        folds.append((np.flatnonzero(~mask), np.flatnonzero(mask)))
    return folds


def cross_validate(config: dict[str, Any], k: int, seeds: list[int], threads: int = 1) -> dict[str, Any]:
    """Pooled UF1/UAR of each seed over the K folds (also per source dataset), and their mean."""
    import torch

    from frl_core.training.loop import fit_predict
    from frl_core.training.samples import samples_for

    if threads > 0:
        torch.set_num_threads(threads)
    device = torch.device("cpu")
    samples = samples_for(config)
    per_seed = []
    started = time.perf_counter()
    for seed in seeds:
        y_true, y_pred, held = [], [], []
        for number, (train_idx, test_idx) in enumerate(grouped_folds(samples.subjects, k)):
            probs = fit_predict(config, samples, train_idx, test_idx, seed * 1000 + number, device)
            y_true.append(samples.labels[test_idx])
            y_pred.append(probs.argmax(1))
            held.append(test_idx)
        truth, pred = np.concatenate(y_true), np.concatenate(y_pred)
        s = score(truth, pred, len(samples.class_names))
        source = np.asarray(samples.datasets)[np.concatenate(held)]
        datasets = {}
        for name in dict.fromkeys(samples.datasets):
            d = score(truth[source == name], pred[source == name], len(samples.class_names))
            datasets[name] = {"uf1": d.uf1, "uar": d.uar}
        per_seed.append({"seed": seed, "uf1": s.uf1, "uar": s.uar, "datasets": datasets})
        parts = ", ".join(f"{name} {d['uf1']:.4f}/{d['uar']:.4f}" for name, d in datasets.items())
        print(f"seed {seed}: UF1 {s.uf1:.4f} UAR {s.uar:.4f} (UF1/UAR {parts})", flush=True)
    return {
        "uf1": float(np.mean([r["uf1"] for r in per_seed])),
        "uar": float(np.mean([r["uar"] for r in per_seed])),
        "per_seed": per_seed,
        "wall_seconds": time.perf_counter() - started,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cv-seeds", default="1,2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="trial")
    parser.add_argument("--note", default="", help="free text for the TSV's wall column")
    parser.add_argument("--append", help="TSV file to append the result row to")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    overrides: dict[str, Any] = {}
    for text in args.overrides:
        parts, value = parse_override(text)
        apply_override(config, parts, value)
        overrides.setdefault(parts[0], {})[".".join(parts[1:])] = value
    validate(config)
    seeds = [int(s) for s in args.cv_seeds.split(",") if s.strip()]
    result = cross_validate(config, args.folds, seeds, args.threads)
    line = (f"{args.name}\tUF1 {result['uf1']:.4f}\tUAR {result['uar']:.4f}\t"
            f"{result['wall_seconds']:.0f}s ({args.folds}-fold CV, seeds {args.cv_seeds}, "
            f"mean{'; ' + args.note if args.note else ''})"
            f"\t{json.dumps(overrides)}")
    print(line)
    if args.append:
        with Path(args.append).open("a") as fh:
            fh.write(line + "\n")
    return 0

