"""Leave-one-subject-out training and evaluation, generic over the model.

Any model works that follows the network contract: ``model(*inputs) -> logits`` and
``model.training_losses(batch) -> {"total": ...}``. Epochs and every hyperparameter come from the config
and are the same for every fold; the held-out subject is only ever predicted once, after training, so
nothing is chosen on it (no test-peeking). Each finished fold is written to ``folds/<subject>.json`` at
once, so an interrupted run resumes at the first unfinished fold.
"""

from __future__ import annotations

import json
import os
import platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from frl_core.metrics import score
from frl_core.models.ststnet import STSTNetClassifier
from frl_core.paths import REPO_ROOT
from frl_core.training.config import ConfigError, fingerprint, load_config, save_resolved
from frl_core.training.samples import SampleSet, load_samples, make_batch, mirror_batch, model_inputs


class TrainingError(RuntimeError):
    """A training or evaluation run cannot go on; the message says why."""


@dataclass(frozen=True)
class Fold:
    """One LOSO fold: the held-out subject and the clip indices of its train and test sets."""

    number: int
    test_subject: str
    train_indices: np.ndarray
    test_indices: np.ndarray


def make_folds(subjects: list[str], only: list[str] | None = None) -> list[Fold]:
    """One fold per subject, in order of first appearance; ``only`` restricts which folds are run."""
    order = list(dict.fromkeys(subjects))
    if only:
        unknown = [s for s in only if s not in order]
        if unknown:
            raise ConfigError(f"protocol.subjects names unknown subject(s): {', '.join(unknown)}")
    arr = np.asarray(subjects)
    folds = []
    for number, subject in enumerate(order):
        if only and subject not in only:
            continue
        folds.append(
            Fold(number, subject, np.flatnonzero(arr != subject), np.flatnonzero(arr == subject))
        )
    return folds


def check_disjoint(folds: list[Fold], subjects: list[str]) -> None:
    """Fail loudly if any subject is in both the train and the test set of a fold."""
    arr = np.asarray(subjects)
    for fold in folds:
        overlap = set(arr[fold.train_indices]) & set(arr[fold.test_indices])
        if overlap:
            raise TrainingError(f"fold {fold.test_subject}: subject(s) {sorted(overlap)} in both train and test")


def build_model(model_cfg: dict[str, Any], num_classes: int, class_names: tuple[str, ...]) -> nn.Module:
    """The model a config names: "ststnet" (flow only) or any FRL-DGT variant of frl_core.models."""
    cfg = dict(model_cfg)
    name = cfg.pop("name", "frl_dgt_small")
    if name == "ststnet":
        if cfg.get("input_mode", "flow") != "flow":
            raise ConfigError("ststnet only takes flow input: set model.input_mode = \"flow\"")
        return STSTNetClassifier(num_classes=num_classes)
    from frl_core.models import create_model

    cfg.setdefault("num_classes", num_classes)
    cfg.setdefault("class_names", tuple(class_names))
    return create_model(name, **cfg)


def set_determinism(seed: int, device: torch.device) -> None:
    """Seed every generator. On CPU the kernels this loop uses are deterministic already (a test checks
    two runs give identical probabilities); torch's deterministic-algorithms mode is not switched on
    because it made FRL-DGT training 4x slower on CPU without changing the numbers."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed_all(seed)


def resolve_device(name: str) -> torch.device:
    """The models' own device rule ("auto", "cpu", "cuda"), its failure as a TrainingError."""
    from frl_core.models.inference import DeviceError
    from frl_core.models.inference import resolve_device as models_resolve_device

    try:
        return models_resolve_device(name)
    except DeviceError as err:
        raise TrainingError(str(err)) from err


def _epoch_order(labels: np.ndarray, indices: np.ndarray, balanced: bool, rng: np.random.Generator,
                 size: int | None = None) -> np.ndarray:
    """This epoch's sample order: a shuffle, or (balanced) the same number of draws with class-equal odds.
    ``size`` draws that many instead (with replacement when balanced, a prefix of the shuffle when not)."""
    size = len(indices) if size is None else int(size)
    if not balanced:
        return rng.permutation(indices)[:size]
    lab = labels[indices]
    counts = np.bincount(lab, minlength=int(labels.max()) + 1).astype(np.float64)
    weights = 1.0 / counts[lab]
    return rng.choice(indices, size=size, replace=True, p=weights / weights.sum())


def train_model(
    model: nn.Module,
    samples: SampleSet,
    train_indices: np.ndarray,
    config: dict[str, Any],
    device: torch.device,
    seed: int,
    progress: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train for exactly train.epochs epochs on the given clips; returns the mean loss of each epoch."""
    tcfg = config["train"]
    mode = config["model"].get("input_mode", "flow")
    img_size = int(config["model"].get("img_size", 224))
    set_determinism(seed, device)
    rng = np.random.default_rng(seed)
    if mode == "pair" and int(tcfg.get("dgm_pretrain_steps", 0) or 0) > 0:
        from frl_core.training.dgm_pretrain import pretrain_dgm

        pretrain_dgm(model, samples, train_indices, tcfg, device, rng)
    model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=float(tcfg["lr"]), weight_decay=float(tcfg["weight_decay"]))
    epochs = int(tcfg["epochs"])
    bs = int(tcfg["batch_size"])
    # synthetic AU flow images of the training subjects' faces (au_augment), this many per real clip
    share = float(tcfg.get("au_augment", 0.0) or 0.0)
    synthetic = samples.augment_indices(train_indices) if share > 0 else np.zeros(0, np.int64)
    n_synthetic = int(round(share * len(train_indices))) if len(synthetic) else 0
    steps_per_epoch = max(1, int(np.ceil((len(train_indices) + n_synthetic) / bs)))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=float(tcfg["lr"]), total_steps=max(1, epochs * steps_per_epoch), pct_start=0.1
    )
    losses = []
    for epoch in range(epochs):
        balanced = bool(tcfg.get("balanced_sampling", True))
        order = _epoch_order(samples.all_labels, train_indices, balanced, rng)
        if n_synthetic:
            extra = _epoch_order(samples.all_labels, synthetic, balanced, rng, n_synthetic)
            order = rng.permutation(np.concatenate([order, extra]))
        total, n = 0.0, 0
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            if len(idx) < 2:
                continue
            batch = make_batch(samples, idx, mode, img_size, True, rng, bool(tcfg.get("hflip", True)))
            batch = {k: v.to(device) for k, v in batch.items()}
            loss = model.training_losses(batch)["total"]
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        losses.append(total / max(n, 1))
        if progress is not None:
            progress(epoch, losses[-1])
    model.eval()
    return losses


@torch.no_grad()
def predict(
    model: nn.Module, samples: SampleSet, indices: np.ndarray, config: dict[str, Any], device: torch.device
) -> np.ndarray:
    """Class probabilities (len(indices), C) of a trained model, in eval mode.

    With ``train.tta_hflip`` the probabilities are averaged with those of the mirrored input (a fixed part
    of the recipe, the same for every fold, not tuned on a held-out subject).
    """
    mode = config["model"].get("input_mode", "flow")
    img_size = int(config["model"].get("img_size", 224))
    bs = int(config["train"].get("eval_batch_size", 64))
    tta_hflip = bool(config["train"].get("tta_hflip", False))
    model.eval()
    out = []
    for start in range(0, len(indices), bs):
        batch = make_batch(samples, indices[start:start + bs], mode, img_size, False, None)
        probs = torch.softmax(model(*model_inputs(batch, mode, device)).float(), dim=1)
        if tta_hflip:
            mirrored = mirror_batch(batch)
            probs = (probs + torch.softmax(model(*model_inputs(mirrored, mode, device)).float(), dim=1)) / 2
        out.append(probs.cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(samples.class_names)), np.float32)


@torch.no_grad()
def predict_logits(
    model: nn.Module, samples: SampleSet, indices: np.ndarray, config: dict[str, Any], device: torch.device
) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits (len(indices), C) of a trained model and, with ``train.tta_hflip``, of the mirrored inputs
    (None otherwise): what :func:`predict` averages, before the softmax, for calibration."""
    mode = config["model"].get("input_mode", "flow")
    img_size = int(config["model"].get("img_size", 224))
    bs = int(config["train"].get("eval_batch_size", 64))
    tta_hflip = bool(config["train"].get("tta_hflip", False))
    model.eval()
    plain, mirrored = [], []
    for start in range(0, len(indices), bs):
        batch = make_batch(samples, indices[start:start + bs], mode, img_size, False, None)
        plain.append(model(*model_inputs(batch, mode, device)).float().cpu().numpy())
        if tta_hflip:
            mirrored.append(model(*model_inputs(mirror_batch(batch), mode, device)).float().cpu().numpy())
    c = len(samples.class_names)
    first = np.concatenate(plain) if plain else np.zeros((0, c), np.float32)
    return first, (np.concatenate(mirrored) if mirrored else (np.zeros((0, c), np.float32) if tta_hflip else None))


def fit_calibration(
    samples: SampleSet, train_indices: np.ndarray, config: dict[str, Any], device: torch.device, fold_seed: int
) -> dict[str, Any]:
    """Temperature and uncertainty threshold from ``train.calibration_folds`` inner subject-grouped folds
    of the training subjects (same recipe, one model per inner fold): never sees the test subject."""
    from frl_core.training.calibration import (
        calibrated_probabilities, choose_uncertain_threshold, expected_calibration_error, fit_temperature,
        inner_subject_folds)

    k = int(config["train"].get("calibration_folds", 0) or 0)
    folds = inner_subject_folds(samples.subjects, train_indices, k, fold_seed + 700_001)
    logits, mirrored, labels = [], [], []
    for j, (inner_train, inner_test) in enumerate(folds):
        inner_seed = fold_seed + 500_009 * (j + 1)
        set_determinism(inner_seed, device)
        model = build_model(config["model"], len(samples.class_names), samples.class_names)
        train_model(model, samples, inner_train, config, device, inner_seed)
        plain, mirror = predict_logits(model, samples, inner_test, config, device)
        logits.append(plain)
        if mirror is not None:
            mirrored.append(mirror)
        labels.append(samples.labels[inner_test])
    oof = np.concatenate(logits)
    oof_m = np.concatenate(mirrored) if mirrored else None
    y = np.concatenate(labels)
    temperature = fit_temperature(oof, y, oof_m)
    probs = calibrated_probabilities(oof, oof_m, temperature)
    threshold = choose_uncertain_threshold(probs, y, float(config["train"].get("uncertain_max_accuracy", 0.5)))
    return {
        "temperature": round(temperature, 6),
        "uncertain_below": round(threshold, 6),
        "inner_indices": np.concatenate([held for _, held in folds]).tolist(),
        "inner_logits": np.round(oof, 5).tolist(),
        "inner_logits_mirrored": None if oof_m is None else np.round(oof_m, 5).tolist(),
        "inner_folds": len(folds),
        "inner_clips": int(len(y)),
        "inner_ece_before": expected_calibration_error(calibrated_probabilities(oof, oof_m, 1.0), y)[0],
        "inner_ece_after": expected_calibration_error(probs, y)[0],
    }


def ensemble_size(config: dict[str, Any]) -> int:
    """``train.ensemble``: how many models each fold trains (different seeds, same data); 1 = one model."""
    k = int(config["train"].get("ensemble", 1))
    if k < 1:
        raise ConfigError(f"train.ensemble must be >= 1, not {k}")
    return k


MEMBER_CONFIGS: dict[str, str] = {"ststnet": "ststnet_flow.toml"}
"""The config file (in configs/) whose recipe each network ``train.extra_members`` may name trains with,
so a member trains as it does alone."""

_RECIPE_KEYS = ("epochs", "lr", "weight_decay", "batch_size")


def extra_member_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The config each ``train.extra_members`` entry trains with: its model and recipe, the rest shared."""
    out = []
    for name in config["train"].get("extra_members", []) or []:
        if name not in MEMBER_CONFIGS:
            raise ConfigError(f"train.extra_members: unknown member {name!r} (known: {', '.join(MEMBER_CONFIGS)})")
        own = load_config(REPO_ROOT / "configs" / MEMBER_CONFIGS[name])
        recipe = {k: own["train"][k] for k in _RECIPE_KEYS}
        member = {**config, "model": {"name": name, "input_mode": config["model"].get("input_mode", "flow")},
                  "train": {**config["train"], **recipe}}
        out.append(member)
    return out


def total_epochs(config: dict[str, Any]) -> int:
    """Epochs one fold trains over all ensemble members (for its progress bar)."""
    return int(config["train"]["epochs"]) * ensemble_size(config) + sum(
        int(m["train"]["epochs"]) for m in extra_member_configs(config))


def fit_members(
    model: nn.Module,
    samples: SampleSet,
    train_indices: np.ndarray,
    config: dict[str, Any],
    device: torch.device,
    seed: int,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[list[nn.Module], list[float]]:
    """Train ``model`` and, with ``train.ensemble`` = K > 1, K - 1 more of the same config on the same
    clips from other seeds, then one of each ``train.extra_members`` network with its own recipe. The
    first member uses ``seed`` itself, so K = 1 without extra members is exactly one model. Returns the
    members and the first member's epoch losses."""
    members = [model]
    losses = train_model(model, samples, train_indices, config, device, seed, progress)
    specs = [(config, seed + 100_003 * k) for k in range(1, ensemble_size(config))]
    specs += [(extra, seed + 200_003 * j) for j, extra in enumerate(extra_member_configs(config), start=1)]
    for member_config, member_seed in specs:
        set_determinism(member_seed, device)
        member = build_model(member_config["model"], len(samples.class_names), samples.class_names)
        train_model(member, samples, train_indices, member_config, device, member_seed, progress)
        members.append(member)
    return members, losses


def predict_members(
    members: list[nn.Module], samples: SampleSet, indices: np.ndarray, config: dict[str, Any], device: torch.device
) -> np.ndarray:
    """The ensemble's class probabilities: the mean of its members' (each with its own mirror TTA)."""
    return np.mean([predict(m, samples, indices, config, device) for m in members], axis=0)


def machine_description(device: torch.device) -> dict[str, Any]:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def summarise(samples: SampleSet, fold_records: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled UF1/UAR over all finished folds, the per-dataset breakdown and per-fold figures."""
    num_classes = len(samples.class_names)
    idx = (np.concatenate([np.asarray(r["indices"], dtype=np.int64) for r in fold_records]) if fold_records
           else np.zeros(0, np.int64))
    y_true = np.concatenate([np.asarray(r["y_true"], dtype=np.int64) for r in fold_records]) if fold_records else idx
    y_pred = np.concatenate([np.asarray(r["y_pred"], dtype=np.int64) for r in fold_records]) if fold_records else idx
    pooled = score(y_true, y_pred, num_classes)
    datasets = np.asarray(samples.datasets)[idx] if len(idx) else np.asarray([])
    per_dataset = {}
    for name in dict.fromkeys(samples.datasets):
        mask = datasets == name
        if mask.any():
            per_dataset[name] = score(y_true[mask], y_pred[mask], num_classes).as_dict()
    per_fold = []
    for r in fold_records:
        s = score(r["y_true"], r["y_pred"], num_classes)
        per_fold.append({
            "subject": r["subject"], "n": s.n, "uf1": s.uf1, "uar": s.uar, "accuracy": s.accuracy,
            "train_seconds": r.get("train_seconds"),
        })
    out = {
        "class_names": list(samples.class_names),
        "pooled": pooled.as_dict(),
        "per_dataset": per_dataset,
        "per_fold": per_fold,
        "folds_done": len(fold_records),
    }
    calibrated = [r for r in fold_records if "calibrated_probabilities" in r]
    if calibrated and len(calibrated) == len(fold_records):
        out["calibration"] = calibration_summary(fold_records)
    return out


def calibration_summary(fold_records: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled ECE before and after calibration, reliability table and how the uncertain outcome splits
    the test predictions (each fold's own threshold)."""
    from frl_core.training.calibration import expected_calibration_error, selective_summary

    y = np.concatenate([np.asarray(r["y_true"], dtype=np.int64) for r in fold_records])
    raw = np.concatenate([np.asarray(r["probabilities"], dtype=np.float64) for r in fold_records])
    cal = np.concatenate([np.asarray(r["calibrated_probabilities"], dtype=np.float64) for r in fold_records])
    thresholds = np.concatenate([np.full(len(r["y_true"]), r["calibration"]["uncertain_below"]) for r in fold_records])
    temps = [r["calibration"]["temperature"] for r in fold_records]
    ece_raw, _ = expected_calibration_error(raw, y)
    ece_cal, table = expected_calibration_error(cal, y)
    return {"ece_uncalibrated": ece_raw, "ece_calibrated": ece_cal, "reliability": table,
            "temperature": {"median": float(np.median(temps)), "min": float(min(temps)), "max": float(max(temps))},
            "uncertain_below": {"median": float(np.median(thresholds)), "min": float(thresholds.min()),
                                "max": float(thresholds.max())},
            "uncertain": selective_summary(cal, y, thresholds)}


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
    fp = fingerprint(config)
    marker = out_dir / "fingerprint.txt"
    if marker.is_file() and marker.read_text().strip() != fp:
        raise TrainingError(
            f"{out_dir} holds a run with a different configuration; choose another output folder or delete it"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(fp + "\n")
    save_resolved(config, out_dir)
    threads = int(config["train"].get("threads", 0) or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    mode = config["model"].get("input_mode", "flow")
    img_size = int(config["model"].get("img_size", 224))
    if samples is None:
        samples = load_samples(config["protocol"], mode, img_size)
    folds = make_folds(samples.subjects, list(config["protocol"].get("subjects") or []))
    check_disjoint(folds, samples.subjects)
    fold_dir = out_dir / "folds"
    fold_dir.mkdir(exist_ok=True)
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    bar = tqdm(folds, desc=f"LOSO seed {seed}", unit="fold", disable=not show_progress)
    for fold in bar:
        path = fold_dir / f"{fold.test_subject}.json"
        if path.is_file():
            record = json.loads(path.read_text())
            if record.get("fingerprint") == fp and record.get("seed") == seed:
                records.append(record)
                continue
        bar.set_postfix(subject=fold.test_subject)
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


def combine_seeds(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and spread (sample std, min, max) of pooled and per-dataset UF1/UAR over seeds."""
    def stats(values: list[float]) -> dict[str, float]:
        a = np.asarray(values, dtype=np.float64)
        return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
                "min": float(a.min()), "max": float(a.max())}

    out: dict[str, Any] = {"seeds": [r["seed"] for r in reports]}
    for metric in ("uf1", "uar", "accuracy"):
        out[metric] = stats([r["pooled"][metric] for r in reports])
    out["per_dataset"] = {
        name: {m: stats([r["per_dataset"][name][m] for r in reports]) for m in ("uf1", "uar")}
        for name in reports[0]["per_dataset"]
    }
    return out
