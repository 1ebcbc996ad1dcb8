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

``--outer loso`` makes the outer loop the headline's own protocol (one fold per subject). That is 9 inner
trainings a fold for three candidates, so each (seed, fold) is a task of its own, run on ``--workers`` or
Ray and on a GPU if asked, written to ``--out`` as it finishes (a rerun resumes). A fold trains its chosen
recipe on all its training subjects unless ``--outer-predictions`` gives that recipe's own LOSO run, which
is the same training from another seed.
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


def _check_same_clips(samples: dict[str, Any]) -> None:
    """Candidates are compared on one set of clips and labels, or not at all."""
    names = list(samples)
    first = samples[names[0]]
    for name in names[1:]:
        if samples[name].keys != first.keys or not np.array_equal(samples[name].labels, first.labels):
            raise ValueError(f"candidate {name!r} reads other clips than {names[0]!r}: compare recipes on one set")


def choose_by_inner_cv(candidates: dict[str, dict[str, Any]], samples: dict[str, Any], train_idx: np.ndarray,
                       inner_k: int, seed: int, fold: int, device) -> tuple[dict[str, float], str]:
    """Each candidate's pooled UF1 over ``inner_k`` subject-grouped folds of an outer fold's training clips,
    and the candidate it picks (the first listed on a tie). Seeds depend on the seed, fold, inner fold and
    candidate only."""
    from frl_core.training.calibration import inner_subject_folds
    from frl_core.training.loop import fit_predict

    names = list(candidates)
    first = samples[names[0]]
    labels = np.asarray(first.labels)
    inner = inner_subject_folds(first.subjects, train_idx, inner_k, seed * 1000 + fold)
    inner_uf1 = {}
    for c, name in enumerate(names):
        truth, pred = [], []
        for i, (tr, te) in enumerate(inner):
            probs = fit_predict(candidates[name], samples[name], tr, te,
                                seed * 1_000_000 + fold * 10_000 + i * 100 + c, device)
            truth.append(labels[te])
            pred.append(probs.argmax(1))
        inner_uf1[name] = score(np.concatenate(truth), np.concatenate(pred), len(first.class_names)).uf1
    return inner_uf1, max(names, key=lambda n: (inner_uf1[n], -names.index(n)))


def nested_cross_validate(candidates: dict[str, dict[str, Any]], outer_k: int, inner_k: int, seeds: list[int],
                          threads: int = 1, log=print) -> dict[str, Any]:
    """Per seed: the nested UF1/UAR (the recipe chosen inside each outer fold), every candidate's outer
    UF1/UAR, the per-fold choices and per-clip predictions."""
    import torch

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
    _check_same_clips(samples)
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
            inner_uf1, chosen = choose_by_inner_cv(candidates, samples, train_idx, inner_k, seed, f, device)
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


# --- LOSO as the outer loop -------------------------------------------------------------------------------

_SAMPLES: dict[str, Any] = {}
"""This worker's loaded clips, one set per candidate config (the AU recipe reads AU labels too)."""


def _candidate_samples(config: dict[str, Any]):
    from frl_core.training.config import fingerprint
    from frl_core.training.samples import samples_for

    key = fingerprint(config)
    if key not in _SAMPLES:
        _SAMPLES[key] = samples_for(config)
    return _SAMPLES[key]


def loso_fold_task(task: dict[str, Any]) -> dict[str, Any]:
    """One outer LOSO fold of one seed: each candidate's inner CV on the fold's training subjects, the
    choice, and (unless the chosen recipe's own LOSO predictions are reused) the chosen recipe trained on
    all training subjects and its probabilities on the held-out subject. Writes and returns the record."""
    from frl_core.training.loop import fit_predict, resolve_device
    from frl_core.training.loso import protocol_folds

    started = time.perf_counter()
    candidates = task["candidates"]
    names = list(candidates)
    seed, subject = int(task["seed"]), task["subject"]
    device = resolve_device(task["device"])
    samples = {name: _candidate_samples(cfg) for name, cfg in candidates.items()}
    first = samples[names[0]]
    fold = next(fold for fold in protocol_folds(candidates[names[0]], first) if fold.test_subject == subject)
    f = fold.number  # the subject's place among all folds, so a run of a subset trains from the same seeds
    train_idx, test_idx = fold.train_indices, fold.test_indices
    inner_uf1, chosen = choose_by_inner_cv(candidates, samples, train_idx, int(task["inner_k"]), seed, f, device)
    record: dict[str, Any] = {"seed": seed, "subject": subject, "fold": f, "inner_uf1": inner_uf1,
                              "chosen": chosen, "clips": [first.keys[i] for i in test_idx],
                              "device": str(device)}
    if chosen in task["reused"]:
        record["outer"] = "reused"
    else:
        c = names.index(chosen)
        probs = fit_predict(candidates[chosen], samples[chosen], train_idx, test_idx,
                            seed * 1_000_000 + f * 10_000 + 9_900 + c, device)
        record.update({"outer": "trained", "probs": np.round(probs, 6).tolist()})
    record["seconds"] = round(time.perf_counter() - started, 1)
    path = Path(task["out_dir"]) / f"seed_{seed}" / f"{subject}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    return record


def _read_loso_predictions(path: Path, class_names: list[str]) -> dict[str, int]:
    """A LOSO run's ``predictions_seed<N>.csv``: clip -> predicted class index (names or indices)."""
    import pandas as pd

    table = pd.read_csv(path)
    index = {name: i for i, name in enumerate(class_names)}
    return {clip: int(index[p]) if p in index else int(p) for clip, p in zip(table["clip"], table["pred"])}


def nested_loso(candidates: dict[str, dict[str, Any]], inner_k: int, seeds: list[int], out_dir: Path,
                reuse: dict[str, str], device: str = "cpu", backend=None, log=print) -> dict[str, Any]:
    """Nested CV with LOSO as the outer loop (the headline's protocol). Each (seed, fold) is a task written
    to ``out_dir/seed_<s>/<subject>.json``, so an interrupted run resumes and tasks may run on any machine.
    ``reuse`` maps a candidate to its own LOSO run's ``predictions_seed{seed}.csv`` pattern: a fold that
    chooses it takes that run's prediction instead of training it again (the same training, another seed)."""
    from frl_core.parallel import InlineBackend, one_thread
    from frl_core.training.loso import protocol_folds

    if len(candidates) < 2:
        raise ValueError("nested CV needs at least two candidate recipes")
    names = list(candidates)
    unknown = sorted(set(reuse) - set(names))
    if unknown:
        raise ValueError(f"--outer-predictions names {unknown[0]!r}, which is not a candidate")
    samples = {name: _candidate_samples(cfg) for name, cfg in candidates.items()}
    first = samples[names[0]]
    _check_same_clips(samples)
    class_names = list(first.class_names)
    folds = protocol_folds(candidates[names[0]], first)
    reused: dict[int, dict[str, dict[str, int]]] = {}
    for seed in seeds:
        reused[seed] = {}
        for name, pattern in reuse.items():
            path = Path(pattern.format(seed=seed))
            if not path.is_file():
                raise ValueError(f"no LOSO predictions for {name!r} seed {seed}: {path}")
            reused[seed][name] = _read_loso_predictions(path, class_names)
    tasks = []
    for seed in seeds:
        for fold in folds:
            if not (out_dir / f"seed_{seed}" / f"{fold.test_subject}.json").is_file():
                tasks.append({"candidates": candidates, "seed": seed, "subject": fold.test_subject,
                              "inner_k": inner_k, "device": device, "out_dir": str(out_dir),
                              "reused": sorted(reused[seed])})
    backend = backend or InlineBackend()
    started = time.perf_counter()
    failed = []
    try:
        for done, (i, record, error) in enumerate(backend.run(loso_fold_task, tasks, setup=one_thread), 1):
            if error is not None:
                failed.append(f"seed {tasks[i]['seed']} {tasks[i]['subject']}: {error}")
                continue
            log(f"{done}/{len(tasks)} seed {record['seed']} {record['subject']}: inner UF1 "
                + ", ".join(f"{n} {v:.4f}" for n, v in record["inner_uf1"].items())
                + f" -> {record['chosen']} ({record['outer']}, {record['seconds']:.0f} s; "
                f"{time.perf_counter() - started:.0f} s)")
    finally:
        backend.shutdown()
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(tasks)} folds failed ({'; '.join(failed[:3])}); "
                           "rerun the same command to resume")
    per_seed = []
    labels = np.asarray(first.labels)
    row_of = {clip: i for i, clip in enumerate(first.keys)}
    for seed in seeds:
        pred = np.full(len(labels), -1)
        chosen = np.empty(len(labels), dtype=object)
        fold_records = []
        for fold in folds:
            record = json.loads((out_dir / f"seed_{seed}" / f"{fold.test_subject}.json").read_text())
            for k, clip in enumerate(record["clips"]):
                i = row_of[clip]
                chosen[i] = record["chosen"]
                pred[i] = (reused[seed][record["chosen"]][clip] if record["outer"] == "reused"
                           else int(np.argmax(record["probs"][k])))
            fold_records.append({k: record[k] for k in ("subject", "inner_uf1", "chosen", "outer", "seconds",
                                                        "device")})
        held = pred >= 0  # every clip, unless protocol.subjects names a subset of folds
        nested = score(labels[held], pred[held], len(class_names))
        each = {name: score(labels[held], np.array([reused[seed][name][c] for c in np.asarray(first.keys)[held]]),
                            len(class_names)) for name in reused[seed]}
        per_seed.append({
            "seed": seed, "nested": {"uf1": nested.uf1, "uar": nested.uar},
            "reused_loso": {n: {"uf1": s.uf1, "uar": s.uar} for n, s in each.items()},
            "chosen_counts": {n: int(sum(r["chosen"] == n for r in fold_records)) for n in names},
            "folds": fold_records,
            "predictions": [{"seed": seed, "fold": first.subjects[i], "subject": first.subjects[i],
                             "dataset": first.datasets[i], "clip": first.keys[i], "true": int(labels[i]),
                             "pred": int(pred[i]), "chosen": chosen[i]} for i in np.flatnonzero(held)],
        })
        log(f"seed {seed}: nested (LOSO outer) UF1 {nested.uf1:.4f} UAR {nested.uar:.4f}; chosen "
            + ", ".join(f"{n} x{c}" for n, c in per_seed[-1]["chosen_counts"].items())
            + "".join(f"; {n}'s own LOSO {s.uf1:.4f}" for n, s in each.items()))
    return {"candidates": names, "inner_folds": inner_k, "per_seed": per_seed, "class_names": class_names,
            "wall_seconds": time.perf_counter() - started}



def add_arguments(parser: argparse.ArgumentParser) -> None:
    from frl_core.parallel import add_backend_arguments

    parser.add_argument("--candidate", action="append", required=True, metavar="NAME=CONFIG",
                        help="a candidate recipe (two or three; the issue's budget is three)")
    parser.add_argument("--outer", default="5", metavar="K|loso",
                        help="outer folds: K subject-grouped folds, or loso (one per subject, the headline's "
                             "protocol; needs --out, resumes from it)")
    parser.add_argument("--inner", type=int, default=3, help="inner subject-grouped folds")
    parser.add_argument("--cv-seeds", default="1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--outer-predictions", action="append", default=[], metavar="NAME=CSV",
                        help="with --outer loso: a candidate's own LOSO predictions_seed{seed}.csv, used for the "
                             "folds that choose it instead of training it again")
    parser.add_argument("--device", default="cpu", help="with --outer loso: cpu, cuda or auto")
    add_backend_arguments(parser, "with --outer loso: train the outer folds", "1, one fold after another")
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
    loso = str(args.outer).strip().lower() == "loso"
    if not loso and not str(args.outer).strip().isdigit():
        print(f"error: --outer takes a number of folds or loso, got {args.outer!r}")
        return 2
    if (not loso and int(args.outer) < 2) or args.inner < 2 or not seeds:
        print("error: --outer and --inner must be at least 2, and --cv-seeds name a seed")
        return 2
    if loso:
        return _run_loso(args, candidates, seeds)
    args.outer = int(args.outer)
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


def _run_loso(args: argparse.Namespace, candidates: dict[str, dict[str, Any]], seeds: list[int]) -> int:
    from frl_core.parallel import BackendError, make_backend

    if args.out is None:
        print("error: --outer loso needs --out (each fold's record is written there, so a run can resume)")
        return 2
    reuse: dict[str, str] = {}
    for spec in args.outer_predictions:
        name, sep, pattern = spec.partition("=")
        if not sep or not name or not pattern:
            print(f"error: --outer-predictions takes NAME=CSV, got {spec!r}")
            return 2
        reuse[name] = pattern
    try:
        backend = make_backend(args.workers or 1, args.ray)
        result = nested_loso(candidates, args.inner, seeds, args.out, reuse, args.device, backend)
    except (ValueError, RuntimeError, BackendError) as err:
        print(f"error: {err}")
        return 2
    import pandas as pd

    for row in result["per_seed"]:
        pd.DataFrame(row["predictions"]).to_csv(args.out / f"predictions_seed{row['seed']}.csv", index=False)
        record = {k: v for k, v in row.items() if k != "predictions"}
        record.update({"candidates_order": result["candidates"], "outer_folds": "loso",
                       "inner_folds": result["inner_folds"], "class_names": result["class_names"],
                       "reused_outer_predictions": reuse})
        (args.out / f"nested_seed{row['seed']}.json").write_text(json.dumps(record, indent=1))
    rows = result["per_seed"]
    uf1 = [r["nested"]["uf1"] for r in rows]
    uar = [r["nested"]["uar"] for r in rows]
    sd_uf1, sd_uar = (float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for v in (uf1, uar))
    print(f"nested (LOSO outer x {args.inner} inner folds, seeds {args.cv_seeds}): UF1 {np.mean(uf1):.4f} ± "
          f"{sd_uf1:.4f}, UAR {np.mean(uar):.4f} ± {sd_uar:.4f}")
    for name in reuse:
        own = [r["reused_loso"][name]["uf1"] for r in rows]
        print(f"{name}'s own LOSO runs on the same seeds (recipe chosen on the same clips): UF1 {np.mean(own):.4f}")
    print(f"{result['wall_seconds']:.0f} s")
    return 0
