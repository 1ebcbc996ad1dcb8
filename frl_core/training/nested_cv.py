"""Nested subject-grouped cross-validation: what choosing a recipe on the same clips is worth.

    python main.py nested-cv --candidate headline=configs/megc2019_flow.toml \\
        --candidate v1_12ep=results/megc2019_flow_loso_v1_12ep/config.resolved.toml \\
        --candidate au=configs/megc2019_flow_au.toml --outer 5 --inner 3 --cv-seeds 1,2,3 \\
        --out results/nested_cv

The headline recipe was chosen by trials scored on every clip, so each test subject helped choose it. Here
each outer fold chooses among the candidates by an inner subject-grouped CV of its own training subjects
only, then trains the chosen one on all of them and predicts its test subjects: the pooled outer UF1 is an
estimate no test clip influenced. The same outer folds also train every candidate, so the figure of the
candidate that scores best on the outer test clips themselves (what a search on the same clips reports)
comes from the same runs. Outer folds are :func:`recipe_cv.grouped_folds` (round-robin subjects), inner
folds :func:`calibration.inner_subject_folds`; every training's seed depends only on the seed, the outer
fold, the inner fold and the candidate, so a rerun gives the same numbers on CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from frl_core.metrics import score
from frl_core.training.config import load_config, validate


def nested_cross_validate(candidates: dict[str, dict[str, Any]], outer_k: int, inner_k: int, seeds: list[int],
                          threads: int = 1, log=print) -> dict[str, Any]:
    """Per seed: the nested UF1/UAR (the recipe chosen inside each outer fold), every candidate's outer
    UF1/UAR, the per-fold choices and per-clip predictions."""
    import torch

    from frl_core.training.calibration import inner_subject_folds
    from frl_core.training.loop import fit_predict
    from frl_core.training.recipe_cv import grouped_folds
    from frl_core.training.samples import samples_for

    if len(candidates) < 2:
        raise ValueError("nested CV needs at least two candidate recipes")
    if threads > 0:
        torch.set_num_threads(threads)
    device = torch.device("cpu")
    names = list(candidates)
    samples = {name: samples_for(cfg) for name, cfg in candidates.items()}
    first = samples[names[0]]
    for name in names[1:]:
        if samples[name].keys != first.keys or not np.array_equal(samples[name].labels, first.labels):
            raise ValueError(f"candidate {name!r} reads other clips than {names[0]!r}: compare recipes on one set")
    subjects = first.subjects
    labels = np.asarray(first.labels)
    n_classes = len(first.class_names)
    started = time.perf_counter()
    per_seed = []
    for seed in seeds:
        outer_probs = {name: np.zeros((len(labels), n_classes)) for name in names}
        chosen_of_clip = np.empty(len(labels), dtype=object)
        fold_of_clip = np.zeros(len(labels), dtype=int)
        folds = []
        for f, (train_idx, test_idx) in enumerate(grouped_folds(subjects, outer_k)):
            inner = inner_subject_folds(subjects, train_idx, inner_k, seed * 1000 + f)
            inner_uf1 = {}
            for c, name in enumerate(names):
                truth, pred = [], []
                for i, (tr, te) in enumerate(inner):
                    probs = fit_predict(candidates[name], samples[name], tr, te,
                                        seed * 1_000_000 + f * 10_000 + i * 100 + c, device)
                    truth.append(labels[te])
                    pred.append(probs.argmax(1))
                inner_uf1[name] = score(np.concatenate(truth), np.concatenate(pred), n_classes).uf1
            chosen = max(names, key=lambda n: (inner_uf1[n], -names.index(n)))
            for c, name in enumerate(names):
                outer_probs[name][test_idx] = fit_predict(candidates[name], samples[name], train_idx, test_idx,
                                                          seed * 1_000_000 + f * 10_000 + 9_900 + c, device)
            chosen_of_clip[test_idx] = chosen
            fold_of_clip[test_idx] = f
            folds.append({"fold": f, "test_subjects": sorted(set(np.asarray(subjects)[test_idx].tolist())),
                          "inner_uf1": inner_uf1, "chosen": chosen})
            log(f"seed {seed} outer fold {f + 1}/{outer_k}: inner UF1 "
                + ", ".join(f"{n} {v:.4f}" for n, v in inner_uf1.items())
                + f" -> {chosen} ({time.perf_counter() - started:.0f} s)")
        nested_pred = np.array([outer_probs[chosen_of_clip[i]][i].argmax() for i in range(len(labels))])
        nested = score(labels, nested_pred, n_classes)
        each = {name: score(labels, outer_probs[name].argmax(1), n_classes) for name in names}
        best_on_test = max(names, key=lambda n: each[n].uf1)
        per_seed.append({
            "seed": seed,
            "nested": {"uf1": nested.uf1, "uar": nested.uar},
            "candidates": {n: {"uf1": s.uf1, "uar": s.uar} for n, s in each.items()},
            "best_on_the_test_clips": best_on_test,
            "folds": folds,
            # the columns of a LOSO run's predictions.csv (README's recompute script reads them): ``pred`` is
            # the nested prediction, ``pred_<candidate>`` each candidate's on the same outer fold
            "predictions": [{"seed": seed, "fold": int(fold_of_clip[i]), "subject": subjects[i],
                             "dataset": first.datasets[i], "clip": first.keys[i], "true": int(labels[i]),
                             "pred": int(nested_pred[i]), "chosen": chosen_of_clip[i],
                             **{f"pred_{n}": int(outer_probs[n][i].argmax()) for n in names}}
                            for i in range(len(labels))],
        })
        log(f"seed {seed}: nested UF1 {nested.uf1:.4f} UAR {nested.uar:.4f}; on the outer test clips "
            + ", ".join(f"{n} {s.uf1:.4f}" for n, s in each.items()) + f" (best there: {best_on_test})")
    return {"candidates": names, "outer_folds": outer_k, "inner_folds": inner_k, "per_seed": per_seed,
            "class_names": list(first.class_names), "wall_seconds": time.perf_counter() - started}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Seed means: nested, each candidate, and the best candidate on the outer test clips (per seed)."""
    rows = result["per_seed"]

    def mean_sd(values: list[float]) -> tuple[float, float]:
        return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    out = {"nested_uf1": mean_sd([r["nested"]["uf1"] for r in rows]),
           "nested_uar": mean_sd([r["nested"]["uar"] for r in rows]),
           "best_on_test_uf1": mean_sd([r["candidates"][r["best_on_the_test_clips"]]["uf1"] for r in rows]),
           "best_on_test_uar": mean_sd([r["candidates"][r["best_on_the_test_clips"]]["uar"] for r in rows])}
    for name in result["candidates"]:
        out[f"{name}_uf1"] = mean_sd([r["candidates"][name]["uf1"] for r in rows])
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--candidate", action="append", required=True, metavar="NAME=CONFIG",
                        help="a candidate recipe (two or three; the issue's budget is three)")
    parser.add_argument("--outer", type=int, default=5, help="outer subject-grouped folds")
    parser.add_argument("--inner", type=int, default=3, help="inner subject-grouped folds")
    parser.add_argument("--cv-seeds", default="1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for nested_seed<N>.json (choices, scores) and predictions_seed<N>.csv")


def run(args: argparse.Namespace) -> int:
    candidates: dict[str, dict[str, Any]] = {}
    for spec in args.candidate:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            print(f"error: --candidate takes NAME=CONFIG, got {spec!r}")
            return 2
        config = load_config(path)
        config["train"]["calibration_folds"] = 0  # labels only: calibration does not change them
        validate(config)
        candidates[name] = config
    seeds = [int(s) for s in args.cv_seeds.split(",") if s.strip()]
    if args.outer < 2 or args.inner < 2 or not seeds:
        print("error: --outer and --inner must be at least 2, and --cv-seeds name a seed")
        return 2
    try:
        result = nested_cross_validate(candidates, args.outer, args.inner, seeds, args.threads)
    except ValueError as err:
        print(f"error: {err}")
        return 2
    if args.out is not None:
        import pandas as pd

        args.out.mkdir(parents=True, exist_ok=True)
        for row in result["per_seed"]:
            pd.DataFrame(row["predictions"]).to_csv(args.out / f"predictions_seed{row['seed']}.csv", index=False)
            record = {k: v for k, v in row.items() if k != "predictions"}
            record.update({"candidates_order": result["candidates"], "outer_folds": result["outer_folds"],
                           "inner_folds": result["inner_folds"], "class_names": result["class_names"]})
            (args.out / f"nested_seed{row['seed']}.json").write_text(json.dumps(record, indent=1))
    s = summary(result)
    print(f"nested ({args.outer} outer x {args.inner} inner folds, seeds {args.cv_seeds}): UF1 "
          f"{s['nested_uf1'][0]:.4f} ± {s['nested_uf1'][1]:.4f}, UAR {s['nested_uar'][0]:.4f} ± {s['nested_uar'][1]:.4f}")
    print(f"the candidate best on the outer test clips (a search on the same clips): UF1 "
          f"{s['best_on_test_uf1'][0]:.4f} ± {s['best_on_test_uf1'][1]:.4f}, UAR {s['best_on_test_uar'][0]:.4f}")
    print("each candidate on the outer folds: " + ", ".join(
        f"{n} {s[f'{n}_uf1'][0]:.4f}" for n in result["candidates"]))
    print(f"{result['wall_seconds']:.0f} s")
    return 0
