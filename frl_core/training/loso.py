"""Leave-one-subject-out training and evaluation, generic over the model.

Any model works that follows the network contract: ``model(*inputs) -> logits`` and
``model.training_losses(batch) -> {"total": ...}``. Epochs and every hyperparameter come from the config
and are the same for every fold; the held-out subject is only ever predicted once, after training, so
nothing is chosen on it (no test-peeking). Each finished fold is written to ``folds/<subject>.json`` at
once, so an interrupted run resumes at the first unfinished fold.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from frl_core.models.ststnet import STSTNetClassifier
from frl_core.training.config import fingerprint, save_resolved
from frl_core.training.samples import SampleSet, load_samples
from frl_core.training.folds import Fold, TrainingError, check_disjoint, make_folds, read_fold_record
from frl_core.training.loop import (build_model, fit_calibration, fit_members, machine_description,
                                    predict_logits, predict_members, set_determinism, total_epochs)
from frl_core.training.report import prediction_rows, summarise, write_predictions


def held_out_groups(config: dict[str, Any], samples: SampleSet) -> list[str]:
    """What a fold holds out: a subject (LOSO, the default) or a whole dataset (``protocol.hold_out =
    "dataset"``: train on two of SMIC / CASME II / SAMM, test on the third)."""
    return list(samples.datasets) if config["protocol"].get("hold_out", "subject") == "dataset" else samples.subjects


def prepare_run_dir(config: dict[str, Any], out_dir: Path) -> str:
    """Claim ``out_dir`` for this configuration (refusing one that holds another's folds); its fingerprint."""
    fp = fingerprint(config)
    marker = out_dir / "fingerprint.txt"
    if marker.is_file() and marker.read_text().strip() != fp:
        raise TrainingError(
            f"{out_dir} holds a run with a different configuration; choose another output folder or delete it"
        )
    (out_dir / "folds").mkdir(parents=True, exist_ok=True)
    marker.write_text(fp + "\n")
    save_resolved(config, out_dir)
    return fp


def protocol_folds(config: dict[str, Any], samples: SampleSet) -> list[Fold]:
    """The folds a config asks for (all, or those of ``protocol.subjects``), checked to be disjoint."""
    folds = make_folds(held_out_groups(config, samples), list(config["protocol"].get("subjects") or []))
    check_disjoint(folds, samples.subjects)
    return folds


def finished_fold(out_dir: Path, fold: Fold, fp: str, seed: int) -> dict[str, Any] | None:
    """The fold's record when this configuration and seed finished it already (a resumed run reuses it)."""
    path = out_dir / "folds" / f"{fold.test_subject}.json"
    if path.is_file():
        record = read_fold_record(path)
        if record.get("fingerprint") == fp and record.get("seed") == seed:
            return record
    return None


def train_fold(config: dict[str, Any], samples: SampleSet, fold: Fold, out_dir: Path, device: torch.device,
               seed: int, fp: str, show_progress: bool = False) -> dict[str, Any]:
    """Train one fold from its own seed, predict its held-out clips, write ``folds/<subject>.json``.

    Everything a fold computes depends only on the config, the samples, the fold and the seed, so folds
    may run in any order or in parallel worker processes with the same numbers (on CPU, one thread each).
    """
    from tqdm import tqdm

    path = out_dir / "folds" / f"{fold.test_subject}.json"
    fold_seed = seed * 1000 + fold.number
    set_determinism(fold_seed, device)
    model = build_model(config["model"], len(samples.class_names), samples.class_names)
    epoch_bar = tqdm(total=total_epochs(config), desc=f"  {fold.test_subject}", unit="ep",
                     leave=False, disable=not show_progress)

    def on_epoch(epoch: int, loss: float, _bar=epoch_bar) -> None:
        _bar.update(1)
        _bar.set_postfix(loss=f"{loss:.3f}")

    t0 = time.perf_counter()
    members, losses = fit_members(model, samples, fold.train_indices, config, device, fold_seed, on_epoch)
    train_seconds = time.perf_counter() - t0
    epoch_bar.close()
    probs = predict_members(members, samples, fold.test_indices, config, device)
    member_logits = [predict_logits(m, samples, fold.test_indices, config, device) for m in members]
    calibration = None
    if int(config["train"].get("calibration_folds", 0) or 0) > 1:
        from frl_core.training.calibration import calibrated_probabilities

        calibration = fit_calibration(samples, fold.train_indices, config, device, fold_seed)
        calibrated = np.mean([calibrated_probabilities(lg, lm, calibration["temperature"])
                              for lg, lm in member_logits], axis=0)
    record = {
        "subject": fold.test_subject,
        "fold": fold.number,
        "seed": seed,
        "fingerprint": fp,
        "indices": fold.test_indices.tolist(),
        "keys": [samples.keys[i] for i in fold.test_indices],
        "y_true": samples.labels[fold.test_indices].tolist(),
        "y_pred": probs.argmax(1).tolist(),
        "probabilities": np.round(probs, 5).tolist(),
        "logits": [np.round(lg, 5).tolist() for lg, _ in member_logits],
        "logits_mirrored": [None if lm is None else np.round(lm, 5).tolist() for _, lm in member_logits],
        "epoch_losses": [round(x, 5) for x in losses],
        "train_seconds": round(train_seconds, 3),
        "train_subjects": sorted(set(np.asarray(samples.subjects)[fold.train_indices].tolist())),
        "model_config": _model_config_record(model),
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }
    if calibration is not None:
        record["calibration"] = calibration
        record["calibrated_probabilities"] = np.round(calibrated, 5).tolist()
    if config["output"].get("save_checkpoints"):
        for k, member in enumerate(members):
            name = fold.test_subject if k == 0 else f"{fold.test_subject}_member{k}"
            _save_fold_checkpoint(member, out_dir / "checkpoints" / f"{name}.pt", config, fold, calibration)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)
    return record


def run_loso(
    config: dict[str, Any],
    out_dir: str | Path,
    device: torch.device,
    seed: int,
    show_progress: bool = True,
    samples: SampleSet | None = None,
) -> dict[str, Any]:
    """Run (or resume) one seed of a LOSO protocol; writes folds/*.json and report.json under out_dir."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    fp = prepare_run_dir(config, out_dir)
    threads = int(config["train"].get("threads", 0) or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    mode = config["model"].get("input_mode", "flow")
    if samples is None:
        samples = load_samples(config["protocol"], mode, int(config["model"].get("img_size", 224)))
    folds = protocol_folds(config, samples)
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    bar = tqdm(folds, desc=f"LOSO seed {seed}", unit="fold", disable=not show_progress)
    for fold in bar:
        record = finished_fold(out_dir, fold, fp, seed)
        if record is None:
            bar.set_postfix(subject=fold.test_subject)
            record = train_fold(config, samples, fold, out_dir, device, seed, fp, show_progress)
        records.append(record)
    bar.close()
    report = summarise(samples, records)
    report.update({
        "protocol": config["protocol"]["name"],
        "input_mode": mode,
        "data": samples.data_label,
        "semi_synthetic": bool(mode == "pair" and samples.semi_synthetic),
        "seed": seed,
        "fingerprint": fp,
        "model": config["model"],
        "train": {k: v for k, v in config["train"].items()},
        "wall_seconds_this_invocation": round(time.perf_counter() - started, 2),
        "train_seconds_all_folds": round(sum(r.get("train_seconds") or 0 for r in records), 2),
        "machine": machine_description(device),
    })
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    write_predictions(out_dir / "predictions.csv", prediction_rows(samples, records, seed))
    if "calibration" in report:
        from frl_core.training.calibration import reliability_diagram

        cal = report["calibration"]
        reliability_diagram(cal["reliability"], out_dir / "reliability.png",
                            f"pooled LOSO, calibrated: ECE {cal['ece_calibrated']:.3f} "
                            f"(uncalibrated {cal['ece_uncalibrated']:.3f})")
    return report


def _model_config_record(model: nn.Module) -> dict[str, Any]:
    """The full resolved model config (variant defaults included), so runs of different code versions differ visibly."""
    cfg = getattr(model, "config", None)
    if cfg is not None and hasattr(cfg, "to_dict"):
        return json.loads(json.dumps(cfg.to_dict(), default=str))
    return {"class": type(model).__name__}


def _save_fold_checkpoint(model: nn.Module, path: Path, config: dict[str, Any], fold: Fold,
                          calibration: dict[str, Any] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"protocol": config["protocol"]["name"], "held_out_subject": fold.test_subject,
                "train": config["train"], "model": config["model"]}
    metadata["inference"] = {"tta_hflip": bool(config["train"].get("tta_hflip", False)),
                             "temperature": float((calibration or {}).get("temperature", 1.0)),
                             "uncertain_below": float((calibration or {}).get("uncertain_below", 0.0))}
    if isinstance(model, STSTNetClassifier):
        torch.save({"state_dict": model.net.state_dict(), "metadata": metadata}, path)
        return
    from frl_core.models.checkpoint import save_checkpoint

    save_checkpoint(model, path, metadata=metadata)
